"""Small widget makers shared by the windows and panels (one place for the same few lines)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QSplitter, QWidget

# The size the main window (and the loading window before it) opens at the first time, on a
# screen with room for it: the plots, the samples and both docks side by side.
FIRST_SIZE = (1500, 950)
# What a window manager adds around a window (title bar, borders), kept free on a smaller screen.
FRAME_ROOM = (16, 48)


def first_rect(available: QRect, size: tuple[int, int] = FIRST_SIZE) -> QRect:
    """Where a window opens when no place was saved: ``size``, but never larger than the screen's
    ``available`` area less room for the window's frame (a 1366 x 768 laptop with a task bar gets
    its whole screen, not a window running off it), centred on that area."""
    w = min(size[0], available.width() - FRAME_ROOM[0])
    h = min(size[1], available.height() - FRAME_ROOM[1])
    x = available.x() + (available.width() - w) // 2
    y = available.y() + max(0, (available.height() - h - FRAME_ROOM[1]) // 2)
    return QRect(x, y, w, h)


def open_at_first_rect(window: QWidget, size: tuple[int, int] = FIRST_SIZE) -> None:
    """Size and place ``window`` by :func:`first_rect` on its screen (the primary one before it is shown)."""
    from PySide6.QtGui import QGuiApplication
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(*size)
        return
    rect = first_rect(screen.availableGeometry(), size)
    window.resize(rect.size())
    window.move(rect.topLeft())


def button(text: str, tip: str, on_click: Callable) -> QPushButton:
    """A push button with its tooltip, ``on_click`` connected to ``clicked``."""
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(on_click)
    return b


def splitter(orientation: Qt.Orientation, first: QWidget, second: QWidget,
             stretch: tuple[int, int] = (3, 2)) -> QSplitter:
    """Two widgets in a splitter that cannot collapse either, sharing extra room by ``stretch``."""
    s = QSplitter(orientation)
    s.setChildrenCollapsible(False)
    s.addWidget(first)
    s.addWidget(second)
    s.setStretchFactor(0, stretch[0])
    s.setStretchFactor(1, stretch[1])
    return s


class ElidedLabel(QLabel):
    """A one-line label that never widens its row: where its text does not fit it ends in "…" and
    its tooltip holds the whole text (:attr:`full_text`), so nothing is cut mid-word unseen."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.full_text = ""
        self._tip = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.full_text = text
        self._elide()

    def setToolTip(self, tip: str) -> None:  # noqa: N802 - Qt's name
        """The tooltip shown when the text fits (the whole text goes above it when it does not)."""
        self._tip = tip
        self._elide()

    @property
    def elided(self) -> bool:
        return super().text() != self.full_text

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(self.width(), 1))
        super().setText(shown)
        tip = self._tip if shown == self.full_text else "\n\n".join(t for t in (self.full_text, self._tip) if t)
        super().setToolTip(tip)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

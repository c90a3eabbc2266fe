"""Small widget makers shared by the windows and panels (one place for the same few lines)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QSplitter, QWidget


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

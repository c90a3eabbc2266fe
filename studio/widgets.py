"""Small widget makers shared by the windows and panels (one place for the same few lines)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QSplitter, QWidget


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

"""The Runs dock of the main window: the :class:`studio.runs_view.RunsView` and what its buttons
do there (open a run through the window's open/follow path, overlay runs in Compare)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from studio.runs_view import RunsView
from studio.settings import Settings


class RunsDock:
    """``open_path(path)``: the window's File > Open of a run folder (a live one is followed);
    ``show_compare()``: the Compare runs window."""

    def __init__(self, window: QMainWindow, settings: Settings, *, open_path: Callable[[Path], bool],
                 show_compare: Callable, below: QDockWidget | None = None, poll_s: float | None = None):
        self.window, self.open_path, self.show_compare = window, open_path, show_compare
        self.view = RunsView(settings, poll_s=poll_s)
        self.dock = QDockWidget("Runs", window)
        self.dock.setObjectName("runsDock")
        self.dock.setWidget(self.view)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        if below is not None:
            window.tabifyDockWidget(below, self.dock)
        self.view.open_requested.connect(self.open_run)
        self.view.compare_requested.connect(self.compare)
        self.view.start()

    def open_run(self, path: Path) -> bool:
        return bool(self.open_path(Path(path)))

    def compare(self, paths) -> None:
        self.show_compare().add_runs([Path(p) for p in paths])

    def stop(self) -> None:
        self.view.stop()

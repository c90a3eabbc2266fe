"""The Runs dock of the main window and what comes with it: the
:class:`studio.runs_view.RunsView` (every run of the watched folders), the queue
(:class:`studio.run_queue.QueueController`, Run > Add to queue) and sweeps
(:class:`studio.sweep_control.SweepController`, Run > New sweep). A run is opened through the
window's own open/follow path; runs are overlaid in its Compare runs window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QSystemTrayIcon

from studio.run_queue import QueueController, add_queue_actions
from studio.runs_view import RunsView
from studio.sweep_control import SweepController
from studio.window_services import WindowServices


def tray_icon(window: QMainWindow) -> QSystemTrayIcon | None:
    """The tray icon notifications go to (None where the desktop has no tray)."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    icon = QApplication.windowIcon()
    tray = QSystemTrayIcon(icon if not icon.isNull() else QIcon(), window)
    tray.setToolTip("WGAN Studio")
    tray.show()
    return tray


class RunsDock:
    """``open_path(path)``: the window's File > Open of a run folder (a live one is followed);
    ``show_compare()``: the Compare runs window; ``form_config()``, ``run_name()``, ``preset()``:
    the form's configuration, the next run's name and the chosen preset."""

    def __init__(self, window: QMainWindow, services: WindowServices, *, open_path: Callable[[Path], bool],
                 show_compare: Callable, form_config: Callable, run_name: Callable[[], str],
                 preset: Callable[[], str | None], below: QDockWidget | None = None, poll_s: float | None = None):
        self.window, self.open_path, self.show_compare = window, open_path, show_compare
        self.view = RunsView(services.settings, poll_s=poll_s)
        self.dock = QDockWidget("Runs", window)
        self.dock.setObjectName("runsDock")
        self.dock.setWidget(self.view)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        if below is not None:
            window.tabifyDockWidget(below, self.dock)
        self.view.open_requested.connect(self.open_run)
        self.view.compare_requested.connect(self.compare)
        self.queue = QueueController(self.view, services, form_config=form_config, run_name=run_name,
                                     tray=tray_icon(window), parent=window)
        self.sweeps = SweepController(self.view, services, open_path=self.open_run, compare=self.compare,
                                      base=preset)
        self.view.start()

    def add_actions(self, run_menu, toolbar) -> dict[str, QAction]:
        """Run > Add to queue (and its toolbar button), Run > New sweep…"""
        run_menu.addSeparator()
        add = add_queue_actions(self.queue, run_menu, toolbar)
        sweep = run_menu.addAction("New sweep…", self.sweeps.new_sweep)
        sweep.setToolTip("Train many runs of one configuration with some settings searched (wgan-sweep)")
        self.actions = {"add_to_queue": add, "new_sweep": sweep}
        return self.actions

    def open_run(self, path: Path) -> bool:
        return bool(self.open_path(Path(path)))

    def compare(self, paths) -> None:
        self.show_compare().add_runs([Path(p) for p in paths])

    def close(self, no_confirm: bool) -> bool:
        """The window closes: the queue's question; False when the user cancelled."""
        if not self.queue.close(no_confirm):
            return False
        self.sweeps.close()
        self.view.stop()
        return True

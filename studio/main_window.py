"""The main window: toolbar, configuration / steer / log docks, samples over plots and status
bar around one :class:`studio.run_model.RunModel`, the runs it holds.

The window composes its parts, each given what it needs in its constructor: the panels (bound to
the model), :class:`studio.run_control.RunController` (start, continue, pause, step, stop, steer,
close), :class:`studio.run_opening.RunOpener` (presets, files, points, run folders),
:class:`studio.export_actions.ExportController` (exports), :class:`studio.window_actions.
WindowActions` (actions, toolbar, menus) and :class:`studio.status_bar.RunStatusBar`. Which
actions can be used is declared once (:mod:`studio.action_states`) from the current run. The
window never blocks on the engine: runs train on threads of their own and everything they report
arrives as queued Qt signals.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFrame,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.remote import is_remote
from studio import dialogs
from studio.action_states import action_states, window_view
from studio.compare import CompareWindow
from studio.export_actions import ExportController
from studio.panels.banner import RunBanner
from studio.panels.config_panel import ConfigPanel
from studio.panels.distances import DistancesPanel
from studio.panels.keys import ShortcutsInEveryField
from studio.panels.log import LogPanel
from studio.panels.plots import PlotsPanel
from studio.panels.samples import SamplesPanel
from studio.panels.steer import SteerPanel
from studio.remote_opening import RemoteOpener
from studio.run_chooser import RunChooser
from studio.run_control import RunController
from studio.run_model import RunModel
from studio.run_opening import RunOpener, form_config
from studio.runs_dock import RunsDock
from studio.settings import Settings
from studio.status_bar import RunStatusBar, window_title
from studio.widgets import open_at_first_rect
from studio.window_actions import RunSwitcher, WindowActions
from studio.window_files import WindowFiles
from studio.window_services import TaskRunner, WindowServices
from studio.window_settings import WindowLayout
from studio.worker import warm_up

log = logging.getLogger(__name__)


# A first window shorter than this (studio.widgets.first_rect on a small screen) opens without the
# docks below the plots.
SHORT_WINDOW_H = 800


def no_confirm() -> bool:
    return os.environ.get("WGAN_STUDIO_NO_CONFIRM", "") not in ("", "0")


class MainWindow(QMainWindow):
    """The studio. ``question_handler(title, text) -> bool`` asks the user yes/no questions
    (close during a run, overwrite a file); tests replace it."""

    run_finished = Signal(str)           # a run ended: its final state (finished, stopped or failed)

    def __init__(self, settings: Settings | None = None, *, theme: str | None = None, live_samples_s: float = 1.0):
        super().__init__()
        self.settings = settings or Settings()
        self.question_handler = self._ask
        self.nproc_handler = self._ask_nproc  # Run > Start with N local processes: how many (0: cancelled)
        self.model = RunModel(self)
        self.config_path: Path | None = None
        self.preset_name: str | None = None
        self.warning_box: QMessageBox | None = None
        self._closing = False
        self.compare_window: CompareWindow | None = None

        self.setObjectName("MainWindow")
        self.setWindowTitle("WGAN Studio")
        open_at_first_rect(self)   # the saved place and size, if any, replace it (layout_.restore)
        self._build_panels()
        self._build_parts(live_samples_s)
        self._wire()
        self._shortcuts = ShortcutsInEveryField(self)  # Space, Ctrl+Right... from any focused widget
        self.layout_ = WindowLayout(self, self.settings, self.splitter, self.samples, self.plots,
                                    theme_actions=self.theme_actions, theme=theme,
                                    themed=lambda: [self.plots, self.samples, self.distances, self.compare_window])
        restored = self.layout_.restore()
        if not restored:
            # First start: give the docks room (sizes are ignored before the first layout pass).
            QTimer.singleShot(0, self._default_dock_sizes)
        self.apply_theme()
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda *_: self.apply_theme())

        self.status_timer = QTimer(self)
        # 1 Hz (elapsed time and ETA in seconds): every update and repaint holds the GIL that the
        # training thread needs (see studio/panels/plots/panel.py, benchmarks/gui_overhead.py).
        self.status_timer.setInterval(1000)
        self.status_timer.timeout.connect(self._update_status)
        self.status_timer.start()
        self._on_run_changed()
        # Import what the first run needs (torch._dynamo via torch.optim) in the background once the
        # window is up, so that the first Start does not freeze the window.
        QTimer.singleShot(500, warm_up)

    # ================================================================== construction
    def _build_panels(self) -> None:
        self.config_panel = ConfigPanel()
        self.steer = SteerPanel()
        self.log_panel = LogPanel()
        self.samples = SamplesPanel()
        self.plots = PlotsPanel()
        self.banner = RunBanner()  # above samples and plots: in view, never modal (the window stays usable)
        self.samples.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        for panel in (self.steer, self.log_panel, self.samples, self.plots, self.banner):
            panel.bind(self.model)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.samples, "Samples")
        # Example 1 of the WGAN paper: its own critics, its own thread; independent of the runs.
        self.distances = DistancesPanel(self)
        # Scrollable: its form, plots and table would otherwise set the whole tab area's minimum
        # height (~450 px) and squeeze the training plots below it.
        self.distances_scroll = QScrollArea()
        self.distances_scroll.setWidget(self.distances)
        self.distances_scroll.setWidgetResizable(True)
        self.distances_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(self.distances_scroll, "Distances")
        self.tabs.setTabToolTip(1, "Example 1 of the WGAN paper: W vs JS between two parallel segments")
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(0, 3)   # the five stacked plots need the larger share
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setChildrenCollapsible(False)
        central = QWidget()
        central.setObjectName("centralArea")
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.banner)
        column.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        def dock(title, name, widget, area):
            d = QDockWidget(title, self)
            d.setObjectName(name)
            d.setWidget(widget)
            self.addDockWidget(area, d)
            return d

        self.config_panel.setMinimumWidth(290)
        self.steer.setMinimumWidth(240)
        self.config_dock = dock("Configuration", "configDock", self.config_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.steer_dock = dock("Steer (live)", "steerDock", self.steer, Qt.DockWidgetArea.RightDockWidgetArea)
        self.log_dock = dock("Log", "logDock", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)

    def _build_parts(self, live_samples_s: float) -> None:
        self.task_runner = TaskRunner(self)
        self.files = WindowFiles(self)
        self.services = WindowServices(
            parent=self, settings=self.settings, tasks=self.task_runner,
            ask=lambda title, text: self.question_handler(title, text),
            warn=lambda title, text: self._warn(title, text),
            message=lambda text, ms=0: self.statusBar().showMessage(text, ms),
            remember=lambda path: self.files.remember(path))
        self.runs = RunController(self.model, self.config_panel, self.services, run_name=self._run_name,
                                  choose_nproc=lambda: self.nproc_handler(), show_edit_error=self.steer.show_error,
                                  live_samples_s=live_samples_s, parent=self)
        self.opener = RunOpener(self.model, self.services, self.samples.toy, set_origin=self._set_config_origin,
                                start=self.start, show_samples=lambda: self.tabs.setCurrentWidget(self.samples),
                                form_config_now=self.config_panel.config)
        self.remote = RemoteOpener(self.model, self.services, set_origin=self._set_config_origin)
        self.exports = ExportController(self.model, self.services, plots=self.plots, default_dir=self.files.default_dir,
                                        form_config=self.config_panel.config, parent=self)
        self.export_finished, self.export_failed = self.exports.export_finished, self.exports.export_failed
        self.runs_dock = RunsDock(self, self.services, open_path=self.open_path, show_compare=self.show_compare,
                                  form_config=self.config_panel.config, run_name=self._run_name,
                                  preset=lambda: self.preset_name, below=self.log_dock)
        self.runs_view = self.runs_dock.view
        self.actions_ = WindowActions(self, self._slots())
        for name, action in self.actions_.actions.items():
            setattr(self, f"act_{name}", action)
        self.switcher = RunSwitcher(self.model, lambda: self.preset_name)
        docks = (self.config_dock, self.steer_dock, self.log_dock, self.runs_dock.dock)
        self.actions_.build(self.load_preset, self.switcher, docks, self.set_theme)
        self.runs_dock.add_actions(self.actions_.menus["&Run"], self.actions_.toolbar)
        self.preset_combo, self.recent_menu = self.actions_.preset_combo, self.actions_.recent_menu
        self.theme_actions = self.actions_.theme_actions
        self.files.fill_recent_menu()
        self.status_bar = RunStatusBar(self.statusBar())
        sb = self.status_bar
        self.state_label, self.iter_label, self.progress = sb.state_label, sb.iter_label, sb.progress
        self.rate_label, self.elapsed_label, self.eta_label = sb.rate_label, sb.elapsed_label, sb.eta_label
        self.device_label, self.path_label = sb.device_label, sb.path_label

    def _slots(self) -> dict:
        e = self.exports
        return {"open": self.files.open_dialog, "open_run": self.files.open_run_dialog,
                "open_points": self.files.open_points_dialog,
                "open_remote": self.remote.open_dialog,
                "compare": self.compare_runs_dialog, "compare_add": self.add_current_run_to_compare,
                "save": self.files.save, "save_as": self.files.save_as, "start": self.start,
                "start_procs": self.start_processes, "pause": self.toggle_pause, "step": self.step,
                "stop": self.stop, "export": e.export_grid_dialog, "export_ckpt": e.export_checkpoint_dialog,
                "export_csv": e.export_metrics_dialog, "export_plots": e.export_plots_dialog,
                "next_run": lambda: self.switcher.step(1), "previous_run": lambda: self.switcher.step(-1),
                "close_run": self.close_run, "prefs": self.preferences_dialog, "quit": self.close,
                "shortcuts": self.show_shortcuts, "about": self.show_about}

    def _wire(self) -> None:
        m = self.model
        m.run_changed.connect(self._on_run_changed)
        m.state_changed.connect(lambda _s: self._refresh())
        m.runs_changed.connect(self._refresh)
        m.ready.connect(self._refresh)
        m.ended.connect(self._refresh)
        self.runs.run_finished.connect(self.run_finished)
        self.config_panel.changed.connect(self._on_config_changed)
        self.steer.edit_requested.connect(self.request_edit)
        self.banner.lower_and_resume.connect(self.lower_lrs_and_resume)
        self.banner.resume_as_is.connect(self.resume_after_rollback)
        # The training thread draws live pictures only while they are shown, arrows only when ticked.
        self.tabs.currentChanged.connect(lambda *_: self._sync_live_view())
        self.tabs.currentChanged.connect(self._give_distances_room)
        self.samples.toy.show_arrows.toggled.connect(lambda *_: self._sync_live_view())
        self.samples.toy.train_requested.connect(self.train_on_drawing)
        # A followed run that ended: its folder as it is now, so Start can offer "Continue run".
        self.runs.run_finished.connect(lambda _state: QTimer.singleShot(0, self.opener.reopen_ended))

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.config_dock, self.steer_dock], [330, 270], Qt.Orientation.Horizontal)
        self.resizeDocks([self.log_dock], [130], Qt.Orientation.Vertical)
        # Samples above, plots below, half each: the plots keep a readable height and scroll (issue 35).
        total = sum(self.splitter.sizes()) or 800
        self.splitter.setSizes([total // 2, total - total // 2])  # the plots scroll: the picture gets half
        if self.height() < SHORT_WINDOW_H:
            # A 1366 x 768 laptop: the Log and Runs docks (at least 150 px) would leave the samples
            # and the plots some 200 px each. They start closed there; the View menu opens them, and
            # the layout is remembered like any other.
            for d in (self.log_dock, self.runs_dock.dock):
                d.hide()

    # ================================================================== what the model holds
    @property
    def run_state(self):
        return self.model.state

    @property
    def run_path(self) -> Path | None:
        return self.model.path

    @property
    def opened_run(self) -> Path | None:
        return self.model.path if self.model.opened else None

    @property
    def run_status(self):
        """Where the current run is (engine.status.RunStatus): what the status bar shows."""
        return self.model.status()

    def is_active(self) -> bool:
        """True from Start until the window has handled the end of the current run (its source's
        last signal), so the state shown is final."""
        return self.model.is_active()

    # ================================================================== delegations
    def start(self) -> bool:
        return self.runs.start()

    def start_processes(self, n: int | None = None) -> bool:
        return self.runs.start_processes(n)

    def toggle_pause(self) -> None:
        self.runs.toggle_pause()

    def step(self) -> None:
        self.runs.step()

    def stop(self) -> None:
        self.runs.stop()

    def request_edit(self, key: str, value) -> bool:
        return self.runs.request_edit(key, value)

    def lower_lrs_and_resume(self) -> bool:
        return self.runs.lower_lrs_and_resume()

    def resume_after_rollback(self) -> bool:
        return self.runs.resume_after_rollback()

    def load_preset(self, name: str) -> bool:
        """Preset ``name`` in the form; unsaved edits of the form go only if the user says so."""
        if self.config_panel.is_modified() and name != self.preset_name and not self.question_handler(
                "Discard your changes?", f"The form has changes that are not saved. Load the preset {name} and "
                "lose them? (No keeps them: File > Save as… writes them to a file.)"):
            self._set_config_origin(self.preset_name, self.config_path)  # the toolbar shows the form's again
            return False
        return self.opener.load_preset(name)

    def open_config(self, path) -> bool:
        return self.opener.open_config(path)

    def open_path(self, path) -> bool:
        """A configuration, a run folder, or ssh://host/path (a run on another machine)."""
        return self.remote.open(path) if is_remote(path) else self.opener.open_path(path)

    def open_run(self, path) -> bool:
        return self.opener.open_run(path)

    def follow_run(self, path) -> bool:
        return self.opener.follow_run(Path(path))

    def open_points(self, path) -> bool:
        return self.opener.open_points(path)

    def train_on_drawing(self) -> bool:
        return self.opener.train_on_drawing()

    def export_grid(self, *args, **kwargs) -> bool:
        return self.exports.export_grid(*args, **kwargs)

    def export_grid_dialog(self) -> None:
        self.exports.export_grid_dialog()

    def export_checkpoint_grid(self, *args, **kwargs) -> bool:
        return self.exports.export_checkpoint_grid(*args, **kwargs)

    def export_metrics(self, path) -> bool:
        return self.exports.export_metrics(path)

    def export_plots(self, path) -> bool:
        return self.exports.export_plots(path)

    def export_num_classes(self) -> int:
        return self.exports.num_classes()

    @property
    def export_dialog(self):
        return self.exports.export_dialog

    @property
    def error_box(self):
        return self.runs.error_box

    @property
    def damage_box(self):
        return self.opener.damage_box

    @property
    def tasks(self) -> list:
        return self.task_runner.tasks

    @property
    def close_timeout_s(self) -> float:
        return self.runs.close_timeout_s

    @close_timeout_s.setter
    def close_timeout_s(self, seconds: float) -> None:
        self.runs.close_timeout_s = seconds

    def close_run(self) -> None:
        """Window > Close run: stop showing the current run (not one in progress)."""
        if not self.model.is_active():
            self.model.runs.remove(self.model.current)

    # ================================================================== state display
    def _on_run_changed(self) -> None:
        """Another run is current: the form shows its configuration, the actions its state."""
        cfg = form_config(self.model.current)
        if cfg is not None:
            self.config_panel.set_config(cfg)  # -> _on_config_changed
        else:
            self._on_config_changed()
        self._sync_live_view()

    def _on_config_changed(self) -> None:
        cfg = self.config_panel.config()
        if cfg is not None:
            self.model.preview_config(cfg)  # no run yet: the values the next run starts with
        self.runs.refresh_plan()
        self._refresh()

    def _refresh(self) -> None:
        """Every action's state, the form's, the status bar and the title, from the current run."""
        run, form = self.model.current, self.config_panel
        view = window_view(run, form.error, self.model.runs.training_here(), len(self.model.runs), run.continuation)
        states = action_states(view)
        self.actions_.apply(states)
        self.samples.toy.set_can_train(states["train_drawing"].enabled)
        form.set_read_only(not states["form"].enabled)
        if not run.active and form.error is not None:
            self.statusBar().showMessage(f"Cannot start: {form.error}")
        elif not run.active:
            self.statusBar().clearMessage()
        self._update_status()

    def _update_status(self) -> None:
        run = self.model.current
        self.status_bar.show(run)
        fallback = self.preset_name or (self.config_path.name if self.config_path else "custom configuration")
        self.setWindowTitle(window_title(run, fallback, self.config_panel.is_modified()))

    def _sync_live_view(self) -> None:
        shown = self.tabs.currentWidget() is self.samples and not self.isMinimized()
        self.runs.sync_live_view(shown, self.samples.toy.show_arrows.isChecked())

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self._sync_live_view()

    def _give_distances_room(self, index: int) -> None:
        """The Distances tab (Example 1: its own form, plots and table, independent of the run)
        takes the whole height while it is shown (issue 18, point 7); the training plots come
        back, at their size, when another tab is chosen."""
        self.plots.setVisible(self.tabs.widget(index) is not self.distances_scroll)

    # ================================================================== configuration files
    def _set_config_origin(self, preset: str | None = None, path: Path | None = None) -> None:
        """Where the form's configuration came from: a preset (chosen in the toolbar), a file, or
        neither (a run folder's)."""
        self.preset_name, self.config_path = preset, path
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset) if preset is not None else -1)

    def _run_name(self) -> str:
        cfg = self.config_panel.config()
        points = Path(cfg.data.path).stem if cfg is not None and cfg.data.name == "points" and cfg.data.path else None
        return self.preset_name or (self.config_path.stem if self.config_path else points or "custom")

    def save_config(self) -> bool:
        return self.files.save()

    def save_config_to(self, path: str | Path) -> bool:
        return self.files.save_to(path)

    # ================================================================== comparing runs
    def show_compare(self) -> CompareWindow:
        """The Compare runs window (made on first use; it lives as long as this window)."""
        if self.compare_window is None:
            self.compare_window = CompareWindow(self, dark=getattr(self, "dark", False),
                                                runs_dir=self.settings.runs_dir, current_run=lambda: self.model.current)
        self.compare_window.runs_dir = self.settings.runs_dir
        self.compare_window.show()
        if QGuiApplication.platformName() != "offscreen":  # which cannot raise a window (and warns)
            self.compare_window.raise_()  # in front of the main window, shown or not (issue 35 point 18)
        self.compare_window.activateWindow()
        return self.compare_window

    def compare_runs_dialog(self) -> None:
        chooser = RunChooser(self, self.settings.runs_dir, {r.path for r in self.show_compare().runs})
        if chooser.exec() == QDialog.DialogCode.Accepted:
            self.compare_window.add_runs(chooser.selected())
        self.show_compare()  # the chooser gave the focus back to the main window: Compare in front again

    def add_current_run_to_compare(self) -> bool:
        if self.run_path is None:
            self.statusBar().showMessage("No run to compare yet: start a run or open a run folder first.", 6000)
            return False
        cw = self.show_compare()
        return bool(cw.add_current_run()) or cw.has_run(self.run_path)

    # ================================================================== settings and theme
    def save_settings(self) -> None:
        self.layout_.save()

    def set_theme(self, theme: str) -> None:
        self.layout_.set_theme(theme)
        self._update_status()

    def apply_theme(self) -> None:
        self.layout_.apply_theme()
        self.dark = self.layout_.dark
        self._update_status()

    # ================================================================== dialogs and questions
    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _ask_nproc(self) -> int:
        from PySide6.QtWidgets import QInputDialog
        n, ok = QInputDialog.getInt(self, "Start with N local processes",
                                    "Processes (batch_size is the global batch, split evenly):", 2, 1, 256)
        return n if ok else 0

    def _warn(self, title: str, text: str) -> None:
        log.warning("%s: %s", title, text)
        self.warning_box = dialogs.warning(self, title, text)

    def confirm_overwrite(self, path: Path) -> bool:
        return self.services.confirm_overwrite(path)

    def preferences_dialog(self) -> None:
        chosen = dialogs.preferences(self, self.settings.runs_dir, self.settings.theme)
        if chosen is not None:
            runs, theme = chosen
            if runs is not None:
                self.settings.runs_dir = runs or None
                self.runs_view.refresh_roots()
            self.set_theme(theme)

    def show_shortcuts(self) -> None:
        self.shortcuts_box = dialogs.shortcuts(self)

    def show_about(self) -> None:
        self.about_box = dialogs.about(self)

    # ================================================================== closing
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._closing:
            event.ignore()
            return
        owned = self.runs.runs_to_stop()
        if owned and not (no_confirm() or self.question_handler("Stop training?", _stop_question(owned))):
            event.ignore()
            return
        if not self.runs_dock.close(no_confirm()):
            event.ignore()
            return
        self._closing = True
        try:
            if owned:
                self.statusBar().showMessage("Stopping: finishing the iteration and writing a checkpoint…")

            # Keep painting while each run reaches its boundary and writes its checkpoint; user
            # input is held back so nothing new can start meanwhile.
            def pump():
                QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 50)

            self.runs.stop_everything(pump, no_confirm())
        finally:
            self._closing = False
        self.task_runner.wait_all(60_000)
        self.distances.stop_and_wait(30)  # a sweep's thread must not outlive the window
        QApplication.processEvents()
        self.status_timer.stop()
        self.plots.timer.stop()
        self.save_settings()
        event.accept()


def _stop_question(owned) -> str:
    if len(owned) == 1:
        return "A run is in progress. Stop it, write a checkpoint and quit?"
    return (f"{len(owned)} runs are in progress ({', '.join(r.name for r in owned)}). Stop them, write a checkpoint "
            "of each and quit?")

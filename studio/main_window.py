"""The main window: toolbar, configuration / steer / log docks, samples over plots, status bar.

The window owns at most one training run at a time (a :class:`studio.worker.RunHandle`). It
never blocks on the engine: the trainer runs in its own thread, controls call the engine's
thread-safe methods, and everything the engine reports arrives as queued Qt signals.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QEventLoop, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine import (
    LIVE_KEYS,
    Config,
    ConfigError,
    RunDir,
    __version__,
    list_presets,
    load_config,
    load_preset,
    save_config,
)
from engine import export as ex
from engine.inference import generate
from engine.runfolder import RunReport, inspect_run, is_run_folder, read_metrics_report, run_kind, use_as_latest
from engine.text import format_duration
from studio.compare import CompareWindow, RunChooser
from studio.export import ExportGridDialog
from studio.panels.banner import QUANTITIES, RunBanner, lowered
from studio.panels.config_panel import ConfigPanel
from studio.panels.distances import DistancesPanel
from studio.panels.log import LogPanel
from studio.panels.plots import PlotsPanel
from studio.panels.samples import SamplesPanel
from studio.panels.steer import SteerPanel
from studio.settings import Settings
from studio.theme import apply_theme, icon, resolve_dark
from studio.worker import RunHandle, Task, TrainingWorker, start_worker, warm_up

log = logging.getLogger(__name__)

STATE_TEXT = {"idle": "Idle", "starting": "Starting", "running": "Running", "paused": "Paused",
              "stopping": "Stopping", "finished": "Finished", "stopped": "Stopped", "error": "Error"}
STATE_COLOUR = {"running": "#2ca02c", "paused": "#e6a700", "starting": "#1f77b4", "stopping": "#e6a700",
                "error": "#d62728", "finished": "#1f77b4", "stopped": "#7f7f7f", "idle": "#7f7f7f"}
ACTIVE = ("starting", "running", "paused", "stopping")

SHORTCUTS = [
    ("Ctrl+Enter", "Start training"), ("Space", "Pause / resume"), ("Ctrl+Right", "Step one generator iteration "
    "(while paused)"), ("Ctrl+.", "Stop (writes a checkpoint)"), ("Ctrl+E", "Export the sample grid"),
    ("Ctrl+O", "Open a configuration"), ("Ctrl+Shift+O", "Open a run folder"),
    ("Ctrl+Alt+O", "Compare runs"), ("Ctrl+S", "Save the configuration"),
    ("Ctrl+Shift+S", "Save the configuration as…"), ("F1", "This list"), ("Ctrl+Q", "Quit"),
]


fmt_duration = format_duration


def no_confirm() -> bool:
    return os.environ.get("WGAN_STUDIO_NO_CONFIRM", "") not in ("", "0")


class MainWindow(QMainWindow):
    """The studio. ``question_handler(title, text) -> bool`` asks the user yes/no questions
    (close during a run, overwrite a file); tests replace it."""

    export_finished = Signal(str)        # path written
    export_failed = Signal(str)          # message
    run_finished = Signal(str)           # final state: finished, stopped or error
    _future_ready = Signal(object)       # a (callback, future) pair, hopped to the GUI thread

    def __init__(self, settings: Settings | None = None, *, theme: str | None = None, live_samples_s: float = 1.0):
        super().__init__()
        self.settings = settings or Settings()
        self.question_handler = self._ask
        self.live_samples_s = live_samples_s
        self.handle: RunHandle | None = None
        self.worker: TrainingWorker | None = None
        self.trainer = None
        self.run_state = "idle"
        self.run_path: Path | None = None
        self.opened_run: Path | None = None
        self.config_path: Path | None = None
        self.preset_name: str | None = None
        self.error_box: QMessageBox | None = None
        self.tasks: list[Task] = []
        self._opened_iter, self._opened_total, self._opened_config = 0, 0, {}
        self.run_report: RunReport | None = None   # what open_run could read of the opened run
        self.damage_box: QMessageBox | None = None
        self._events: list[dict] = []               # the shown run's events, for redrawing its curves
        self._nonfinite_values: dict | None = None   # the first non-finite statistics seen (banner)
        self._run_config: Config | None = None
        self.close_timeout_s = 120.0                 # then ask whether to keep waiting for the run to stop
        self._closing = False
        self._theme_override = theme
        # A bound slot of this GUI-thread object (not a lambda): the call is queued to the GUI thread.
        self._future_ready.connect(self._call_future)

        self.setObjectName("MainWindow")
        self.setWindowTitle("WGAN Studio")
        self.resize(1500, 950)
        self._build_panels()
        self._build_actions()
        self._build_toolbar_and_menus()
        self._build_status_bar()
        restored = self._restore_settings()
        if not restored:
            # First start: give the docks room (sizes are ignored before the first layout pass).
            QTimer.singleShot(0, self._default_dock_sizes)
        self.apply_theme()
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda *_: self.apply_theme())

        self.status_timer = QTimer(self)
        # 2 Hz: every repaint holds the GIL that the training thread needs (see studio/panels/plots.py).
        self.status_timer.setInterval(500)
        self.status_timer.timeout.connect(self._update_status)
        self.status_timer.start()
        self._update_actions()
        # Import what the first run needs (torch._dynamo via torch.optim) in the background once the
        # window is up, so the first Start does not freeze the window for ~200 ms.
        QTimer.singleShot(500, warm_up)

    # ================================================================== construction
    def _build_panels(self) -> None:
        self.config_panel = ConfigPanel()
        self.config_panel.changed.connect(self._on_config_changed)
        self.steer = SteerPanel()
        self.steer.edit_requested.connect(self.request_edit)
        self.log_panel = LogPanel()
        self.samples = SamplesPanel()
        self.plots = PlotsPanel()

        self.tabs = QTabWidget()
        self.tabs.addTab(self.samples, "Samples")
        # Example 1 of the WGAN paper: its own critics, its own thread; independent of the run.
        self.distances = DistancesPanel(self)
        # Scrollable: its form, plots and table would otherwise set the whole tab area's minimum
        # height (~450 px) and squeeze the training plots below it.
        self.distances_scroll = QScrollArea()
        self.distances_scroll.setWidget(self.distances)
        self.distances_scroll.setWidgetResizable(True)
        self.distances_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(self.distances_scroll, "Distances")
        self.tabs.setTabToolTip(1, "Example 1 of the WGAN paper: W vs JS between two parallel segments")
        # The training thread draws live pictures only while they are shown, arrows only when ticked.
        self.tabs.currentChanged.connect(lambda *_: self._sync_live_view())
        self.samples.toy.show_arrows.toggled.connect(lambda *_: self._sync_live_view())
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setChildrenCollapsible(False)
        # The banner sits above samples and plots: in view, never modal (the window stays usable).
        self.banner = RunBanner()
        self.banner.lower_and_resume.connect(self.lower_lrs_and_resume)
        self.banner.resume_as_is.connect(self.resume_after_rollback)
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

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.config_dock, self.steer_dock], [330, 270], Qt.Orientation.Horizontal)
        self.resizeDocks([self.log_dock], [130], Qt.Orientation.Vertical)
        # Samples above, plots below: the five plots need more height than the one picture.
        total = sum(self.splitter.sizes()) or 800
        self.splitter.setSizes([int(total * 0.42), total - int(total * 0.42)])

    def _action(self, text, slot, shortcut=None, icon_name=None, tip=None) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcuts([QKeySequence(s) for s in ([shortcut] if isinstance(shortcut, str) else shortcut)])
        if icon_name:
            a.setIcon(icon(icon_name))
        if tip or shortcut:
            sc = shortcut if isinstance(shortcut, str) else (shortcut[0] if shortcut else "")
            a.setToolTip(f"{tip or text}{f'  ({sc})' if sc else ''}")
        a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work whichever dock has the focus
        return a

    def _build_actions(self) -> None:
        A = self._action
        self.act_open = A("Open…", self.open_dialog, "Ctrl+O", "open", "Open a configuration (TOML) or run")
        self.act_open_run = A("Open run folder…", self.open_run_dialog, "Ctrl+Shift+O", None,
                              "Look at the curves and samples of a finished or stopped run")
        self.act_compare = A("Compare runs…", self.compare_runs_dialog, "Ctrl+Alt+O", None,
                             "Overlay the curves, samples and final metrics of several run folders")
        self.act_compare_add = A("Add current run to comparison", self.add_current_run_to_compare, None, None,
                                 "Add the run shown here (running, finished or opened) to the Compare runs window")
        self.act_save = A("Save", self.save_config, "Ctrl+S", "save", "Save the configuration")
        self.act_save_as = A("Save As…", self.save_config_as, "Ctrl+Shift+S", None, "Save the configuration as")
        self.act_start = A("Start", self.start, ["Ctrl+Return", "Ctrl+Enter"], "start", "Start training")
        self.act_pause = A("Pause", self.toggle_pause, "Space", "pause", "Pause / resume")
        self.act_step = A("Step", self.step, "Ctrl+Right", "step", "One generator iteration (while paused)")
        self.act_stop = A("Stop", self.stop, "Ctrl+.", "stop", "Stop at the next iteration and write a checkpoint")
        self.act_export = A("Export grid…", self.export_grid_dialog, "Ctrl+E", "export",
                            "Export the current sample grid as PNG")
        self.act_export_ckpt = A("Export grid from checkpoint…", self.export_checkpoint_dialog, None, None,
                                 "A sample grid from any saved checkpoint")
        self.act_export_csv = A("Export metrics as CSV…", self.export_metrics_dialog)
        self.act_export_plots = A("Export plots as PNG/SVG…", self.export_plots_dialog)
        self.act_prefs = A("Preferences…", self.preferences_dialog, "Ctrl+,")
        self.act_quit = A("Quit", self.close, "Ctrl+Q")
        self.act_shortcuts = A("Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = A("About WGAN Studio", self.show_about)

    def _build_toolbar_and_menus(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        self.preset_combo.setPlaceholderText("custom configuration")
        self.presets = list_presets()
        for name, desc in self.presets.items():
            self.preset_combo.addItem(name, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, desc, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setToolTip("Preset: a starting configuration")
        self.preset_combo.activated.connect(lambda i: self.load_preset(self.preset_combo.itemData(i)))
        tb.addWidget(QLabel(" Preset "))
        tb.addWidget(self.preset_combo)
        tb.addAction(self.act_open)
        tb.addAction(self.act_save)
        tb.addSeparator()
        for a in (self.act_start, self.act_pause, self.act_step, self.act_stop):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_export)

        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_open, self.act_open_run):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open recent")
        self._fill_recent_menu()
        m.addAction(self.act_compare)
        m.addAction(self.act_compare_add)
        m.addSeparator()
        for a in (self.act_save, self.act_save_as):
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_export, self.act_export_ckpt, self.act_export_csv, self.act_export_plots):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_prefs)
        m.addAction(self.act_quit)
        m = mb.addMenu("&Run")
        for a in (self.act_start, self.act_pause, self.act_step, self.act_stop):
            m.addAction(a)
        m = mb.addMenu("&View")
        for d in (self.config_dock, self.steer_dock, self.log_dock):
            m.addAction(d.toggleViewAction())
        m.addSeparator()
        theme_menu = m.addMenu("Theme")
        group = QActionGroup(self)
        self.theme_actions = {}
        for key, text in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            a = QAction(text, self, checkable=True)
            a.triggered.connect(lambda _=False, k=key: self.set_theme(k))
            group.addAction(a)
            theme_menu.addAction(a)
            self.theme_actions[key] = a
        m = mb.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.state_label = QLabel()
        self.state_label.setObjectName("stateLabel")
        self.iter_label = QLabel("0 / 0")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.rate_label = QLabel("– it/s")
        self.elapsed_label = QLabel("elapsed –")
        self.eta_label = QLabel("ETA –")
        self.device_label = QLabel("")
        self.path_label = QLabel("")
        self.path_label.setObjectName("statusRunPath")
        for w in (self.state_label, self.iter_label, self.progress, self.rate_label, self.elapsed_label,
                  self.eta_label, self.device_label):
            sb.addPermanentWidget(w)
        sb.addWidget(self.path_label, 1)

    # ================================================================== settings and theme
    def _restore_settings(self) -> bool:
        """Restore the layout and view options; False when there was no saved layout."""
        s = self.settings
        geom, state = s.value("window/geometry"), s.value("window/state")
        restored = False
        if isinstance(geom, QByteArray | bytes):
            self.restoreGeometry(QByteArray(geom))
        if isinstance(state, QByteArray | bytes):
            restored = self.restoreState(QByteArray(state))
        split = s.value("window/splitter")
        if isinstance(split, QByteArray | bytes):
            self.splitter.restoreState(QByteArray(split))
        self.samples.grid.nrow_spin.setValue(min(max(s.int_value("samples/nrow", 8), 1), 64))
        self.plots.set_smoothing(s.int_value("plots/smoothing", 90) / 100)
        self.plots.set_log_y(str(s.value("plots/log_y", "false")).lower() == "true")
        return restored

    def save_settings(self) -> None:
        s = self.settings
        s.set_value("window/geometry", self.saveGeometry())
        s.set_value("window/state", self.saveState())
        s.set_value("window/splitter", self.splitter.saveState())
        s.set_value("samples/nrow", self.samples.grid.nrow)
        s.set_value("plots/smoothing", self.plots.smooth_slider.value())
        s.set_value("plots/log_y", self.plots.log_check.isChecked())
        s.sync()

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        self._theme_override = None
        self.apply_theme()

    def apply_theme(self) -> None:
        theme = self._theme_override or self.settings.theme
        dark = resolve_dark(theme)
        self.dark = dark
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, dark)
        self.plots.set_dark(dark)
        self.samples.set_dark(dark)
        self.distances.set_dark(dark)
        if getattr(self, "compare_window", None) is not None:
            self.compare_window.set_dark(dark)
        for key, a in self.theme_actions.items():
            a.setChecked(key == theme)
        self._update_status()

    def _fill_recent_menu(self) -> None:
        """Configurations and run folders, newest first. A run opens ready to continue."""
        self.recent_menu.clear()
        recent = self.settings.recent_files
        for p in recent:
            path = Path(p)
            is_run = path.suffix.lower() != ".toml"
            a = self.recent_menu.addAction(f"{'Run ' if is_run else ''}{path.name}   ({path.parent})")
            a.setData(p)
            a.setToolTip(f"Open the run folder {p} (to look at it or continue it)" if is_run
                         else f"Open the configuration {p}")
            a.setStatusTip(a.toolTip())
            a.triggered.connect(lambda _=False, path=p: self.open_path(path))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._fill_recent_menu()

    def _remember(self, path: Path) -> None:
        self.settings.add_recent(path)
        self.settings.sync()  # on disk now: a crash of the studio must not lose the run from the list
        self._fill_recent_menu()

    # ================================================================== questions
    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _warn(self, title: str, text: str) -> None:
        log.warning("%s: %s", title, text)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal but not blocking: the run goes on, tests go on
        self.warning_box = box

    def confirm_overwrite(self, path: Path) -> bool:
        return not path.exists() or self.question_handler(
            "Replace file?", f"{path.name} already exists in {path.parent}.\nReplace it?")

    # ================================================================== configuration
    def load_preset(self, name: str) -> bool:
        if self.is_active():
            return False
        try:
            cfg = load_preset(name)
        except ConfigError as e:
            self._warn("Cannot load preset", str(e))
            return False
        self.preset_name, self.config_path, self.opened_run = name, None, None
        self.config_panel.set_config(cfg)
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(name))
        self.settings.last_preset = name
        self.samples.set_kind(cfg.is_toy)
        self._update_actions()
        return True

    def open_config(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            cfg = load_config(path)
        except ConfigError as e:
            self._warn("Cannot open configuration", str(e))
            return False
        self.preset_name, self.config_path, self.opened_run = None, path, None
        self.preset_combo.setCurrentIndex(-1)
        self.config_panel.set_config(cfg)
        self.samples.set_kind(cfg.is_toy)
        self._remember(path)
        self._update_actions()
        return True

    def open_path(self, path: str | Path) -> bool:
        if self.is_active():
            self._warn("A run is in progress", "Stop the run before opening another configuration or run.")
            return False
        path = Path(path)
        if path.is_dir():
            return self.open_run(path)
        return self.open_config(path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open configuration", str(self._default_dir()),
                                              "Configurations (*.toml);;All files (*)")
        if path:
            self.open_path(path)

    def open_run_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open run folder", str(self.settings.runs_dir))
        if path:
            self.open_path(path)

    # ================================================================== comparing runs
    def show_compare(self) -> CompareWindow:
        """The Compare runs window (made on first use; it lives as long as this window)."""
        if getattr(self, "compare_window", None) is None:
            self.compare_window = CompareWindow(self, dark=getattr(self, "dark", False),
                                                runs_dir=self.settings.runs_dir, current_run=lambda: self.run_path)
        self.compare_window.runs_dir = self.settings.runs_dir
        if self.compare_window.isVisible():
            self.compare_window.raise_()  # behind the main window: bring it to the front
        else:
            self.compare_window.show()
        return self.compare_window

    def compare_runs_dialog(self) -> None:
        chooser = RunChooser(self, self.settings.runs_dir, {r.path for r in self.show_compare().runs})
        if chooser.exec() == QDialog.DialogCode.Accepted:
            self.compare_window.add_runs(chooser.selected())

    def add_current_run_to_compare(self) -> bool:
        if self.run_path is None:
            self.statusBar().showMessage("No run to compare yet: start a run or open a run folder first.", 6000)
            return False
        return bool(self.show_compare().add_runs([self.run_path])) or self.compare_window.has_run(self.run_path)

    def _default_dir(self) -> Path:
        if self.config_path is not None:
            return self.config_path.parent
        return self.settings.runs_dir if self.settings.runs_dir.is_dir() else Path.home()

    def save_config(self) -> bool:
        if self.config_path is None:
            return self.save_config_as()
        return self.save_config_to(self.config_path)

    def save_config_as(self) -> bool:
        start = str(self._default_dir() / f"{self.preset_name or 'config'}.toml")
        path, _ = QFileDialog.getSaveFileName(self, "Save configuration", start, "Configurations (*.toml)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return False
        path = Path(path if path.lower().endswith(".toml") else path + ".toml")
        if not self.confirm_overwrite(path):
            return False
        return self.save_config_to(path)

    def save_config_to(self, path: str | Path) -> bool:
        cfg = self.config_panel.config()
        if cfg is None:
            self._warn("Cannot save", f"The configuration is not valid: {self.config_panel.error}")
            return False
        try:
            save_config(cfg, path)
        except OSError as e:
            self._warn("Cannot save", f"{path}: {e.strerror or e}")
            return False
        self.config_path = Path(path)
        self.config_panel.mark_saved()
        self._remember(self.config_path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _on_config_changed(self) -> None:
        if not self.is_active() and self.opened_run is None:
            cfg = self.config_panel.config()
            if cfg is not None:
                self.steer.preview_config(cfg)
        self._update_actions()

    # ================================================================== opening a run folder
    def open_run(self, path: str | Path) -> bool:
        """Show a run folder: its curves, markers, log and latest samples, ready to continue
        (Start reads "Continue run") when one of its checkpoints loads. Damaged or missing files
        are named in one message, and whatever is still readable is shown."""
        rd = RunDir(path)
        if not is_run_folder(rd.path):
            self._warn("Not a run folder", f"{path}: no config.toml, metrics.csv, events.jsonl or checkpoint in "
                       "this folder.")
            return False
        rep = inspect_run(rd.path)
        cfg = rep.config
        self.preset_name, self.config_path = None, None
        self.preset_combo.setCurrentIndex(-1)
        self.run_report = rep
        self._opened_iter = rep.last_iter
        self._opened_total = cfg.train.iterations if cfg is not None else rep.last_iter
        self._opened_config = cfg.to_dict() if cfg is not None else {}
        self.opened_run = rd.path
        self.trainer = self.worker = None
        self._events = list(rep.events)
        if cfg is not None:
            self.config_panel.set_config(cfg)
        objective, is_toy = run_kind(rep)
        self.plots.load_run(rep.columns, rep.events, objective, is_toy)
        self.log_panel.clear()
        for ev in rep.events:
            self.log_panel.add_event(ev)
        self.steer.clear_history()
        for ev in rep.events:
            if ev.get("type") == "edit":
                self.steer.add_edit(ev)
        if cfg is not None:
            # The values the run ended with: its config's, then every logged edit on top
            last = {k: rep.columns[k][-1] for k in LIVE_KEYS if rep.columns.get(k)}
            self.steer.preview_config(cfg, last)
        self.log_panel.set_run_path(rd.path)
        self.run_path = rd.path
        self.samples.set_kind(is_toy)
        self.banner.hide()
        final = next((e["type"] for e in reversed(rep.events) if e.get("type") in ("finish", "stop", "error")), None)
        self._set_run_state({"finish": "finished", "stop": "stopped", "error": "error"}.get(final, "stopped"))
        self._remember(rd.path)
        self._load_run_samples(rd)
        self._update_actions()
        resumable, hint = self._resume_hint(self.config_panel.config())
        if resumable:
            hint = (f"Continue run (Ctrl+Enter) goes on from generator iteration {rep.checkpoint_iter} "
                    f"({rep.rel(rep.checkpoint)}).")
        self.log_panel.add_line(f"— opened {rd.path.name} at generator iteration {rep.last_iter}"
                                f"{f' of {self._opened_total}' if cfg is not None else ''}. {hint}")
        if rep.damaged:
            self._show_damage(rep)
        return True

    def _show_damage(self, rep: RunReport) -> None:
        """One message naming every damaged file and what is wrong with it (not blocking)."""
        items = "\n".join(f"• {p}" for p in rep.problems)
        box = QMessageBox(QMessageBox.Icon.Warning, "Damaged run folder",
                          f"Some files of the run {rep.path.name} are damaged or missing:\n\n{items}\n\n"
                          "Everything still readable is shown.", QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        if rep.checkpoint is None:
            resume = "It cannot be continued: none of its checkpoints loads. Start begins a new run."
        else:
            resume = (f"It can be continued from generator iteration {rep.checkpoint_iter} "
                      f"({rep.rel(rep.checkpoint)}): Continue run (Ctrl+Enter).")
            if rep.uses_fallback and RunDir(rep.path).latest_checkpoint.exists():
                resume += " The damaged checkpoints/latest.pt is then kept as latest.pt.damaged."
        box.setInformativeText(resume)
        box.setDetailedText(f"Run folder: {rep.path}")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal but not blocking, like every other warning here
        self.damage_box = box
        for p in rep.problems:
            self.log_panel.add_line(f"damaged: {p}")
        log.warning("damaged run folder %s: %s", rep.path, "; ".join(rep.problems))

    def _load_run_samples(self, rd: RunDir) -> None:
        ckpt = self.run_report.checkpoint if self.run_report is not None else None
        if ckpt is None:
            self._show_latest_png(rd)
            return

        def load():
            from engine import Trainer
            return Trainer.from_checkpoint(ckpt).make_samples(write=False)

        def failed(message, _details):
            self.log_panel.add_line(f"cannot rebuild samples from {ckpt.name}: {message}")
            self._show_latest_png(rd)

        self._run_task(load, self.samples.set_payload, failed)

    def _show_latest_png(self, rd: RunDir) -> None:
        pngs = sorted(rd.samples.glob("iter_*.png"))
        if not pngs:
            return
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(pngs[-1]) as im:
                img = np.asarray(im.convert("RGB"), dtype=np.float32) / 127.5 - 1
            gen_iter = int(pngs[-1].stem.split("_")[-1])
        except (OSError, ValueError, UnidentifiedImageError) as e:
            self.log_panel.add_line(f"cannot show {pngs[-1].name}: {e}")
            return
        self.samples.set_payload({"kind": "image", "images": img.transpose(2, 0, 1)[None], "gen_iter": gen_iter})
        self.samples.grid.nrow_spin.setValue(1)

    def _resume_hint(self, cfg: Config | None) -> tuple[bool, str]:
        """Whether Start continues the opened run, and why (or why not) in one sentence.

        It does when a checkpoint of the run loads and only the number of iterations changed
        (or nothing), and there are iterations left to train."""
        rep = self.run_report
        if self.opened_run is None or rep is None or self.is_active():
            return False, ""
        name = self.opened_run.name
        if rep.checkpoint is None:
            return False, f"{name} cannot be continued (no checkpoint of it loads): Start begins a new run."
        if cfg is None:
            return False, ""
        a, b = cfg.to_dict(), copy.deepcopy(self._opened_config)
        a["train"].pop("iterations")
        b.get("train", {}).pop("iterations", None)
        if a != b:
            return False, (f"The configuration differs from {name}'s (only train.iterations may change to continue "
                           "it): Start begins a new run.")
        if cfg.train.iterations <= rep.checkpoint_iter:
            return False, (f"{name} has done its {rep.checkpoint_iter} iterations: raise train.iterations to "
                           "continue it; Start now begins a new run.")
        return True, (f"Resume run: continue {name} from generator iteration {rep.checkpoint_iter} "
                      f"({rep.rel(rep.checkpoint)}) up to {cfg.train.iterations}, in the same folder.")

    def _resumable(self, cfg: Config) -> bool:
        return self._resume_hint(cfg)[0]

    def _prepare_resume(self, cfg: Config) -> bool:
        """Before continuing the opened run: put a fallback checkpoint in place of a damaged or
        missing latest.pt, and drop plotted rows past the checkpoint (the engine drops them from
        metrics.csv too: they are not part of the continued run)."""
        rep = self.run_report
        rd = RunDir(self.opened_run)
        if rep.uses_fallback:
            try:
                aside = use_as_latest(rd, rep.checkpoint)
            except OSError as e:
                self._warn("Cannot continue the run", f"{rd.latest_checkpoint}: {e.strerror or e}")
                return False
            kept = f"; the damaged latest.pt is kept as {rep.rel(aside)}" if aside is not None else ""
            self.log_panel.add_line(f"continuing from {rep.rel(rep.checkpoint)}{kept}")
        if self._opened_iter > rep.checkpoint_iter:
            self._reload_curves(rep.checkpoint_iter, cfg)
        return True

    def _reload_curves(self, upto: int, cfg: Config | None) -> None:
        """Redraw the curves from metrics.csv up to generator iteration ``upto``, with the events
        so far. After a NaN rollback, or when continuing from a checkpoint older than the last
        plotted rows, the rows past the checkpoint are no longer part of the run."""
        if self.run_path is None or cfg is None:
            return
        cols, _ = read_metrics_report(RunDir(self.run_path).metrics_path)
        its = cols.get("gen_iter", [])
        if its and its[-1] > upto:
            keep = [i for i, it in enumerate(its) if it <= upto]
            cols = {k: [v[i] for i in keep] for k, v in cols.items()}
        self.plots.load_run(cols, self._events, cfg.objective.kind, cfg.is_toy)

    # ================================================================== run control
    def is_active(self) -> bool:
        """True from Start until the window has handled the end of the run (the thread's
        ``finished``, queued after every signal the run sent), so the state shown is final."""
        return self.handle is not None

    def new_run_dir(self, cfg: Config) -> Path:
        name = self.preset_name or (self.config_path.stem if self.config_path else "custom")
        base = self.settings.runs_dir
        return ex.unique_path(base, f"{time.strftime('%Y%m%d-%H%M%S')}-{name}", "")

    def start(self) -> bool:
        if self.is_active():
            return False
        cfg = self.config_panel.config()
        if cfg is None:
            self.statusBar().showMessage(f"Cannot start: {self.config_panel.error}", 8000)
            if self.config_panel.error_key:
                self.config_panel.focus_field(self.config_panel.error_key)
            return False
        if self._resumable(cfg):
            if not self._prepare_resume(cfg):
                return False
            worker = TrainingWorker(resume_dir=self.opened_run, iterations=cfg.train.iterations,
                                    live_samples_s=self.live_samples_s)
            self.run_path = self.opened_run
            self.log_panel.add_line(f"— continuing {self.run_path.name} from generator iteration "
                                    f"{self.run_report.checkpoint_iter} up to {cfg.train.iterations} iterations")
        else:
            self.run_path = self.new_run_dir(cfg)
            worker = TrainingWorker(cfg, self.run_path, live_samples_s=self.live_samples_s)
            self.plots.reset(cfg.objective.kind, cfg.is_toy)
            self.steer.clear_history()
            self.log_panel.clear()
            self.log_panel.add_line(f"— new run {self.run_path.name}")
            self._events = []
        self.opened_run = None
        self.run_report = None
        self.banner.hide()
        self._nonfinite_values = None
        self.trainer = None
        self.worker = worker
        self.log_panel.set_run_path(self.run_path)
        self.steer.set_objective(cfg.objective.kind)
        self.samples.set_kind(cfg.is_toy)
        self._run_config = cfg
        self._sync_live_view()
        self._set_run_state("starting")
        self.handle = start_worker(worker, self._connect_worker)
        return True

    def _sync_live_view(self) -> None:
        """Tell the worker what the window shows: live pictures cost training time (a critic
        field on the training thread), so none while the Samples tab is hidden or the window is
        minimised, and the gradient arrows only while their box is ticked. Plain attributes the
        worker reads between iterations."""
        w = self.worker
        if w is None:
            return
        w.live_arrows = self.samples.toy.show_arrows.isChecked()
        w.live_samples_enabled = self.tabs.currentWidget() is self.samples and not self.isMinimized()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self._sync_live_view()

    def _connect_worker(self, worker: TrainingWorker, thread) -> None:
        worker.ready.connect(self._on_ready)
        worker.metrics.connect(self.plots.append_metrics)
        worker.metrics.connect(self._watch_nonfinite)
        worker.samples.connect(self.samples.set_payload)
        worker.event.connect(self._on_event)
        worker.state_changed.connect(self._set_run_state)
        worker.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)

    def _on_ready(self, trainer) -> None:
        self.trainer = trainer
        self.steer.set_values(trainer.hp)
        self.steer.set_objective(trainer.config.objective.kind)
        self.device_label.setText(str(trainer.device))
        for w in trainer.warnings:
            self.log_panel.add_line(f"warning: {w}")
        if self.run_path is not None:
            self._remember(self.run_path)  # File > Open recent finds the run to continue it later

    def _on_event(self, ev: dict) -> None:
        self._events.append(ev)
        self.log_panel.add_event(ev)
        self.plots.add_event(ev)
        kind = ev.get("type")
        if kind == "edit":
            self.steer.add_edit(ev)
        elif kind == "nonfinite":
            self._on_nonfinite(ev)
        elif kind == "resume":
            self.banner.hide()  # resumed from the toolbar (Space) after a rollback: the choice is made

    # ================================================================== NaN / Inf
    def _watch_nonfinite(self, cols: dict) -> None:
        """Remember the first non-finite statistics of the run (which quantities, what value):
        the engine's "nonfinite" event only says where, and the batch with the bad row always
        arrives before it."""
        if self._nonfinite_values is not None:
            return
        uses_penalty = self._run_config is not None and self._run_config.objective.kind == "wgan-gp"
        names = [k for k in QUANTITIES if k in cols and (k != "gradient_penalty" or uses_penalty)]
        bad = None
        for k in names:
            b = ~np.isfinite(np.asarray(cols[k], dtype=np.float64))
            bad = b if bad is None else bad | b
        if bad is None or not bad.any():
            return
        i = int(np.argmax(bad))
        values = {k: float(cols[k][i]) for k in names if not np.isfinite(cols[k][i])}
        self._nonfinite_values = {"gen_iter": int(cols["gen_iter"][i]), "values": values}

    def _on_nonfinite(self, ev: dict) -> None:
        """The engine rolled the run back to its last good checkpoint and paused it: say so in the
        banner, drop the rolled-back rows from the curves, show the restored live values."""
        seen, self._nonfinite_values = self._nonfinite_values, None
        values = seen["values"] if seen is not None and seen["gen_iter"] == ev.get("first_bad") else None
        hp = dict(self.trainer.hp) if self.trainer is not None else {}
        lr_critic = float(ev.get("lr_critic", hp.get("lr_critic", 0.0)))
        lr_generator = float(ev.get("lr_generator", hp.get("lr_generator", 0.0)))
        self.banner.show_nonfinite(ev, values, lr_critic, lr_generator)
        self._reload_curves(int(ev.get("rolled_back_to", ev.get("gen_iter", 0))), self._run_config)
        if hp:
            self.steer.set_values(hp)

    def lower_lrs_and_resume(self) -> bool:
        """The banner's first choice: α_D and α_G × 0.1 as live edits (logged in events.jsonl and
        marked on the plots like any Steer edit), then resume."""
        if self.trainer is None or not self.is_active():
            return False
        hp = self.trainer.hp
        for key in ("lr_critic", "lr_generator"):
            if not self.request_edit(key, lowered(float(hp[key]))):
                return False
        self.banner.hide()
        self.worker.resume()
        return True

    def resume_after_rollback(self) -> bool:
        if self.worker is None or not self.is_active():
            return False
        self.banner.hide()
        self.worker.resume()
        return True

    def _on_failed(self, message: str, details: str) -> None:
        """A worker exception: say what happened, keep the window usable (the engine has
        already recorded the error and kept the last checkpoint)."""
        self._set_run_state("error")
        ckpt = RunDir(self.run_path).latest_checkpoint if self.run_path else None
        kept = (f"The last checkpoint is kept: {ckpt}" if ckpt is not None and ckpt.is_file()
                else "No checkpoint had been written yet.")
        box = QMessageBox(QMessageBox.Icon.Critical, "Training stopped by an error", message,
                          QMessageBox.StandardButton.Ok, self)
        box.setInformativeText(f"{kept}\nChange the settings and start again, or open the run to look at it.")
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the window stays usable and the thread can finish
        self.error_box = box
        self.log_panel.add_line(f"error: {message}")

    def _on_thread_finished(self) -> None:
        # No deleteLater: the worker and thread have no Qt parent, so Python owns them and frees
        # them once the last reference (this handle, or a close handler still waiting) is gone.
        self.handle = None
        self.banner.set_run_active(False)
        if self.run_state in ACTIVE:
            trainer_state = self.trainer.state if self.trainer is not None else "error"
            self._set_run_state(trainer_state if trainer_state in STATE_TEXT else "stopped")
        self._update_actions()
        self._update_status()
        self.run_finished.emit(self.run_state)

    def toggle_pause(self) -> None:
        if self.worker is None or not self.is_active():
            return
        if self.run_state == "paused":
            self.worker.resume()
        elif self.run_state in ("running", "starting"):
            self.worker.pause()

    def step(self) -> None:
        if self.worker is not None and self.is_active() and self.run_state == "paused":
            self.worker.step(1)

    def stop(self) -> None:
        if self.worker is not None and self.is_active():
            self.worker.stop()
            self._set_run_state("stopping")

    def request_edit(self, key: str, value) -> bool:
        if self.worker is None or not self.is_active() or self.trainer is None:
            return False
        try:
            self.worker.request_edit(**{key: value})
        except (ConfigError, RuntimeError) as e:
            self.steer.show_error(str(e))
            return False
        return True

    # ================================================================== state display
    def _set_run_state(self, state: str) -> None:
        if self.run_state == "stopping" and state in ("running", "paused"):
            return  # a late state report from before the stop request
        self.run_state = state
        self._update_actions()
        self._update_status()

    def _update_actions(self) -> None:
        s = self.run_state
        active = self.is_active() or s in ("starting", "stopping")
        valid = self.config_panel.error is None
        self.act_start.setEnabled(not active and valid)
        resumable, hint = self._resume_hint(self.config_panel.config()) if valid and not active else (False, "")
        # An opened run that can go on says so on the button itself, not only in a tooltip.
        self.act_start.setText("Continue run" if resumable else "Start")
        if valid:
            self.act_start.setToolTip(f"{hint or 'Start training'}  (Ctrl+Enter)")
            self.act_start.setStatusTip(hint)
        else:
            msg = f"Cannot start: {self.config_panel.error}"
            self.act_start.setToolTip(msg)
            self.act_start.setStatusTip(msg)
        if not active and not valid:
            self.statusBar().showMessage(f"Cannot start: {self.config_panel.error}")
        elif not active:
            self.statusBar().clearMessage()
        self.act_pause.setEnabled(s in ("running", "paused", "starting"))
        paused = s == "paused"
        self.act_pause.setText("Resume" if paused else "Pause")
        self.act_pause.setIcon(icon("start" if paused else "pause"))
        self.act_step.setEnabled(paused)
        self.act_stop.setEnabled(s in ("running", "paused", "starting"))
        for a in (self.act_open, self.act_open_run, self.recent_menu.menuAction()):
            a.setEnabled(not active)
        self.preset_combo.setEnabled(not active)
        self.config_panel.set_read_only(active)
        self.steer.set_active(s in ("running", "paused") and self.trainer is not None)
        self.act_export.setEnabled(self.trainer is not None or self.opened_run is not None)
        self._update_title()

    def _update_title(self) -> None:
        name = (self.run_path.name if (self.run_path and (self.is_active() or self.opened_run)) else None) \
            or self.preset_name or (self.config_path.name if self.config_path else "custom configuration")
        modified = "*" if self.config_panel.is_modified() and not self.is_active() else ""
        extra = ""
        if self.trainer is not None and self.run_state in ACTIVE:
            extra = f" {self.trainer.gen_iter}/{self.trainer.total_iters}"
        self.setWindowTitle(f"{STATE_TEXT.get(self.run_state, self.run_state)}{extra} — {name}{modified} — WGAN Studio")

    def _update_status(self) -> None:
        s = self.run_state
        colour = STATE_COLOUR.get(s, "#7f7f7f")
        self.state_label.setText(f"<span style='color:{colour}'>●</span> {STATE_TEXT.get(s, s)}")
        t = self.trainer
        if t is not None:
            it, total = int(t.gen_iter), int(t.total_iters)
            rate = float(t.its_per_sec or 0.0)
            elapsed_fn = getattr(t, "_elapsed", None)  # no public live elapsed (see report)
            elapsed = elapsed_fn() if callable(elapsed_fn) else float(getattr(t, "elapsed_s", 0.0))
            self.iter_label.setText(f"{it} / {total}")
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(min(it, total))
            running = s in ("running", "starting")
            self.rate_label.setText(f"{rate:.1f} it/s" if running and rate > 0 else "– it/s")
            self.elapsed_label.setText(f"elapsed {fmt_duration(elapsed)}")
            eta = (total - it) / rate if running and rate > 0 else None
            self.eta_label.setText(f"ETA {fmt_duration(eta)}")
            self.device_label.setText(str(t.device))
        elif self.opened_run is not None:
            self.iter_label.setText(f"{self._opened_iter} / {self._opened_total}")
            self.progress.setRange(0, max(self._opened_total, 1))
            self.progress.setValue(min(self._opened_iter, self._opened_total))
        else:
            cfg = self.config_panel.config()
            total = cfg.train.iterations if cfg else 0
            self.iter_label.setText(f"0 / {total}")
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(0)
            self.rate_label.setText("– it/s")
            self.elapsed_label.setText("elapsed –")
            self.eta_label.setText("ETA –")
        self.path_label.setText(str(self.run_path) if self.run_path else "")
        self._update_title()

    # ================================================================== background tasks
    def _run_task(self, fn, on_done, on_error) -> Task:
        task = Task(fn, on_done, on_error, parent=self)
        self.tasks.append(task)
        task.thread.finished.connect(lambda t=task: self.tasks.remove(t) if t in self.tasks else None)
        return task

    @Slot(object)
    def _call_future(self, pair) -> None:
        callback, fut = pair
        callback(fut)

    def _when_done(self, fut: Future, callback) -> None:
        """``callback(fut)`` in the GUI thread once ``fut`` completes (in whichever thread)."""
        fut.add_done_callback(lambda f: self._future_ready.emit((callback, f)))

    # ================================================================== exports
    def _export_defaults(self) -> tuple[Path, bool]:
        folder = self.run_path if self.run_path is not None and self.run_path.is_dir() else self._default_dir()
        it = self.trainer.gen_iter if self.trainer is not None else getattr(self, "_opened_iter", 0)
        cfg = self.config_panel.config() or Config()
        return ex.unique_path(folder, f"samples-iter{it:07d}", ".png"), cfg.is_toy

    def export_grid_dialog(self) -> None:
        if self.trainer is None and self.opened_run is None:
            self._warn("Nothing to export", "Start a run or open one first.")
            return
        default, is_toy = self._export_defaults()
        dlg = ExportGridDialog(self, default, is_toy=is_toy, num_classes=self.export_num_classes())
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.export_grid(**dlg.values())

    def export_num_classes(self) -> int:
        """Classes of the current or opened run when it is conditional (0 otherwise): the export
        dialog then offers a class picker."""
        if self.trainer is not None:
            return int(getattr(self.trainer, "num_classes", 0))
        ckpt = self.run_report.checkpoint if self.run_report is not None else None
        return ex.checkpoint_classes(ckpt) if ckpt is not None and ckpt.is_file() else 0

    def export_grid(self, path: str | Path, count: int = 64, nrow: int = 8, seed: int = 0, size: int = 512,
                    classes: list[int] | None = None) -> bool:
        """Write a grid of ``count`` fresh samples (noise seed ``seed``) from the current
        generator, ``size`` pixels wide. Conditional runs: ``count`` per class of ``classes``
        (default all), one row per class. Asynchronous: emits export_finished / export_failed."""
        path = Path(path)
        if not self.confirm_overwrite(path):
            return False
        if self.trainer is None:
            ckpt = self.run_report.checkpoint if self.run_report is not None else None
            if self.opened_run is not None and ckpt is not None and ckpt.is_file():
                return self.export_checkpoint_grid(ckpt, path, count=count, nrow=nrow, seed=seed, size=size,
                                                   confirmed=True, classes=classes)
            self.export_failed.emit("nothing to export: start a run or open one")
            return False
        trainer, worker = self.trainer, self.worker
        toy_payload = self.samples.payload if trainer.is_toy else None
        cfg = trainer.config

        k = int(getattr(trainer, "num_classes", 0))
        if classes is not None and not k:
            self._export_error("classes chosen, but this run is not conditional", "")
            return False
        chosen = (list(range(k)) if classes is None else list(classes)) if k else None

        def write(snapshot):
            generator, gen_iter = snapshot
            samples = generate(generator, count, cfg.model.z_dim, seed, classes=chosen)
            return ex.write_grid(path, samples, config=cfg, gen_iter=gen_iter, seed=seed, nrow=nrow, size=size,
                                 source=str(self.run_path or ""), toy_payload=toy_payload, classes=chosen)

        def have_snapshot(fut: Future):
            try:
                snap = fut.result()
            except Exception as e:  # noqa: BLE001 - shown to the user
                self._export_error(f"{type(e).__name__}: {e}", "")
                return
            self._run_task(lambda: write(snap), self._export_done, self._export_error)

        self.statusBar().showMessage(f"Exporting {path.name}…", 3000)
        self._when_done(worker.snapshot_generator(), have_snapshot)
        return True

    def export_checkpoint_dialog(self) -> None:
        start = RunDir(self.run_path).checkpoints if self.run_path else self.settings.runs_dir
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", str(start), "Checkpoints (*.pt)")
        if not path:
            return
        dlg = ExportGridDialog(self, ex.unique_path(Path(path).parent, Path(path).stem + "-samples", ".png"),
                                  is_toy=(self.config_panel.config() or Config()).is_toy,
                                  title="Export sample grid from checkpoint",
                                  num_classes=ex.checkpoint_classes(path))
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.export_checkpoint_grid(path, **dlg.values())

    def export_checkpoint_grid(self, checkpoint: str | Path, path: str | Path, count: int = 64, nrow: int = 8,
                               seed: int = 0, size: int = 512, confirmed: bool = False,
                               classes: list[int] | None = None) -> bool:
        path = Path(path)
        if not confirmed and not self.confirm_overwrite(path):
            return False

        def work():
            return ex.write_checkpoint_samples(checkpoint, path, count, seed, classes=classes, nrow=nrow, size=size)

        self._run_task(work, self._export_done, self._export_error)
        return True

    def _export_done(self, path) -> None:
        self.statusBar().showMessage(f"Exported {path}", 5000)
        self.log_panel.add_line(f"exported {path}")
        self.export_finished.emit(str(path))

    def _export_error(self, message: str, details: str) -> None:
        self._warn("Export failed", message)
        self.export_failed.emit(message)

    def export_metrics(self, path: str | Path) -> bool:
        path = Path(path)
        if not self.confirm_overwrite(path):
            return False
        src = RunDir(self.run_path).metrics_path if self.run_path else None
        try:
            if src is not None and src.is_file():
                ex.copy_metrics_csv(src, path)
            else:
                b = self.plots.buf
                ex.write_columns_csv({k: b.view(k) for k in b.names}, path)
        except OSError as e:
            self._warn("Export failed", f"{path}: {e.strerror or e}")
            return False
        self._export_done(path)
        return True

    def export_metrics_dialog(self) -> None:
        folder = self.run_path or self._default_dir()
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", str(ex.unique_path(folder, "metrics-export",
                                              ".csv")), "CSV (*.csv)", options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.export_metrics(path)

    def export_plots(self, path: str | Path) -> bool:
        path = Path(path)
        if not self.confirm_overwrite(path):
            return False
        try:
            self.plots.export(str(path))
        except Exception as e:  # noqa: BLE001 - pyqtgraph's exporters raise plain Exceptions
            self._warn("Export failed", f"{path}: {e}")
            return False
        self._export_done(path)
        return True

    def export_plots_dialog(self) -> None:
        folder = self.run_path or self._default_dir()
        path, flt = QFileDialog.getSaveFileName(self, "Export plots", str(ex.unique_path(folder, "plots", ".png")),
                                                "PNG image (*.png);;SVG drawing (*.svg)",
                                                options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            if not path.lower().endswith((".png", ".svg")):
                path += ".svg" if "svg" in flt.lower() else ".png"
            self.export_plots(path)

    # ================================================================== dialogs
    def preferences_dialog(self) -> None:
        dlg = QDialog(self)
        dlg.setWindowTitle("Preferences")
        form = QFormLayout(dlg)
        runs = QLineEdit(str(self.settings.runs_dir))
        if os.environ.get("WGAN_STUDIO_RUNS"):
            runs.setEnabled(False)
            runs.setToolTip("Set by the environment variable WGAN_STUDIO_RUNS")
        browse = QPushButton("…")
        browse.clicked.connect(lambda: runs.setText(QFileDialog.getExistingDirectory(dlg, "Runs folder",
                                                                                      runs.text()) or runs.text()))
        row = QHBoxLayout()
        row.addWidget(runs, 1)
        row.addWidget(browse)
        holder = QWidget()
        holder.setLayout(row)
        form.addRow("Runs folder", holder)
        theme = QComboBox()
        for key, text in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            theme.addItem(text, key)
        theme.setCurrentIndex(theme.findData(self.settings.theme))
        form.addRow("Theme", theme)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dlg.accept)
        buttons.rejected.connect(dlg.reject)
        form.addRow(buttons)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            if runs.isEnabled():
                self.settings.runs_dir = runs.text().strip() or None
            self.set_theme(theme.currentData())

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", f"<table>{rows}</table>",
                          QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.shortcuts_box = box

    def show_about(self) -> None:
        import platform
        import sys

        import torch
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        packaged = ", packaged build" if getattr(sys, "frozen", False) else ""
        box = QMessageBox(QMessageBox.Icon.NoIcon, "About WGAN Studio",
                          f"<h3>WGAN Studio {__version__}</h3><p>Train Wasserstein GANs and watch them learn.</p>"
                          "<p>Arjovsky, Chintala, Bottou, <i>Wasserstein GAN</i> (2017); Gulrajani et al., "
                          "<i>Improved Training of Wasserstein GANs</i> (2017).</p><p>Press F1 for the keyboard "
                          f"shortcuts.</p><p><small>PyTorch {torch.__version__}, Qt {qVersion()} (PySide6 "
                          f"{pyside_version}), Python {platform.python_version()}{packaged}</small></p>",
                          QMessageBox.StandardButton.Ok, self)
        box.setIconPixmap(icon("app").pixmap(64, 64))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.about_box = box

    # ================================================================== closing
    def closeEvent(self, event) -> None:
        if self._closing:
            event.ignore()
            return
        if self.is_active():
            if not (no_confirm() or self.question_handler(
                    "Stop training?", "A run is in progress. Stop it, write a checkpoint and quit?")):
                event.ignore()
                return
            self._closing = True
            try:
                self._set_run_state("stopping")
                self.statusBar().showMessage("Stopping: finishing the iteration and writing a checkpoint…")
                # Keep painting while the trainer reaches its boundary and writes the checkpoint
                # (and finishes any checkpoint it is writing: the thread is never cut short);
                # user input is held back so nothing new can start meanwhile.
                def pump():
                    QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 50)

                waited = self.close_timeout_s
                ok = self.handle.stop_and_wait(self.close_timeout_s, pump)
                # A slow disk (a big checkpoint on a network drive): the user decides how long to wait.
                while not ok and not no_confirm() and self.question_handler(
                        "Still writing the checkpoint?",
                        f"The run has not stopped after {fmt_duration(waited)}: it is probably still writing its "
                        "checkpoint. Keep waiting?\n\nNo quits anyway; the last complete checkpoint is kept "
                        "(checkpoints are written to a temporary file and renamed when complete)."):
                    ok = self.handle.stop_and_wait(self.close_timeout_s, pump)
                    waited += self.close_timeout_s
                if not ok:
                    log.error("the training thread did not stop within %.0f s", waited)
            finally:
                self._closing = False
        for task in list(self.tasks):
            task.wait(60_000)
        self.distances.stop_and_wait(30)  # a sweep's thread must not outlive the window
        QApplication.processEvents()
        self.status_timer.stop()
        self.plots.timer.stop()
        self.save_settings()
        event.accept()

"""The main window: the assembly of toolbar, configuration / steer / log docks, samples over
plots and status bar around one :class:`studio.run_model.RunModel`.

The model owns the current run and every panel redraws from it; run control
(:mod:`studio.run_control`), exports (:mod:`studio.export_actions`) and dialogs
(:mod:`studio.dialogs`) live in their own modules. The window never blocks on the engine: the
trainer runs in its own thread and everything it reports arrives as queued Qt signals.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QByteArray, QEventLoop, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine import list_presets, save_config
from engine.text import format_duration
from studio import dialogs
from studio.compare import CompareWindow, RunChooser
from studio.export_actions import ExportActions
from studio.panels.banner import RunBanner
from studio.panels.config_panel import ConfigPanel
from studio.panels.distances import DistancesPanel
from studio.panels.log import LogPanel
from studio.panels.plots import PlotsPanel
from studio.panels.samples import SamplesPanel
from studio.panels.steer import SteerPanel
from studio.run_control import RunControl
from studio.run_model import ACTIVE, RunModel
from studio.settings import Settings
from studio.theme import apply_theme, icon, resolve_dark
from studio.worker import Task, warm_up

log = logging.getLogger(__name__)

STATE_TEXT = {"idle": "Idle", "starting": "Starting", "running": "Running", "paused": "Paused",
              "stopping": "Stopping", "finished": "Finished", "stopped": "Stopped", "failed": "Failed",
              "not responding": "Not responding (no sign of life from the training process)"}
STATE_COLOUR = {"running": "#2ca02c", "paused": "#e6a700", "starting": "#1f77b4", "stopping": "#e6a700",
                "failed": "#d62728", "finished": "#1f77b4", "stopped": "#7f7f7f", "idle": "#7f7f7f",
                "not responding": "#d62728"}


def no_confirm() -> bool:
    return os.environ.get("WGAN_STUDIO_NO_CONFIRM", "") not in ("", "0")


class MainWindow(RunControl, ExportActions, QMainWindow):
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
        self.nproc_handler = self._ask_nproc  # Run > Start with N local processes: how many (0: cancelled)
        self.export_dialog = None           # the open export dialog (Export grid…), if any
        self.live_samples_s = live_samples_s
        self.model = RunModel(self)
        self.config_path: Path | None = None
        self.preset_name: str | None = None
        self.error_box: QMessageBox | None = None
        self.damage_box: QMessageBox | None = None
        self.tasks: list[Task] = []
        self.close_timeout_s = 120.0                 # then ask whether to keep waiting for the run to stop
        self._closing = False
        self._theme_override = theme
        # A bound slot of this GUI-thread object (not a lambda): the call is queued to the GUI thread.
        self._future_ready.connect(self._call_future)

        self.setObjectName("MainWindow")
        self.setWindowTitle("WGAN Studio")
        self.resize(1500, 950)
        self._build_panels()
        self._init_run_control()
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
        # 1 Hz (elapsed time and ETA in seconds): every update and repaint holds the GIL that the
        # training thread needs (see studio/panels/plots/panel.py, benchmarks/gui_overhead.py).
        self.status_timer.setInterval(1000)
        self.status_timer.timeout.connect(self._update_status)
        self.status_timer.start()
        self._update_actions()
        # Import what the first run needs (torch._dynamo via torch.optim) in the background once the
        # window is up, so that the first Start does not freeze the window.
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
        for panel in (self.steer, self.log_panel, self.samples, self.plots):
            panel.bind(self.model)

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
        self.tabs.currentChanged.connect(self._give_distances_room)
        self.samples.toy.show_arrows.toggled.connect(lambda *_: self._sync_live_view())
        self.samples.toy.train_requested.connect(self.train_on_drawing)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(0, 3)   # the five stacked plots need the larger share
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setChildrenCollapsible(False)
        # The banner sits above samples and plots: in view, never modal (the window stays usable).
        self.banner = RunBanner()
        self.banner.bind(self.model)
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
        self.act_open_points = A("Open points…", self.open_points_dialog, "Ctrl+Shift+P", None,
                                 "Train on your own 2-D points: a .csv, .tsv or .txt (x, y and an optional mode a "
                                 "line) or an N x 2 / N x 3 .npy file")
        self.act_compare = A("Compare runs…", self.compare_runs_dialog, "Ctrl+Alt+O", None,
                             "Overlay the curves, samples and final metrics of several run folders")
        self.act_compare_add = A("Add current run to comparison", self.add_current_run_to_compare, None, None,
                                 "Add the run shown here (running, finished or opened) to the Compare runs window")
        self.act_save = A("Save", self.save_config, "Ctrl+S", "save", "Save the configuration")
        self.act_save_as = A("Save As…", self.save_config_as, "Ctrl+Shift+S", None, "Save the configuration as")
        self.act_start = A("Start", self.start, ["Ctrl+Return", "Ctrl+Enter"], "start", "Start training")
        self.act_start_procs = A("Start with N local processes…", lambda: self.start_processes(), None, None,
                                 "Train this configuration as a new run with N processes (torchrun, data-parallel) "
                                 "and follow its run folder")
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
        for a in (self.act_open, self.act_open_run, self.act_open_points):
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
        for a in (self.act_start, self.act_start_procs, self.act_pause, self.act_step, self.act_stop):
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
        s.set_value("samples/nrow", self.samples.grid.user_nrow)
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

    def _ask_nproc(self) -> int:
        from PySide6.QtWidgets import QInputDialog
        n, ok = QInputDialog.getInt(self, "Start with N local processes",
                                    "Processes (batch_size is the global batch, split evenly):", 2, 1, 256)
        return n if ok else 0

    def _warn(self, title: str, text: str) -> None:
        log.warning("%s: %s", title, text)
        self.warning_box = dialogs.warning(self, title, text)

    def confirm_overwrite(self, path: Path) -> bool:
        return not path.exists() or self.question_handler(
            "Replace file?", f"{path.name} already exists in {path.parent}.\nReplace it?")

    # ================================================================== configuration
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open configuration", str(self._default_dir()),
                                              "Configurations (*.toml);;All files (*)")
        if path:
            self.open_path(path)

    def open_points_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open points", str(self._default_dir()),
                                              "2-D points (*.csv *.tsv *.txt *.dat *.npy);;All files (*)")
        if path:
            self.open_points(path)

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

    # ================================================================== state display
    def _update_actions(self) -> None:
        s = self.run_state
        active = self.is_active() or s in ("starting", "stopping")
        valid = self.config_panel.error is None
        self.act_start.setEnabled(not active and valid)
        resumable, hint = self._resume_hint(self.config_panel.config()) if valid and not active else (False, "")
        # An opened run that can go on says so on the button itself, not only in a tooltip.
        self.act_start.setText("Continue run" if resumable else "Start")
        self.act_start_procs.setEnabled(not active and valid)
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
        for a in (self.act_open, self.act_open_run, self.act_open_points, self.recent_menu.menuAction()):
            a.setEnabled(not active)
        self.samples.toy.set_can_train(not active)
        self.preset_combo.setEnabled(not active)
        self.config_panel.set_read_only(active)
        source = self.model.source
        self.steer.set_active(s in ("running", "paused") and source is not None and source.can_steer)
        self.act_export.setEnabled(self.trainer is not None or self.opened_run is not None)
        self._update_title()

    def _update_title(self) -> None:
        name = (self.run_path.name if (self.run_path and (self.is_active() or self.opened_run)) else None) \
            or self.preset_name or (self.config_path.name if self.config_path else "custom configuration")
        # is_modified() compares whole configurations: not while a run is active (no star then).
        modified = "*" if not self.is_active() and self.config_panel.is_modified() else ""
        extra = ""
        if self.trainer is not None and self.run_state in ACTIVE:
            extra = f" {self.trainer.gen_iter}/{self.trainer.total_iters}"
        self.setWindowTitle(f"{STATE_TEXT.get(self.run_state, self.run_state)}{extra} — {name}{modified} — WGAN Studio")

    def _update_status(self) -> None:
        s = self.run_state
        colour = STATE_COLOUR.get(s, "#7f7f7f")
        self.state_label.setText(f"<span style='color:{colour}'>●</span> {STATE_TEXT.get(s, s)}")
        p = self.model.progress()
        self.iter_label.setText(f"{p.gen_iter} / {p.total}")
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(min(p.gen_iter, p.total))
        running = s in ("running", "starting")
        rate = p.its_per_sec if running and p.its_per_sec else None
        self.rate_label.setText(f"{rate:.1f} it/s" if rate else "– it/s")
        self.elapsed_label.setText(f"elapsed {format_duration(p.elapsed_s)}")
        eta = (p.total - p.gen_iter) / rate if rate else None
        self.eta_label.setText(f"ETA {format_duration(eta)}")
        self.device_label.setText(p.device)
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

    def _give_distances_room(self, index: int) -> None:
        """The Distances tab (Example 1: its own form, plots and table, independent of the run)
        takes the whole height while it is shown (issue 18, point 7: it opened squeezed into
        ~250 px, and five training plots squeezed below it show nothing readable); the training
        plots come back, at their size, when another tab is chosen."""
        self.plots.setVisible(self.tabs.widget(index) is not self.distances_scroll)

    # ================================================================== dialogs
    def preferences_dialog(self) -> None:
        chosen = dialogs.preferences(self, self.settings.runs_dir, self.settings.theme)
        if chosen is not None:
            runs, theme = chosen
            if runs is not None:
                self.settings.runs_dir = runs or None
            self.set_theme(theme)

    def show_shortcuts(self) -> None:
        self.shortcuts_box = dialogs.shortcuts(self)

    def show_about(self) -> None:
        self.about_box = dialogs.about(self)

    # ================================================================== closing
    def closeEvent(self, event) -> None:
        if self._closing:
            event.ignore()
            return
        if self.is_active() and not self.model.source.owns_run:
            self.model.source.stop_and_wait(5.0)  # a followed run goes on in its own process
        elif self.is_active():
            if not (no_confirm() or self.question_handler(
                    "Stop training?", "A run is in progress. Stop it, write a checkpoint and quit?")):
                event.ignore()
                return
            self._closing = True
            try:
                self.model.set_state("stopping")
                self.statusBar().showMessage("Stopping: finishing the iteration and writing a checkpoint…")
                # Keep painting while the trainer reaches its boundary and writes the checkpoint
                # (and finishes any checkpoint it is writing: the thread is never cut short);
                # user input is held back so nothing new can start meanwhile.
                def pump():
                    QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 50)

                waited = self.close_timeout_s
                ok = self.model.source.stop_and_wait(self.close_timeout_s, pump)
                # A slow disk (a big checkpoint on a network drive): the user decides how long to wait.
                while not ok and not no_confirm() and self.question_handler(
                        "Still writing the checkpoint?",
                        f"The run has not stopped after {format_duration(waited)}: it is probably still writing its "
                        "checkpoint. Keep waiting?\n\nNo quits anyway; the last complete checkpoint is kept "
                        "(checkpoints are written to a temporary file and renamed when complete)."):
                    ok = self.model.source.stop_and_wait(self.close_timeout_s, pump)
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

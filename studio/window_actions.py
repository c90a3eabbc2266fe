"""The window's actions, toolbar and menus, and the switcher between the runs it holds.

:class:`WindowActions` makes every action from one table (:data:`ACTIONS`: text, shortcut, icon,
tooltip) with the slots the window hands it, lays out the toolbar and the menus, and applies the
states :func:`studio.action_states.action_states` declares. :class:`RunSwitcher` (the toolbar's
"Run" box, and the Window menu) lists the held runs and makes the chosen one current.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QMenu

from engine import list_presets
from studio.action_states import ActionState
from studio.run_model import RunModel
from studio.runs import NEW, Run
from studio.status_bar import state_text
from studio.theme import icon

# name: (text, shortcut(s), icon, tooltip)
ACTIONS = {
    "open": ("Open…", "Ctrl+O", "open", "Open a configuration (TOML) or run"),
    "open_run": ("Open run folder…", "Ctrl+Shift+O", None,
                 "Look at the curves and samples of a run folder (one being trained elsewhere is followed)"),
    "open_remote": ("Open remote run…", None, None,
                    "Follow and steer a run on another machine over SSH (host and path; ~/.ssh/config, ssh-agent and "
                    "known_hosts apply)"),
    "open_points": ("Open points…", "Ctrl+Shift+P", None,
                    "Train on your own 2-D points: a .csv, .tsv or .txt (x, y and an optional mode a line) or an "
                    "N x 2 / N x 3 .npy file"),
    "compare": ("Compare runs…", "Ctrl+Alt+O", None, "Overlay the curves, samples and final metrics of several run "
                                                     "folders"),
    "compare_add": ("Add current run to comparison", None, None,
                    "Add the run shown here (running, finished or opened) to the Compare runs window"),
    "save": ("Save", "Ctrl+S", "save", "Save the configuration"),
    "save_as": ("Save As…", "Ctrl+Shift+S", None, "Save the configuration as"),
    "start": ("Start", ["Ctrl+Return", "Ctrl+Enter"], "start", "Start training"),
    "start_procs": ("Start with N local processes…", None, None,
                    "Train this configuration as a new run with N processes (torchrun, data-parallel) and follow its "
                    "run folder"),
    "pause": ("Pause", "Space", "pause", "Pause / resume"),
    "step": ("Step", "Ctrl+Right", "step", "One generator iteration (while paused)"),
    "stop": ("Stop", "Ctrl+.", "stop", "Stop at the next iteration and write a checkpoint"),
    "export": ("Export grid…", "Ctrl+E", "export", "Export the current sample grid as PNG"),
    "export_ckpt": ("Export grid from checkpoint…", None, None, "A sample grid from any saved checkpoint"),
    "export_csv": ("Export metrics as CSV…", None, None, None),
    "export_plots": ("Export plots as PNG/SVG…", None, None, None),
    "next_run": ("Next run", "Ctrl+PgDown", None, "Show the next of the runs this window holds"),
    "previous_run": ("Previous run", "Ctrl+PgUp", None, "Show the previous of the runs this window holds"),
    "close_run": ("Close run", "Ctrl+Shift+W", None, "Stop showing this run (a run in progress cannot be closed)"),
    "prefs": ("Preferences…", "Ctrl+,", None, None),
    "quit": ("Quit", "Ctrl+Q", None, None),
    "shortcuts": ("Keyboard shortcuts", "F1", None, None),
    "about": ("About WGAN Studio", None, None, None),
}
TOOLBAR = (("start", "pause", "step", "stop"), ("export",))
MENUS = {
    "&File": ("open", "open_run", "open_remote", "open_points", "@recent", "compare", "compare_add", "-", "save",
              "save_as", "-", "export", "export_ckpt", "export_csv", "export_plots", "-", "prefs", "quit"),
    "&Run": ("start", "start_procs", "pause", "step", "stop"),
    "&Window": ("next_run", "previous_run", "close_run", "-", "@runs"),
}
THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


def run_label(run: Run, preset: str | None = None) -> str:
    if run.kind == NEW:
        return f"New run ({preset})" if preset else "New run"
    return f"{run.name} — {state_text(run.state).split(' (')[0]}"


class RunSwitcher(QComboBox):
    """The held runs, the current one shown; choosing one makes it current."""

    def __init__(self, model: RunModel, preset_name: Callable[[], str | None], parent=None):
        super().__init__(parent)
        self.model, self.preset_name = model, preset_name
        self.setObjectName("runSwitcher")
        self.setToolTip("The runs this window holds (Ctrl+PgDown / Ctrl+PgUp: the next / previous one)")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.activated.connect(self._chosen)
        model.runs_changed.connect(self.refill)
        self.refill()

    def runs(self) -> list[Run]:
        return list(self.model.runs)

    def refill(self) -> None:
        self.blockSignals(True)
        self.clear()
        for run in self.runs():
            self.addItem(run_label(run, self.preset_name()))
            self.setItemData(self.count() - 1, run.where, Qt.ItemDataRole.ToolTipRole)
        current = next((i for i, r in enumerate(self.runs()) if r is self.model.current), -1)
        self.setCurrentIndex(current)
        self.setEnabled(self.count() > 1)
        self.blockSignals(False)

    def _chosen(self, index: int) -> None:
        runs = self.runs()
        if 0 <= index < len(runs):
            self.model.switch_to(runs[index])

    def step(self, by: int) -> None:
        """Make the next (``by`` 1) or previous (-1) held run current."""
        runs = self.runs()
        if len(runs) > 1:
            i = next(i for i, r in enumerate(runs) if r is self.model.current)
            self.model.switch_to(runs[(i + by) % len(runs)])


class WindowActions:
    """Every action of ``window`` (``actions[name]``), its toolbar and menus."""

    def __init__(self, window: QMainWindow, slots: Mapping[str, Callable]):
        self.window = window
        self.actions: dict[str, QAction] = {}
        for name, (text, shortcut, icon_name, tip) in ACTIONS.items():
            self.actions[name] = self._action(text, slots[name], shortcut, icon_name, tip)
        self.tips = {name: a.toolTip() for name, a in self.actions.items()}
        self.theme_actions: dict[str, QAction] = {}

    def _action(self, text, slot, shortcut=None, icon_name=None, tip=None) -> QAction:
        a = QAction(text, self.window)
        if shortcut:
            a.setShortcuts([QKeySequence(s) for s in ([shortcut] if isinstance(shortcut, str) else shortcut)])
        if icon_name:
            a.setIcon(icon(icon_name))
        if tip or shortcut:
            sc = shortcut if isinstance(shortcut, str) else (shortcut[0] if shortcut else "")
            a.setToolTip(f"{tip or text}{f'  ({sc})' if sc else ''}")
        a.triggered.connect(lambda _=False, slot=slot: slot())
        self.window.addAction(a)  # shortcuts work whichever dock has the focus
        return a

    # ------------------------------------------------------------------ toolbar and menus
    def build(self, load_preset: Callable[[str], object], switcher: RunSwitcher, docks, set_theme) -> None:
        w, A = self.window, self.actions
        tb = self.toolbar = w.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.preset_combo = QComboBox()
        self.preset_combo.setObjectName("presetCombo")
        self.preset_combo.setPlaceholderText("custom configuration")
        for name, desc in list_presets().items():
            self.preset_combo.addItem(name, name)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, desc, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.setToolTip("Preset: a starting configuration")
        self.preset_combo.activated.connect(lambda i: load_preset(self.preset_combo.itemData(i)))
        tb.addWidget(QLabel(" Preset "))
        tb.addWidget(self.preset_combo)
        tb.addAction(A["open"])
        tb.addAction(A["save"])
        for group in TOOLBAR:
            tb.addSeparator()
            for name in group:
                tb.addAction(A[name])
        tb.addSeparator()
        tb.addWidget(QLabel(" Run "))
        tb.addWidget(switcher)
        self.switcher = switcher
        mb = w.menuBar()
        self.menus: dict[str, QMenu] = {}
        for title, items in MENUS.items():
            self.menus[title] = mb.addMenu(title)
            self._fill(self.menus[title], items)
        self._view_menu(mb.addMenu("&View"), docks, set_theme)
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(A["shortcuts"])
        help_menu.addAction(A["about"])
        switcher.model.runs_changed.connect(self.fill_runs_menu)
        self.fill_runs_menu()

    def _fill(self, menu: QMenu, items) -> None:
        for item in items:
            if item == "-":
                menu.addSeparator()
            elif item == "@recent":
                self.recent_menu = menu.addMenu("Open recent")
            elif item == "@runs":
                self.runs_menu = menu
                self.runs_start = len(menu.actions())
            else:
                menu.addAction(self.actions[item])

    def _view_menu(self, m: QMenu, docks, set_theme) -> None:
        for d in docks:
            m.addAction(d.toggleViewAction())
        m.addSeparator()
        theme_menu = m.addMenu("Theme")
        group = QActionGroup(self.window)
        for key, text in THEMES:
            a = QAction(text, self.window, checkable=True)
            a.triggered.connect(lambda _=False, k=key: set_theme(k))
            group.addAction(a)
            theme_menu.addAction(a)
            self.theme_actions[key] = a

    def fill_runs_menu(self) -> None:
        """The Window menu's list of held runs, the current one ticked."""
        menu, sw = self.runs_menu, self.switcher
        for a in menu.actions()[self.runs_start:]:
            menu.removeAction(a)
        for run in sw.runs():
            a = menu.addAction(run_label(run, sw.preset_name()))
            a.setCheckable(True)
            a.setChecked(run is sw.model.current)
            a.triggered.connect(lambda _=False, r=run: sw.model.switch_to(r) if r in sw.model.runs else None)

    def fill_recent(self, recent: list[str], open_path: Callable, clear: Callable) -> None:
        """Configurations and run folders, newest first. A run opens ready to continue."""
        self.recent_menu.clear()
        for p in recent:
            path = Path(p)
            is_run = path.suffix.lower() != ".toml"
            a = self.recent_menu.addAction(f"{'Run ' if is_run else ''}{path.name}   ({path.parent})")
            a.setData(p)
            a.setToolTip(f"Open the run folder {p} (to look at it or continue it)" if is_run
                         else f"Open the configuration {p}")
            a.setStatusTip(a.toolTip())
            a.triggered.connect(lambda _=False, path=p: open_path(path))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", clear)
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------ states
    def apply(self, states: Mapping[str, ActionState]) -> None:
        for name, st in states.items():
            a = self.actions.get(name)
            if a is None:
                continue
            a.setEnabled(st.enabled)
            if st.text is not None:
                a.setText(st.text)
            if st.tip is not None:
                keys = a.shortcuts()
                sc = f"  ({keys[-1].toString()})" if keys else ""
                a.setToolTip(f"{st.tip}{sc}")
                a.setStatusTip(st.tip)
        paused = states["pause"].text == "Resume"
        self.actions["pause"].setIcon(icon("start" if paused else "pause"))

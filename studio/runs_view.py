"""The Runs view: every run of the runs folder and of the folders the user adds, in one live
table (sortable, filtered by text and state), with Open, Compare and Export CSV, and the queue's
controls (move up or down, remove, hold).

The rows come from :class:`studio.runs_table.RunsScan` (its own thread, only the bytes added to
each run folder); the view only shows them. What its buttons do is said through signals: the
window opens and compares runs (:mod:`studio.run_queue` handles the queue's).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.status import RunState
from studio.csv_table import ask_csv_path, write_csv
from studio.runs.table import RunRow, csv_text
from studio.runs_table import ROW_ROLE, RunsFilter, RunsScan, RunsTableModel
from studio.settings import Settings

STATES = ("", RunState.QUEUED, RunState.RUNNING, RunState.PAUSED, RunState.FINISHED, RunState.STOPPED,
          RunState.FAILED, RunState.NOT_RESPONDING)


def tool_button(text: str, tip: str, slot, checkable: bool = False) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setCheckable(checkable)
    (b.toggled if checkable else b.clicked).connect(slot)
    return b


class RunsView(QWidget):
    """The table and its buttons. ``open_requested(path)``, ``compare_requested([paths])``;
    the queue's: ``queue_move(entry id, -1 | +1)``, ``queue_remove([ids])``, ``queue_hold(bool)``,
    ``scatter_requested(sweep folder)``."""

    open_requested = Signal(object)
    compare_requested = Signal(object)
    queue_move = Signal(str, int)
    queue_remove = Signal(object)
    queue_hold = Signal(bool)
    scatter_requested = Signal(object)

    def __init__(self, settings: Settings, parent: QWidget | None = None, *, poll_s: float | None = None):
        super().__init__(parent)
        self.setObjectName("runsView")
        self.settings = settings
        self.model = RunsTableModel(self)
        self.proxy = RunsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.scan = RunsScan(self.roots(), self, poll_s=poll_s)
        self.scan.rows_changed.connect(self.model.apply)
        self.status_text = QLabel()
        self.status_text.setObjectName("runsStatus")
        self.save_path_handler = lambda default: ask_csv_path(self, "Export the runs table", default)
        self.folder_handler = lambda: QFileDialog.getExistingDirectory(self, "Add a folder of runs",
                                                                       str(self.settings.runs_dir))
        self._build()
        self.model.rowsInserted.connect(lambda *_: (self.table.resizeColumnsToContents(), self._update_buttons()))
        self.model.dataChanged.connect(lambda *_: self._update_buttons())

    def _build(self) -> None:
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: name, objective, folder…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(lambda t: self.proxy.set_filter(text=t))
        self.state_combo = QComboBox()
        for st in STATES:
            self.state_combo.addItem(str(st) if st else "any state", str(st))
        self.state_combo.currentIndexChanged.connect(lambda _i: self.proxy.set_filter(state=self.state_combo.
                                                                                      currentData() or None))
        self.table = QTableView()
        self.table.setObjectName("runsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(8, Qt.SortOrder.DescendingOrder)   # the newest first
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

        self.open_button = tool_button("Open", "Open the selected run (one being trained is followed)",
                                       self.open_selected)
        self.compare_button = tool_button("Compare", "Overlay the selected runs' curves in Compare runs",
                                          self.compare_selected)
        self.scatter_button = tool_button("Scatter…", "The selected run's sweep: each trial's parameter against "
                                          "its metric", self.scatter_selected)
        self.add_folder_button = tool_button("Add folder…", "List the runs (and sweeps) of another folder too "
                                             "(its menu: stop listing one)", self.add_folder_dialog)
        self.folders_menu = QMenu(self.add_folder_button)
        self.folders_menu.aboutToShow.connect(self._fill_folders_menu)
        self.add_folder_button.setMenu(self.folders_menu)
        self.add_folder_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.export_button = tool_button("Export CSV…", "Write the table as shown to a CSV file",
                                         self.export_csv_dialog)
        self.up_button = tool_button("▲", "Move the queued run up (it starts sooner)", lambda: self._move(-1))
        self.down_button = tool_button("▼", "Move the queued run down", lambda: self._move(1))
        self.remove_button = tool_button("Remove", "Remove the selected queued runs from the queue",
                                         self._remove_queued)
        self.hold_button = tool_button("Hold queue", "Start no queued run until the queue is resumed "
                                       "(runs training go on)", self.queue_hold.emit, checkable=True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.state_combo)
        for b in (self.open_button, self.compare_button, self.scatter_button, self.add_folder_button,
                  self.export_button):
            top.addWidget(b)
        queue = QHBoxLayout()
        queue.setContentsMargins(0, 0, 0, 0)
        queue.addWidget(QLabel("Queue"))
        for b in (self.up_button, self.down_button, self.remove_button, self.hold_button):
            queue.addWidget(b)
        self.queue_row = queue
        queue.addWidget(self.status_text, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(queue)
        self._update_buttons()

    # ------------------------------------------------------------------ folders
    def roots(self) -> list[Path]:
        """The runs folder, then the folders the user added."""
        roots = [self.settings.runs_dir]
        roots += [Path(p) for p in self.settings.runs_folders if Path(p) != self.settings.runs_dir]
        return roots

    def start(self) -> None:
        self.scan.start()

    def stop(self) -> None:
        self.scan.stop()

    def add_folder(self, path: str | Path) -> None:
        path = Path(path).resolve()
        folders = self.settings.runs_folders
        if str(path) not in folders:
            self.settings.runs_folders = [*folders, str(path)]
        self.scan.set_roots(self.roots())

    def add_folder_dialog(self) -> None:
        path = self.folder_handler()
        if path:
            self.add_folder(path)

    def remove_folder(self, path: str | Path) -> None:
        """Stop listing the runs of a folder the user added (its runs stay on disk)."""
        gone = Path(path).resolve()
        self.settings.runs_folders = [f for f in self.settings.runs_folders if Path(f).resolve() != gone]
        self.scan.set_roots(self.roots())

    def _fill_folders_menu(self) -> None:
        self.folders_menu.clear()
        for f in self.settings.runs_folders:
            self.folders_menu.addAction(f"Stop listing {f}", lambda f=f: self.remove_folder(f))
        if not self.settings.runs_folders:
            self.folders_menu.addAction("No folder added").setEnabled(False)

    def refresh_roots(self) -> None:
        """The runs folder may have changed (Preferences)."""
        self.scan.set_roots(self.roots())

    # ------------------------------------------------------------------ selection
    def selected_rows(self) -> list[RunRow]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        return [self.proxy.index(r, 0).data(ROW_ROLE) for r in sorted(rows)]

    def select_paths(self, paths) -> None:
        wanted = {Path(p) for p in paths}
        sm = self.table.selectionModel()
        sm.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(ROW_ROLE).path in wanted:
                sm.select(self.proxy.index(r, 0), flags)

    def _update_buttons(self) -> None:
        rows = self.selected_rows()
        runs = [r for r in rows if r.queue_id is None]
        queued = [r for r in rows if r.queue_id is not None]
        self.open_button.setEnabled(len(runs) == 1)
        self.compare_button.setEnabled(len(runs) >= 1)
        self.scatter_button.setEnabled(any(r.group.startswith("sweep ") for r in runs))
        self.up_button.setEnabled(len(queued) == 1)
        self.down_button.setEnabled(len(queued) == 1)
        self.remove_button.setEnabled(bool(queued))

    def _double_clicked(self, index) -> None:
        row = index.data(ROW_ROLE)
        if row is not None and row.queue_id is None:
            self.open_requested.emit(row.path)

    def open_selected(self) -> None:
        runs = [r for r in self.selected_rows() if r.queue_id is None]
        if len(runs) == 1:
            self.open_requested.emit(runs[0].path)

    def compare_selected(self) -> None:
        runs = [r.path for r in self.selected_rows() if r.queue_id is None]
        if runs:
            self.compare_requested.emit(runs)

    def scatter_selected(self) -> None:
        sweep = next((r for r in self.selected_rows() if r.group.startswith("sweep ")), None)
        if sweep is not None:
            self.scatter_requested.emit(sweep.path.parent.parent)

    def _move(self, by: int) -> None:
        queued = [r for r in self.selected_rows() if r.queue_id is not None]
        if len(queued) == 1:
            self.queue_move.emit(queued[0].queue_id, by)

    def _remove_queued(self) -> None:
        ids = [r.queue_id for r in self.selected_rows() if r.queue_id is not None]
        if ids:
            self.queue_remove.emit(ids)

    # ------------------------------------------------------------------ export
    def csv_text(self) -> str:
        return csv_text(self.proxy.rows())

    def export_csv(self, path: str | Path) -> bool:
        return write_csv(path, self.csv_text(), self.proxy.rowCount(), self.set_status)

    def export_csv_dialog(self) -> bool:
        path = self.save_path_handler(str(self.settings.runs_dir / "runs.csv"))
        return bool(path) and self.export_csv(path)

    def set_status(self, text: str, error: bool = False) -> None:
        self.status_text.setText(text)
        self.status_text.setProperty("error", error)

"""The Runs view's Qt side: the scan off the GUI thread and a thin table model over its rows.

:class:`RunsScan` runs :class:`studio.runs.table.RunsScanner` on a thread of its own once a
second and hands the rows that changed to the GUI thread as one queued signal; the
:class:`RunsTableModel` updates those rows in place (no reset, so the selection and the sort
stay) and :class:`RunsFilter` sorts and filters them (text and state). Queued entries of a
queue (not run folders yet) are rows too: :meth:`RunsTableModel.set_queued`.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor

from engine.status import RunState
from studio.runs.table import COLUMNS, HEADERS, STATE_COLOUR, RunRow, RunsScanner, cell_text, matches, sort_key

log = logging.getLogger(__name__)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
STATE_COLUMN = HEADERS.index("State")


class RunsScan(QObject):
    """The scanner's thread. ``rows_changed(changed, gone)``: lists of RunRow and Path."""

    rows_changed = Signal(object, object)
    POLL_S = 1.0

    def __init__(self, roots=(), parent: QObject | None = None, *, poll_s: float | None = None, clock=None):
        super().__init__(parent)
        kw = {"clock": clock} if clock is not None else {}
        self.scanner = RunsScanner(roots, **kw)
        self.poll_s = poll_s if poll_s is not None else self.POLL_S
        self._lock = threading.Lock()
        self._roots: list[Path] | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.scans = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="runs-scan", daemon=True)
            self._thread.start()

    def set_roots(self, roots) -> None:
        """Watch ``roots`` from the next scan on (which comes at once)."""
        with self._lock:
            self._roots = [Path(r) for r in roots]
        self._wake.set()

    def rescan(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                roots, self._roots = self._roots, None
            if roots is not None:
                self.scanner.set_roots(roots)
            try:
                changed, gone = self.scanner.scan()
            except Exception:  # noqa: BLE001 - one bad folder must never end the view
                log.exception("scanning the runs folders failed")
                changed, gone = [], []
            self.scans += 1
            if changed or gone:
                self.rows_changed.emit(changed, gone)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


class RunsTableModel(QAbstractTableModel):
    """The rows, in the order they came; each updated in place."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.rows: list[RunRow] = []
        self._index: dict[Path, int] = {}

    # ------------------------------------------------------------------ Qt's model
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt's name and default
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][3]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(row, index.column())
        if role == SORT_ROLE:
            return sort_key(row, index.column())
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(row.path) if row.queue_id is None else f"queued: {row.path}"
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == STATE_COLUMN:
            return QColor(STATE_COLOUR.get(row.state, "#7f7f7f"))
        return None

    # ------------------------------------------------------------------ changes
    def apply(self, changed: list[RunRow], gone: list[Path] = ()) -> None:
        """New or changed rows and the folders that went away."""
        for path in gone:
            self._remove(path)
        new = [r for r in changed if r.path not in self._index]
        for r in changed:
            i = self._index.get(r.path)
            if i is not None:
                self.rows[i] = r
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
        if new:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for r in new:
                self._index[r.path] = len(self.rows)
                self.rows.append(r)
            self.endInsertRows()

    def _remove(self, path: Path) -> None:
        i = self._index.get(path)
        if i is None:
            return
        self.beginRemoveRows(QModelIndex(), i, i)
        del self.rows[i]
        self.endRemoveRows()
        self._index = {r.path: j for j, r in enumerate(self.rows)}

    def set_queued(self, entries: list[RunRow]) -> None:
        """The queue's waiting entries (rows with a ``queue_id``) in place of the earlier ones;
        an entry whose run folder has appeared is listed by the scan instead."""
        keep = {e.path for e in entries}
        for r in [r for r in self.rows if r.queue_id is not None and r.path not in keep]:
            self._remove(r.path)
        self.apply([e for e in entries if not (e.path in self._index and self.rows[self._index[e.path]].queue_id
                                               is None)])

    def row_at(self, i: int) -> RunRow:
        return self.rows[i]


class RunsFilter(QSortFilterProxyModel):
    """Sorted by the columns' own keys; filtered by text and state."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.text = ""
        self.state: RunState | None = None

    def set_filter(self, text: str | None = None, state: RunState | str | None = "") -> None:
        self.beginFilterChange()
        if text is not None:
            self.text = text
        if state != "":
            self.state = RunState.parse(state) if state else None
        self.endFilterChange()

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802 - Qt's name
        row = self.sourceModel().row_at(source_row)
        return matches(row, self.text, self.state)

    def lessThan(self, left, right) -> bool:  # noqa: N802 - Qt's name
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)

    def rows(self) -> list[RunRow]:
        """The rows as shown (filtered, in the table's order)."""
        return [self.index(i, 0).data(ROW_ROLE) for i in range(self.rowCount())]

"""Compare runs: several run folders side by side.

One window (File > Compare runs…) with, for every run in the comparison:
- its curve of a chosen metrics.csv column, all runs overlaid, one colour per run, a legend
  naming each run (folder name and objective), x = generator iteration;
- its latest saved sample picture (``samples/iter_NNNNNNN.png``: the toy scatter or the image
  grid) with the run's name under it;
- a row of final metrics (the last value of each evaluation column), sortable, with Copy as CSV
  and Export CSV.

Each run is read through :mod:`studio.compare_runs`: a folder with the engine's one reader
(:func:`engine.run_report.inspect_run`, which keeps every readable row), the main window's current
run from its :class:`studio.runs.Run`. A folder that is not a run, or whose metrics.csv has no
readable rows, is named in one message with what is wrong and skipped; the other folders still
load.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.rundir import EVAL_COLUMNS
from studio.compare_runs import (
    METRIC_LABELS,
    RUN_COLOURS,
    TABLE_COLUMNS,
    ComparedRun,
    RunUnreadable,
    compare_title,
    compared_run,
    format_cell,
    read_run,
)
from studio.csv_table import ask_csv_path, copy_csv, write_csv
from studio.panels.plots import SMOOTHED, Smoother
from studio.run_chooser import RunChooser
from studio.runs import Run
from studio.theme import plot_colours
from studio.widgets import button

log = logging.getLogger(__name__)


class _SortItem(QTableWidgetItem):
    """A cell that sorts by its number (missing values last), not by its text."""

    def __init__(self, text: str, key):
        super().__init__(text)
        self.key = key
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)

    def __lt__(self, other):  # noqa: D105 - Qt's sort
        a, b = self.key, getattr(other, "key", None)
        if isinstance(a, float) and isinstance(b, float):
            return (math.isnan(a), a) < (math.isnan(b), b)
        return str(a).lower() < str(b).lower()


def _swatch(colour: str) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(QColor(colour))
    return QIcon(pm)


class CompareWindow(QWidget):
    """Overlaid curves, side-by-side samples and a table of final metrics of several runs.

    ``current_run()`` (optional) returns the :class:`studio.runs.Run` the main window shows
    (running, finished or opened), for "Add current run": its rows so far, without reading its
    folder again."""

    SAMPLE_HEIGHT = 200   # the smallest side of a sample picture; they grow with the strip

    def __init__(self, parent=None, *, dark: bool = False, runs_dir: Path | None = None,
                 current_run: Callable[[], Run | None] | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("CompareWindow")
        self.setWindowTitle("Compare runs — WGAN Studio")
        self.resize(1400, 950)
        self.runs: list[ComparedRun] = []
        self.curves: dict[Path, pg.PlotDataItem] = {}
        self.problems: list[str] = []          # "<folder>: <what is wrong>" of the last add
        self.message_box: QMessageBox | None = None
        self.runs_dir = runs_dir or Path.home()
        self.current_run = current_run
        self.save_path_handler = self._ask_save_path
        self.colours = plot_colours(dark)

        # ---------------------------------------------------------------- controls
        self.add_button = button("Add runs…", "Choose run folders to add to the comparison", self.add_runs_dialog)
        self.add_current_button = button("Add current run",
                                         "Add the run the main window shows (running, finished or opened)",
                                         self.add_current_run)
        self.add_current_button.setVisible(current_run is not None)
        self.remove_button = button("Remove", "Remove the runs selected in the table from the comparison  (Delete)",
                                    self.remove_selected)
        self.reload_button = button("Reload", "Read every run's files again (runs still training have grown)  (F5)",
                                    self.reload)
        self.metric_combo = QComboBox()
        self.metric_combo.setToolTip("The metrics.csv column to overlay")
        self.metric_combo.setMinimumContentsLength(22)
        self.metric_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.smooth_check = QCheckBox("Smooth")
        self.smooth_check.setChecked(True)
        self.smooth_check.setToolTip("Exponential moving average (weight 0.9) of the per-iteration curves, as in "
                                     "the main plots; evaluation points are never smoothed")
        self.smooth_check.toggled.connect(lambda _on: self.redraw())
        self.log_check = QCheckBox("log y")
        self.log_check.setToolTip("Logarithmic y axis (values ≤ 0 are not drawn)")
        self.log_check.toggled.connect(lambda on: self.plot.setLogMode(False, on))
        top = QHBoxLayout()
        for w in (self.add_button, self.add_current_button, self.remove_button, self.reload_button):
            top.addWidget(w)
        top.addSpacing(16)
        top.addWidget(QLabel("Curve"))
        top.addWidget(self.metric_combo)
        top.addWidget(self.smooth_check)
        top.addWidget(self.log_check)
        top.addStretch(1)

        # ---------------------------------------------------------------- plot
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setObjectName("comparePlot")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLabel("bottom", "generator iteration")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(-10, 10))

        # ---------------------------------------------------------------- samples
        self.samples_row = QHBoxLayout()
        self.samples_row.setContentsMargins(4, 4, 4, 4)
        self.samples_row.addStretch(1)
        strip = QWidget()
        strip.setLayout(self.samples_row)
        self.samples_area = QScrollArea()
        self.samples_area.setWidgetResizable(True)
        self.samples_area.setWidget(strip)
        self.samples_area.setMinimumHeight(self.SAMPLE_HEIGHT + 70)
        self.samples_area.viewport().installEventFilter(self)
        self._pixmaps: dict[Path, QPixmap] = {}   # the full-size pictures, scaled to fit on resize
        self.sample_panels: dict[Path, QFrame] = {}

        # ---------------------------------------------------------------- table
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setObjectName("compareTable")
        self.table.setHorizontalHeaderLabels([c[0] for c in TABLE_COLUMNS])
        for i, (_h, _c, tip) in enumerate(TABLE_COLUMNS):
            self.table.horizontalHeaderItem(i).setToolTip(tip)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Runs in the order they were added until a header is clicked.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setMinimumHeight(150)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.copy_button = button("Copy as CSV", "Copy the table (raw numbers) to the clipboard", self.copy_csv)
        self.export_button = button("Export CSV…", "Write the table to a CSV file", self.export_csv_dialog)
        self.status = QLabel("Add runs to compare: Add runs… or, in the main window, File > Add current run.")
        self.status.setObjectName("compareStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.copy_button)
        bottom.addWidget(self.export_button)
        table_box = QWidget()
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        tl.addLayout(bottom)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.plot_widget)
        self.splitter.addWidget(self.samples_area)
        self.splitter.addWidget(table_box)
        self.splitter.setSizes([430, 300, 170])
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.splitter, 1)

        QShortcut(QKeySequence.StandardKey.Delete, self.table, self.remove_selected)
        QShortcut(QKeySequence("F5"), self, self.reload)
        # A window of its own: Esc and Ctrl+W close it, as they close a dialog or a tab.
        # (One shortcut per key: two on the same key would be ambiguous and neither would fire.)
        keys = {"Esc", "Ctrl+W"} | {k.toString() for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Close)}
        for k in sorted(keys):
            QShortcut(QKeySequence(k), self, self.close)
        self.set_dark(dark)
        self._update_buttons()

    # ================================================================== adding and removing
    def add_runs(self, paths) -> list[ComparedRun]:
        """Add run folders (or :class:`studio.runs.Run` records); the unreadable ones are named in
        one message and skipped."""
        added, problems = [], []
        known = {r.path.resolve() for r in self.runs}
        for item in paths:
            p = Path(item.key if isinstance(item, Run) else item)
            if p.resolve() in known:
                continue  # already compared: nothing to say
            try:
                run = compared_run(item) if isinstance(item, Run) else read_run(p)
            except RunUnreadable as e:
                problems.append(f"{p.name}: {e}  ({p})")
                continue
            if run.problems:
                problems.append(f"{p.name}: shown, but " + "; ".join(run.problems))
            self._place(run)
            self.runs.append(run)
            known.add(p.resolve())
            added.append(run)
        self.problems = problems
        self._refill_metrics()
        self._rebuild()
        self._report(added, problems)
        return added

    def _place(self, run: ComparedRun) -> None:
        """A name unique in the comparison and the first colour no other run has."""
        names = {r.name for r in self.runs}
        if run.name in names:
            run.name = f"{run.path.parent.name}/{run.path.name}"
        used = {r.colour for r in self.runs}
        run.colour = next((c for c in RUN_COLOURS if c not in used), RUN_COLOURS[len(self.runs) % len(RUN_COLOURS)])

    def has_run(self, path: str | Path) -> bool:
        path = Path(path).resolve()
        return any(r.path.resolve() == path for r in self.runs)

    def remove_run(self, path: str | Path) -> bool:
        path = Path(path).resolve()
        before = len(self.runs)
        self.runs = [r for r in self.runs if r.path.resolve() != path]
        if len(self.runs) == before:
            return False
        self._refill_metrics()
        self._rebuild()
        self._set_status(f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''} compared.")
        return True

    @Slot()
    def remove_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        paths = [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]
        for p in paths:
            self.remove_run(p)

    @Slot()
    def reload(self) -> None:
        paths = [r.path for r in self.runs]
        self.runs = []
        self.add_runs(paths)

    @Slot()
    def add_current_run(self) -> list[ComparedRun]:
        run = self.current_run() if self.current_run is not None else None
        if run is None or run.key is None:
            self._set_status("No current run: start a run or open a run folder in the main window first.",
                             error=True)
            return []
        return self.add_runs([run])

    @Slot()
    def add_runs_dialog(self) -> None:
        dlg = RunChooser(self, self.runs_dir, {r.path for r in self.runs})
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.add_runs(dlg.selected())

    def _report(self, added: list[ComparedRun], problems: list[str]) -> None:
        n = len(self.runs)
        text = f"{n} run{'s' if n != 1 else ''} compared."
        if added:
            text = f"Added {', '.join(r.name for r in added)}. " + text
        if not problems:
            self._set_status(text)
            return
        skipped = sum(1 for p in problems if ": shown, but " not in p)
        self._set_status(text + f" {len(problems)} folder{'s' if len(problems) != 1 else ''} with problems"
                         f"{f' ({skipped} skipped)' if skipped else ''}: " + " | ".join(problems), error=True)
        for p in problems:
            log.warning("compare: %s", p)
        box = QMessageBox(QMessageBox.Icon.Warning, "Some folders cannot be compared" if skipped else
                          "Damaged run folders", "\n\n".join(f"• {p}" for p in problems) +
                          ("\n\nThe other runs are compared." if n else ""), QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, not blocking
        self.message_box = box

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet("color: #d62728;" if error else "")

    def _update_buttons(self) -> None:
        has = bool(self.runs)
        self.remove_button.setEnabled(bool(self.table.selectedItems()))
        self.reload_button.setEnabled(has)
        self.copy_button.setEnabled(has)
        self.export_button.setEnabled(has)

    # ================================================================== drawing
    def _refill_metrics(self) -> None:
        """Every column some run has, the known ones in a fixed order; the choice is kept."""
        keep = self.metric_combo.currentData() or "w_estimate"
        have = set()
        for r in self.runs:
            have.update(k for k, v in r.columns.items() if k != "gen_iter" and np.isfinite(v).any())
        names = [k for k in METRIC_LABELS if k in have] + sorted(have - set(METRIC_LABELS))
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        for k in names:
            self.metric_combo.addItem(METRIC_LABELS.get(k, k), k)
        i = self.metric_combo.findData(keep)
        self.metric_combo.setCurrentIndex(i if i >= 0 else 0)
        self.metric_combo.blockSignals(False)

    @property
    def metric(self) -> str | None:
        return self.metric_combo.currentData()

    def set_metric(self, column: str) -> bool:
        i = self.metric_combo.findData(column)
        if i >= 0:
            self.metric_combo.setCurrentIndex(i)
        return i >= 0

    def _rebuild(self) -> None:
        self.redraw()
        self._fill_samples()
        self._fill_table()
        self._update_buttons()

    def redraw(self) -> None:
        """One curve per run of the chosen column, in the run's colour, named in the legend."""
        for curve in self.curves.values():
            self.plot.removeItem(curve)
        self.curves.clear()
        self.legend.clear()
        metric = self.metric
        self.smooth_check.setEnabled(metric in SMOOTHED)
        hint = {"w_estimate": "  (should fall)", "w1_exact": "  (lower is better)", "sliced_w": "  (lower is better)",
                "frechet_distance": "  (lower is better)", "kid": "  (lower is better)",
                "modes_covered": "  (higher is better)", "confident_share": "  (higher is better)"}.get(metric, "")
        self.plot.setTitle(f"<span style='color:{self.colours.foreground}'>"
                           f"{compare_title(self.runs, metric)}{hint}</span>" if metric else None)
        self.plot.setLabel("left", METRIC_LABELS.get(metric, metric or ""))
        for run in self.runs:
            x = run.columns["gen_iter"]
            y = run.columns.get(metric) if metric else None
            sparse = metric in EVAL_COLUMNS
            kw = {"symbol": "o", "symbolSize": 5, "symbolBrush": run.colour, "symbolPen": run.colour} if sparse else {}
            curve = self.plot.plot(name=run.label, pen=pg.mkPen(run.colour, width=2), **kw)
            if y is not None:
                if sparse:
                    finite = np.isfinite(y)
                    x, y = x[finite], y[finite]
                elif self.smooth_check.isChecked() and metric in SMOOTHED:
                    finite = np.isfinite(y)  # rows after a non-finite step stay gaps
                    y = y.copy()
                    y[finite] = Smoother(0.9).run(y[finite])
                curve.setData(x, y)
            if not sparse:
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
            self.curves[run.path] = curve
        self.plot.enableAutoRange()

    def _fill_samples(self) -> None:
        for panel in self.sample_panels.values():
            self.samples_row.removeWidget(panel)
            panel.deleteLater()
        self.sample_panels.clear()
        self._pixmaps.clear()
        for i, run in enumerate(self.runs):
            panel = QFrame()
            panel.setFrameShape(QFrame.Shape.StyledPanel)
            v = QVBoxLayout(panel)
            v.setContentsMargins(4, 4, 4, 4)
            picture = QLabel()
            picture.setObjectName("comparePicture")
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pm = QPixmap(str(run.sample_png)) if run.sample_png is not None else QPixmap()
            if not pm.isNull():
                self._pixmaps[run.path] = pm
                picture.setToolTip(str(run.sample_png))
            else:
                picture.setText("no sample picture saved" if run.sample_png is None
                                else f"cannot read {run.sample_png.name}")
            it = ""
            if run.sample_png is not None:
                it = run.sample_png.stem.split("_")[-1].lstrip("0") or "0"
            caption = QLabel(f"<span style='color:{run.colour}'>■</span> <b>{run.name}</b><br>{run.objective}"
                             f"{f', iteration {it}' if it else ''}")
            caption.setObjectName("compareCaption")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setToolTip(str(run.path))
            v.addWidget(picture, 1)
            v.addWidget(caption)
            self.samples_row.insertWidget(i, panel)
            self.sample_panels[run.path] = panel
        self._fit_pictures()

    def _fit_pictures(self) -> None:
        """Square pictures as tall as the strip allows (the strip scrolls sideways when many)."""
        side = max(self.SAMPLE_HEIGHT, self.samples_area.viewport().height() - 62)
        for path, panel in self.sample_panels.items():
            picture = panel.findChild(QLabel, "comparePicture")
            picture.setFixedSize(side, side)
            pm = self._pixmaps.get(path)
            if pm is not None:
                picture.setPixmap(pm.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if obj is self.samples_area.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_pictures()
        return super().eventFilter(obj, event)

    def _fill_table(self) -> None:
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            for col, (_h, column, _tip) in enumerate(TABLE_COLUMNS):
                if col == 0:
                    item = _SortItem(run.name, run.name)
                    item.setIcon(_swatch(run.colour))
                    item.setData(Qt.ItemDataRole.UserRole, str(run.path))
                    item.setToolTip(str(run.path))
                elif col == 1:
                    item = _SortItem(run.objective, run.objective)
                elif col == 2:
                    item = _SortItem(run.data, run.data)
                else:
                    v = run.final(column)
                    item = _SortItem(format_cell(v, column), v)
                    if column in run.measures:  # what this run's measure is taken in (engine.measures)
                        item.setToolTip(run.measures[column])
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)

    def table_rows(self) -> list[list[str]]:
        """The table as shown (in its current sort order)."""
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]

    # ================================================================== CSV
    def csv_text(self) -> str:
        """The table in its current order, with the raw numbers (empty where missing)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["run", "objective", "data", *(c for _h, c, _t in TABLE_COLUMNS[3:]), "path"])
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in range(self.table.columnCount())]
            nums = [f"{c.key:.9g}" if math.isfinite(c.key) else "" for c in cells[3:]]
            w.writerow([cells[0].text(), cells[1].text(), cells[2].text(), *nums,
                        cells[0].data(Qt.ItemDataRole.UserRole)])
        return buf.getvalue()

    @Slot()
    def copy_csv(self) -> None:
        copy_csv(self.csv_text(), len(self.runs), self._set_status)

    def export_csv(self, path: str | Path) -> bool:
        return write_csv(path, self.csv_text(), len(self.runs), self._set_status)

    def _ask_save_path(self, default: str) -> str:
        return ask_csv_path(self, "Export comparison", default)

    @Slot()
    def export_csv_dialog(self) -> bool:
        from engine.export import unique_path
        folder = self.runs_dir if self.runs_dir.is_dir() else Path.home()
        path = self.save_path_handler(str(unique_path(folder, "comparison", ".csv")))
        return bool(path) and self.export_csv(path)

    # ================================================================== theme
    def set_dark(self, dark: bool) -> None:
        self.colours = c = plot_colours(dark)
        self.plot_widget.setBackground(c.background)
        for name in ("left", "bottom"):
            ax = self.plot.getAxis(name)
            ax.setPen(pg.mkPen(c.foreground))
            ax.setTextPen(pg.mkPen(c.foreground))
        self.legend.setLabelTextColor(c.foreground)
        bg = pg.mkColor(c.background)
        bg.setAlpha(200)
        self.legend.setBrush(pg.mkBrush(bg))
        self.legend.setPen(pg.mkPen(c.marker))
        self.redraw()

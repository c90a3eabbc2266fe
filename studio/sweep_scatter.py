"""A sweep's result at a glance: one point per trial, a searched parameter against the sweep's
metric, coloured by the trial's state; hovering names the run, clicking opens it, and "Compare
best" overlays the best trials in Compare runs.

It reads the sweep folder's ``trials.csv`` (:func:`engine.sweep.read_trials`: small, rewritten
atomically when a trial ends) again whenever that file changes. A trial without a value of the
metric yet (waiting, running, failed before its first evaluation) has no point; the caption
counts them.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from engine.sweep import SweepTrials, TrialRow, read_trials
from studio.widgets import button

STATE_COLOURS = {"complete": "#2e86de", "pruned": "#e67e22", "failed": "#c0392b", "running": "#27ae60",
                 "waiting": "#95a5a6"}


def best_trials(trials: SweepTrials, n: int) -> list[TrialRow]:
    """The ``n`` best complete trials by the sweep's metric and direction."""
    done = [r for r in trials.rows if r.state == "complete" and r.value is not None and math.isfinite(r.value)
            and r.run_dir is not None]
    return sorted(done, key=lambda r: r.value, reverse=trials.direction == "maximize")[:n]


CATEGORIES = 12   # at most this many distinct values (a list searched): evenly spaced, each one named


def axis_values(rows: list[TrialRow], param: str) -> tuple[list[float], list[str] | None]:
    """The x of each row: the parameter's value (a range searched), or its index among the
    distinct values when they are few or not numbers (then the names of the ticks too)."""
    values = [r.params.get(param) for r in rows]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    distinct = sorted(set(values), key=lambda v: (float(v) if numeric else 0.0, str(v)))
    if numeric and len(distinct) > CATEGORIES:
        return [float(v) for v in values], None
    names = [str(v) for v in distinct]
    return [float(names.index(str(v))) for v in values], names


class SweepScatter(QWidget):
    """``open_requested(run folder)``, ``compare_requested([run folders])``."""

    open_requested = Signal(object)
    compare_requested = Signal(object)

    def __init__(self, folder: str | Path, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.folder = Path(folder)
        self.setObjectName("sweepScatter")
        self.setWindowTitle(f"Sweep {self.folder.name} — WGAN Studio")
        self.resize(760, 520)
        self.trials = SweepTrials()
        self._mtime: int | None = None
        self.param_combo = QComboBox()
        self.param_combo.setToolTip("The searched setting on the x axis")
        self.param_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.best_n = QSpinBox()
        self.best_n.setRange(1, 20)
        self.best_n.setValue(3)
        self.best_n.setPrefix("best ")
        self.compare_button = button("Compare best", "Overlay the best trials (by the sweep's metric) in Compare runs",
                                     self.compare_best)
        self.caption = QLabel()
        self.caption.setObjectName("sweepCaption")
        self.hover_label = QLabel("Hover over a point to name its run; click it to open the run.")
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setBackground(self.palette().base().color())
        self.plot = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.points = pg.ScatterPlotItem(size=11, hoverable=True, hoverSize=15, hoverPen=pg.mkPen("w", width=2))
        self.points.sigHovered.connect(self.on_hover)
        self.points.sigClicked.connect(self.on_click)
        self.plot.addItem(self.points)
        top = QHBoxLayout()
        top.addWidget(QLabel("Parameter"))
        top.addWidget(self.param_combo, 1)
        top.addWidget(self.best_n)
        top.addWidget(self.compare_button)
        legend = QHBoxLayout()
        for state, colour in STATE_COLOURS.items():
            swatch = QLabel(f"<span style='color:{colour}'>●</span> {state}")
            legend.addWidget(swatch)
        legend.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.plot_widget, 1)
        lay.addLayout(legend)
        lay.addWidget(self.hover_label)
        lay.addWidget(self.caption)
        self.timer = QTimer(self)
        self.timer.setInterval(2000)
        self.timer.timeout.connect(self.reload)
        self.timer.start()
        self.reload(force=True)

    def reload(self, force: bool = False) -> None:
        try:
            mtime = (self.folder / "trials.csv").stat().st_mtime_ns
        except OSError:
            mtime = None
        if not force and mtime == self._mtime:
            return
        self._mtime = mtime
        self.trials = read_trials(self.folder)
        current = self.param_combo.currentText()
        self.param_combo.blockSignals(True)
        self.param_combo.clear()
        self.param_combo.addItems(self.trials.params)
        if current in self.trials.params:
            self.param_combo.setCurrentText(current)
        self.param_combo.blockSignals(False)
        self.redraw()

    def plotted(self) -> list[TrialRow]:
        return [r for r in self.trials.rows if r.value is not None and math.isfinite(r.value)]

    def redraw(self) -> None:
        param = self.param_combo.currentText()
        rows = self.plotted() if param else []
        xs, names = axis_values(rows, param)
        self.points.setData(x=xs, y=[r.value for r in rows], data=rows,
                            brush=[pg.mkBrush(STATE_COLOURS.get(r.state, "#7f8c8d")) for r in rows])
        axis = self.plot.getAxis("bottom")
        axis.setTicks([list(enumerate(names))] if names is not None else None)
        spread = rows and names is None and min(xs) > 0 and max(xs) / min(xs) >= 100
        self.plot.setLogMode(x=bool(spread), y=False)
        self.plot.setLabel("bottom", param)
        self.plot.setLabel("left", f"{self.trials.metric} ({self.trials.direction})")
        best = self.trials.best
        waiting = len(self.trials.rows) - len(rows)
        self.caption.setText(f"{len(self.trials.rows)} trials" + (f", {waiting} without a value yet" if waiting else "")
                             + (f"; best: {best.run_dir.name if best.run_dir else best.number} "
                                f"({self.trials.metric} {best.value:.4g})" if best is not None else ""))
        self.compare_button.setEnabled(best is not None)

    def on_hover(self, _item, points, _ev) -> None:
        if len(points) == 0:
            return
        row: TrialRow = points[0].data()
        name = row.run_dir.name if row.run_dir is not None else f"trial {row.number}"
        text = (f"{name} ({row.state}): " + ", ".join(f"{k} = {v}" for k, v in row.params.items())
                + f"; {self.trials.metric} {row.value:.4g}")
        self.hover_label.setText(text)
        self.plot_widget.setToolTip(text)

    def on_click(self, _item, points, _ev) -> None:
        if len(points) and points[0].data().run_dir is not None:
            self.open_requested.emit(points[0].data().run_dir)

    def compare_best(self) -> None:
        best = best_trials(self.trials, self.best_n.value())
        if best:
            self.compare_requested.emit([r.run_dir for r in best])

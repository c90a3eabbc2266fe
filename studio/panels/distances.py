"""The distance lab: Example 1 of the WGAN paper (section 2), measured live.

``P_0 = (0, Z)`` and ``P_theta = (theta, Z)`` with ``Z ~ U[0, 1]`` are two parallel segments.
The panel sweeps theta, trains a fresh critic at each value with each chosen objective
(:mod:`engine.distance`, in a worker thread: :mod:`studio.distance_worker`) and draws the
paper's picture as the results arrive:

- the closed forms from :func:`engine.distance.closed_forms`: ``W = |theta|`` (a V) and
  ``JS = log 2`` (flat, dropping to 0 only at theta = 0);
- the gradient-penalty critic's estimates on the W line; the clipped critic's estimates, which
  are ``K |theta|`` for an unknown Lipschitz constant K, drawn times 1/K with K (fitted by
  :func:`engine.distance.fit_slope`) in the legend; the GAN discriminator's JS estimate on the
  log 2 line;
- beside it, ``d estimate / d theta``: about ``sign(theta)`` for W, about 0 for JS (the
  vanishing gradient);
- a table of every result, with Copy as CSV / Export CSV.

Nothing is hard-coded: every number drawn comes from the engine.

Hosting (the main window): ``panel = DistancesPanel(parent)``, then
``tabs.addTab(panel, "Distances")``; call ``panel.set_dark(dark)`` when the theme changes and
``panel.stop_and_wait()`` in ``closeEvent`` (the sweep thread must not outlive the window).
``panel.run_action`` / ``panel.stop_action`` are ready-made ``QAction`` s for a menu.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QEventLoop, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import distance as lab
from engine.text import format_duration
from studio.csv_table import ask_csv_path, copy_csv, write_csv
from studio.distance_worker import DistanceWorker
from studio.theme import PlotColours, plot_colours
from studio.widgets import button, splitter
from studio.worker import RunHandle, start_worker

log = logging.getLogger(__name__)

EXPLANATION = ("<b>Example 1</b> (WGAN paper, §2): P<sub>0</sub> = (0, Z), P<sub>θ</sub> = (θ, Z), Z ~ U[0, 1]: "
               "two parallel segments θ apart. W = |θ| shrinks with θ; JS, KL and TV stay flat until θ = 0.")

OBJECTIVE_TIPS = {
    "wgan-gp": "<b>wgan-gp</b>: a critic trained with the gradient penalty (Gulrajani et al.), weight λ. "
               "It is close to 1-Lipschitz, so its estimate mean f(P<sub>0</sub>) − mean f(P<sub>θ</sub>) "
               "lies on the W = |θ| line.",
    "wgan-clip": "<b>wgan-clip</b>: a critic whose weights are clipped to [−c, c] (WGAN paper, Algorithm 1). "
                 "It is K-Lipschitz for an unknown K set by c and the architecture, so its estimate is "
                 "K·|θ| (\"up to a constant\"): drawn ×1/K, with the fitted K in the legend.",
    "gan": "<b>gan</b>: the original GAN's discriminator. Its value V gives the Jensen–Shannon estimate "
           "(V + log 4)/2 (Goodfellow et al., Theorem 1), which saturates at log 2 as soon as θ ≠ 0: "
           "a flat loss, no gradient towards θ = 0.",
}

# Table columns: (engine key, header, header tooltip).
COLUMNS = (
    ("theta", "θ", "θ, the offset of the second segment: P_θ = (θ, Z)"),
    ("objective", "objective", "the critic's objective"),
    ("estimate", "estimate", "what the trained critic measures: the W-estimate (wgan-gp, wgan-clip) or the "
                             "JS estimate (gan)"),
    ("grad_theta", "d/dθ", "d estimate / dθ with the trained critic held fixed: what a generator at θ is told"),
    ("w_exact", "W = |θ|", "the exact Wasserstein-1 (Earth-Mover) distance"),
    ("js", "JS", "the exact Jensen–Shannon divergence: log 2 for θ ≠ 0, 0 at θ = 0"),
    ("kl", "KL", "the exact Kullback–Leibler divergence: +∞ for θ ≠ 0, 0 at θ = 0"),
    ("tv", "TV", "the exact total variation distance: 1 for θ ≠ 0, 0 at θ = 0"),
)
SYMBOL = {"wgan-gp": "o", "wgan-clip": "s", "gan": "t"}




def fmt_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if math.isnan(v):
        return "–"
    return f"{v:.4g}"


def _rgba(colour, alpha: int) -> tuple:
    c = pg.mkColor(colour)
    return (c.red(), c.green(), c.blue(), alpha)


class DistancesPanel(QWidget):
    """The "Distances" view: controls, the Example 1 picture, the gradient plot and the table.

    ``lab_overrides``: :class:`engine.distance.LabSettings` fields the form does not show
    (``hidden``, ``batch``, ``layers``, ``lr``, ``eval_points``, ``seed``); tests use it for tiny
    critics. ``save_path_handler(default_path) -> str`` asks where to export (tests replace it)."""

    sweep_finished = Signal(str)   # "finished", "stopped" or "error", once the thread has ended

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None, device="cpu",
                 lab_overrides: dict | None = None):
        super().__init__(parent)
        self.setObjectName("distancesPanel")
        # The lab's critics are tiny (two line segments): the CPU is the quick place for them.
        self.device = device
        self.lab_overrides = dict(lab_overrides or {})
        if dark is None:
            dark = QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
        self.colours: PlotColours = plot_colours(dark)
        self.results: list[dict] = []
        self.clip_slope = float("nan")            # K of the clipped critic, fitted on its results so far
        self.handle: RunHandle | None = None
        self.state = "idle"                        # idle, running, stopping
        self.last_status: str | None = None       # finished, stopped, error: how the last sweep ended
        self.last_error: str | None = None
        self._summary: dict | None = None
        self._t0 = 0.0
        self.save_path_handler = self._ask_save_path
        self._last_dir = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(
            Path.home())

        self._build_controls()
        self._build_plots()
        self._build_table()

        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        root.addWidget(self.explanation)
        root.addLayout(self._controls_row1)
        root.addLayout(self._controls_row2)
        root.addWidget(self.status)
        self.splitter = splitter(Qt.Orientation.Vertical, self.plot_splitter, self.table_box)
        # The plots take the height the tab has (down to their minimum), not their preferred 800 px:
        # the wrapped caption makes the tab's scroll area size it by height-for-width, which Qt
        # computes from preferred heights, and the θ axis ended up scrolled out of a 1000 px screen.
        self.splitter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.splitter.setMinimumHeight(self.splitter.minimumSizeHint().height())  # below it: scroll
        root.addWidget(self.splitter, 1)

        self._apply_colours()
        self._draw_closed_forms()
        self._update_controls()
        app = QApplication.instance()
        if app is not None:  # a safety net: the host should call stop_and_wait() in its closeEvent
            app.aboutToQuit.connect(self._on_about_to_quit)

    # ================================================================== construction
    def _build_controls(self) -> None:
        d = lab.LabSettings()
        self.explanation = QLabel(EXPLANATION)
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setToolTip(
            "The closed forms (engine/distance.py): W(P<sub>0</sub>, P<sub>θ</sub>) = |θ|; JS = log 2, KL = +∞, "
            "TV = 1 for θ ≠ 0, all 0 at θ = 0. Only W changes with θ, so only W tells a generator which way "
            "to move. Each point is a critic trained from scratch at that θ.")

        self.objective_checks: dict[str, QCheckBox] = {}
        row1 = QHBoxLayout()
        row1.setSpacing(6)
        row1.addWidget(QLabel("Critics:"))
        for name in lab.OBJECTIVES:
            cb = QCheckBox(name)
            cb.setChecked(True)
            cb.setToolTip(OBJECTIVE_TIPS[name])
            cb.toggled.connect(self._update_controls)
            self.objective_checks[name] = cb
            row1.addWidget(cb)
        row1.addSpacing(12)
        self.theta_from = self._dspin(-10, 10, -2.0, 0.5, 2, "The first θ of the sweep. θ is the offset of the "
                                      "second segment: P<sub>θ</sub> = (θ, Z)")
        self.theta_to = self._dspin(-10, 10, 2.0, 0.5, 2, "The last θ of the sweep (θ: P<sub>θ</sub> = (θ, Z))")
        self.theta_count = QSpinBox()
        self.theta_count.setRange(1, 201)
        self.theta_count.setValue(17)
        self.theta_count.setToolTip("How many values of θ, evenly spaced (an odd count includes θ = 0 on a "
                                    "symmetric range)")
        for w in (self.theta_from, self.theta_to):
            w.valueChanged.connect(self._draw_closed_forms)
        row1.addWidget(QLabel("θ from"))
        row1.addWidget(self.theta_from)
        row1.addWidget(QLabel("to"))
        row1.addWidget(self.theta_to)
        row1.addWidget(QLabel("points"))
        row1.addWidget(self.theta_count)
        row1.addStretch(1)
        self._controls_row1 = row1

        row2 = QHBoxLayout()
        row2.setSpacing(6)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 1_000_000)
        self.steps_spin.setSingleStep(50)
        self.steps_spin.setValue(d.steps)
        self.steps_spin.setToolTip(f"Critic steps at each θ (a fresh critic for every θ and objective; "
                                   f"default {d.steps}). The estimate is taken after the last step.")
        self.lambda_spin = self._dspin(0, 1000, d.gp_lambda, 5, 1,
                                       f"λ, the gradient-penalty weight (wgan-gp). The lab's default is "
                                       f"{d.gp_lambda:g}, not the paper's 10: the penalty biases the estimate "
                                       f"to |θ|(1 + |θ|/(2λ)), +10% at θ = 2 with λ = 10.")
        self.clip_spin = self._dspin(0.0001, 10, d.clip_value, 0.005, 4,
                                     f"c, the clipping value (wgan-clip): every critic weight is clamped to "
                                     f"[−c, c] (WGAN paper: c = {d.clip_value:g}). The estimate scales with "
                                     f"the Lipschitz constant K that c allows.")
        row2.addWidget(QLabel("critic steps"))
        row2.addWidget(self.steps_spin)
        self.lambda_label = QLabel("λ")
        self.clip_label = QLabel("c")
        for lbl, spin in ((self.lambda_label, self.lambda_spin), (self.clip_label, self.clip_spin)):
            lbl.setToolTip(spin.toolTip())
            row2.addWidget(lbl)
            row2.addWidget(spin)
        row2.addSpacing(12)

        self.run_action = QAction("Run sweep", self)
        self.run_action.setToolTip("Train a critic at every θ for each chosen objective and draw the results "
                                   "as they arrive")
        self.run_action.triggered.connect(self.run)
        self.stop_action = QAction("Stop sweep", self)
        self.stop_action.setToolTip("Stop the sweep (within 50 critic steps); the results so far stay")
        self.stop_action.triggered.connect(self.stop)
        self.run_button = button("Run", self.run_action.toolTip(), self.run)
        self.stop_button = button("Stop", self.stop_action.toolTip(), self.stop)
        row2.addWidget(self.run_button)
        row2.addWidget(self.stop_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.setMinimumWidth(90)
        self.progress.setMaximumWidth(180)
        self.progress.setToolTip("Critic steps done of the whole sweep, and the time left (ETA)")
        row2.addWidget(self.progress)
        row2.addStretch(1)
        self.status = QLabel("Idle: choose the critics and the θ range, then Run.")
        self.status.setObjectName("distanceStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long status must not widen the window (cut instead; the tooltip has it all).
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._controls_row2 = row2

    @staticmethod
    def _dspin(lo, hi, value, step, decimals, tip) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setDecimals(decimals)
        s.setSingleStep(step)
        s.setValue(value)
        s.setToolTip(tip)
        return s

    @staticmethod
    def _theta_plot(name: str, left: str) -> tuple[pg.PlotWidget, pg.PlotItem]:
        """A plot over θ (grid, no context menu): the widget and its plot item."""
        widget = pg.PlotWidget()
        widget.setObjectName(name)
        item = widget.getPlotItem()
        item.setLabel("bottom", "θ")
        item.setLabel("left", left)
        item.showGrid(x=True, y=True)
        item.setMenuEnabled(False)
        return widget, item

    def _build_plots(self) -> None:
        self.main_plot, p = self._theta_plot("distancePlot", "distance")
        self.plot = p
        # At the top centre, above the V of W = |θ| (_fit_view leaves room for it); two columns
        # when the plot is wide enough (_fit_legend).
        self.legend = p.addLegend(colCount=2)
        self.legend.anchor(itemPos=(0.5, 0), parentPos=(0.5, 0), offset=(0, 4))
        self._follow = True   # fit the view to the data until the user pans or zooms
        p.vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.w_curve = p.plot([], [], name="W = |θ|")
        self.js_curve = p.plot([], [], name="JS = log 2, 0 at θ = 0")
        self.estimate_curves: dict[str, pg.PlotDataItem] = {}
        names = {"wgan-gp": "wgan-gp (W)", "wgan-clip": self._clip_label(), "gan": "gan (JS)"}
        for o in lab.OBJECTIVES:
            self.estimate_curves[o] = p.plot([], [], pen=None, symbol=SYMBOL[o], symbolSize=9, name=names[o])
        self.main_plot.setToolTip(
            "Each point: a critic trained from scratch between P<sub>0</sub> and P<sub>θ</sub>. wgan-gp points "
            "should sit on W = |θ|, wgan-clip points (×1/K) too, gan points on the flat log 2 line.")

        self.grad_widget, g = self._theta_plot("gradientPlot", "d estimate / dθ")
        self.grad_plot = g
        self.grad_legend = g.addLegend()
        self.grad_legend.anchor(itemPos=(1, 1), parentPos=(1, 1), offset=(-4, -4))
        self.dw_curve = g.plot([], [], name="d|θ|/dθ", connect="finite")
        self.djs_curve = g.plot([], [], name="dJS/dθ", connect="finite")
        self.grad_curves: dict[str, pg.PlotDataItem] = {}
        for o in lab.OBJECTIVES:
            name = {"wgan-clip": "wgan-clip ×1/K"}.get(o, o)
            self.grad_curves[o] = g.plot([], [], pen=None, symbol=SYMBOL[o], symbolSize=8, name=name)
        self.grad_widget.setToolTip(
            "d estimate / dθ with the trained critic held fixed: what a generator standing at θ is told. "
            "About sign(θ) for W (a useful gradient everywhere), about 0 for the saturated JS estimate "
            "(the vanishing gradient of section 2). The clipped critic's gradient is drawn ×1/K.")

        self.plot_splitter = splitter(Qt.Orientation.Horizontal, self.main_plot, self.grad_widget)
        self.main_plot.setMinimumSize(240, 200)
        self.grad_widget.setMinimumSize(180, 200)
        self.main_plot.installEventFilter(self)
        self.grad_widget.installEventFilter(self)

    def _build_table(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("distanceTable")
        for i, (_, header, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(header)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(i, item)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(90)

        self.copy_button = button("Copy as CSV", "Copy every row (the columns of wgan-distance --out) to the clipboard",
                                  self.copy_csv)
        self.export_button = button("Export CSV…", "Write every row to a .csv file (written whole or not at all)",
                                    self.export_csv_dialog)
        self.table_note = QLabel("")
        self.table_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.table_note, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.export_button)
        self.table_box = QWidget()
        col = QVBoxLayout(self.table_box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self.table, 1)
        col.addLayout(buttons)

    # ================================================================== theme
    def set_dark(self, dark: bool) -> None:
        self.colours = plot_colours(dark)
        self._apply_colours()

    def _apply_colours(self) -> None:
        c = self.colours
        colour = {"wgan-gp": c.w_smooth, "wgan-clip": c.critic, "gan": c.penalty}
        for widget, item, legend in ((self.main_plot, self.plot, self.legend),
                                     (self.grad_widget, self.grad_plot, self.grad_legend)):
            widget.setBackground(c.background)
            for name in ("left", "bottom"):
                ax = item.getAxis(name)
                ax.setPen(pg.mkPen(c.foreground))
                ax.setTextPen(pg.mkPen(c.foreground))
                ax.setGrid(int(255 * c.grid_alpha))
            legend.setLabelTextColor(c.foreground)
            for _, label in legend.items:
                label.setText(label.text)  # setLabelTextColor only stores the colour: render it
            legend.setBrush(pg.mkBrush(_rgba(c.background, 215)))
            legend.setPen(pg.mkPen(_rgba(c.foreground, 70)))
        self.plot.setTitle("Lines: exact distances. Points: critics' estimates", color=c.foreground, size="10pt")
        self.grad_plot.setTitle("What a generator at θ is told", color=c.foreground, size="10pt")
        exact = pg.mkPen(_rgba(c.w_smooth, 150), width=2)
        js = pg.mkPen(_rgba(c.penalty, 170), width=2, style=Qt.PenStyle.DashLine)
        self.w_curve.setPen(exact)
        self.js_curve.setPen(js)
        self.dw_curve.setPen(exact)
        self.djs_curve.setPen(js)
        for o in lab.OBJECTIVES:
            for curve in (self.estimate_curves[o], self.grad_curves[o]):
                curve.setSymbolBrush(pg.mkBrush(colour[o]))
                curve.setSymbolPen(pg.mkPen(c.foreground, width=1))

    # ================================================================== closed forms
    def theta_range(self) -> tuple[float, float]:
        a, b = self.theta_from.value(), self.theta_to.value()
        return (a, b) if a <= b else (b, a)

    @Slot()
    def _draw_closed_forms(self) -> None:
        """W = |θ| and JS over the θ range, from engine.distance.closed_forms. Points just either
        side of 0 make JS's jump a vertical drop; the derivatives are central differences of the
        closed forms (left out where the stencil crosses the jump at 0)."""
        lo, hi = self.theta_range()
        if hi - lo < 1e-6:
            lo, hi = lo - 1, hi + 1
        x = np.linspace(lo, hi, 401)
        eps, h = 1e-9, 1e-6
        if lo < 0 < hi:
            x = np.union1d(x, [-eps, 0.0, eps])
        cf = [lab.closed_forms(float(t)) for t in x]
        w = np.array([f["w_exact"] for f in cf])
        js = np.array([f["js"] for f in cf])
        self.w_curve.setData(x, w)
        self.js_curve.setData(x, js)

        def deriv(key):
            out = np.array([(lab.closed_forms(t + h)[key] - lab.closed_forms(t - h)[key]) / (2 * h)
                            for t in x.tolist()])
            out[np.abs(x) <= h] = np.nan
            return out

        self.dw_curve.setData(x, deriv("w_exact"))
        self.djs_curve.setData(x, deriv("js"))
        self._fit_view()

    @Slot()
    def _on_manual_range(self, *_) -> None:
        self._follow = False

    def eventFilter(self, obj, event) -> bool:
        if obj in (self.main_plot, self.grad_widget) and event.type() == QEvent.Type.Resize:
            self._fit_legend()
        return super().eventFilter(obj, event)

    def _fit_legend(self) -> None:
        """Two legend columns when they fit in the plot's width, one otherwise."""
        widths = [label.boundingRect().width() + sample.boundingRect().width() + 10
                  for sample, label in self.legend.items]
        two = 2 * max(widths, default=0) + 40
        self.legend.setColumnCount(2 if self.main_plot.width() >= two + 80 else 1)
        self._fit_view()

    def _fit_view(self) -> None:
        """Both plots: the θ range, and every value drawn plus room for the legend (above the
        points in the main plot, below them in the gradient plot), measured in pixels."""
        if not self._follow:
            return
        a, b = self.theta_range()
        pad = max(0.04 * (b - a), 0.05)
        main = [self.w_curve, self.js_curve, *self.estimate_curves.values()]
        grad = [self.dw_curve, self.djs_curve, *self.grad_curves.values()]
        for item, legend, curves, top in ((self.plot, self.legend, main, True),
                                          (self.grad_plot, self.grad_legend, grad, False)):
            ys = [c.getData()[1] for c in curves]
            ys = [y[np.isfinite(y)] for y in ys if y is not None and len(y)]
            y = np.concatenate(ys) if ys else np.zeros(1)
            lo, hi = (float(min(y.min(), 0.0)), float(y.max())) if len(y) else (0.0, 1.0)
            span = max(hi - lo, 1e-6)
            lo, hi = lo - 0.04 * span, hi + 0.04 * span
            view_px = item.vb.height()
            share = (legend.boundingRect().height() + 10) / view_px if view_px > 0 else 0.3
            share = min(max(share, 0.1), 0.6)
            extra = (hi - lo) * share / (1 - share)
            if top:
                item.setYRange(lo, hi + extra, padding=0)
            else:
                item.setYRange(lo - extra, hi, padding=0)
            item.setXRange(a - pad, b + pad, padding=0)

    # ================================================================== running
    def selected_objectives(self) -> list[str]:
        return [o for o in lab.OBJECTIVES if self.objective_checks[o].isChecked()]

    def thetas(self) -> list[float]:
        return lab.even_thetas(self.theta_from.value(), self.theta_to.value(), self.theta_count.value())

    def settings(self) -> lab.LabSettings:
        """The lab settings of the form (objective set per sweep by the worker). Raises ValueError."""
        fields = dict(steps=self.steps_spin.value(), gp_lambda=self.lambda_spin.value(),
                      clip_value=self.clip_spin.value())
        fields.update(self.lab_overrides)
        return lab.LabSettings(**fields)

    def is_running(self) -> bool:
        return self.handle is not None and self.handle.is_running()

    @Slot()
    def run(self) -> bool:
        """Start a sweep with the form's values. False (with the reason in the status line) when
        one is already running or a value is rejected."""
        if self.state != "idle" or self.is_running():
            return False
        objectives = self.selected_objectives()
        if not objectives:
            self._set_status("Choose at least one critic objective.", error=True)
            return False
        try:
            worker = DistanceWorker(self.thetas(), objectives, self.settings(), device=self.device)
        except ValueError as e:
            self._set_status(str(e), error=True)
            return False
        self._follow = True
        self.clear_results()
        self._summary = None
        self.last_status = self.last_error = None
        self._t0 = time.monotonic()
        self.progress.setValue(0)
        self.progress.setFormat("%p%")

        def connect(w: DistanceWorker, thread) -> None:
            w.result.connect(self._on_result)
            w.progress.connect(self._on_progress)
            w.failed.connect(self._on_failed)
            w.done.connect(self._on_done)
            thread.finished.connect(self._on_thread_finished)

        self.state = "running"
        n = len(worker.thetas) * len(objectives)
        self._set_status(f"Starting: {n} critics ({', '.join(objectives)}) on {self.device}…")
        self.handle = start_worker(worker, connect)
        self.handle.thread.setObjectName("distances")
        self._update_controls()
        return True

    @Slot()
    def stop(self) -> None:
        """Ask the sweep to stop; the engine sees it within 50 critic steps. Never blocks."""
        if self.handle is None or self.state != "running":
            return
        self.handle.worker.stop()
        self.state = "stopping"
        self._set_status("Stopping (within 50 critic steps)…")
        self._update_controls()

    def stop_and_wait(self, timeout_s: float = 30.0) -> bool:
        """For the host's closeEvent: stop the sweep and wait for its thread to end, painting
        meanwhile. True when no sweep thread is left running."""
        if self.handle is None:
            return True

        def pump():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 50)

        if self.state == "running":
            self.stop()
        return self.handle.stop_and_wait(timeout_s, pump)

    @Slot()
    def _on_about_to_quit(self) -> None:
        if self.is_running():
            self.stop_and_wait()

    # ================================================================== worker signals (GUI thread)
    @Slot(object)
    def _on_result(self, r: dict) -> None:
        self.results.append(r)
        self._add_row(r)
        self._redraw()

    @Slot(object)
    def _on_progress(self, p: dict) -> None:
        done, total = p["done_steps"], max(p["total_steps"], 1)
        self.progress.setValue(int(1000 * done / total))
        el = p["elapsed_s"]
        eta = el / done * (total - done) if done else float("nan")
        self.progress.setFormat(f"%p%  ETA {format_duration(eta)}")
        if self.state == "running":
            self._set_status(f"{p['objective']} θ = {p['theta']:+.3g} ({p['index'] + 1}/{p['count']}) · critic step "
                             f"{p['step']}/{p['steps']} · W-est {p['w_running']:.4g} · elapsed {format_duration(el)}")

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.last_error = message
        log.error("distance sweep failed: %s\n%s", message, details)
        box = QMessageBox(QMessageBox.Icon.Warning, "Distance sweep failed", message, QMessageBox.StandardButton.Ok,
                          self)
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not blocking
        self.error_box = box

    @Slot(object)
    def _on_done(self, summary: dict) -> None:
        self._summary = summary

    @Slot()
    def _on_thread_finished(self) -> None:
        s = self._summary or {"status": "error", "results": len(self.results), "elapsed_s": time.monotonic() - self._t0}
        self.state = "idle"
        self.last_status = s["status"]
        el = format_duration(s["elapsed_s"])
        self.progress.setFormat("%p%")
        if s["status"] == "finished":
            self.progress.setValue(1000)
            self._set_status(f"Finished: {s['results']} critics in {el}.")
        elif s["status"] == "stopped":
            self._set_status(f"Stopped after {s['results']} critics ({el}); the results so far are kept.")
        else:
            self._set_status(f"Failed: {self.last_error or 'see the log'}", error=True)
        self._update_controls()
        self.sweep_finished.emit(s["status"])

    # ================================================================== drawing
    def clear_results(self) -> None:
        self.results = []
        self.clip_slope = float("nan")
        self.table.setRowCount(0)
        self._redraw()

    def _by_objective(self, objective: str) -> list[dict]:
        return [r for r in self.results if r["objective"] == objective]

    def _clip_label(self) -> str:
        k = self.clip_slope
        known = math.isfinite(k) and k != 0
        return f"wgan-clip (W) ×1/K, K = {k:.3g}" if known else "wgan-clip (W) ×1/K"

    def _slope_text(self) -> str:
        parts = []
        gp = self._by_objective("wgan-gp")
        if any(r["theta"] != 0 for r in gp):
            parts.append(f"wgan-gp slope {lab.fit_slope(gp):.3f} (1 = the exact W)")
        if math.isfinite(self.clip_slope):
            parts.append(f"wgan-clip K = {self.clip_slope:.3g}")
        return "  " + "; ".join(parts) + "." if parts else ""

    def _redraw(self) -> None:
        clip = self._by_objective("wgan-clip")
        self.clip_slope = lab.fit_slope(clip) if clip else float("nan")
        k = self.clip_slope
        scale = 1.0 / k if math.isfinite(k) and k != 0 else None
        for o in lab.OBJECTIVES:
            rs = self._by_objective(o)
            if o == "wgan-clip" and scale is None:
                rs = []  # K unknown (only θ = 0 so far): nothing meaningful to draw yet
            f = scale if o == "wgan-clip" else 1.0
            x = np.array([r["theta"] for r in rs], dtype=float)
            self.estimate_curves[o].setData(x, np.array([r["estimate"] for r in rs], dtype=float) * f)
            self.grad_curves[o].setData(x, np.array([r["grad_theta"] for r in rs], dtype=float) * f)
        label = self.legend.getLabel(self.estimate_curves["wgan-clip"])
        if label is not None and label.text != self._clip_label():
            label.setText(self._clip_label())
            self._fit_legend()
        self._fit_view()
        note = f"{len(self.results)} results" + (f"  ·  {self._slope_text().strip()}" if self.results else "")
        self.table_note.setText(note)
        self.table_note.setToolTip(note)

    def _add_row(self, r: dict) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, (key, _, _) in enumerate(COLUMNS):
            v = r.get(key)
            text = f"{v:+.3f}" if key == "theta" else fmt_value(v)
            item = QTableWidgetItem(text)
            if key != "objective":
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if isinstance(v, float):
                    item.setToolTip(repr(v))
            self.table.setItem(row, col, item)
        self.table.scrollToBottom()
        self._update_controls()

    # ================================================================== controls
    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet("color: #d62728;" if error else "")

    @Slot()
    def _update_controls(self) -> None:
        idle = self.state == "idle"
        objectives = self.selected_objectives()
        for w in (*self.objective_checks.values(), self.theta_from, self.theta_to, self.theta_count,
                  self.steps_spin):
            w.setEnabled(idle)
        for lbl, spin, o in ((self.lambda_label, self.lambda_spin, "wgan-gp"),
                             (self.clip_label, self.clip_spin, "wgan-clip")):
            lbl.setEnabled(idle and o in objectives)
            spin.setEnabled(idle and o in objectives)
        can_run = idle and bool(objectives)
        self.run_button.setEnabled(can_run)
        self.run_action.setEnabled(can_run)
        self.stop_button.setEnabled(self.state == "running")
        self.stop_action.setEnabled(self.state == "running")
        has = bool(self.results)
        self.copy_button.setEnabled(has)
        self.export_button.setEnabled(has)

    # ================================================================== CSV
    def csv_text(self) -> str:
        return lab.results_csv(self.results)

    @Slot()
    def copy_csv(self) -> None:
        copy_csv(self.csv_text(), len(self.results), self._set_status)

    def export_csv(self, path: str | Path) -> bool:
        if not write_csv(path, self.csv_text(), len(self.results), self._set_status):
            return False
        self._last_dir = str(Path(path).parent)
        return True

    def _ask_save_path(self, default: str) -> str:
        return ask_csv_path(self, "Export distances", default)

    @Slot()
    def export_csv_dialog(self) -> bool:
        path = self.save_path_handler(str(Path(self._last_dir) / "distances.csv"))
        return bool(path) and self.export_csv(path)

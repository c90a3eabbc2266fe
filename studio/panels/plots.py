"""Live training curves (pyqtgraph).

Smooth with 100,000+ points per curve, and cheap enough to leave CPU time to training on a
2-core machine (the GUI thread competes with torch's intra-op threads; measured in
``benchmarks/gui_overhead.py``), because (pyqtgraph's ``scrollingPlots.py`` example):
- the data live in preallocated NumPy buffers that grow by doubling (no per-row allocation) up to
  ``ColumnBuffer.max_rows``; past that the oldest half is thinned out, so memory stays bounded
  on runs of any length while recent rows keep every point;
- every curve is created once; a QTimer calls ``setData(x[:n], y[:n], skipFiniteCheck=True)``
  for the curves shown, only when new rows arrived and the window is visible and not minimised;
- the redraws keep to a time budget (:data:`FRAME_BUDGET`, a share of wall time): at most 5 a
  second, fewer when a frame (update + paint) takes longer. Why a budget: PySide6 holds Python's
  GIL through every Qt call, painting included, and the training thread needs the GIL between
  its tensor operations, so it waits out every millisecond the GUI thread paints (README,
  "Figures");
- ``setDownsampling(mode="peak")`` + ``setClipToView(True)`` draw at most a few points per pixel;
- auto-range moves in steps (:class:`_SteppedViewBox`): the view grows with some headroom when
  the data leave it, instead of changing a little on every frame. A changed range makes
  pyqtgraph lay out every axis again and paint twice, most of the cost of a frame.

Sign convention (docs/algorithm.md, "Notation and sign convention"): the W plot shows
``W_est = mean f(real) - mean f(fake)``, never negated; it should fall as the generator improves.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from scipy.signal import lfilter

from engine.config import LIVE_SYMBOLS
from engine.metrics import spearman
from studio.run_model import ColumnBuffer
from studio.theme import PlotColours, plot_colours
from studio.widgets import button

W_TOOLTIP = ("<b>How to read it:</b> the distance from the generated samples to the data as the critic sees "
             "it; W_est = mean f(real) − mean f(generated) is positive while the critic tells them apart, "
             "and falling towards 0 means the generator is getting closer.<br>"
             "<b>W-estimate</b> W_est = mean f(real) − mean f(generated), the critic's estimate of the "
             "Earth-Mover (Wasserstein-1) distance between the data and the generator, up to the critic's "
             "Lipschitz constant.<br><b>It should fall</b> as training improves. The WGAN paper's reference "
             "code prints −W_est as the critic loss; this plot shows W_est itself, sign unchanged."
             "<br>Orange points: the exact W1 between 1,000 generated and 1,000 real points (toy sets), or "
             "the sliced W1 (images), computed every eval_every iterations.<br><b>ρ</b>: Spearman rank "
             "correlation of W_est with them over the evaluations so far (1 = they fall together: the "
             "paper's claim that the estimate tracks sample quality).")
GAP_TOOLTIP = ("<b>Critic gap</b> mean f(real) − mean f(generated): the discriminator's logits (GAN) or "
               "variational function (f-GAN) on real minus generated samples. <b>Not a distance</b>: it does "
               "not have to fall, and it grows when the discriminator wins. The critic loss is minus the "
               "divergence bound it maximises.<br>Orange points: the exact W1 between 1,000 generated and "
               "1,000 real points (toy sets), or the sliced W1 (images), every eval_every iterations: those "
               "do fall as the samples improve.")
LIP_TOOLTIP = ("<b>Lipschitz check</b> (WGAN-GP): the critic's gradient norm ‖∇f(x̂)‖ at the interpolates x̂ "
               "between real and generated samples, where the penalty (‖∇f(x̂)‖ − 1)² acts: the band spans its "
               "10% to 90% quantiles at each iteration, the line is the median, the dashed line the target 1. "
               "A band far above 1 means the penalty is too weak for the critic (raise λ); far below 1, the "
               "critic is flat there and its W-estimate underestimates W1.")
HELDOUT_TOOLTIP = ("<b>Critic on real images</b>, at each evaluation: its mean value on the real images it trains "
                   "on and on the [data] holdout share it never sees (Gulrajani et al. sec. 5.6). Together: the "
                   "critic judges the data's distribution. A gap that keeps growing (training above held-out) "
                   "is the critic overfitting its training images: try more data, a smaller critic, fewer "
                   "critic steps (n_critic) or a stronger penalty (λ).")
FD_TOOLTIP = ("<b>Fréchet distance</b> between generated and real images, at each evaluation (every eval_every "
              "iterations): Gaussians fitted to the features of 1,000 generated and 1,000 real images in a small "
              "network shipped with the app (the digit classifier's last hidden layer for digits, fixed random "
              "convolutional features for other images), and the Fréchet distance between them, the formula of "
              "FID. It follows what the eye sees: noise and blobs are far, sharp varied images near.<br>"
              "<b>Lower is better</b> (0: the same mean and covariance of features); the lowest evaluation is "
              "kept as checkpoints/best.pt. Comparable between runs of the same data and feature network only, "
              "never with published FID figures.")
CONFIDENT_TOOLTIP = ("<b>Confident share</b> (digit-like images), at each evaluation: the share of the generated "
                     "samples that the bundled digit classifier puts in one class with probability ≥ 0.9. Noise, "
                     "blobs and blends of two digits are not read confidently; recognisable digits are.<br>"
                     "<b>Higher is better</b>: real digits score about 0.95 or more, the dashed line is 1. It "
                     "says nothing about variety: a generator that draws one digit well scores high too (see "
                     "classes_hit and the Fréchet distance).")
LABEL_LEVELS = range(6)  # at most six heights of marker labels, top first
TITLE_SIZE = "9pt"
SMOOTHED = ("w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "clip_fraction", "critic_grad_norm")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def event_label(ev: dict) -> str | None:
    """The marker text of an event, or None for events that get no marker."""
    kind = ev.get("type")
    if kind == "edit":
        key = ev.get("key", "?")
        return f"{LIVE_SYMBOLS.get(key, key)} {_fmt(ev.get('old'))}→{_fmt(ev.get('new'))}"
    if kind in ("pause", "resume"):
        return kind
    if kind == "resume_run":
        return "continued"
    if kind == "critic_overfitting":
        return "critic overfitting"
    return None  # "best" has its own marker (PlotsPanel.best_line), one that moves


class _RateAxis(pg.AxisItem):
    """A left axis with at most one tick label per 20 pixels of height (pyqtgraph labels every
    minor tick of a short log range, and the labels of short plots overlapped); log values are
    written as 1e-4 / 2e-4."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        levels = super().tickValues(minVal, maxVal, size)
        room = max(2, int(size // 20))
        out, n = [], 0
        for spacing, values in levels:
            values = list(values)
            if n + len(values) > room:
                step = -(-len(values) // max(1, room - n))
                values = values[::step]
            out.append((spacing, values))
            n += len(values)
            if n >= room:
                break
        return out

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        if self.logMode:
            return [f"{10 ** v:.2g}".replace("e-0", "e-") for v in values]
        return super().tickStrings(values, scale, spacing)


class _SteppedViewBox(pg.ViewBox):
    """A ViewBox whose auto-range moves in steps.

    pyqtgraph's auto-range fits the view to the data on every change, so on a live plot the
    range changes on every frame, and each change lays out the axes again (tick values, labels,
    text metrics) and paints the scene twice. Here, while ``stepped`` is on, an auto-range
    keeps the current view as long as it holds all the data and is not much larger than needed;
    when the data leave it, the view grows past them by ``headroom`` of its span on that side.
    Everything else (the "A" button, the menu, mouse zoom turning auto-range off, log axes,
    auto-visible y) is pyqtgraph's own."""

    def __init__(self, *args, headroom: float = 0.2, **kwargs):
        super().__init__(*args, **kwargs)
        self.stepped = True
        self.headroom = headroom
        self._in_auto = False

    def updateAutoRange(self):  # noqa: N802 - pyqtgraph's name
        self._in_auto = True
        try:
            super().updateAutoRange()
        finally:
            self._in_auto = False

    def setRange(self, rect=None, xRange=None, yRange=None, padding=None, update=True,  # noqa: N802, N803
                 disableAutoRange=True):  # noqa: N803
        if self._in_auto and self.stepped and rect is None:
            xRange = self._step(0, xRange)  # noqa: N806
            yRange = self._step(1, yRange)  # noqa: N806
            if xRange is None and yRange is None:
                return
        super().setRange(rect, xRange, yRange, padding, update, disableAutoRange)

    def _step(self, ax: int, target):
        """The range to set for axis ``ax`` given the fitted ``target``, or None to keep it."""
        if target is None:
            return None
        lo, hi = float(min(target)), float(max(target))
        cur_lo, cur_hi = (float(v) for v in self.state["targetRange"][ax])
        span, cur_span = hi - lo, cur_hi - cur_lo
        if span <= 0:
            return [lo, hi]  # a single value: pyqtgraph keeps the scale (no change, no redraw)
        # The data's own extent: pyqtgraph padded it by suggestPadding() on each side, and that
        # margin grows with the data, so it must not count as data leaving the view.
        pad = self.suggestPadding(ax)
        margin = span * pad / (1 + 2 * pad)
        tol = 1e-9 * max(abs(lo), abs(hi))
        above = hi - margin > cur_hi + tol
        below = lo + margin < cur_lo - tol
        too_large = cur_span > span * (1 + 2.5 * self.headroom)
        if not (above or below or too_large):
            return None  # the data are in view and the view is not much too large: keep it
        extra = self.headroom * span
        return [lo - extra if below else lo, hi + extra if above else hi]


class _TimedGraphicsLayout(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that keeps the wall time of its last paint (``paint_s``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paint_s = 0.0
        self.clock = time.perf_counter

    def paintEvent(self, ev):  # noqa: N802 - Qt's name
        t0 = self.clock()
        super().paintEvent(ev)
        self.paint_s = self.clock() - t0


class Smoother:
    """The plots' smoothing: an exponential moving average of a curve, updated incrementally
    (lfilter with carried state). Not the generator's weight average ("EMA", [model] ema_decay)."""

    def __init__(self, weight: float):
        self.weight = weight
        self.last = None

    def run(self, x: np.ndarray) -> np.ndarray:
        a = self.weight
        if len(x) == 0:
            return x
        if a <= 0:
            self.last = float(x[-1])
            return x.copy()
        start = self.last if self.last is not None and np.isfinite(self.last) else float(x[0])
        y, _ = lfilter([1 - a], [1, -a], x, zi=[a * start])
        self.last = float(y[-1])
        return y


REDRAW_MS = 200          # the fastest redraw rate: 5 a second
MAX_REDRAW_MS = 2000     # the slowest, however long a frame takes
# The share of wall time the live redraws may take (see the module doc): a ~10 ms frame (five
# plots) comes once a second. On 2 cores the training team loses about the time the GUI thread
# runs, so this is training throughput (benchmarks/gui_overhead.py, issue 22 point 4).
FRAME_BUDGET = 0.01

PLOT_MIN_PX = 64           # the least height of one plot in the column (below it: a scroll bar)
EMPTY_RANGE = (0.0, 1.0)   # both axes of a plot with no data yet
COLUMNS = ("gen_iter", "w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "clip_fraction",
           "critic_grad_norm", "gp_grad_q10", "gp_grad_q50", "gp_grad_q90", "lr_critic", "lr_generator", "clip_value",
           "n_critic")
EVAL_COLUMNS = ("gen_iter", "w1_exact", "sliced_w", "w_estimate", "critic_train", "critic_heldout", "frechet_distance",
                "confident_share")
# the curves of evaluations (a point every eval_every iterations, drawn with symbols)
EVAL_CURVES = ("w1_exact", "sliced_w", "critic_train", "critic_heldout", "frechet_distance", "confident_share")


class PlotsPanel(QWidget):
    """W-estimate (+ exact W1), losses, regulariser, critic gradient norm, learning rates."""

    crosshair_moved = Signal(float)

    def __init__(self, parent=None, dark: bool = False):
        super().__init__(parent)
        self.colours: PlotColours = plot_colours(dark)
        self.buf = ColumnBuffer(COLUMNS)
        self.smooth = ColumnBuffer(SMOOTHED)
        self.evals = ColumnBuffer(EVAL_COLUMNS, capacity=256)
        self.best: dict | None = None        # the latest "best" event (the best checkpoint so far)
        self.overfitting: str | None = None   # the latest "critic_overfitting" event's message
        self.rho: float | None = None   # Spearman(W_est, W1 or sliced W) over the evaluations shown
        self._smoothers = {k: Smoother(0.9) for k in SMOOTHED}
        self._dirty = False
        self._fit_pending = False
        self.markers: list[tuple[int, str]] = []     # (gen_iter, label) of every marker drawn
        self._labelled: list = []                     # the W plot's marker lines (they carry the labels)
        self._marker_items: list = []
        self._pause_start: float | None = None
        self._pause_region = None
        self._regions: list = []

        # ---------------------------------------------------------------- controls row
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        self.autorange_button = button("Auto-range", "Fit every plot to its data again (and follow new data)",
                                       self.auto_range)
        self.log_check = QCheckBox("log y")
        self.log_check.setToolTip("Logarithmic y axes (values ≤ 0 are not drawn in log scale)")
        self.log_check.toggled.connect(self.set_log_y)
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(90)
        self.smooth_slider.setFixedWidth(120)
        self.smooth_slider.setToolTip("Smoothing: weight of the exponential moving average (0 = raw)")
        self.smooth_label = QLabel("0.90")
        self.smooth_slider.valueChanged.connect(self._on_smoothing)
        self.readout = QLabel("")
        self.readout.setObjectName("crosshairReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long read-out must not widen the window (it is cut instead; the tooltip has it all).
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.autorange_button)
        top.addWidget(self.log_check)
        top.addSpacing(8)
        top.addWidget(QLabel("Smoothing"))
        top.addWidget(self.smooth_slider)
        top.addWidget(self.smooth_label)
        top.addSpacing(8)
        top.addWidget(self.readout, 1)

        # ---------------------------------------------------------------- plots
        self.glw = _TimedGraphicsLayout()
        self.glw.setObjectName("plots")
        c = self.colours
        # One column, one shared x axis (issue 18, point 7): every plot's x axis lines up with the
        # others; only the bottom one carries tick values and the axis title.
        self.w_plot = self._plot(0, 0, "W-estimate  (should fall)", "W_est", axis_items={"left": _RateAxis("left")})
        self.w_plot.setToolTip(W_TOOLTIP)
        self.glw.setToolTip(W_TOOLTIP)
        # the image quality measures, next to the W-estimate they are compared with
        self.fd_plot = self._plot(1, 0, "Fréchet distance", "FD", axis_items={"left": _RateAxis("left")})
        self.fd_plot.setToolTip(FD_TOOLTIP)
        self.confident_plot = self._plot(2, 0, "Confident share", "share", axis_items={"left": _RateAxis("left")})
        self.confident_plot.setToolTip(CONFIDENT_TOOLTIP)
        self.loss_plot = self._plot(3, 0, "Critic and generator loss", "loss", axis_items={"left": _RateAxis("left")})
        self.reg_plot = self._plot(4, 0, "Gradient penalty", "GP", axis_items={"left": _RateAxis("left")})
        self.lip_plot = self._plot(5, 0, "Lipschitz check", "‖∇f(x̂)‖", axis_items={"left": _RateAxis("left")})
        self.lip_plot.setToolTip(LIP_TOOLTIP)
        self.heldout_plot = self._plot(6, 0, "Critic on real images", "f", axis_items={"left": _RateAxis("left")})
        self.heldout_plot.setToolTip(HELDOUT_TOOLTIP)
        self.grad_plot = self._plot(7, 0, "Critic gradient norm", "‖∇f‖", axis_items={"left": _RateAxis("left")})
        self.lr_plot = self._plot(8, 0, "Learning rates", "α", axis_items={"left": _RateAxis("left")})
        self.plots = [self.w_plot, self.fd_plot, self.confident_plot, self.loss_plot, self.reg_plot, self.lip_plot,
                      self.heldout_plot, self.grad_plot, self.lr_plot]
        # the plots only some runs have, by row: (plot, row, stretch)
        self._optional = {"fd": (self.fd_plot, 1, 2), "confident": (self.confident_plot, 2, 2),
                          "reg": (self.reg_plot, 4, 2), "lip": (self.lip_plot, 5, 2),
                          "heldout": (self.heldout_plot, 6, 2)}
        self._digit_like = False  # the run's metrics have a confident_share column (digit-like images)
        # One shared x range. Not pyqtgraph's setXLink: it aligns linked views by their position
        # on screen, which shifts the range of plots that sit side by side.
        self._syncing_x = False
        for p in self.plots:
            p.sigXRangeChanged.connect(self._sync_x)
        self.w_plot.sigXRangeChanged.connect(lambda *_: self._layout_labels())
        self.w_plot.sigYRangeChanged.connect(lambda *_: self._layout_labels())
        self.w_plot.vb.sigResized.connect(lambda *_: self._layout_labels())
        # The learning rates span decades and are always positive: log scale, always (at least
        # a factor of 2 tall, so a constant rate does not get a pile of overlapping tick labels).
        self.lr_plot.setLogMode(False, True)
        self.lr_plot.vb.setLimits(minYRange=0.3)
        self._empty_lr_range()
        for row, stretch in enumerate((3, 2, 2, 2, 2, 2, 2, 2, 2)):
            self.glw.ci.layout.setRowStretchFactor(row, stretch)
        for p in self.plots[:-1]:
            p.getAxis("bottom").setStyle(showValues=False)
            p.setLabel("bottom", None)
            p.getAxis("bottom").setHeight(6)

        self.curves = {
            "w_raw": self.w_plot.plot(name="W_est (raw)"),
            "w_estimate": self.w_plot.plot(name="W_est (smoothed)"),
            "w1_exact": self.w_plot.plot(name="exact W1 (eval)", symbol="o", symbolSize=5),
            "sliced_w": self.w_plot.plot(name="sliced W1 (eval)", symbol="t", symbolSize=6),
            "critic_loss": self.loss_plot.plot(name="critic L_f"),
            "generator_loss": self.loss_plot.plot(name="generator L_g"),
            "gradient_penalty": self.reg_plot.plot(name="GP"),
            "clip_fraction": self.reg_plot.plot(name="clip fraction"),
            "critic_grad_norm": self.grad_plot.plot(name="‖∇_w L_f‖"),
            "gp_grad_q10": self.lip_plot.plot(name="‖∇f(x̂)‖ 10%"),
            "gp_grad_q50": self.lip_plot.plot(name="‖∇f(x̂)‖ median"),
            "gp_grad_q90": self.lip_plot.plot(name="‖∇f(x̂)‖ 90%"),
            "critic_train": self.heldout_plot.plot(name="f on training images", symbol="o", symbolSize=5),
            "critic_heldout": self.heldout_plot.plot(name="f on held-out images", symbol="t", symbolSize=6),
            "frechet_distance": self.fd_plot.plot(name="Fréchet distance (eval)", symbol="o", symbolSize=5),
            "confident_share": self.confident_plot.plot(name="confident share (eval)", symbol="o", symbolSize=5),
            "lr_critic": self.lr_plot.plot(name="α_D (critic)"),
            "lr_generator": self.lr_plot.plot(name="α_G (generator)"),
        }
        self.lip_band = pg.FillBetweenItem(self.curves["gp_grad_q10"], self.curves["gp_grad_q90"])
        self.lip_band.setZValue(-5)
        self.lip_plot.addItem(self.lip_band)
        self.lip_target = pg.InfiniteLine(pos=1.0, angle=0, movable=False)
        self.lip_plot.addItem(self.lip_target)  # counts for the y range: the target is always in view
        self.confident_top = pg.InfiniteLine(pos=1.0, angle=0, movable=False)
        self.confident_plot.addItem(self.confident_top)  # the share's ceiling, always in view
        # The best checkpoint so far: one labelled line on the W plot, moved at each new best.
        self.best_line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, label="★ best",
                                         labelOpts={"position": 0.08, "anchors": [(0, 0.5), (0, 0.5)]})
        self.best_line.setVisible(False)
        self.w_plot.addItem(self.best_line, ignoreBounds=True)
        for name, curve in self.curves.items():
            if name not in EVAL_CURVES:
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
        self._apply_pens()
        self._objective, self._is_toy = "wgan-gp", True
        self._set_titles()

        # crosshair: one vertical line per plot, read-out of every curve at that iteration
        self._vlines = []
        for p in self.plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(c.marker, width=1))
            line.setVisible(False)
            p.addItem(line, ignoreBounds=True)
            self._vlines.append(line)
        self._mouse_proxy = pg.SignalProxy(self.glw.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        # Each plot keeps a readable height (PLOT_MIN_PX); below that the column scrolls.
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.glw)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.scroll, 1)

        self.timer = QTimer(self)
        # At most 5 Hz: the curves still move smoothly (a few rows arrive per frame), and each
        # frame takes time from training (see FRAME_BUDGET). _on_timer() sets the interval.
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_timer)
        self.timer.start()
        self._frame_s = 0.0   # moving average of one frame's wall time: refresh() + its paint
        self.clock = time.perf_counter  # times the frames; tests inject their own

    def _plot(self, row, col, title, ylabel, colspan=1, axis_items=None) -> pg.PlotItem:
        p = self.glw.addPlot(row=row, col=col, colspan=colspan, title=title, viewBox=_SteppedViewBox(),
                             axisItems=axis_items)
        p.setLabel("bottom", "generator iteration")
        p.setLabel("left", ylabel)
        # No grid: pyqtgraph draws grid lines through the axis items, which made every redraw of
        # the five plots several times slower (README, "Figures"); the crosshair gives values.
        p.getAxis("left").enableAutoSIPrefix(False)  # "x1e-06" scale labels confuse more than help
        p.getAxis("left").setWidth(64)               # equal widths keep the x axes aligned
        # No legend inside the plots: in plots this short it would hide the data. The curve
        # key is in each title instead (see _set_titles).
        p.setMenuEnabled(True)
        return p

    def _set_titles(self) -> None:
        """Titles that double as the legend: each curve's name in its colour and line style."""
        c = self.colours

        def key(colour, text, mark="━"):
            return f"<span style='color:{pg.mkColor(colour).name()}'>{mark}&nbsp;{text}</span>"

        sep = " &nbsp; "
        fg = f"color:{c.foreground}"
        w1 = key(c.w1_exact, "exact W1" if self._is_toy else "sliced W1", "●")
        against = "W1" if self._is_toy else "sliced W1"
        rho = f"{sep}<span style='{fg}'>ρ(W_est, {against}) = {self.rho:.2f}</span>" if self.rho is not None else ""
        wgan = self._objective in ("wgan-gp", "wgan-clip")
        main = "W-estimate (should fall)" if wgan else "Critic gap f(real) − f(fake) (not a distance)"
        if not wgan:
            against = "W1" if self._is_toy else "sliced W1"
            rho = ""  # a rank correlation with a gap that need not fall would mislead
        self.w_plot.setTitle(f"<span style='{fg}'>{main}</span>{sep}"
                             f"{key(c.w_raw, 'raw')}{sep}{key(c.w_smooth, 'smoothed')}{sep}{w1}{rho}")
        self.loss_plot.setTitle(f"<span style='{fg}'>Losses</span>{sep}{key(c.critic, 'critic L_f')}{sep}"
                                f"{key(c.generator, 'generator L_g')}")
        if self._objective == "wgan-clip":
            self.reg_plot.setTitle(f"<span style='{fg}'>Clip fraction</span>{sep}"
                                   f"{key(c.penalty, 'critic weights at ±c', '╌')}")
        else:
            self.reg_plot.setTitle(f"<span style='{fg}'>Gradient penalty</span>{sep}{key(c.penalty, 'GP')}")
        self.lip_plot.setTitle(f"<span style='{fg}'>Lipschitz check ‖∇f(x̂)‖</span>{sep}"
                               f"{key(c.penalty, '10–90% band, median')}{sep}{key(c.marker, 'target 1', '╌')}")
        warn = (f"{sep}<span style='color:{pg.mkColor(c.critic).name()}'>⚠ critic overfitting: try more data, a "
                "smaller critic, fewer critic steps, a stronger penalty</span>") if self.overfitting else ""
        self.heldout_plot.setTitle(f"<span style='{fg}'>Critic on real images</span>{sep}"
                                   f"{key(c.w_smooth, 'training', '●')}{sep}{key(c.critic, 'held-out', '▲')}{warn}")
        extra = f"<br><br><b>{self.overfitting}</b>" if self.overfitting else ""
        self.heldout_plot.setToolTip(HELDOUT_TOOLTIP + extra)
        self.fd_plot.setTitle(f"<span style='{fg}'>Fréchet distance (lower is better)</span>{sep}"
                              f"{key(c.fd, 'generated vs real images, in a shipped network’s features', '●')}")
        self.confident_plot.setTitle(f"<span style='{fg}'>Confident share (higher is better)</span>{sep}"
                                     f"{key(c.confident, 'samples read as one digit with p ≥ 0.9', '●')}{sep}"
                                     f"{key(c.marker, 'all', '╌')}")
        self.grad_plot.setTitle(f"<span style='{fg}'>Critic gradient norm</span>{sep}"
                                f"{key(c.grad_norm, '‖∇_w L_f‖')}")
        self.lr_plot.setTitle(f"<span style='{fg}'>Learning rates</span>{sep}{key(c.lr_critic, 'α_D critic')}"
                              f"{sep}{key(c.lr_generator, 'α_G generator', '╌')}")
        for p in self.plots:  # small titles: five plots share the height
            p.setTitle(p.titleLabel.text, size=TITLE_SIZE)

    def _arrange(self, objective: str, is_toy: bool = True) -> None:
        """Only the plots that mean something for ``objective``: GAN and f-GAN have no regulariser,
        so the losses take the regulariser's place; the Lipschitz check is WGAN-GP's, the critic
        on held-out images and the Fréchet distance an image run's, the confident share a digit-like
        run's (one whose metrics have that column); the W plot explains what its curve is."""
        has_reg = objective in ("wgan-gp", "wgan-clip")
        wanted = {"reg": has_reg, "lip": objective == "wgan-gp", "heldout": not is_toy, "fd": not is_toy,
                  "confident": not is_toy and self._digit_like}
        layout = self.glw.ci
        for name, (plot, row, stretch) in self._optional.items():
            if wanted[name] == (plot.scene() is not None):
                continue
            if wanted[name]:
                layout.addItem(plot, row=row, col=0)
            else:
                layout.removeItem(plot)
            layout.layout.setRowStretchFactor(row, stretch if wanted[name] else 0)
        self.glw.setMinimumHeight(PLOT_MIN_PX * len(self.shown_plots()) + 40)
        tip = W_TOOLTIP if has_reg else GAP_TOOLTIP
        self.w_plot.setToolTip(tip)
        self.glw.setToolTip(tip)

    def _layout_labels(self) -> None:
        """Marker labels that never overlap or leave the plot (issue 18, point 7): each label (the
        best checkpoint's too) sits right of its line, or left of it in the right third of the view, at the highest of
        :data:`LABEL_LEVELS` where it overlaps no label placed before it (a few pixels apart)."""
        vb = self.w_plot.vb
        (x0, x1), width_px = vb.viewRange()[0], max(vb.width(), 1.0)
        per_px = (x1 - x0) / width_px

        def right_side(label, x: float) -> bool:
            w = (label.boundingRect().width() + 6) * per_px
            right = x > x0 + 2 * (x1 - x0) / 3 and x - w >= x0
            label.setAnchor((1, 0.5) if right else (0, 0.5))
            label.anchors = [label.anchor, label.anchor]
            return right

        if self.best_line.isVisible():  # low in the plot, below the markers' labels: only its side
            right_side(self.best_line.label, float(self.best_line.value()))
        if not self._labelled:
            return
        # As many heights as labels fit one above the other in the plot (at most six).
        label_h = max((ln.label.boundingRect().height() for ln in self._labelled), default=20.0) + 1
        n = int(min(len(LABEL_LEVELS), max(1, vb.height() // label_h)))
        top = 1 - 0.5 * label_h / max(vb.height(), 1.0)
        levels = [top - i * label_h / max(vb.height(), 1.0) for i in range(n)]
        taken: dict[float, list[tuple[float, float]]] = {lvl: [] for lvl in levels}
        for line in sorted(self._labelled, key=lambda ln: ln.value()):
            label, x = line.label, float(line.value())
            w = (label.boundingRect().width() + 6) * per_px
            span = (x - w, x) if right_side(label, x) else (x, x + w)
            level = next((lvl for lvl in levels if all(span[1] <= a or span[0] >= b for a, b in taken[lvl])), None)
            # No free height (a short plot, many markers close together): the label is hidden, not
            # drawn over another; the dashed line stays, and the log and edit history name it.
            label.setVisible(level is not None)
            if level is not None:
                taken[level].append(span)
                label.setPosition(level)

    def shown_plots(self) -> list:
        """The plots on screen for this objective."""
        return [p for p in self.plots if p.scene() is not None]

    def _sync_x(self, viewbox, x_range) -> None:
        if self._syncing_x:
            return
        self._syncing_x = True
        try:
            for p in self.plots:
                if p.vb is not viewbox:
                    p.setXRange(*x_range, padding=0)
        finally:
            self._syncing_x = False

    def _label_bg(self):
        c = pg.mkColor(self.colours.background)
        c.setAlpha(200)
        return c

    def _apply_pens(self) -> None:
        c = self.colours
        pens = {
            "w_raw": pg.mkPen(c.w_raw, width=1),
            "w_estimate": pg.mkPen(c.w_smooth, width=1),
            # 1-pixel pens elsewhere: Qt's raster engine draws wider lines several times slower.
            "w1_exact": pg.mkPen(c.w1_exact, width=1),
            "sliced_w": pg.mkPen(c.w1_exact, width=1),
            "critic_loss": pg.mkPen(c.critic, width=1),
            "generator_loss": pg.mkPen(c.generator, width=1),
            "gradient_penalty": pg.mkPen(c.penalty, width=1),
            "clip_fraction": pg.mkPen(c.penalty, width=1, style=Qt.PenStyle.DashLine),
            "critic_grad_norm": pg.mkPen(c.grad_norm, width=1),
            "lr_critic": pg.mkPen(c.lr_critic, width=1),
            "lr_generator": pg.mkPen(c.lr_generator, width=1, style=Qt.PenStyle.DashLine),
            "gp_grad_q10": pg.mkPen(c.penalty, width=1),
            "gp_grad_q50": pg.mkPen(c.penalty, width=1),
            "gp_grad_q90": pg.mkPen(c.penalty, width=1),
            "critic_train": pg.mkPen(c.w_smooth, width=1),
            "critic_heldout": pg.mkPen(c.critic, width=1),
            "frechet_distance": pg.mkPen(c.fd, width=1),
            "confident_share": pg.mkPen(c.confident, width=1),
        }
        for name, pen in pens.items():
            self.curves[name].setPen(pen)
        band = pg.mkColor(c.penalty)
        band.setAlpha(60)
        self.lip_band.setBrush(pg.mkBrush(band))
        self.lip_target.setPen(pg.mkPen(c.marker, width=1, style=Qt.PenStyle.DashLine))
        self.best_line.setPen(pg.mkPen(c.w1_exact, width=1))
        self.best_line.label.setColor(c.foreground)
        self.confident_top.setPen(pg.mkPen(c.marker, width=1, style=Qt.PenStyle.DashLine))
        for name, colour in (("critic_train", c.w_smooth), ("critic_heldout", c.critic), ("frechet_distance", c.fd),
                             ("confident_share", c.confident)):
            self.curves[name].setSymbolBrush(pg.mkBrush(colour))
            self.curves[name].setSymbolPen(pg.mkPen(colour))
        for name in ("w1_exact", "sliced_w"):
            self.curves[name].setSymbolBrush(pg.mkBrush(c.w1_exact))
            self.curves[name].setSymbolPen(pg.mkPen(c.w1_exact))

    # ------------------------------------------------------------------ data in
    def _empty_lr_range(self) -> None:
        """Without data the log axis would span 1..10 and crowd its minor-tick labels: show the
        range a run at the usual 1e-4 shows (1e-4 .. 2e-4 labelled) until the first rates arrive."""
        self.lr_plot.setYRange(-4.02, -3.62, padding=0)
        self.lr_plot.enableAutoRange(y=True)

    def reset(self, objective: str = "wgan-gp", is_toy: bool = True) -> None:
        """Forget every point and marker (a new run)."""
        self.buf.clear()
        self.smooth.clear()
        self.evals.clear()
        self.rho = None
        self.best, self.overfitting = None, None
        self.best_line.setVisible(False)
        for e in self._smoothers.values():
            e.last = None
        for item, plot in self._marker_items:
            plot.removeItem(item)
        self._marker_items.clear()
        self._labelled.clear()
        self.markers.clear()
        for region, plot in self._regions:
            plot.removeItem(region)
        self._regions.clear()
        self._pause_start, self._pause_region = None, None
        self.reg_plot.setLabel("left", "share" if objective == "wgan-clip" else "GP")
        self.curves["w1_exact"].setVisible(is_toy)
        self.curves["sliced_w"].setVisible(not is_toy)
        # Only the regulariser this objective has (the other column is all NaN).
        for name, on in (("gradient_penalty", objective != "wgan-clip"), ("clip_fraction", objective == "wgan-clip"),
                         ("w1_exact", is_toy), ("sliced_w", not is_toy)):
            self.curves[name].setVisible(on)
        self._objective, self._is_toy = objective, is_toy
        self._digit_like = False  # until a confident_share column arrives
        self._arrange(objective, is_toy)
        self._set_titles()
        for curve in self.curves.values():
            curve.setData([], [])
        # Empty plots keep whatever range they had: give them a neutral one, not the earlier run's.
        for p in self.plots:
            if p is not self.lr_plot:
                p.setRange(xRange=EMPTY_RANGE, yRange=EMPTY_RANGE, padding=0)
        for line in self._vlines:  # the crosshair read out the earlier run's values
            line.setVisible(False)
        self.readout.setText("")
        self.readout.setToolTip("")
        self._empty_lr_range()
        self.auto_range()
        self._dirty = False

    def append_metrics(self, cols: dict) -> None:
        if self.buf.append(cols) == 0:
            return
        if "confident_share" in cols and not self._digit_like:  # a digit-like run: its plot joins the column
            self._digit_like = True
            self._arrange(self._objective, self._is_toy)
        k = len(cols["gen_iter"]) if "gen_iter" in cols else len(next(iter(cols.values())))
        # Every smoothed column, so that both buffers always have the same rows (they are thinned
        # out together once they hold ColumnBuffer.max_rows).
        self.smooth.append({name: self._smoothers[name].run(np.asarray(cols[name], dtype=np.float64))
                            if name in cols else np.full(k, np.nan) for name in SMOOTHED})
        ev = {k: np.asarray(cols[k], dtype=np.float64) for k in EVAL_COLUMNS[1:] if k in cols and k != "w_estimate"}
        if ev:
            mask = np.zeros(len(cols["gen_iter"]), bool)
            for v in ev.values():
                mask |= np.isfinite(v)
            if mask.any():
                rows = {"gen_iter": np.asarray(cols["gen_iter"], dtype=np.float64)[mask]}
                rows.update({k: v[mask] for k, v in ev.items()})
                if "w_estimate" in cols:
                    rows["w_estimate"] = np.asarray(cols["w_estimate"], dtype=np.float64)[mask]
                self.evals.append(rows)
                self._update_rho()
        if self._pause_region is not None:
            self._pause_region.setRegion((self._pause_start, float(cols["gen_iter"][-1])))
        self._dirty = True

    def _update_rho(self) -> None:
        """ρ in the W plot's title: a rank correlation of at most a few hundred points, redone
        at each evaluation (every eval_every iterations), not per frame."""
        q = self.evals.view("w1_exact" if self._is_toy else "sliced_w")
        rho = spearman(self.evals.view("w_estimate"), q)
        rho = rho if np.isfinite(rho) else None
        if rho != self.rho:
            self.rho = rho
            self._set_titles()

    def add_event(self, ev: dict) -> None:
        """A dashed, labelled vertical marker on every plot for edits, pauses and resumes; a
        shaded span over each pause."""
        if ev.get("type") in ("finish", "stop", "error"):
            self._fit_pending = True  # the last rows are in (or queued before this event)
            self._dirty = True
        if ev.get("type") == "best":
            self.best = ev
            self.best_line.setPos(float(ev.get("gen_iter", 0)))
            value = ev.get("value")
            self.best_line.label.setFormat(f"★ best {value:.4g}" if isinstance(value, float | int) else "★ best")
            self.best_line.setToolTip(f"The best evaluation so far ({ev.get('measure', '?')} {value}, lower is "
                                      "better), kept as checkpoints/best.pt")
            self.best_line.setVisible(True)
            self._layout_labels()  # its label's side
            return
        if ev.get("type") == "critic_overfitting":
            self.overfitting = str(ev.get("message", "critic overfitting"))
            self._set_titles()
        text = event_label(ev)
        if text is None:
            return
        x = float(ev.get("gen_iter", 0))
        pen = pg.mkPen(self.colours.marker, width=1, style=Qt.PenStyle.DashLine)
        for p in self.plots:
            label = text if p is self.w_plot else None
            line = pg.InfiniteLine(pos=x, angle=90, movable=False, pen=pen, label=label,
                                   labelOpts={"position": 0.9, "color": self.colours.foreground,
                                              "fill": self._label_bg(), "anchors": [(0, 0.5), (0, 0.5)]})
            p.addItem(line, ignoreBounds=True)
            self._marker_items.append((line, p))
            if label is not None:
                self._labelled.append(line)
        self.markers.append((int(x), text))
        self._layout_labels()
        if ev.get("type") == "pause":
            self._pause_start = x
            self._pause_region = None
            for p in self.plots:
                region = pg.LinearRegionItem((x, x), movable=False, brush=pg.mkBrush(self.colours.pause_brush),
                                             pen=pg.mkPen(None))
                region.setZValue(-10)
                p.addItem(region, ignoreBounds=True)
                self._regions.append((region, p))
                if p is self.w_plot:
                    self._pause_region = region
            self._pause_regions_now = [r for r, _ in self._regions[-len(self.plots):]]
        elif ev.get("type") == "resume" and self._pause_start is not None:
            for r in getattr(self, "_pause_regions_now", []):
                r.setRegion((self._pause_start, x))
            self._pause_start, self._pause_region = None, None
        self._dirty = True

    def load_run(self, cols: dict[str, list], events: list[dict], objective: str, is_toy: bool) -> None:
        """Show the curves and markers of a run (``read_metrics`` columns or arrays)."""
        self.reset(objective, is_toy)
        if cols and len(cols.get("gen_iter", ())):
            self.append_metrics({k: np.asarray(v, dtype=np.float64) for k, v in cols.items()})
        for ev in events:
            self.add_event(ev)
        self.refresh(force=True)
        self.auto_range()

    def bind(self, model) -> None:
        """Draw the run of ``model`` (a :class:`studio.run_model.RunModel`) from now on."""
        self.model = model
        model.run_changed.connect(self._redraw_from_model)
        model.metrics_replaced.connect(self._redraw_from_model)
        model.metrics_appended.connect(self.append_metrics)
        model.event_added.connect(self.add_event)

    def _redraw_from_model(self) -> None:
        m = self.model
        self.load_run(m.columns(), m.events, m.objective, m.is_toy)

    # ------------------------------------------------------------------ drawing
    def _shown(self) -> bool:
        """Visible on screen: shown, and its window is not minimised."""
        if not self.isVisible():
            return False
        win = self.window()
        return win is None or not win.isMinimized()

    def _on_timer(self) -> None:
        if not self._dirty or not self._shown():
            return
        t0 = self.clock()
        paints = self.glw.paint_s
        self.refresh()
        # The paint that shows this frame comes later; the last one finished stands in for it.
        frame = self.clock() - t0 + paints
        self._frame_s = frame if self._frame_s == 0.0 else 0.8 * self._frame_s + 0.2 * frame
        self.timer.setInterval(self.redraw_interval_ms())

    def redraw_interval_ms(self) -> int:
        """Time between live redraws: a frame every ``frame time / FRAME_BUDGET``, within
        [REDRAW_MS, MAX_REDRAW_MS]."""
        return int(min(max(self._frame_s / FRAME_BUDGET * 1000.0, REDRAW_MS), MAX_REDRAW_MS))

    def refresh(self, force: bool = False) -> None:
        if not (self._dirty or force) or (not force and not self._shown()):
            return
        self._dirty = False
        n = self.buf.n
        x = self.buf.view("gen_iter")
        curves = self.curves

        def put(name, y):
            curve = curves[name]
            # Hidden curves (the other objective's regulariser, the other eval metric) get no
            # data: reset() empties them and a reset is the only thing that shows them again.
            if curve.isVisible():
                curve.setData(x, y, skipFiniteCheck=True)

        put("w_raw", self.buf.view("w_estimate"))
        for name in SMOOTHED:
            put(name, self.smooth.view(name)[:n])
        for name in ("lr_critic", "lr_generator", "gp_grad_q10", "gp_grad_q50", "gp_grad_q90"):
            put(name, self.buf.view(name))
        ex = self.evals.view("gen_iter")
        for name in EVAL_CURVES:
            if curves[name].isVisible():
                y = self.evals.view(name)
                finite = np.isfinite(y)
                curves[name].setData(ex[finite], y[finite])
        if self._fit_pending:  # the run ended: fit the data exactly, once
            self._fit_pending = False
            self._fit_exact()
        # Settle the auto-ranges (and the x range the other plots share) now rather than in the
        # paint, where a change would make Qt paint the whole scene a second time.
        self.glw.scene().prepareForPaint()

    def auto_range(self) -> None:
        # x: only the W plot follows its data; the others are linked to it (two plots both
        # auto-ranging x would fight over the shared range).
        self.w_plot.enableAutoRange()
        for p in self.plots[1:]:
            p.enableAutoRange(x=False, y=True)
            p.setAutoVisible(y=True)  # y fits the data inside the shared x range
        self._fit_exact()  # fit now (exactly: no headroom); new data then move the view in steps

    def _fit_exact(self) -> None:
        """Fit every auto-ranging plot to its data exactly (pyqtgraph's own auto-range)."""
        for p in self.plots:
            p.vb.stepped = False
        try:
            for p in self.plots:  # the W plot first: the others follow its x range
                if any(p.vb.autoRangeEnabled()):
                    p.vb.updateAutoRange()
        finally:
            for p in self.plots:
                p.vb.stepped = True

    def set_log_y(self, on: bool) -> None:
        for p in self.plots:
            if p is not self.lr_plot:
                p.setLogMode(False, on)
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)

    def smoothing(self) -> float:
        return self.smooth_slider.value() / 100.0

    def set_smoothing(self, weight: float) -> None:
        self.smooth_slider.setValue(round(min(max(weight, 0.0), 0.99) * 100))

    def _on_smoothing(self, value: int) -> None:
        a = value / 100.0
        self.smooth_label.setText(f"{a:.2f}")
        self.smooth.clear()
        cols = {}
        for name in SMOOTHED:
            self._smoothers[name] = Smoother(a)
            cols[name] = self._smoothers[name].run(self.buf.view(name))
        if self.buf.n:
            self.smooth.append(cols)
        self._dirty = True
        self.refresh(force=True)

    def set_dark(self, dark: bool) -> None:
        self.colours = c = plot_colours(dark)
        self.glw.setBackground(c.background)
        for p in self.plots:
            for name in ("left", "bottom"):
                ax = p.getAxis(name)
                ax.setPen(pg.mkPen(c.foreground))
                ax.setTextPen(pg.mkPen(c.foreground))

        for item, _ in self._marker_items:
            label = getattr(item, "label", None)  # only the W plot's markers carry a label
            if label is not None:
                label.setColor(c.foreground)
                label.fill = pg.mkBrush(self._label_bg())
        self._apply_pens()
        self._set_titles()

    # ------------------------------------------------------------------ crosshair
    def value_at(self, x: float) -> dict[str, float]:
        """Every curve's value at the row nearest to generator iteration ``x``."""
        n = self.buf.n
        if n == 0:
            return {}
        it = self.buf.view("gen_iter")
        i = int(np.clip(np.searchsorted(it, x), 0, n - 1))
        if i > 0 and abs(it[i - 1] - x) < abs(it[i] - x):
            i -= 1
        out = {"gen_iter": it[i], "w_estimate": self.buf.view("w_estimate")[i]}
        for name in SMOOTHED:
            out[f"{name}_smoothed"] = self.smooth.view(name)[i]
        for name in ("critic_loss", "generator_loss", "gradient_penalty", "clip_fraction", "critic_grad_norm",
                     "gp_grad_q10", "gp_grad_q50", "gp_grad_q90", "lr_critic", "lr_generator"):
            out[name] = self.buf.view(name)[i]
        ex = self.evals.view("gen_iter")
        if len(ex):
            j = int(np.argmin(np.abs(ex - it[i])))
            for name in EVAL_CURVES:
                out[name] = self.evals.view(name)[j]
        return out

    def show_crosshair(self, x: float) -> str:
        for line in self._vlines:
            line.setPos(x)
            line.setVisible(True)
        v = self.value_at(x)
        if not v:
            self.readout.setText("")
            return ""

        def part(label, key):
            val = v.get(key, np.nan)
            return f"{label} {val:.4g}" if np.isfinite(val) else None

        bits = [f"it {int(v['gen_iter'])}", part("W_est", "w_estimate"), part("W1", "w1_exact"),
                part("sliced W", "sliced_w"), part("L_f", "critic_loss"), part("L_g", "generator_loss"),
                part("GP", "gradient_penalty"), part("clip", "clip_fraction"), part("‖∇f‖", "critic_grad_norm"),
                part("‖∇f(x̂)‖ median", "gp_grad_q50"), part("f train", "critic_train"),
                part("f held-out", "critic_heldout"), part("FD", "frechet_distance"),
                part("confident", "confident_share"),
                part("α_D", "lr_critic"), part("α_G", "lr_generator")]
        text = "   ".join(b for b in bits if b)
        self.readout.setText(text)
        self.readout.setToolTip(text.replace("   ", "<br>"))
        self.crosshair_moved.emit(x)
        return text

    def _on_mouse(self, args) -> None:
        pos = args[0]
        for p in self.shown_plots():
            if p.sceneBoundingRect().contains(pos):
                x = p.vb.mapSceneToView(pos).x()
                if p.ctrl.logXCheck.isChecked():
                    x = 10 ** x
                self.show_crosshair(x)
                return

    # ------------------------------------------------------------------ export
    def export(self, path: str) -> None:
        """The whole plot area as PNG (at twice the screen size) or SVG, by the file's suffix."""
        self.refresh(force=True)
        if str(path).lower().endswith(".svg"):
            self._export_svg(str(path))
        else:
            self._export_png(str(path))

    def _export_png(self, path: str, scale: float = 2.0) -> None:
        """The scene painted at ``scale`` times the screen size through a scaled painter, so text and
        axes keep their on-screen layout (pyqtgraph's ImageExporter lays the axes out again at
        the new size and the axis titles ran into the tick labels)."""
        from PySide6.QtCore import QRectF
        from PySide6.QtGui import QImage, QPainter

        source = self.glw.ci.sceneBoundingRect()
        scale = max(scale, 800 / max(source.width(), 1))
        w, h = max(int(source.width() * scale), 1), max(int(source.height() * scale), 1)
        img = QImage(w, h, QImage.Format.Format_ARGB32)
        img.fill(pg.mkColor(self.colours.background))
        painter = QPainter(img)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            self.glw.scene().render(painter, QRectF(0, 0, w, h), source)
        finally:
            painter.end()
        if not img.save(path, "PNG"):
            raise OSError(f"cannot write {path}")

    def _export_svg(self, path: str) -> None:
        """Paint the scene into a QSvgGenerator. (pyqtgraph's SVGExporter cannot parse the
        path data Qt 6.12 writes: "not enough values to unpack" in correctCoordinates.)"""
        from PySide6.QtCore import QRect, QRectF, QSize
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        source = self.glw.ci.sceneBoundingRect()
        w, h = max(int(source.width()), 1), max(int(source.height()), 1)
        gen = QSvgGenerator()
        gen.setFileName(path)
        gen.setSize(QSize(w, h))
        gen.setViewBox(QRect(0, 0, w, h))
        gen.setTitle("WGAN Studio training curves")
        # The screen's resolution: at QSvgGenerator's default 72 dpi the fonts came out a third
        # larger than on screen and the axis titles ran into the tick labels.
        gen.setResolution(self.logicalDpiX())
        painter = QPainter(gen)
        try:
            painter.fillRect(QRectF(0, 0, w, h), pg.mkColor(self.colours.background))
            self.glw.scene().render(painter, QRectF(0, 0, w, h), source)
        finally:
            painter.end()

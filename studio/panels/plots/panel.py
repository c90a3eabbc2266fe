"""Live training curves (pyqtgraph): the plots panel.

Smooth with 100,000+ rows, and cheap enough to leave CPU time to training on a 2-core machine
(the GUI thread competes with torch's intra-op threads; measured in
``benchmarks/gui_overhead.py``), because (pyqtgraph's ``scrollingPlots.py`` example):
- the history is held once, by the run model; the panel draws thinned views of it
  (:mod:`.thinning`): each curve's peak envelope, built as rows arrive, at most a few thousand
  points however long the run, and the history's own rows where the user zooms in;
- every curve is created once; a QTimer calls ``setData(x, y, skipFiniteCheck=True)`` for the
  curves shown, only when new rows arrived and the window is visible and not minimised;
- the redraws keep to a time budget (:data:`FRAME_BUDGET`, a share of wall time): at most 5 a
  second, fewer when a frame (update + paint) takes longer. Why a budget: PySide6 holds Python's
  GIL through every Qt call, painting included, and the training thread needs the GIL between
  its tensor operations, so it waits out every millisecond the GUI thread paints (README,
  "Figures");
- ``setDownsampling(mode="peak")`` + ``setClipToView(True)`` draw at most a few points per pixel;
- auto-range moves in steps (:class:`.items.SteppedViewBox`): the view grows with some headroom
  when the data leave it, instead of changing a little on every frame. A changed range makes
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

from engine.objectives import traits
from studio.runs import ColumnBuffer
from studio.theme import PlotColours, plot_colours
from studio.widgets import button

from .appearance import (
    CONFIDENT_TOOLTIP,
    FD_TOOLTIP,
    GAP_TOOLTIP,
    LIP_TOOLTIP,
    REGULARISERS,
    W_TOOLTIP,
    apply_pens,
    heldout_tooltip,
    plot_titles,
)
from .column import PlotColumn
from .crosshair import Crosshair
from .eval_points import EVAL_CURVES, EvalPoints
from .export_plots import export_plots
from .items import TimedGraphicsLayout, make_plot
from .kid_band import KID_TOOLTIP, MEASURE_EVENTS, KidBand, refresh_measures
from .markers import EventMarkers
from .thinning import ModelHistory, ThinnedCurves, detail_window

TITLE_SIZE = "9pt"
SMOOTHED = ("w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "clip_fraction", "critic_grad_norm")
# The curves drawn as the rows are (curve -> column); the SMOOTHED columns are drawn smoothed.
RAW_CURVES = {"w_raw": "w_estimate", "lr_critic": "lr_critic", "lr_generator": "lr_generator",
              "gp_grad_q10": "gp_grad_q10", "gp_grad_q50": "gp_grad_q50", "gp_grad_q90": "gp_grad_q90"}

REDRAW_MS = 200          # the fastest redraw rate: 5 a second
MAX_REDRAW_MS = 2000     # the slowest, however long a frame takes
# The share of wall time the live redraws may take (see the module doc): a ~10 ms frame (five
# plots) comes once a second. On 2 cores the training team loses about the time the GUI thread
# runs, so this is training throughput (benchmarks/gui_overhead.py, issue 22 point 4).
FRAME_BUDGET = 0.01

EMPTY_RANGE = (0.0, 1.0)   # both axes of a plot with no data yet
# The history of a panel used without a run model (tests, benchmarks).
OWN_HISTORY_COLUMNS = ("gen_iter", "w_estimate", "critic_loss", "generator_loss", "gradient_penalty",
                       "clip_fraction", "critic_grad_norm", "gp_grad_q10", "gp_grad_q50", "gp_grad_q90", "lr_critic",
                       "lr_generator", "clip_value", "n_critic", "gp_lambda")
# What the crosshair reads out of the history at a row.
READOUT_COLUMNS = ("w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "clip_fraction",
                   "critic_grad_norm", "gp_grad_q10", "gp_grad_q50", "gp_grad_q90", "lr_critic", "lr_generator")


class PlotsPanel(QWidget):
    """W-estimate (+ exact W1), losses, regulariser, critic gradient norm, learning rates."""

    crosshair_moved = Signal(float)

    def __init__(self, parent=None, dark: bool = False):
        super().__init__(parent)
        self.colours: PlotColours = plot_colours(dark)
        self.model = None                     # the run model, once bound (see bind)
        self.buf = ColumnBuffer(OWN_HISTORY_COLUMNS)   # the history drawn: the model's once bound
        self._history = lambda: {k: self.buf.view(k) for k in self.buf.names}
        self.thinned = ThinnedCurves(RAW_CURVES, SMOOTHED, 0.9)
        self.evals = EvalPoints()
        self.overfitting: str | None = None   # the latest "critic_overfitting" event's message
        self.rho: float | None = None   # Spearman(W_est, W1 or sliced W) over the evaluations shown
        self._dirty = False
        self._fit_pending = False
        self._window = None             # the rows drawn one by one (zoomed in), as gen_iter values
        self._traits, self._is_toy = traits("wgan-gp"), True
        self._digit_like = False  # the run's metrics have a confident_share column (digit-like images)
        self._has_kid = False     # ... a kid column (runs before KID have none)
        self.measure_labels: dict[str, str] = {}  # the names of the run's measures (engine.measures)
        top = self._build_controls()
        self._build_plots()
        top.insertWidget(2, self.column.button)
        self._build_curves()
        self.marks = EventMarkers(self.plots, self.w_plot, self.colours)
        self._apply_pens()
        self._set_titles()

        self.crosshair = Crosshair(self.plots, self.readout, self.colours.marker, self.value_at)
        self._mouse_proxy = pg.SignalProxy(self.glw.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        # Each plot keeps a readable height (column.MIN_DATA_PX); below that the column scrolls.
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

    # ------------------------------------------------------------------ construction
    def _build_controls(self) -> QHBoxLayout:
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
        return top

    def _build_plots(self) -> None:
        self.glw = TimedGraphicsLayout()
        self.glw.setObjectName("plots")
        # One column, one shared x axis (issue 18, point 7): every plot's x axis lines up with the
        # others; only the bottom one carries tick values and the axis title.
        self.w_plot = self._plot(0, "W-estimate  (should fall)", "W_est", W_TOOLTIP)
        self.glw.setToolTip(W_TOOLTIP)
        # the image quality measures, next to the W-estimate they are compared with
        self.fd_plot = self._plot(1, "Fréchet distance", "FD", FD_TOOLTIP)
        self.kid_plot = self._plot(2, "KID", "KID", KID_TOOLTIP)
        self.confident_plot = self._plot(3, "Confident share", "share", CONFIDENT_TOOLTIP)
        self.loss_plot = self._plot(4, "Critic and generator loss", "loss")
        self.reg_plot = self._plot(5, "Gradient penalty", "GP")
        self.lip_plot = self._plot(6, "Lipschitz check", "‖∇f(x̂)‖", LIP_TOOLTIP)
        self.heldout_plot = self._plot(7, "Critic on real images", "f", heldout_tooltip(None))
        self.grad_plot = self._plot(8, "Critic gradient norm", "‖∇f‖")
        self.lr_plot = self._plot(9, "Learning rates", "α")
        self.plots = [self.w_plot, self.fd_plot, self.kid_plot, self.confident_plot, self.loss_plot, self.reg_plot,
                      self.lip_plot, self.heldout_plot, self.grad_plot, self.lr_plot]
        # Which plots show, how tall, which one carries the x axis' values (.column).
        self.column = PlotColumn(self.glw, {
            "w": (self.w_plot, "W-estimate"), "fd": (self.fd_plot, "Fréchet distance"), "kid": (self.kid_plot, "KID"),
            "confident": (self.confident_plot, "Confident share"), "loss": (self.loss_plot, "Losses"),
            "reg": (self.reg_plot, "Regulariser (gradient penalty, clip fraction)"),
            "lip": (self.lip_plot, "Lipschitz check"), "heldout": (self.heldout_plot, "Critic on real images"),
            "grad": (self.grad_plot, "Critic gradient norm"), "lr": (self.lr_plot, "Learning rates")})
        # One shared x range. Not pyqtgraph's setXLink: it aligns linked views by their position
        # on screen, which shifts the range of plots that sit side by side.
        self._syncing_x = False
        for p in self.plots:
            p.sigXRangeChanged.connect(self._sync_x)
        self.w_plot.sigXRangeChanged.connect(self._on_x_range)
        # The learning rates span decades and are always positive: log scale, always (at least
        # a factor of 2 tall, so a constant rate does not get a pile of overlapping tick labels).
        self.lr_plot.setLogMode(False, True)
        self.lr_plot.vb.setLimits(minYRange=0.3)
        self._empty_lr_range()
        self.column.arrange({}, "toy")

    def _plot(self, row: int, title: str, ylabel: str, tooltip: str | None = None) -> pg.PlotItem:
        return make_plot(self.glw, row, title, ylabel, tooltip)

    def _build_curves(self) -> None:
        w, loss, lip, held, lr = self.w_plot, self.loss_plot, self.lip_plot, self.heldout_plot, self.lr_plot
        self.curves = {
            "w_raw": w.plot(name="W_est (raw)"),
            "w_estimate": w.plot(name="W_est (smoothed)"),
            "w1_exact": w.plot(name="exact W1 (eval)", symbol="o", symbolSize=5),
            "sliced_w": w.plot(name="sliced W1 (eval)", symbol="t", symbolSize=6),
            "critic_loss": loss.plot(name="critic L_f"),
            "generator_loss": loss.plot(name="generator L_g"),
            "gradient_penalty": self.reg_plot.plot(name="GP"),
            "clip_fraction": self.reg_plot.plot(name="clip fraction"),
            "critic_grad_norm": self.grad_plot.plot(name="‖∇_w L_f‖"),
            "gp_grad_q10": lip.plot(name="‖∇f(x̂)‖ 10%"),
            "gp_grad_q50": lip.plot(name="‖∇f(x̂)‖ median"),
            "gp_grad_q90": lip.plot(name="‖∇f(x̂)‖ 90%"),
            "critic_train": held.plot(name="f on training images", symbol="o", symbolSize=5),
            "critic_heldout": held.plot(name="f on held-out images", symbol="t", symbolSize=6),
            "frechet_distance": self.fd_plot.plot(name="Fréchet distance (eval)", symbol="o", symbolSize=5),
            "confident_share": self.confident_plot.plot(name="confident share (eval)", symbol="o", symbolSize=5),
            "kid": self.kid_plot.plot(name="KID (eval)", symbol="o", symbolSize=5),
            "lr_critic": lr.plot(name="α_D (critic)"),
            "lr_generator": lr.plot(name="α_G (generator)"),
        }
        self.lip_band = pg.FillBetweenItem(self.curves["gp_grad_q10"], self.curves["gp_grad_q90"])
        self.lip_band.setZValue(-5)
        lip.addItem(self.lip_band)
        self.lip_target = pg.InfiniteLine(pos=1.0, angle=0, movable=False)
        lip.addItem(self.lip_target)  # counts for the y range: the target is always in view
        self.kid_band = KidBand(self.kid_plot, self.curves)  # KID with its spread over subsets as a band
        self.confident_top = pg.InfiniteLine(pos=1.0, angle=0, movable=False)
        self.confident_plot.addItem(self.confident_top)  # the share's ceiling, always in view
        for name, curve in self.curves.items():
            if name not in EVAL_CURVES:
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)

    def _set_titles(self) -> None:
        """Titles that double as the legend: each curve's name in its colour and line style."""
        t = self._traits
        titles = plot_titles(self.colours, estimates_w1=t.estimates_w1, regulariser=t.regulariser_column,
                             is_toy=self._is_toy, rho=self.rho, overfitting=self.overfitting)
        for name, text in titles.items():  # small titles: five plots share the height
            getattr(self, f"{name}_plot").setTitle(text, size=TITLE_SIZE)
        self.heldout_plot.setToolTip(heldout_tooltip(self.overfitting))

    def _arrange(self) -> None:
        """Only the plots that mean something for the run's objective (its traits): no
        regulariser, no regulariser plot; the Lipschitz check where the objective logs it; the
        critic on held-out images and the Fréchet distance an image run's, the confident share a
        digit-like run's (one whose metrics have that column); the W plot explains what its curve is."""
        t, is_toy = self._traits, self._is_toy
        wanted = {"reg": t.regulariser_column is not None, "lip": t.lipschitz_check, "heldout": not is_toy,
                  "fd": not is_toy, "kid": not is_toy and self._has_kid,
                  "confident": not is_toy and self._digit_like}
        self.column.arrange(wanted, "toy" if is_toy else "image")
        tip = W_TOOLTIP if t.estimates_w1 else GAP_TOOLTIP
        self.w_plot.setToolTip(tip)
        self.glw.setToolTip(tip)

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

    def _apply_pens(self) -> None:
        c = self.colours
        apply_pens(self.curves, c)
        band = pg.mkColor(c.penalty)
        band.setAlpha(60)
        self.lip_band.setBrush(pg.mkBrush(band))
        for line in (self.lip_target, self.confident_top):
            line.setPen(pg.mkPen(c.marker, width=1, style=Qt.PenStyle.DashLine))
        self.marks.set_colours(c)

    # ------------------------------------------------------------------ the run shown
    @property
    def markers(self) -> list[tuple[int, str]]:
        """(gen_iter, label) of every marker drawn."""
        return self.marks.markers

    def _empty_lr_range(self) -> None:
        """Without data the log axis would span 1..10 and crowd its minor-tick labels: show the
        range a run at the usual 1e-4 shows (1e-4 .. 2e-4 labelled) until the first rates arrive."""
        self.lr_plot.setYRange(-4.02, -3.62, padding=0)
        self.lr_plot.enableAutoRange(y=True)

    def reset(self, objective: str = "wgan-gp", is_toy: bool = True) -> None:
        """Show a new run of ``objective``: a panel of its own forgets every row, a bound one
        draws its model's history again; every marker goes."""
        self._start_over(objective, is_toy)
        if self.model is None:
            self.buf.clear()
        else:
            self._add_rows(self._history())

    def _start_over(self, objective: str, is_toy: bool) -> None:
        """Nothing drawn: no curve, marker, evaluation point or crosshair; the plots of ``objective``."""
        self.thinned.clear()
        self.evals.clear()
        self.rho, self.overfitting, self._window = None, None, None
        self.marks.clear()
        t = self._traits = traits(objective)
        self._is_toy = is_toy
        self.reg_plot.setLabel("left", REGULARISERS.get(t.regulariser_column, REGULARISERS["gradient_penalty"])[1])
        # Only the regulariser this objective has, and the evaluation measure of this kind of run.
        for name in REGULARISERS:
            self.curves[name].setVisible(name == t.regulariser_column)
        self.curves["w1_exact"].setVisible(is_toy)
        self.curves["sliced_w"].setVisible(not is_toy)
        self._digit_like = False  # until a confident_share column arrives
        self._has_kid = False     # until a kid column arrives (older run folders have none)
        self._arrange()
        self._set_titles()
        for curve in self.curves.values():
            curve.setData([], [])
        # Empty plots keep whatever range they had: give them a neutral one, not the earlier run's.
        for p in self.plots:
            if p is not self.lr_plot:
                p.setRange(xRange=EMPTY_RANGE, yRange=EMPTY_RANGE, padding=0)
        self.crosshair.hide()  # it read out the earlier run's values
        self._empty_lr_range()
        self.auto_range()
        self._dirty = False

    def append_metrics(self, cols: dict) -> None:
        """Rows for a panel used without a run model (a bound panel draws its model's rows)."""
        if self.model is not None:
            raise RuntimeError("this panel draws its run model's rows")
        if self.buf.append(cols):
            self._add_rows(cols)

    def _add_rows(self, cols) -> None:
        """Rows now in the history (``{column: values}``): into the thinned curves and the
        evaluation points; drawn at the next frame."""
        if not len(cols.get("gen_iter", ())):
            return
        if "confident_share" in cols and not self._digit_like:  # a digit-like run: its plot joins the column
            self._digit_like = True
            self._arrange()
        if "kid" in cols and not self._has_kid:
            self._has_kid = True
            self._arrange()
        self.thinned.extend(cols)
        if self.evals.add(cols):
            self._update_rho()
        self.marks.extend_pause(float(cols["gen_iter"][-1]))
        self._dirty = True

    def _update_rho(self) -> None:
        """ρ in the W plot's title, at each evaluation (every eval_every iterations), not per frame."""
        rho = self.evals.rho("w1_exact" if self._is_toy else "sliced_w")
        if rho != self.rho:
            self.rho = rho
            self._set_titles()

    def add_event(self, ev: dict) -> None:
        """A dashed, labelled vertical marker on every plot for edits, pauses and resumes; a
        shaded span over each pause; the ★ line of the best checkpoint."""
        kind = ev.get("type")
        if kind in ("finish", "stop", "error"):
            self._fit_pending = True  # the last rows are in (or queued before this event)
            self._dirty = True
        elif kind == "best":
            self.marks.show_best(ev)
            return
        elif kind == "critic_overfitting":
            self.overfitting = str(ev.get("message", "critic overfitting"))
            self._set_titles()
        elif kind in MEASURE_EVENTS:
            refresh_measures(self)
        if self.marks.add(ev):
            self._dirty = True

    def load_run(self, cols: dict[str, list], events: list[dict], objective: str, is_toy: bool) -> None:
        """Show a run (``read_metrics`` columns or arrays) on a panel used without a run model."""
        self.reset(objective, is_toy)
        if cols and len(cols.get("gen_iter", ())):
            self.append_metrics({k: np.asarray(v, dtype=np.float64) for k, v in cols.items()})
        self._show_events(events)

    def bind(self, model) -> None:
        """Draw the run of ``model`` (a :class:`studio.run_model.RunModel`) from now on: its
        history, held by the model alone (``model.columns()``: views of its buffer)."""
        self.model = model
        self.buf = ModelHistory(model)
        self._history = model.columns
        model.run_changed.connect(self._redraw_from_model)
        model.metrics_replaced.connect(self._redraw_from_model)
        model.metrics_appended.connect(self._add_rows)
        model.event_added.connect(self.add_event)

    def _redraw_from_model(self) -> None:
        m = self.model
        self.reset(m.objective, m.is_toy)
        refresh_measures(self)  # the FD and KID plots name their features (the folder's measures.json)
        self._show_events(m.events)

    def _show_events(self, events: list[dict]) -> None:
        for ev in events:
            self.add_event(ev)
        self.refresh(force=True)
        self.auto_range()

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

    def _detail_window(self, history) -> tuple[int, int, int] | None:
        """The rows drawn one by one (the user zoomed in), or None: see thinning.detail_window."""
        x = history.get("gen_iter")
        if x is None:
            return None
        return detail_window(x, self.w_plot.vb.viewRange()[0], self.thinned.rows_per_bin)

    def _on_x_range(self, *_) -> None:
        """Zoomed or panned: draw again when other rows are to be drawn one by one."""
        history = self._history()
        window = self._detail_window(history)
        if self._window_key(history, window) != self._window:
            self._dirty = True

    @staticmethod
    def _window_key(history, window):
        return None if window is None else (float(history["gen_iter"][window[0]]),
                                            float(history["gen_iter"][window[1] - 1]), window[2])

    def refresh(self, force: bool = False) -> None:
        if not (self._dirty or force) or (not force and not self._shown()):
            return
        self._dirty = False
        history = self._history()
        window = self._detail_window(history)
        self._window = self._window_key(history, window)
        for name in (*RAW_CURVES, *SMOOTHED):
            curve = self.curves[name]
            # Hidden curves (the other objective's regulariser, the other eval metric) get no
            # data: reset() empties them and a reset is the only thing that shows them again.
            if curve.isVisible():
                curve.setData(*self.thinned.points(name, history, window), skipFiniteCheck=True)
        for name in EVAL_CURVES:
            if self.curves[name].isVisible():
                self.curves[name].setData(*self.evals.points(name))
        self.kid_band.draw(self.evals) if self._has_kid else None  # (an empty plot's data would reset the x range)
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
        self.thinned.set_weight(a)
        history = self._history()
        if len(history.get("gen_iter", ())):
            self.thinned.extend(history)
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
        self._apply_pens()
        self._set_titles()

    # ------------------------------------------------------------------ crosshair
    def value_at(self, x: float) -> dict[str, float]:
        """Every curve's value at the row nearest to generator iteration ``x``."""
        history = self._history()
        it = history.get("gen_iter")
        n = 0 if it is None else len(it)
        if n == 0:
            return {}
        i = int(np.clip(np.searchsorted(it, x), 0, n - 1))
        if i > 0 and abs(it[i - 1] - x) < abs(it[i] - x):
            i -= 1
        out = {"gen_iter": it[i]}
        for name in READOUT_COLUMNS:
            out[name] = history[name][i] if name in history else np.nan
        for name in SMOOTHED:
            out[f"{name}_smoothed"] = self.thinned.smoothed_rows(name, history, i, i + 1)[0]
        out.update(self.evals.nearest(it[i]))
        return out

    def show_crosshair(self, x: float) -> str:
        """The crosshair at generator iteration ``x``; the read-out's text."""
        text = self.crosshair.show(x)
        if text:
            self.crosshair_moved.emit(x)
        return text

    def _on_mouse(self, args) -> None:
        x = self.crosshair.x_under(self.shown_plots(), args[0])
        if x is not None:
            self.show_crosshair(x)

    # ------------------------------------------------------------------ export plots
    def export_plots(self, path: str) -> None:
        """The plots shown as PNG or SVG, by the file's suffix, at a legible size of their own."""
        self.refresh(force=True)
        export_plots(self.glw, str(path), self.colours.background, self.logicalDpiX(), len(self.shown_plots()))

"""The distance lab's two plots over θ: the paper's picture (the closed forms ``W = |θ|`` and
``JS = log 2`` from :func:`engine.distance.closed_forms`, and each critic's estimates on them) and,
beside it, ``d estimate / d θ``: what a generator at θ is told. A clipped critic estimates
``K |θ|`` for an unknown Lipschitz constant K: its points are drawn times 1/K, with K (fitted by
:func:`engine.distance.fit_slope`) in the legend."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, Slot

from engine import distance as lab
from engine.objectives import traits
from studio.theme import PlotColours
from studio.widgets import splitter

SYMBOL = {"wgan-gp": "o", "wgan-clip": "s", "gan": "t"}   # by the lab's objectives (engine.distance.LAB_OBJECTIVES)


def colour_of(c: PlotColours, objective: str):
    return {"wgan-gp": c.w_smooth, "wgan-clip": c.critic, "gan": c.penalty}[objective]


def rgba(colour, alpha: int) -> tuple:
    c = pg.mkColor(colour)
    return (c.red(), c.green(), c.blue(), alpha)


def theta_plot(name: str, left: str) -> tuple[pg.PlotWidget, pg.PlotItem]:
    """A plot over θ (grid, no context menu): the widget and its plot item."""
    widget = pg.PlotWidget()
    widget.setObjectName(name)
    item = widget.getPlotItem()
    item.setLabel("bottom", "θ")
    item.setLabel("left", left)
    item.showGrid(x=True, y=True)
    item.setMenuEnabled(False)
    return widget, item


class ThetaPlots(QObject):
    """Both plots, side by side in :attr:`splitter`."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.slopes: dict[str, float] = {}   # K of each clipped critic, fitted on its results so far
        self.main_plot, p = theta_plot("distancePlot", "distance")
        self.plot = p
        # At the top centre, above the V of W = |θ| (fit_view leaves room for it); two columns
        # when the plot is wide enough (fit_legend).
        self.legend = p.addLegend(colCount=2)
        self.legend.anchor(itemPos=(0.5, 0), parentPos=(0.5, 0), offset=(0, 4))
        self.follow = True   # fit the view to the data until the user pans or zooms
        self.theta_range = (-2.0, 2.0)
        p.vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.w_curve = p.plot([], [], name="W = |θ|")
        self.js_curve = p.plot([], [], name="JS = log 2, 0 at θ = 0")
        self.estimate_curves: dict[str, pg.PlotDataItem] = {
            o: p.plot([], [], pen=None, symbol=SYMBOL[o], symbolSize=9, name=self.estimate_label(o))
            for o in lab.LAB_OBJECTIVES}
        self.main_plot.setToolTip(
            "Each point: a critic trained from scratch between P<sub>0</sub> and P<sub>θ</sub>. wgan-gp points "
            "should sit on W = |θ|, wgan-clip points (×1/K) too, gan points on the flat log 2 line.")

        self.grad_widget, g = theta_plot("gradientPlot", "d estimate / dθ")
        self.grad_plot = g
        self.grad_legend = g.addLegend()
        self.grad_legend.anchor(itemPos=(1, 1), parentPos=(1, 1), offset=(-4, -4))
        self.dw_curve = g.plot([], [], name="d|θ|/dθ", connect="finite")
        self.djs_curve = g.plot([], [], name="dJS/dθ", connect="finite")
        self.grad_curves: dict[str, pg.PlotDataItem] = {
            o: g.plot([], [], pen=None, symbol=SYMBOL[o], symbolSize=8,
                      name=f"{o} ×1/K" if traits(o).clips_weights else o)
            for o in lab.LAB_OBJECTIVES}
        self.grad_widget.setToolTip(
            "d estimate / dθ with the trained critic held fixed: what a generator standing at θ is told. "
            "About sign(θ) for W (a useful gradient everywhere), about 0 for the saturated JS estimate "
            "(the vanishing gradient of section 2). The clipped critic's gradient is drawn ×1/K.")

        self.splitter = splitter(Qt.Orientation.Horizontal, self.main_plot, self.grad_widget)
        self.main_plot.setMinimumSize(240, 200)
        self.grad_widget.setMinimumSize(180, 200)
        self.main_plot.installEventFilter(self)
        self.grad_widget.installEventFilter(self)

    def estimate_label(self, objective: str) -> str:
        """The legend's name of a critic's points: what it estimates (×1/K and K when it clips)."""
        t = traits(objective)
        if t.clips_weights:
            k = self.slopes.get(objective, math.nan)
            known = math.isfinite(k) and k != 0
            return f"{objective} (W) ×1/K, K = {k:.3g}" if known else f"{objective} (W) ×1/K"
        return f"{objective} (W)" if t.estimates_w1 else f"{objective} (JS)"

    # ------------------------------------------------------------------ theme
    def apply_colours(self, c: PlotColours) -> None:
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
            legend.setBrush(pg.mkBrush(rgba(c.background, 215)))
            legend.setPen(pg.mkPen(rgba(c.foreground, 70)))
        self.plot.setTitle("Lines: exact distances. Points: critics' estimates", color=c.foreground, size="10pt")
        self.grad_plot.setTitle("What a generator at θ is told", color=c.foreground, size="10pt")
        exact = pg.mkPen(rgba(c.w_smooth, 150), width=2)
        js = pg.mkPen(rgba(c.penalty, 170), width=2, style=Qt.PenStyle.DashLine)
        self.w_curve.setPen(exact)
        self.js_curve.setPen(js)
        self.dw_curve.setPen(exact)
        self.djs_curve.setPen(js)
        for o in lab.LAB_OBJECTIVES:
            for curve in (self.estimate_curves[o], self.grad_curves[o]):
                curve.setSymbolBrush(pg.mkBrush(colour_of(c, o)))
                curve.setSymbolPen(pg.mkPen(c.foreground, width=1))

    # ------------------------------------------------------------------ drawing
    def draw_closed_forms(self, theta_range: tuple[float, float]) -> None:
        """W = |θ| and JS over the θ range, from engine.distance.closed_forms. Points just either
        side of 0 make JS's jump a vertical drop; the derivatives are central differences of the
        closed forms (left out where the stencil crosses the jump at 0)."""
        self.theta_range = lo, hi = theta_range
        if hi - lo < 1e-6:
            lo, hi = lo - 1, hi + 1
        x = np.linspace(lo, hi, 401)
        eps, h = 1e-9, 1e-6
        if lo < 0 < hi:
            x = np.union1d(x, [-eps, 0.0, eps])
        cf = [lab.closed_forms(float(t)) for t in x]
        self.w_curve.setData(x, np.array([f["w_exact"] for f in cf]))
        self.js_curve.setData(x, np.array([f["js"] for f in cf]))

        def deriv(key):
            out = np.array([(lab.closed_forms(t + h)[key] - lab.closed_forms(t - h)[key]) / (2 * h)
                            for t in x.tolist()])
            out[np.abs(x) <= h] = np.nan
            return out

        self.dw_curve.setData(x, deriv("w_exact"))
        self.djs_curve.setData(x, deriv("js"))
        self.fit_view()

    def show_results(self, results: list[dict]) -> None:
        """Every critic's points; a clipped critic's times 1/K, once K is known (θ ≠ 0 measured)."""
        for o in lab.LAB_OBJECTIVES:
            rs = [r for r in results if r["objective"] == o]
            scale = 1.0
            if traits(o).clips_weights:
                k = self.slopes[o] = lab.fit_slope(rs) if rs else math.nan
                known = math.isfinite(k) and k != 0
                rs, scale = (rs, 1.0 / k) if known else ([], None)  # K unknown: nothing meaningful to draw yet
                self._relabel(o)
            x = np.array([r["theta"] for r in rs], dtype=float)
            self.estimate_curves[o].setData(x, np.array([r["estimate"] for r in rs], dtype=float) * (scale or 1.0))
            self.grad_curves[o].setData(x, np.array([r["grad_theta"] for r in rs], dtype=float) * (scale or 1.0))
        self.fit_view()

    def _relabel(self, objective: str) -> None:
        label = self.legend.getLabel(self.estimate_curves[objective])
        text = self.estimate_label(objective)
        if label is not None and label.text != text:
            label.setText(text)
            self.fit_legend()

    def slope_text(self, results: list[dict]) -> str:
        """"wgan-gp slope 1.002 (1 = the exact W); wgan-clip K = 0.0123.": how the critics' estimates
        follow W = |θ| so far ("" before any)."""
        parts = []
        for o in lab.LAB_OBJECTIVES:
            t = traits(o)
            rs = [r for r in results if r["objective"] == o]
            if t.clips_weights and math.isfinite(self.slopes.get(o, math.nan)):
                parts.append(f"{o} K = {self.slopes[o]:.3g}")
            elif t.estimates_w1 and not t.clips_weights and any(r["theta"] != 0 for r in rs):
                parts.append(f"{o} slope {lab.fit_slope(rs):.3f} (1 = the exact W)")
        return "; ".join(parts) + "." if parts else ""

    # ------------------------------------------------------------------ the view
    @Slot()
    def _on_manual_range(self, *_) -> None:
        self.follow = False

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if obj in (self.main_plot, self.grad_widget) and event.type() == QEvent.Type.Resize:
            self.fit_legend()
        return super().eventFilter(obj, event)

    def fit_legend(self) -> None:
        """Two legend columns when they fit in the plot's width, one otherwise."""
        widths = [label.boundingRect().width() + sample.boundingRect().width() + 10
                  for sample, label in self.legend.items]
        two = 2 * max(widths, default=0) + 40
        self.legend.setColumnCount(2 if self.main_plot.width() >= two + 80 else 1)
        self.fit_view()

    def fit_view(self) -> None:
        """Both plots: the θ range, and every value drawn plus room for the legend (above the
        points in the main plot, below them in the gradient plot), measured in pixels."""
        if not self.follow:
            return
        a, b = self.theta_range
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

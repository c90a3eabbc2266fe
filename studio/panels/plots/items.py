"""The plots' pyqtgraph pieces: a left axis with readable ticks, a view box whose auto-range moves
in steps, and a layout widget that times its paints (the frame budget, see :mod:`.panel`)."""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics


class RateAxis(pg.AxisItem):
    """A left axis whose tick labels stand at least 1.5 text heights apart (pyqtgraph labels every
    minor tick of a short log range, and the labels of short plots overlapped: "0.0003" over
    "0.0002"); log values are written as 1e-4 / 2e-4."""

    def label_gap_px(self) -> float:
        """The least distance, in pixels, between two tick labels one above the other."""
        font = self.style.get("tickFont") or self.font()
        return 1.5 * QFontMetrics(font).height()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        levels = super().tickValues(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if span <= 0 or size <= 0:
            return levels
        gap = self.label_gap_px() * span / size   # in the axis' units
        kept: list[float] = []
        out = []
        for spacing, values in levels:  # the major ticks first: a minor one yields to them
            level = []
            for v in values:
                if all(abs(v - k) >= gap for k in kept):
                    level.append(v)
                    kept.append(v)
            out.append((spacing, level))
        return out

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph's name
        if self.logMode:
            return [f"{10 ** v:.2g}".replace("e-0", "e-") for v in values]
        return super().tickStrings(values, scale, spacing)


class SteppedViewBox(pg.ViewBox):
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


class TimedGraphicsLayout(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that keeps the wall time of its last paint (``paint_s``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paint_s = 0.0
        self.clock = time.perf_counter

    def paintEvent(self, ev):  # noqa: N802 - Qt's name
        t0 = self.clock()
        super().paintEvent(ev)
        self.paint_s = self.clock() - t0


def make_plot(glw: pg.GraphicsLayoutWidget, row: int, title: str, ylabel: str, tooltip: str | None = None
              ) -> pg.PlotItem:
    """A plot of the panel's column at ``row``: stepped auto-range, a fixed-width left axis."""
    p = glw.addPlot(row=row, col=0, title=title, viewBox=SteppedViewBox(), axisItems={"left": RateAxis("left")})
    p.setLabel("bottom", "generator iteration")
    p.setLabel("left", ylabel)
    # No grid: pyqtgraph draws grid lines through the axis items, which made every redraw of
    # the five plots several times slower (docs/figures.md, "The studio"); the crosshair gives values.
    p.getAxis("left").enableAutoSIPrefix(False)  # "x1e-06" scale labels confuse more than help
    p.getAxis("left").setWidth(64)               # equal widths keep the x axes aligned
    # No legend inside the plots: in plots this short it would hide the data. The curve
    # key is in each title instead (the panel's _set_titles).
    p.setMenuEnabled(True)
    if tooltip:
        p.setToolTip(tooltip)
    return p

"""The KID plot's band (KID ± its standard deviation over subsets, at each evaluation) and the
names of the image measures in the plots' tooltips, as the engine gives them (engine.measures:
"FD, digit classifier features (128-d), 1,000 samples")."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg

KID_TOOLTIP = ("<b>KID</b> (kernel inception distance, Binkowski et al. 2018) between generated and real images, "
               "at each evaluation, in the same features as the Fréchet distance: the unbiased squared MMD with the "
               "kernel (x·y/d + 1)³, averaged over 100 random subsets of half the samples; the band is ± one standard "
               "deviation over the subsets, so two runs whose bands overlap may not differ at all. Unbiased: about 0 "
               "for two samples of one distribution (it can dip below). <b>Lower is better.</b>")


class KidBand:
    """KID ± std as a shaded band under the KID points of ``plot``."""

    def __init__(self, plot: pg.PlotItem, curves: dict):
        self.plot = plot
        self.lo, self.hi = (plot.plot(pen=pg.mkPen(0, 0, 0, 0)) for _ in range(2))  # invisible edges: the fill shows
        self.fill: pg.FillBetweenItem | None = None  # made with the first points (an empty one upsets the x range)
        curves["kid_lo"], curves["kid_hi"] = self.lo, self.hi
        self.mean = curves["kid"]

    def draw(self, evals) -> None:
        x, mean = evals.points("kid")
        if not len(x):  # nothing to draw: leave the curves (and the plot's range) alone
            return
        std = evals.buffer.view("kid_std")[np.isfinite(evals.buffer.view("kid"))]
        std = np.where(np.isfinite(std), std, 0.0)
        self.lo.setData(x, mean - std)
        self.hi.setData(x, mean + std)
        if self.fill is None:
            self.fill = pg.FillBetweenItem(self.lo, self.hi)
            self.fill.setZValue(-5)
            self.plot.addItem(self.fill)
        colour = pg.mkColor(self.mean.opts["pen"].color())  # the KID points' colour (the theme's), translucent
        colour.setAlpha(90)
        self.fill.setBrush(pg.mkBrush(colour))


#: Events after which a run folder's measures.json may have changed (written at the start; again when a
#: classifier trained on the data set has its held-out accuracy).
MEASURE_EVENTS = ("start", "resume_run", "feature_classifier")


def refresh_measures(panel) -> None:
    """Name the measures of the panel's run model's folder (none without a model or a folder)."""
    from engine.measures import read_measures
    folder = panel.model.path if panel.model is not None else None
    measure_tooltips(panel, read_measures(folder) if folder else {})


def measure_tooltips(panel, labels: dict[str, str]) -> None:
    """The FD and KID plots name what they measure in (``labels``: measures.json's); the plain
    tooltip where a run folder has no such names (older runs)."""
    from .appearance import FD_TOOLTIP
    for plot, col, base in ((panel.fd_plot, "frechet_distance", FD_TOOLTIP), (panel.kid_plot, "kid", KID_TOOLTIP)):
        name = labels.get(col)
        plot.setToolTip(base if not name else f"<b>{html.escape(name)}</b><br><br>{base}")
        plot.setLabel("left", name.split(",")[0] if name else ("FD" if col == "frechet_distance" else "KID"))
    panel.measure_labels = dict(labels)

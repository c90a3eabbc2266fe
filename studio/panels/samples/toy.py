"""The toy view, the picture that explains WGAN: real (orange) and generated (teal) points over
the critic's value f(x), with optional arrows of its gradient, and the draw tool
(:mod:`.draw_tool`) to paint a distribution of your own and train on it.

The critic field is one small image (32 x 32 live, see ``studio.worker``) drawn as one
``ImageItem``, scaled smoothly to the data extent. The gradient arrows are
laid out only while they are shown.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.render import CLASS_RGB, diverging_rgb
from studio.theme import FAKE, REAL, plot_colours

from .captions import NO_SAMPLES, mark_averaged, scale_text
from .draw_tool import DRAWING_CAPTION, DrawTool, draw_action

TOY_RANGE = (-2.0, 2.0)


def diverging_colormap() -> pg.ColorMap:
    """The engine's diverging map (centred on 0) as a pyqtgraph ColorMap, so the live view and
    exported pictures use the same colours."""
    pos = np.linspace(0, 1, 65)
    return pg.ColorMap(pos, diverging_rgb(pos * 2 - 1, vmax=1.0))


class SmoothImageItem(pg.ImageItem):
    """An ImageItem drawn with bilinear scaling: a coarse grid of a smooth function (the
    critic's value) looks like the function, not like a mosaic."""

    def paint(self, p, *args):
        smooth = p.testRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        try:
            super().paint(p, *args)
        finally:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)


class ToyView(QWidget):
    """Real (orange) vs generated (teal) points over the critic's value f(x) (diverging colour
    map centred on 0, with a colour bar) and optional arrows of ∇f; Draw mode paints real points."""

    train_requested = Signal()   # "Train on drawing": the window starts a run on self.drawing

    def __init__(self, parent=None):
        super().__init__(parent)
        self.payload: dict | None = None
        self.preview: np.ndarray | None = None   # opened points shown before a run (File > Open points)
        self._idle_caption = NO_SAMPLES           # the caption without a run's samples
        self.show_field = QCheckBox("critic f(x)")
        self.show_field.setChecked(True)
        self.show_field.setToolTip("The critic's value f(x) over the plane. WGAN's critic is high where the real "
                                   "data are and low where the generated points are; the generator moves its "
                                   "points up the slope.")
        self.show_arrows = QCheckBox("gradient arrows ∇f")
        self.show_arrows.setToolTip("Direction in which the critic's value grows: the direction the generator's "
                                    "points are pushed.")
        self.show_real = QCheckBox("real")
        self.show_real.setChecked(True)
        self.show_fake = QCheckBox("generated")
        self.show_fake.setChecked(True)
        for cb in (self.show_field, self.show_arrows, self.show_real, self.show_fake):
            cb.toggled.connect(self._update_visibility)
        self._arrows_for = None  # the payload the arrows were laid out for
        self.caption = QLabel(NO_SAMPLES)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setWordWrap(True)  # a long caption takes a second line, never cut by the Draw button
        self.fit_button = QPushButton("Fit view")
        self.fit_button.setObjectName("fitToPoints")
        self.fit_button.setToolTip("Zoom out until every generated and real point is in view")
        self.fit_button.clicked.connect(self.fit_to_points)
        self.fit_button.setVisible(False)
        self.off_screen = 0       # generated points outside the view (finite ones)
        self.not_finite = 0       # generated points at NaN / ±inf: nowhere to draw them
        top = QHBoxLayout()
        for w in (self.show_field, self.show_arrows, self.show_real, self.show_fake):
            top.addWidget(w)
        top.addSpacing(12)
        top.addWidget(self.caption, 1)
        top.addWidget(self.fit_button)
        self.act_draw = draw_action(self, "Draw", "draw", "Draw your own distribution with the mouse, then train "
                                    "on it", checkable=True)
        self.act_draw.toggled.connect(self.set_draw_mode)
        self.draw_button = QToolButton()
        self.draw_button.setObjectName("drawMode")
        self.draw_button.setDefaultAction(self.act_draw)
        top.addWidget(self.draw_button)

        self.view = pg.GraphicsLayoutWidget()
        self.plot = self.view.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=False, y=False)
        self.plot.setLabel("bottom", "x₁")
        self.plot.setLabel("left", "x₂")
        for side in ("bottom", "left"):  # an empty plot would otherwise read "x₂ (x0.001)"
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.setRange(xRange=TOY_RANGE, yRange=TOY_RANGE, padding=0)  # the toy sets' scale until data arrive
        self.field_item = SmoothImageItem(axisOrder="row-major")
        self.field_item.setZValue(-20)
        self.plot.addItem(self.field_item)
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=diverging_colormap(), interactive=False,
                                        label="critic f(x) − median", width=14)
        self.colorbar.setImageItem(self.field_item, insert_in=self.plot)
        self.arrows = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((40, 40, 40, 170), width=1))
        self.plot.addItem(self.arrows)
        self.arrows.setVisible(False)
        self.real_item = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL, 200), name="real")
        self.fake_item = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*FAKE, 200), name="generated")
        self.plot.addItem(self.real_item)
        self.plot.addItem(self.fake_item)
        self.draw = DrawTool(self.view, self.plot, self)   # Draw mode: the mouse paints instead of panning
        self.draw.train_requested.connect(self.train_requested)
        legend = self.plot.addLegend(offset=(4, 4))
        legend.addItem(self.real_item, "real")
        legend.addItem(self.fake_item, "generated")
        self.legend = legend
        self._extent = None
        self._real: np.ndarray | None = None
        self._fake = np.zeros((0, 2))
        self.plot.vb.sigRangeChanged.connect(lambda *_: self._update_caption())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.draw.bar)
        layout.addWidget(self.view, 1)

    # ------------------------------------------------------------------ Draw mode
    @property
    def drawing(self):
        """The drawn distribution (:class:`engine.data.drawing.Drawing`)."""
        return self.draw.drawing

    @property
    def draw_mode(self) -> bool:
        return self.act_draw.isChecked()

    def set_draw_mode(self, on: bool) -> None:
        """Draw mode: the drawing is shown alone (no run's points, field or arrows) and the mouse
        paints; off: the run's picture again."""
        if self.act_draw.isChecked() != on:
            self.act_draw.setChecked(on)  # toggled calls back here
            return
        self.draw.set_active(on)
        if on:
            self.caption.setText(DRAWING_CAPTION)
        elif self.payload is None:
            self.caption.setText(self._idle_caption)
        self._update_visibility()

    def set_can_train(self, can: bool) -> None:
        """Whether "Train on drawing" may start a run now (not while one is in progress)."""
        self.draw.set_can_train(can)

    def preview_points(self, points: np.ndarray, title: str) -> None:
        """Show opened points as the real data before a run (File > Open points), framed and with their scale."""
        from engine.data.points import PointSet

        self.clear()
        self.preview = np.asarray(points, dtype=np.float64)
        self._real = self.preview
        self.real_item.setData(pos=self.preview)
        x0, x1, y0, y1 = PointSet(self.preview).extent()
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self._idle_caption = f"{title}: {len(points)} real points; {scale_text(self.preview)}. Start to train on them"
        self.caption.setText(self._idle_caption)
        self._update_visibility()

    def set_idle_caption(self, text: str) -> None:
        """What the caption says until the run's first samples."""
        self._idle_caption = text
        if self.payload is None:
            self.caption.setText(text)

    def clear(self) -> None:
        """No samples (another run): points, critic field and arrows go (the drawing stays)."""
        self.preview, self._idle_caption = None, NO_SAMPLES
        self.payload, self._arrows_for, self._real, self._extent = None, None, None, None
        self._fake = np.zeros((0, 2))
        self.fit_button.setVisible(False)
        self.field_item.clear()
        self.real_item.setData(pos=np.zeros((0, 2)))
        self.fake_item.setData(pos=np.zeros((0, 2)))
        self.arrows.setData([], [])
        self.colorbar.setLevels((-1, 1))
        self.caption.setToolTip("")
        if self.draw_mode:
            return  # the drawing keeps its frame and caption
        self.plot.setRange(xRange=TOY_RANGE, yRange=TOY_RANGE, padding=0)
        self.caption.setText(NO_SAMPLES)

    def set_payload(self, payload: dict) -> None:
        self.payload = payload
        x0, x1, y0, y1 = payload["extent"]
        field = np.asarray(payload["field"], dtype=np.float64)
        # A constant offset of f does not change the WGAN objective: centre on the median so
        # the map's neutral colour is "average critic value" (same as the engine's pictures).
        rel = field - np.nanmedian(field)
        vmax = float(np.nanmax(np.abs(rel))) if np.isfinite(rel).any() else 1.0
        vmax = vmax if vmax > 0 else 1.0
        # Row 0 of the field is the bottom (y0); the plot's y axis points up, so no flip.
        self.field_item.setImage(rel.astype(np.float32), autoLevels=False)
        self.field_item.setRect(pg.QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colorbar.setLevels((-vmax, vmax))
        real = np.asarray(payload["real"], dtype=np.float64)
        if self._real is None or not np.array_equal(self._real, real):  # the same all run long
            self._real = real
            self.real_item.setData(pos=real)
        fake = np.asarray(payload["fake"], dtype=np.float64).reshape(-1, 2)
        finite = np.isfinite(fake).all(axis=1)
        self._fake = fake[finite]
        self.not_finite = int((~finite).sum())
        labels = payload.get("labels")
        if labels is not None and len(labels) == len(fake):  # conditional: generated points by class
            brushes = [pg.mkBrush(*c, 200) for c in CLASS_RGB]
            self.fake_item.setData(pos=self._fake, brush=[brushes[int(k) % len(brushes)]
                                                          for k in np.asarray(labels)[finite]])
        else:
            self.fake_item.setData(pos=self._fake, brush=pg.mkBrush(*FAKE, 200))
        if self._extent != (x0, x1, y0, y1):
            self._extent = (x0, x1, y0, y1)
            self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        self._update_caption()
        self._update_visibility()

    def _update_caption(self) -> None:
        """"512 generated (480 off-screen) / 512 real points...": a diverged generator's points leave
        the view (issue 18, point 6); the Fit view button brings them back."""
        payload = self.payload
        if payload is None:
            return
        (vx0, vx1), (vy0, vy1) = self.plot.vb.viewRange()
        f = self._fake
        inside = (f[:, 0] >= vx0) & (f[:, 0] <= vx1) & (f[:, 1] >= vy0) & (f[:, 1] <= vy1)
        self.off_screen = int(len(f) - inside.sum())
        notes = []
        if self.off_screen:
            notes.append(f"{self.off_screen} off-screen")
        if self.not_finite:
            notes.append(f"{self.not_finite} not finite (NaN/inf), not drawn")
        note = f" ({', '.join(notes)})" if notes else ""
        if self.draw_mode:
            return  # the caption tells how to draw
        scale = f" ({scale_text(self._real)})" if self._real is not None and len(self._real) else ""
        self.caption.setText(f"{len(payload['fake'])} generated{note} / {len(payload['real'])} real points{scale}, "
                             f"generator iteration {payload.get('gen_iter', '?')}")
        mark_averaged(self.caption, bool(payload.get("averaged")))
        self.fit_button.setVisible(self.off_screen > 0)
        if self.off_screen:
            self.fit_button.setText(f"Fit view to all {len(f)} points" if len(f) < 10_000 else "Fit view")

    def fit_to_points(self) -> None:
        """Zoom out to every finite generated and real point (the critic's map covers only its extent)."""
        pts = [self._fake] + ([self._real] if self._real is not None and len(self._real) else [])
        pts = np.concatenate(pts) if pts else np.zeros((0, 2))
        if not len(pts):
            return
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        span = max(x1 - x0, y1 - y0, 1e-9)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.plot.setRange(xRange=(cx - span / 2, cx + span / 2), yRange=(cy - span / 2, cy + span / 2),
                           padding=0.05)

    def _set_arrows(self, payload: dict) -> None:
        self._arrows_for = payload
        x0, x1 = payload["extent"][:2]
        pos = np.asarray(payload.get("arrow_pos", np.zeros((0, 2))), dtype=np.float64)
        cell = (x1 - x0) / max(int(round(np.sqrt(len(pos)))), 1)
        grad = np.asarray(payload.get("arrow_grad", np.zeros((0, 2))), dtype=np.float64)
        if len(pos) == 0:
            self.arrows.setData([], [])
            return
        norm = np.linalg.norm(grad, axis=1, keepdims=True)
        scale = 0.8 * cell / max(float(np.nanmax(norm)), 1e-12)   # the longest arrow fills its cell
        tip = pos + grad * scale
        # shaft + two short head strokes per arrow, drawn as independent segments ("pairs")
        d = (tip - pos)
        length = np.linalg.norm(d, axis=1, keepdims=True)
        u = np.divide(d, length, out=np.zeros_like(d), where=length > 0)
        perp = np.stack((-u[:, 1], u[:, 0]), 1)
        head = 0.3 * length
        left = tip - u * head + perp * head * 0.5
        right = tip - u * head - perp * head * 0.5
        segs = np.stack((pos, tip, tip, left, tip, right), 1).reshape(-1, 2)
        self.arrows.setData(segs[:, 0], segs[:, 1])

    def _update_visibility(self) -> None:
        drawing = self.draw_mode
        self.field_item.setVisible(self.show_field.isChecked() and not drawing)
        arrows = self.show_arrows.isChecked() and not drawing
        if arrows and self.payload is not None and self._arrows_for is not self.payload:
            self._set_arrows(self.payload)  # laid out only while shown
        self.arrows.setVisible(arrows)
        self.real_item.setVisible(self.show_real.isChecked() and not drawing)
        self.fake_item.setVisible(self.show_fake.isChecked() and not drawing)
        if not drawing and self.payload is not None:
            self._update_caption()

    def set_dark(self, dark: bool) -> None:
        c = plot_colours(dark)
        self.view.setBackground(c.background)
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setPen(pg.mkPen(c.foreground))
            self.plot.getAxis(name).setTextPen(pg.mkPen(c.foreground))
        self.legend.setLabelTextColor(c.foreground)
        # The arrows stay dark in both themes: they sit on the heat map, which is light around 0.

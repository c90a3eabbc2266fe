"""Live samples: an image grid from the fixed noise, or the toy view (real vs generated points
over the critic's value, with optional gradient arrows): the picture that explains WGAN.

The toy view's Draw mode paints your own distribution with the mouse (brush size and density),
erases, clears and undoes; the drawing itself is :class:`engine.data.drawing.Drawing` (no Qt), and
"Train on drawing" asks the window to start a run on it (``train_requested``).

Both draw one ``ImageItem`` each: the grid is tiled into one array and shown with
``levels=(-1, 1)``; the critic field is one small image (40 x 40 live, see ``studio.worker``)
scaled smoothly to the data extent. The gradient arrows are laid out only while they are shown.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.data.drawing import Drawing
from engine.render import CLASS_RGB, diverging_rgb
from studio.theme import FAKE, REAL, plot_colours

PAD = 2


NO_SAMPLES = "No samples yet: start a run"
TOY_RANGE = (-2.0, 2.0)
DRAW_SHORTCUTS = {"draw": "Ctrl+D", "paint": "B", "erase": "E", "undo": "Ctrl+Z", "clear": "Ctrl+Shift+Backspace",
                  "train": "Ctrl+Shift+Return"}
AVERAGED_TIP = ("Generated from the moving average of the generator's weights ([model] ema_decay); "
                "training uses the weights themselves")


def tile(images: np.ndarray, nrow: int, pad: int = PAD) -> np.ndarray:
    """``[N, C, H, W]`` in [-1, 1] -> one ``[rows*(H+pad)+pad, nrow*(W+pad)+pad(, 3)]`` array,
    row-major, padding at -1 (black)."""
    n, c, h, w = images.shape
    ncol = max(1, min(nrow, n))
    rows = (n + ncol - 1) // ncol
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, c), -1.0, np.float32)
    for i in range(n):
        r, k = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        grid[y:y + h, x:x + w] = images[i].transpose(1, 2, 0)
    return grid[..., 0] if c == 1 else grid


def scale_text(points: np.ndarray) -> str:
    """"x₁ −1.6 … 1.6, x₂ −1.6 … 1.6": the range the points span, in their own units."""
    if not len(points):
        return ""
    lo, hi = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    return f"x₁ {lo[0]:.3g}…{hi[0]:.3g}, x₂ {lo[1]:.3g}…{hi[1]:.3g}".replace("-", "−")


def _mark_averaged(caption: QLabel, averaged: bool) -> None:
    """Say on the caption when the samples come from the averaged generator weights."""
    if averaged:
        caption.setText(caption.text() + " (averaged weights)")
    caption.setToolTip(AVERAGED_TIP if averaged else "")


def diverging_colormap() -> pg.ColorMap:
    """The engine's diverging map (centred on 0) as a pyqtgraph ColorMap, so the live view and
    exported pictures use the same colours."""
    pos = np.linspace(0, 1, 65)
    return pg.ColorMap(pos, diverging_rgb(pos * 2 - 1, vmax=1.0))


class _SmoothImageItem(pg.ImageItem):
    """An ImageItem drawn with bilinear scaling: a coarse grid of a smooth function (the
    critic's value) looks like the function, not like a mosaic."""

    def paint(self, p, *args):
        smooth = p.testRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        try:
            super().paint(p, *args)
        finally:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)


class ImageGridView(QWidget):
    """The fixed-noise grid; click a sample to see it enlarged beside the grid. Conditional runs:
    one row per class (the class written left of its row), as many per row as samples per class."""

    sample_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.images: np.ndarray | None = None
        self.labels: np.ndarray | None = None   # conditional runs: the class of each sample
        self.row_labels: list[pg.TextItem] = []
        self._payload_nrow: int | None = None
        self._user_nrow: int | None = None      # the user's samples per row while a payload sets its own
        self.gen_iter = 0
        self.averaged = False   # the samples come from the averaged generator weights
        self.selected: int | None = None
        self.nrow_spin = QSpinBox()
        self.nrow_spin.setRange(1, 64)
        self.nrow_spin.setValue(8)
        self.nrow_spin.setToolTip("Samples per row of the grid")
        self.nrow_spin.valueChanged.connect(self._redraw)
        self.caption = QLabel(NO_SAMPLES)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        top.addWidget(QLabel("per row"))
        top.addWidget(self.nrow_spin)
        top.addSpacing(12)
        top.addWidget(self.caption, 1)

        self.view = pg.GraphicsLayoutWidget()
        self.vb = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.item)
        self.highlight = pg.QtWidgets.QGraphicsRectItem()
        self.highlight.setPen(pg.mkPen(FAKE, width=2))
        self.highlight.setVisible(False)
        self.vb.addItem(self.highlight)
        self.item.mouseClickEvent = self._on_click

        self.zoom_view = pg.GraphicsLayoutWidget()
        self.zoom_view.setFixedWidth(220)
        self.zoom_vb = self.zoom_view.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.zoom_item = pg.ImageItem(axisOrder="row-major")
        self.zoom_vb.addItem(self.zoom_item)
        self.zoom_label = QLabel("Click a sample\nto enlarge it")
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        side = QVBoxLayout()
        side.addWidget(self.zoom_view, 1)
        side.addWidget(self.zoom_label)

        body = QHBoxLayout()
        body.addWidget(self.view, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addLayout(body, 1)

    @property
    def nrow(self) -> int:
        return self.nrow_spin.value()

    @property
    def user_nrow(self) -> int:
        """Samples per row as the user set them (a payload may impose its own for a while)."""
        return self._user_nrow if self._user_nrow is not None else self.nrow

    def clear(self) -> None:
        """No samples (another run): the grid, the enlarged sample and its outline go."""
        self.images, self.labels, self.selected, self._payload_nrow = None, None, None, None
        if self._user_nrow is not None:  # the earlier run's own layout (one row per class...) goes too
            self.nrow_spin.blockSignals(True)
            self.nrow_spin.setValue(self._user_nrow)
            self.nrow_spin.blockSignals(False)
            self._user_nrow = None
        self.gen_iter, self.averaged = 0, False
        self.item.clear()
        self.zoom_item.clear()
        self.highlight.setVisible(False)
        self._place_row_labels()
        self.zoom_label.setText("Click a sample\nto enlarge it")
        self.caption.setText(NO_SAMPLES)
        self.caption.setToolTip("")

    def set_images(self, images: np.ndarray, gen_iter: int, labels: np.ndarray | None = None,
                   nrow: int | None = None, averaged: bool = False) -> None:
        self.averaged = averaged
        first = (self.images is None or self.images.shape[1:] != images.shape[1:]
                 or (labels is None) != (self.labels is None))
        self.images = np.asarray(images, dtype=np.float32)
        self.labels = None if labels is None else np.asarray(labels)
        self.gen_iter = gen_iter
        if nrow is not None and (first or nrow != self._payload_nrow):
            if self._user_nrow is None:
                self._user_nrow = self.nrow
            self.nrow_spin.blockSignals(True)  # one row per class; the user may still change it
            self.nrow_spin.setValue(int(nrow))
            self.nrow_spin.blockSignals(False)
        self._payload_nrow = nrow
        self._redraw(autorange=first)

    def _place_row_labels(self) -> None:
        """The class of each grid row (when every row holds one class), left of the row."""
        for item in self.row_labels:
            self.vb.removeItem(item)
        self.row_labels = []
        if self.labels is None or self.images is None:
            return
        n, _, h, _ = self.images.shape
        ncol = max(1, min(self.nrow, n))
        rows = [self.labels[r * ncol:(r + 1) * ncol] for r in range((n + ncol - 1) // ncol)]
        if not all(len(set(row.tolist())) == 1 for row in rows):
            return  # rows mix classes: labelling them would mislead
        for r, row in enumerate(rows):
            item = pg.TextItem(str(int(row[0])), anchor=(1.0, 0.5), color=(160, 160, 160))
            item.setPos(-1, PAD + r * (h + PAD) + h / 2)
            self.vb.addItem(item, ignoreBounds=True)
            self.row_labels.append(item)

    def _redraw(self, *_, autorange: bool = True) -> None:
        if self.images is None:
            return
        grid = tile(self.images, self.nrow)
        self.item.setImage(grid, autoLevels=False, levels=(-1, 1))
        if autorange:
            self.vb.autoRange(padding=0.01)
        n = len(self.images)
        self._place_row_labels()
        if self.labels is not None:
            k = len(np.unique(self.labels))
            self.caption.setText(f"{n} samples from fixed noise, {k} classes (one row each, one noise per column), "
                                 f"generator iteration {self.gen_iter}")
        else:
            self.caption.setText(f"{n} samples from fixed noise, generator iteration {self.gen_iter}")
        _mark_averaged(self.caption, self.averaged)
        if self.selected is not None and self.selected < n:
            self.select(self.selected)

    def index_at(self, x: float, y: float) -> int | None:
        """The sample under grid pixel (x, y), or None on the padding / outside."""
        if self.images is None:
            return None
        n, _, h, w = self.images.shape
        ncol = max(1, min(self.nrow, n))
        col, row = int((x - PAD) // (w + PAD)), int((y - PAD) // (h + PAD))
        if not (0 <= col < ncol) or row < 0:
            return None
        i = row * ncol + col
        return i if i < n else None

    def _on_click(self, ev) -> None:
        pos = ev.pos()
        i = self.index_at(pos.x(), pos.y())
        if i is not None:
            ev.accept()
            self.select(i)

    def select(self, i: int) -> None:
        """Show sample ``i`` enlarged and outline it in the grid."""
        if self.images is None or not 0 <= i < len(self.images):
            return
        self.selected = i
        n, c, h, w = self.images.shape
        img = self.images[i].transpose(1, 2, 0)
        self.zoom_item.setImage(img[..., 0] if c == 1 else img, autoLevels=False, levels=(-1, 1))
        self.zoom_vb.autoRange(padding=0)
        ncol = max(1, min(self.nrow, n))
        r, k = divmod(i, ncol)
        self.highlight.setRect(PAD + k * (w + PAD) - 1, PAD + r * (h + PAD) - 1, w + 2, h + 2)
        self.highlight.setVisible(True)
        cls = f", class {int(self.labels[i])}" if self.labels is not None else ""
        self.zoom_label.setText(f"sample #{i}{cls}  ({w}×{h} px)")
        self.sample_clicked.emit(i)


class ToyView(QWidget):
    """Real (orange) vs generated (teal) points over the critic's value f(x) (diverging colour
    map centred on 0, with a colour bar) and optional arrows of ∇f; Draw mode paints real points."""

    train_requested = Signal()   # "Train on drawing": the window starts a run on self.drawing

    def __init__(self, parent=None):
        super().__init__(parent)
        self.payload: dict | None = None
        self.drawing = Drawing()
        self.preview: np.ndarray | None = None   # opened points shown before a run (File > Open points)
        self._idle_caption = NO_SAMPLES           # the caption without a run's samples
        self._can_train = True                    # no run in progress: "Train on drawing" may start one
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
        self.act_draw = self._draw_action("Draw", "draw", "Draw your own distribution with the mouse, then train "
                                          "on it", checkable=True)
        self.act_draw.toggled.connect(self.set_draw_mode)
        self.draw_button = QToolButton()
        self.draw_button.setObjectName("drawMode")
        self.draw_button.setDefaultAction(self.act_draw)
        top.addWidget(self.draw_button)
        self._build_draw_bar()

        self.view = pg.GraphicsLayoutWidget()
        self.plot = self.view.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=False, y=False)
        self.plot.setLabel("bottom", "x₁")
        self.plot.setLabel("left", "x₂")
        for side in ("bottom", "left"):  # an empty plot would otherwise read "x₂ (x0.001)"
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.setRange(xRange=TOY_RANGE, yRange=TOY_RANGE, padding=0)  # the toy sets' scale until data arrive
        self.field_item = _SmoothImageItem(axisOrder="row-major")
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
        self.drawing_item = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL, 220), name="drawing")
        self.drawing_item.setVisible(False)
        self.plot.addItem(self.drawing_item)
        self.brush_outline = pg.QtWidgets.QGraphicsEllipseItem()
        self.brush_outline.setPen(pg.mkPen((90, 90, 90), width=1, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.brush_outline.setVisible(False)
        self.plot.addItem(self.brush_outline, ignoreBounds=True)
        legend = self.plot.addLegend(offset=(4, 4))
        legend.addItem(self.real_item, "real")
        legend.addItem(self.fake_item, "generated")
        self.legend = legend
        self._extent = None
        self._real: np.ndarray | None = None
        self._fake = np.zeros((0, 2))
        self.plot.vb.sigRangeChanged.connect(lambda *_: self._update_caption())

        self.view.viewport().installEventFilter(self)   # Draw mode: the mouse paints instead of panning
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.draw_bar)
        layout.addWidget(self.view, 1)
        self._refresh_drawing()

    # ------------------------------------------------------------------ Draw mode
    def _build_draw_bar(self) -> None:
        self.draw_bar = QWidget()
        self.draw_bar.setObjectName("drawBar")
        bar = QHBoxLayout(self.draw_bar)
        bar.setContentsMargins(0, 0, 0, 0)

        def tool(text, key, tip, checkable=False):
            b = QToolButton()
            b.setObjectName(f"draw_{key}")
            b.setDefaultAction(self._draw_action(text, key, tip, checkable))
            bar.addWidget(b)
            return b

        self.paint_tool = tool("Paint", "paint", "Paint points: click for a blob, drag for a stroke", True)
        self.erase_tool = tool("Erase", "erase", "Erase the points under the brush (the right button erases too)",
                               True)
        self.paint_tool.defaultAction().setChecked(True)
        group = QActionGroup(self)
        group.setExclusive(True)
        group.addAction(self.paint_tool.defaultAction())
        group.addAction(self.erase_tool.defaultAction())
        self.brush_spin = QSpinBox()
        self.brush_spin.setObjectName("brushSize")
        self.brush_spin.setRange(2, 200)
        self.brush_spin.setValue(14)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setToolTip("Brush size: the radius of the brush on screen. Painted points spread around "
                                   "the cursor with a standard deviation of half of it")
        self.density_spin = QSpinBox()
        self.density_spin.setObjectName("brushDensity")
        self.density_spin.setRange(1, 500)
        self.density_spin.setValue(20)
        self.density_spin.setToolTip("Density: points added per dab (a click is one dab; a drag adds one dab "
                                     "every half brush size)")
        for label, spin in (("brush", self.brush_spin), ("density", self.density_spin)):
            bar.addWidget(QLabel(label))
            bar.addWidget(spin)
        self.undo_button = tool("Undo", "undo", "Take back the last stroke or clear")
        self.clear_button = tool("Clear", "clear", "Remove every drawn point (Undo brings them back)")
        self.drawing_label = QLabel()
        self.drawing_label.setObjectName("drawingCount")
        bar.addWidget(self.drawing_label, 1)
        self.train_button = tool("Train on drawing", "train", "Start a run on the drawn points ([data] name = "
                                 "\"points\"; the drawing is saved as CSV and kept in the run folder)")
        self.undo_button.defaultAction().triggered.connect(self.undo_drawing)
        self.clear_button.defaultAction().triggered.connect(self.clear_drawing)
        self.train_button.defaultAction().triggered.connect(self.train_requested)
        self.draw_bar.setVisible(False)

    def _draw_action(self, text: str, key: str, tip: str, checkable: bool = False) -> QAction:
        """An action with its shortcut (active while its button is visible) and the shortcut in its tooltip."""
        a = QAction(text, self)
        a.setObjectName(f"act_draw_{key}")
        a.setCheckable(checkable)
        a.setShortcut(QKeySequence(DRAW_SHORTCUTS[key]))
        a.setToolTip(f"{tip} ({DRAW_SHORTCUTS[key]})")
        return a

    @property
    def draw_mode(self) -> bool:
        return self.act_draw.isChecked()

    def set_draw_mode(self, on: bool) -> None:
        """Draw mode: the drawing is shown alone (no run's points, field or arrows) and the mouse
        paints; off: the run's picture again."""
        if self.act_draw.isChecked() != on:
            self.act_draw.setChecked(on)  # toggled calls back here
            return
        self.drawing.release()
        self.draw_bar.setVisible(on)
        self.brush_outline.setVisible(False)
        self._refresh_drawing()
        if not on and self.payload is None:
            self.caption.setText(self._idle_caption)
        self._update_visibility()

    def brush_radius(self) -> float:
        """The brush's radius in data units (its size is in screen pixels)."""
        px_w, px_h = self.plot.vb.viewPixelSize()
        return self.brush_spin.value() * max(px_w, px_h, 1e-12)

    def to_data(self, widget_pos) -> QPointF | None:
        """Data coordinates of a point of the view's viewport, or None outside the plot area."""
        scene = self.view.mapToScene(widget_pos.toPoint())
        if not self.plot.vb.sceneBoundingRect().contains(scene):
            return None
        return self.plot.vb.mapSceneToView(scene)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if not self.draw_mode or obj is not self.view.viewport():
            return False
        kind = event.type()
        if kind == QEvent.Type.Leave:
            self.brush_outline.setVisible(False)
            return False
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        pos = self.to_data(event.position())
        d = self.drawing
        if pos is not None:
            r = self.brush_radius()
            self.brush_outline.setRect(pos.x() - r, pos.y() - r, 2 * r, 2 * r)
            self.brush_outline.setVisible(True)
        if kind == QEvent.Type.MouseButtonPress:
            if pos is None or event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
                return False
            self.paint_at(pos.x(), pos.y(), erase=event.button() == Qt.MouseButton.RightButton
                          or self.erase_tool.isChecked())
            return True
        if kind == QEvent.Type.MouseMove:
            if d.drawing and pos is not None:
                d.move(pos.x(), pos.y())
                self._refresh_drawing()
            return d.drawing
        if d.drawing:  # release
            d.release()
            self._refresh_drawing()
            return True
        return False

    def paint_at(self, x: float, y: float, erase: bool = False) -> None:
        """Begin a stroke at data point (x, y) with the brush as set (what a press of the mouse does)."""
        self.drawing.radius = self.brush_radius()
        self.drawing.density = self.density_spin.value()
        self.drawing.press(x, y, erase=erase)
        self._refresh_drawing()

    def draw_stroke(self, path, erase: bool = False) -> None:
        """A stroke through the data points ``path`` with the brush as set: what pressing the mouse at
        the first, moving through the others and releasing does (scripts draw with it)."""
        (x0, y0), *rest = path
        self.paint_at(float(x0), float(y0), erase=erase)
        for x, y in rest:
            self.drawing.move(float(x), float(y))
        self.drawing.release()
        self._refresh_drawing()

    def set_can_train(self, can: bool) -> None:
        """Whether "Train on drawing" may start a run now (not while one is in progress)."""
        self._can_train = can
        self._refresh_drawing()

    def undo_drawing(self) -> bool:
        done = self.drawing.undo()
        self._refresh_drawing()
        return done

    def clear_drawing(self) -> bool:
        done = self.drawing.clear()
        self._refresh_drawing()
        return done

    def _refresh_drawing(self) -> None:
        d = self.drawing
        self.drawing_item.setData(pos=d.points.astype(np.float64))
        modes = d.modes()
        n = len(d)
        text = f"{n} point{'s' * (n != 1)}"
        if modes is not None:
            text += f", {int(modes.max()) + 1} blobs (modes)"
        if n:
            text += f"; {scale_text(d.points)}"
        self.drawing_label.setText(text)
        self.drawing_label.setToolTip("Blobs (strokes that stay within the brush of where they began) become the "
                                      "modes of the data set: the run then reports modes covered")
        self.undo_button.defaultAction().setEnabled(d.can_undo)
        self.clear_button.defaultAction().setEnabled(n > 0)
        self.train_button.defaultAction().setEnabled(n >= 2 and self._can_train)
        if self.draw_mode:
            self.caption.setText("Drawing: left button paints (or erases), right button erases, the wheel zooms")

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
        _mark_averaged(self.caption, bool(payload.get("averaged")))
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
        self.drawing_item.setVisible(drawing)
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


class SamplesPanel(QStackedWidget):
    """Shows whichever view fits the data set: image grid or toy view."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = ImageGridView()
        self.toy = ToyView()
        self.addWidget(self.toy)
        self.addWidget(self.grid)
        self.payload: dict | None = None

    def set_kind(self, is_toy: bool) -> None:
        self.setCurrentWidget(self.toy if is_toy else self.grid)

    def clear(self) -> None:
        self.payload = None
        self.toy.clear()
        self.grid.clear()

    def bind(self, model) -> None:
        """Show the samples of ``model``'s run (a :class:`studio.run_model.RunModel`) from now on."""
        self.model = model
        model.run_changed.connect(self._redraw_from_model)
        model.samples_changed.connect(self.set_payload)

    def _redraw_from_model(self) -> None:
        self.clear()
        self.set_kind(self.model.is_toy)
        if self.model.samples is not None:
            self.set_payload(self.model.samples)

    def set_payload(self, payload: dict) -> None:
        self.payload = payload
        if payload.get("kind") == "toy":
            self.setCurrentWidget(self.toy)
            self.toy.set_payload(payload)
        elif "images" in payload:
            self.setCurrentWidget(self.grid)
            self.grid.set_images(payload["images"], int(payload.get("gen_iter", 0)), payload.get("labels"),
                                 payload.get("nrow"), bool(payload.get("averaged")))

    def set_dark(self, dark: bool) -> None:
        self.toy.set_dark(dark)
        self.grid.view.setBackground(plot_colours(dark).background)
        self.grid.zoom_view.setBackground(plot_colours(dark).background)

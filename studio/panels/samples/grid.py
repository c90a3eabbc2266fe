"""The image grid: the samples from the fixed noise tiled into one array and drawn as one
``ImageItem`` with ``levels=(-1, 1)``; click a sample to see it enlarged."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from studio.theme import FAKE

from .captions import NO_SAMPLES, mark_averaged

PAD = 2
ZOOM_MIN, ZOOM_MAX = 120, 220   # the enlarged sample's box: its width follows the panel's height


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


def fitting_columns(n: int, tile_h: int, tile_w: int, width: float, height: float, pad: int = PAD) -> int:
    """The samples per row that draw ``n`` tiles of ``tile_h`` x ``tile_w`` pixels largest in a
    ``width`` x ``height`` view (a wide, short panel gets a wide grid, not a small square one).
    Among layouts within 3% of the largest, the one with the fewest empty cells in its last row."""
    layouts = []
    for ncol in range(1, max(n, 1) + 1):
        rows = -(-n // ncol)
        scale = min(width / (ncol * (tile_w + pad) + pad), height / (rows * (tile_h + pad) + pad))
        layouts.append((scale, rows * ncol - n, ncol))
    top = max(scale for scale, _, _ in layouts)
    return min((empty, -scale, ncol) for scale, empty, ncol in layouts if scale >= 0.97 * top)[2]


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
        self.nrow_spin.setRange(0, 64)
        self.nrow_spin.setSpecialValueText("auto")   # 0: as many per row as draw them largest
        self.nrow_spin.setValue(0)
        self.nrow_spin.setToolTip("Samples per row of the grid; auto (below 1) lays them out to fill the panel")
        self.nrow_spin.valueChanged.connect(self._redraw)
        self.caption = QLabel(NO_SAMPLES)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setWordWrap(True)  # a long caption takes a second line, never cut
        top = QHBoxLayout()
        self.nrow_label = QLabel("per row")
        self.picture: str | None = None   # a followed run's picture (samples/iter_N.png), not samples
        top.addWidget(self.nrow_label)
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
        self.zoom_view.setFixedWidth(ZOOM_MAX)  # narrower in a short panel (_fit): the grid gets the room
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
        self._drawn_ncol: int | None = None    # the columns of the grid as last tiled
        self.vb.sigResized.connect(self._fit)  # auto layout follows the panel's size

    @property
    def nrow(self) -> int:
        """Samples per row: the user's (or a payload's) number, or auto's for the view's size."""
        if self.nrow_spin.value() > 0 or self.images is None:
            return self.nrow_spin.value() or 8
        n, _, h, w = self.images.shape
        return fitting_columns(n, h, w, self.vb.width(), self.vb.height())  # the view box: no margins

    @property
    def columns(self) -> int:
        """The columns of the grid as drawn."""
        return self._drawn_ncol or self.nrow

    def _fit(self, *_) -> None:
        """The zoom box as wide as the panel is high (within limits); auto's columns again."""
        width = min(ZOOM_MAX, max(ZOOM_MIN, self.view.height()))
        if width != self.zoom_view.width():
            self.zoom_view.setFixedWidth(width)
        if self.images is not None and self.nrow != self._drawn_ncol:
            self._redraw(autorange=True)

    @property
    def user_nrow(self) -> int:
        """Samples per row as the user set them, 0 for auto (a payload may impose its own for a while)."""
        return self._user_nrow if self._user_nrow is not None else self.nrow_spin.value()

    def clear(self) -> None:
        """No samples (another run): the grid, the enlarged sample and its outline go."""
        self.images, self.labels, self.selected, self._payload_nrow = None, None, None, None
        self._drawn_ncol = None
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
        self.picture = None
        for w in (self.nrow_spin, self.nrow_label):
            w.setVisible(True)

    def set_images(self, images: np.ndarray, gen_iter: int, labels: np.ndarray | None = None,
                   nrow: int | None = None, averaged: bool = False, picture: str | None = None) -> None:
        """``picture``: the file name of a picture the run wrote (a followed run's), shown as it is:
        no samples to count or lay out."""
        self.averaged = averaged
        self.picture = picture
        for w in (self.nrow_spin, self.nrow_label):
            w.setVisible(picture is None)
        first = (self.images is None or self.images.shape[1:] != images.shape[1:]
                 or (labels is None) != (self.labels is None))
        self.images = np.asarray(images, dtype=np.float32)
        self.labels = None if labels is None else np.asarray(labels)
        self.gen_iter = gen_iter
        if nrow is not None and (first or nrow != self._payload_nrow):
            if self._user_nrow is None:
                self._user_nrow = self.nrow_spin.value()
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
        ncol = max(1, min(self.columns, n))
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
        self._drawn_ncol = self.nrow
        grid = tile(self.images, self._drawn_ncol)
        self.item.setImage(grid, autoLevels=False, levels=(-1, 1))
        if autorange:
            self.vb.autoRange(padding=0.01)
        n = len(self.images)
        self._place_row_labels()
        if self.picture is not None:
            self.caption.setText(f"The run's picture at generator iteration {self.gen_iter} (samples/{self.picture})")
        elif self.labels is not None:
            k = len(np.unique(self.labels))
            self.caption.setText(f"{n} samples from fixed noise, {k} classes (one row each, one noise per column), "
                                 f"generator iteration {self.gen_iter}")
        else:
            self.caption.setText(f"{n} samples from fixed noise, generator iteration {self.gen_iter}")
        mark_averaged(self.caption, self.averaged)
        if self.selected is not None and self.selected < n:
            self.select(self.selected)

    def index_at(self, x: float, y: float) -> int | None:
        """The sample under grid pixel (x, y), or None on the padding / outside."""
        if self.images is None:
            return None
        n, _, h, w = self.images.shape
        ncol = max(1, min(self.columns, n))
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
        ncol = max(1, min(self.columns, n))
        r, k = divmod(i, ncol)
        self.highlight.setRect(PAD + k * (w + PAD) - 1, PAD + r * (h + PAD) - 1, w + 2, h + 2)
        self.highlight.setVisible(True)
        cls = f", class {int(self.labels[i])}" if self.labels is not None else ""
        self.zoom_label.setText(f"sample #{i}{cls}  ({w}×{h} px)")
        self.sample_clicked.emit(i)

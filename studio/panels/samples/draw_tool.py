"""The toy view's draw tool: paint your own 2-D distribution with the mouse (brush size and
density), erase, clear and undo, then "Train on drawing". The drawing itself is
:class:`engine.data.drawing.Drawing` (no Qt); this is its bar of tools, its points on the plot,
the brush's outline and the mouse."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QToolButton, QWidget

from engine.data.drawing import Drawing
from studio.theme import REAL
from studio.widgets import ElidedLabel

from .captions import scale_text

DRAW_SHORTCUTS = {"draw": "Ctrl+D", "paint": "B", "erase": "E", "undo": "Ctrl+Z", "clear": "Ctrl+Shift+Backspace",
                  "train": "Ctrl+Shift+Return"}
DRAWING_CAPTION = "Drawing: left button paints (or erases), right button erases, the wheel zooms"


def draw_action(parent: QObject, text: str, key: str, tip: str, checkable: bool = False) -> QAction:
    """An action with its shortcut (active while its button is visible) and the shortcut in its tooltip."""
    a = QAction(text, parent)
    a.setObjectName(f"act_draw_{key}")
    a.setCheckable(checkable)
    a.setShortcut(QKeySequence(DRAW_SHORTCUTS[key]))
    a.setToolTip(f"{tip} ({DRAW_SHORTCUTS[key]})")
    return a


class DrawTool(QObject):
    """Painting on ``plot`` (in ``view``) while :attr:`active`; :attr:`bar` holds the tools."""

    train_requested = Signal()   # "Train on drawing"

    def __init__(self, view: pg.GraphicsLayoutWidget, plot: pg.PlotItem, parent: QWidget):
        super().__init__(parent)
        self.view, self.plot = view, plot
        self.drawing = Drawing()
        self.active = False
        self._can_train = True    # no run in progress: "Train on drawing" may start one
        self._build_bar(parent)
        self.item = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL, 220), name="drawing")
        self.item.setVisible(False)
        plot.addItem(self.item)
        self.brush_outline = pg.QtWidgets.QGraphicsEllipseItem()
        self.brush_outline.setPen(pg.mkPen((90, 90, 90), width=1, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.brush_outline.setVisible(False)
        plot.addItem(self.brush_outline, ignoreBounds=True)
        view.viewport().installEventFilter(self)   # the mouse paints instead of panning
        self.refresh()

    def _build_bar(self, parent: QWidget) -> None:
        self.bar = QWidget()
        self.bar.setObjectName("drawBar")
        bar = QHBoxLayout(self.bar)
        bar.setContentsMargins(0, 0, 0, 0)

        def tool(text, key, tip, checkable=False):
            b = QToolButton()
            b.setObjectName(f"draw_{key}")
            b.setDefaultAction(draw_action(parent, text, key, tip, checkable))
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
        # A growing count must not widen the window's middle and narrow the docks (issue 35 point
        # 10), nor be cut mid-word where the bar is narrow: it ends in "…", whole in its tooltip.
        self.drawing_label = ElidedLabel()
        self.drawing_label.setObjectName("drawingCount")
        bar.addWidget(self.drawing_label, 1)
        self.train_button = tool("Train on drawing", "train", "Start a run on the drawn points ([data] name = "
                                 "\"points\"; the drawing is saved as CSV and kept in the run folder)")
        self.undo_button.defaultAction().triggered.connect(self.undo)
        self.clear_button.defaultAction().triggered.connect(self.clear)
        self.train_button.defaultAction().triggered.connect(self.train_requested)
        self.bar.setVisible(False)

    def set_active(self, on: bool) -> None:
        """On: the drawing is shown, the bar too, and the mouse paints; off: neither."""
        self.active = on
        self.drawing.release()
        self.bar.setVisible(on)
        self.item.setVisible(on)
        self.brush_outline.setVisible(False)
        self.refresh()

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
        if not self.active or obj is not self.view.viewport():
            return False
        kind = event.type()
        if kind == QEvent.Type.Leave:
            self.brush_outline.setVisible(False)
            return False
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        pos = self.to_data(event.position())
        if pos is not None:
            r = self.brush_radius()
            self.brush_outline.setRect(pos.x() - r, pos.y() - r, 2 * r, 2 * r)
            self.brush_outline.setVisible(True)
        if kind == QEvent.Type.MouseButtonPress:
            return self._press(pos, event.button())
        if kind == QEvent.Type.MouseMove:
            return self._move(pos)
        return self._release()

    def _press(self, pos: QPointF | None, button) -> bool:
        if pos is None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        self.paint_at(pos.x(), pos.y(), erase=button == Qt.MouseButton.RightButton or self.erase_tool.isChecked())
        return True

    def _move(self, pos: QPointF | None) -> bool:
        if self.drawing.drawing and pos is not None:
            self.drawing.move(pos.x(), pos.y())
            self.refresh()
        return self.drawing.drawing

    def _release(self) -> bool:
        if not self.drawing.drawing:
            return False
        self.drawing.release()
        self.refresh()
        return True

    def paint_at(self, x: float, y: float, erase: bool = False) -> None:
        """Begin a stroke at data point (x, y) with the brush as set (what a press of the mouse does)."""
        self.drawing.radius = self.brush_radius()
        self.drawing.density = self.density_spin.value()
        self.drawing.press(x, y, erase=erase)
        self.refresh()

    def draw_stroke(self, path, erase: bool = False) -> None:
        """A stroke through the data points ``path`` with the brush as set: what pressing the mouse at
        the first, moving through the others and releasing does (scripts draw with it)."""
        (x0, y0), *rest = path
        self.paint_at(float(x0), float(y0), erase=erase)
        for x, y in rest:
            self.drawing.move(float(x), float(y))
        self.drawing.release()
        self.refresh()

    def set_can_train(self, can: bool) -> None:
        """Whether "Train on drawing" may start a run now (not while one is in progress)."""
        self._can_train = can
        self.refresh()

    def undo(self) -> bool:
        done = self.drawing.undo()
        self.refresh()
        return done

    def clear(self) -> bool:
        done = self.drawing.clear()
        self.refresh()
        return done

    def refresh(self) -> None:
        """The drawn points, their count and blobs, and which buttons can be used."""
        d = self.drawing
        self.item.setData(pos=d.points.astype(np.float64))
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

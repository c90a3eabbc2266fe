"""Export plots: the plots shown as a picture, PNG or SVG by the file's suffix, laid out at a
legible size of their own (:func:`export_size`: :data:`EXPORT_WIDTH` wide, :data:`EXPORT_PLOT_PX` per
plot) whatever the window's (issue 35 point 2: a small window exported squashed plots); a PNG
is painted at twice that."""

from __future__ import annotations

from contextlib import contextmanager

import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtGui import QImage, QPainter

EXPORT_WIDTH = 1000      # logical pixels: the plots' width in an exported picture
EXPORT_PLOT_PX = 220     # logical pixels of height per plot (a 160 px data area or so)
PNG_SCALE = 2.0


def export_size(n_plots: int) -> tuple[int, int]:
    """The logical size of the exported picture of ``n_plots`` plots."""
    return EXPORT_WIDTH, EXPORT_PLOT_PX * max(n_plots, 1) + 20


@contextmanager
def laid_out_at(layout: pg.GraphicsLayoutWidget, size: tuple[int, int]):
    """The scene's plots laid out at ``size`` for as long as the block runs (then as before)."""
    ci = layout.ci
    before = QRectF(ci.geometry())
    ci.setGeometry(QRectF(0, 0, *size))
    ci.layout.activate()
    try:
        yield ci.sceneBoundingRect()
    finally:
        ci.setGeometry(before)
        ci.layout.activate()


def export_plots(layout: pg.GraphicsLayoutWidget, path: str, background, dpi: float, n_plots: int) -> None:
    """Write ``layout``'s ``n_plots`` plots to ``path`` (.svg: SVG, else PNG) on ``background``;
    ``dpi``: the screen's, so that an SVG's fonts come out at their on-screen size."""
    with laid_out_at(layout, export_size(n_plots)) as source:
        if str(path).lower().endswith(".svg"):
            export_plots_svg(layout, str(path), background, dpi, source)
        else:
            export_plots_png(layout, str(path), background, source)


def export_plots_png(layout: pg.GraphicsLayoutWidget, path: str, background, source: QRectF,
                     scale: float = PNG_SCALE) -> None:
    """The scene painted at ``scale`` times its size through a scaled painter, so text and
    axes keep their layout (pyqtgraph's ImageExporter lays the axes out again at
    the new size and the axis titles ran into the tick labels)."""
    w, h = max(int(source.width() * scale), 1), max(int(source.height() * scale), 1)
    img = QImage(w, h, QImage.Format.Format_ARGB32)
    img.fill(pg.mkColor(background))
    painter = QPainter(img)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        layout.scene().render(painter, QRectF(0, 0, w, h), source)
    finally:
        painter.end()
    if not img.save(path, "PNG"):
        raise OSError(f"cannot write {path}")


def export_plots_svg(layout: pg.GraphicsLayoutWidget, path: str, background, dpi: float, source: QRectF) -> None:
    """Paint the scene into a QSvgGenerator. (pyqtgraph's SVGExporter cannot parse the
    path data Qt 6.12 writes: "not enough values to unpack" in correctCoordinates.)"""
    from PySide6.QtSvg import QSvgGenerator  # only when an SVG is written

    w, h = max(int(source.width()), 1), max(int(source.height()), 1)
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(QSize(w, h))
    gen.setViewBox(QRect(0, 0, w, h))
    gen.setTitle("WGAN Studio training curves")
    # The screen's resolution: at QSvgGenerator's default 72 dpi the fonts came out a third
    # larger than on screen and the axis titles ran into the tick labels.
    gen.setResolution(int(dpi))
    painter = QPainter(gen)
    try:
        painter.fillRect(QRectF(0, 0, w, h), pg.mkColor(background))
        layout.scene().render(painter, QRectF(0, 0, w, h), source)
    finally:
        painter.end()

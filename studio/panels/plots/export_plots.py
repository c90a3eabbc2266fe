"""Export plots: the whole plot area as a picture, PNG (at twice the screen size) or SVG, by the
file's suffix, painted as the screen shows it."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtGui import QImage, QPainter


def export_plots(layout: pg.GraphicsLayoutWidget, path: str, background, dpi: float) -> None:
    """Write ``layout``'s plots to ``path`` (.svg: SVG, else PNG) on ``background``; ``dpi``: the
    screen's, so that an SVG's fonts come out at their on-screen size."""
    if str(path).lower().endswith(".svg"):
        export_plots_svg(layout, str(path), background, dpi)
    else:
        export_plots_png(layout, str(path), background)


def export_plots_png(layout: pg.GraphicsLayoutWidget, path: str, background, scale: float = 2.0) -> None:
    """The scene painted at ``scale`` times the screen size through a scaled painter, so text and
    axes keep their on-screen layout (pyqtgraph's ImageExporter lays the axes out again at
    the new size and the axis titles ran into the tick labels)."""
    source = layout.ci.sceneBoundingRect()
    scale = max(scale, 800 / max(source.width(), 1))
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


def export_plots_svg(layout: pg.GraphicsLayoutWidget, path: str, background, dpi: float) -> None:
    """Paint the scene into a QSvgGenerator. (pyqtgraph's SVGExporter cannot parse the
    path data Qt 6.12 writes: "not enough values to unpack" in correctCoordinates.)"""
    from PySide6.QtSvg import QSvgGenerator  # only when an SVG is written

    source = layout.ci.sceneBoundingRect()
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

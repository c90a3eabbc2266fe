"""Render resources/icons/app.svg to the icons of the desktop entry and the packaged builds.

    .venv/bin/python scripts/render_icon.py [--size 256] [--out resources/icons/app.png] [--no-platform-icons]

Qt's own SVG renderer, offscreen, so the PNG matches what the studio draws from the SVG. Beside
the PNG it writes, unless told not to, the packaged builds' icons (studio.spec): ``app.ico``
(Windows: 16 to 256 px) and ``app.icns`` (macOS: 32 to 1024 px), each size rendered from the SVG
and written by Pillow. The three are committed; tests/bundle/test_desktop_entry.py checks that
they match the SVG.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)


def render(svg: Path, out: Path, size: int) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if not render_image(svg, size).save(str(out), "PNG"):
        raise SystemExit(f"error: cannot write {out}")


def render_image(svg: Path, size: int):
    """The SVG drawn at ``size`` x ``size`` pixels: a QImage (ARGB32)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - keeps Qt alive
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"error: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def pillow_image(svg: Path, size: int):
    """The SVG drawn at ``size`` px as a Pillow RGBA image."""
    import io

    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    render_image(svg, size).save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(buf.data()))).convert("RGBA")


def platform_icons(svg: Path, folder: Path) -> list[Path]:
    """``folder/app.ico`` and ``folder/app.icns``, every size rendered from the SVG."""
    ico = [pillow_image(svg, s) for s in ICO_SIZES]
    ico[-1].save(folder / "app.ico", format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=ico[:-1])
    icns = [pillow_image(svg, s) for s in ICNS_SIZES]
    icns[-1].save(folder / "app.icns", format="ICNS", append_images=icns[:-1])
    return [folder / "app.ico", folder / "app.icns"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--svg", type=Path, default=ROOT / "resources" / "icons" / "app.svg")
    p.add_argument("--out", type=Path, default=ROOT / "resources" / "icons" / "app.png")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--no-platform-icons", action="store_true", help="write the PNG only (no .ico, .icns)")
    args = p.parse_args()
    render(args.svg, args.out, args.size)
    print(f"wrote {args.out} ({args.size}x{args.size})")
    if not args.no_platform_icons:
        for path in platform_icons(args.svg, args.out.parent):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Pictures without matplotlib: image grids and the toy-set view, drawn with NumPy and Pillow.

One visual language everywhere: real data warm (orange), generated cool (teal),
the critic's value a diverging colour map centred on 0.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, PngImagePlugin

from .io import atomic_write_bytes

REAL_RGB = (242, 142, 43)      # orange
FAKE_RGB = (23, 162, 160)      # teal
# Generated points of a conditional run, by class (cycled): Tableau 10 with its orange, the colour
# of the real data, replaced by navy.
CLASS_RGB = [(31, 119, 180), (0, 0, 128), (44, 160, 44), (214, 39, 40), (148, 103, 189),
             (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
# Diverging map (purple - near white - green), centred on 0.
_DIVERGING = np.array([[64, 0, 75], [153, 112, 171], [231, 212, 232], [247, 247, 247],
                       [217, 240, 211], [90, 174, 97], [0, 68, 27]], dtype=np.float64)


def diverging_rgb(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """Map values to RGB uint8 with 0 in the middle of the colour map and +-vmax at its ends."""
    v = np.asarray(values, dtype=np.float64)
    if vmax is None:
        vmax = float(np.nanmax(np.abs(v))) if v.size else 1.0
    vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
    t = (np.clip(np.nan_to_num(v / vmax), -1, 1) + 1) / 2 * (len(_DIVERGING) - 1)
    lo = np.floor(t).astype(int).clip(0, len(_DIVERGING) - 2)
    frac = (t - lo)[..., None]
    rgb = _DIVERGING[lo] * (1 - frac) + _DIVERGING[lo + 1] * frac
    return rgb.round().astype(np.uint8)


def image_grid(images: np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = -1.0) -> np.ndarray:
    """Tile ``[N, C, H, W]`` images in [-1, 1] into one ``[H', W', C]`` uint8 array, ``nrow`` per row."""
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    ncol = max(1, min(nrow, n))
    rows = (n + ncol - 1) // ncol
    grid = np.full((c, rows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value, np.float32)
    for i in range(n):
        r, k = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, y:y + h, x:x + w] = images[i]
    out = ((np.clip(np.nan_to_num(grid), -1, 1) + 1) * 127.5).round().astype(np.uint8)
    return out.transpose(1, 2, 0)


def grid_image(images: np.ndarray, nrow: int = 8, scale: int = 1) -> Image.Image:
    arr = image_grid(images, nrow=nrow)
    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr, mode="L" if arr.shape[2] == 1 else "RGB")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def toy_image(payload: dict, size: int = 512, point_radius: float = 2.0) -> Image.Image:
    """Real (orange) and generated (teal) points over the critic's value as a heat map."""
    x0, x1, y0, y1 = payload["extent"]
    field = payload.get("field")
    if field is not None:
        rel = np.asarray(field, dtype=np.float64)
        rel = rel - np.nanmedian(rel)  # a constant offset does not change the WGAN objective
        rgb = diverging_rgb(rel[::-1])  # row 0 of the field is the bottom (y0): flip for the image
        img = Image.fromarray(rgb, "RGB").resize((size, size), Image.BILINEAR)
    else:
        img = Image.new("RGB", (size, size), (250, 250, 250))
    draw = ImageDraw.Draw(img)

    def to_px(p):
        p = np.asarray(p, dtype=np.float64)
        p = p[np.isfinite(p).all(axis=1)]
        px = (p[:, 0] - x0) / (x1 - x0) * size
        py = (y1 - p[:, 1]) / (y1 - y0) * size
        return zip(px.tolist(), py.tolist(), strict=True)

    r = point_radius
    fake_labels = payload.get("labels")  # conditional runs: generated points coloured by class
    for pts, rgb in ((payload.get("real"), REAL_RGB), (payload.get("fake"), FAKE_RGB)):
        if pts is None:
            continue
        pts = np.asarray(pts, dtype=np.float64)
        colours = [rgb] * len(pts)
        if rgb is FAKE_RGB and fake_labels is not None and len(fake_labels) == len(pts):
            colours = [CLASS_RGB[int(k) % len(CLASS_RGB)] for k in fake_labels]
        keep = np.isfinite(pts).all(axis=1)
        colours = [c for c, ok in zip(colours, keep, strict=True) if ok]
        for (px, py), c in zip(to_px(pts), colours, strict=True):
            draw.ellipse((px - r, py - r, px + r, py + r), fill=c)
    label = payload.get("label")
    if label:
        draw.rectangle((0, 0, size, 16), fill=(255, 255, 255))
        draw.text((4, 2), label, fill=(20, 20, 20))
        draw.text((size - 150, 2), "real", fill=REAL_RGB)
        draw.text((size - 100, 2), "generated", fill=FAKE_RGB)
    return img


def png_bytes(img: Image.Image, metadata: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in (metadata or {}).items():
        info.add_itxt(str(k), str(v))
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def save_png(img: Image.Image, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write ``img`` as PNG atomically (never a partial file), with text metadata."""
    path = Path(path)
    atomic_write_bytes(path, png_bytes(img, metadata))
    return path


def payload_image(payload: dict, nrow: int = 8, scale: int | None = None) -> Image.Image:
    """The picture of a trainer sample payload (toy view or image grid)."""
    if payload["kind"] == "toy":
        return toy_image(payload)
    images = payload["images"]
    if scale is None:  # make small images visible: aim for a grid about 512 px wide
        scale = max(1, 512 // (min(nrow, len(images)) * (images.shape[-1] + 2)))
    return grid_image(images, nrow=nrow, scale=scale)

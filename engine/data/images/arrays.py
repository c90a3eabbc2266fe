"""The last step of every image loader: uint8 ``[N, C, H, W]`` converted to the run's channels
(grey by ITU-R 601 luminance, or grey repeated to RGB) and centre-cropped and resized to a square
of the run's size; and the check of a label array."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..base import DataError


def finish_images(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Convert channels (0: as stored) and centre-crop/resize ``[N, C, H, W]`` uint8 to ``size``."""
    if channels == 1 and images.shape[1] == 3:
        images = luminance(images)
    images = crop_and_resize(images, size)
    if channels == 3 and images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return np.ascontiguousarray(images, dtype=np.uint8)


def luminance(images: np.ndarray) -> np.ndarray:
    """RGB ``[N, 3, H, W]`` -> grey ``[N, 1, H, W]`` with ITU-R 601 weights."""
    out = np.empty((images.shape[0], 1) + images.shape[2:], dtype=np.uint8)
    w = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
    step = 4096  # bounded float32 temporaries for large sets
    for i in range(0, len(images), step):
        y = (images[i:i + step].astype(np.float32) * w).sum(axis=1, keepdims=True)
        out[i:i + step] = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return out


def resample_filter(src: int, dst: int):
    """Pillow's filter for resizing a side of ``src`` pixels to ``dst``: Lanczos down, bicubic up."""
    return Image.Resampling.LANCZOS if dst < src else Image.Resampling.BICUBIC


def crop_and_resize(images: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square and resize each image (Pillow) to ``size x size``."""
    n, c, h, w = images.shape
    if h == size and w == size:
        return images
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    images = images[:, :, top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(images)
    out = np.empty((n, c, size, size), dtype=np.uint8)
    resample = resample_filter(side, size)
    for i in range(n):
        for ch in range(c):  # Pillow's filters are per band; "L" per channel avoids any mode quirks
            im = Image.fromarray(np.ascontiguousarray(images[i, ch]), mode="L")
            out[i, ch] = np.asarray(im.resize((size, size), resample))
    return out


def check_labels(labels, n: int, where: str) -> np.ndarray:
    """Labels as int64 ``[n]``; ``where`` names them in messages (e.g. "FILE: key 'labels'")."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise DataError(f"{where} has shape {labels.shape}, expected ({n},): one label per image")
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{where} has dtype {labels.dtype}, expected integers")
    labels = labels.astype(np.int64)
    if n and labels.min() < 0:
        raise DataError(f"{where} contains a negative value ({int(labels.min())}); class labels "
                        "must be 0, 1, 2, ...")
    return labels

"""The ``npz`` data set: an .npz with key ``images`` (uint8 ``(N, H, W)`` or ``(N, H, W, C)``) and
optional ``labels``, or a plain .npy of the images. Also how the bundled digits are stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..base import DataError
from .arrays import check_labels
from .files import check_data_file

NPZ_ALLOWED = "uint8 with shape (N, H, W) or (N, H, W, C), C in 1, 3, 4 (alpha is dropped)"


def load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 ``[N, C, H, W]`` (alpha dropped) and int64 labels (None without them)."""
    path = Path(path)
    images, labels = _read_arrays(path)
    _check_images(images, path)
    if images.ndim == 3:
        images = images[:, None]
    else:
        images = images[..., :3] if images.shape[3] == 4 else images
        images = images.transpose(0, 3, 1, 2)
    images = np.ascontiguousarray(images)
    if labels is not None:
        labels = check_labels(labels, len(images), f"{path}: key 'labels'")
    return images, labels


def _read_arrays(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    check_data_file(path, "an .npz or .npy file")
    try:
        with open(path, "rb") as fh:  # our handle: closed even when NumPy fails half-way
            z = np.load(fh, allow_pickle=False)
            if isinstance(z, np.ndarray):  # a plain .npy: the images alone
                return z, None
            with z:
                if "images" not in z.files:
                    raise DataError(f"{path}: key 'images' missing (keys found: "
                                    f"{', '.join(z.files) or 'none'}); allowed: 'images' {NPZ_ALLOWED}, "
                                    "optional 'labels'")
                return z["images"], (z["labels"] if "labels" in z.files else None)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except MemoryError:
        raise DataError(f"{path}: too large to load into memory") from None
    except Exception as e:  # BadZipFile, ValueError (object arrays, bad header), OSError, EOFError
        raise DataError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None


def _check_images(images: np.ndarray, path: Path) -> None:
    shape, dtype = images.shape, images.dtype
    bad = None
    if dtype != np.uint8:
        bad = f"dtype {dtype}"
    elif images.ndim not in (3, 4):
        bad = f"{images.ndim} dimensions"
    elif images.ndim == 4 and shape[3] not in (1, 3, 4):
        bad = f"{shape[3]} channels in the last axis"
    elif 0 in shape:
        bad = "no pixels"
    if bad is None:
        return
    hint = ""
    if images.ndim == 4 and shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4):
        hint = "; it looks channel-first: transpose to (N, H, W, C)"
    raise DataError(f"{path}: key 'images' has shape {shape} and dtype {dtype} ({bad}); "
                    f"allowed: {NPZ_ALLOWED}{hint}")

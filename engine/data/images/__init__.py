"""Image data sets: load once into one uint8 array, keep it on the device, draw batches there.

:func:`load_images` turns a config's ``[data]`` section into ``(images, labels)``: ``images``
uint8 ``[N, C, H, W]`` with ``H = W = image_size``, ``labels`` int64 ``[N]`` or None. One module
per format, each with one ``load_...`` function:

- ``digits``: the bundled 8x8 scikit-learn digits (1797 images, labels 0-9), resized
  (:func:`load_digits`; stored as an .npz).
- ``folder`` (:mod:`.folder`): every .png/.jpg/.jpeg/.webp below a folder (recursively),
  centre-cropped and resized. Unreadable files are skipped with one :class:`DataWarning`. The
  result is cached (:mod:`.folder_cache`) as an .npz (``$WGAN_CACHE_DIR`` or
  ``~/.cache/wgan-studio/images``) keyed by the folder, the size, the channels and every file's
  (name, size, mtime).
- ``mnist`` (:mod:`.mnist`): IDX files (plain or gzip), parsed here.
- ``cifar10`` (:mod:`.cifar10`): the ``cifar-10-batches-py`` pickles, read with a restricted
  unpickler that only rebuilds NumPy arrays (a pickle that names anything else is refused,
  never executed).
- ``npz`` (:mod:`.npz`): key ``images`` uint8 ``(N, H, W)`` or ``(N, H, W, C)``, optional ``labels``.

:mod:`.files` reads a data file whole within a size limit; :mod:`.arrays` converts what a loader
read to the run's channels and size; :mod:`.source` holds :class:`ImageData`, the data source the
trainer draws batches from.

Every problem with the data raises :class:`~engine.data.base.DataError` naming the file and
what is wrong; no raw OSError/EOFError/zlib/pickle/NumPy exception escapes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..base import DataError, DataWarning
from .arrays import crop_and_resize, finish_images
from .cifar10 import load_cifar10
from .folder import load_folder
from .mnist import load_mnist
from .npz import load_npz
from .source import DEVICE_SHARE, HOLDOUT_SEED_OFFSET, ImageData, fits_on_device

__all__ = [
    "DEVICE_SHARE",
    "HOLDOUT_SEED_OFFSET",
    "DataWarning",
    "ImageData",
    "crop_and_resize",
    "fits_on_device",
    "load_digits",
    "load_images",
]


def load_images(cfg) -> tuple[np.ndarray, np.ndarray | None]:
    """Load the image data set named by ``cfg.data``: uint8 ``[N, C, S, S]`` and int64 labels
    ``[N]`` (or None), with ``S = cfg.data.image_size`` and ``C = cfg.data.channels`` (0 keeps
    the stored channels: 1 for digits/mnist, 3 for cifar10/folder, the array's for npz)."""
    name = cfg.data.name
    size = int(cfg.data.image_size)
    channels = int(cfg.data.channels)
    if channels not in (0, 1, 3):
        raise DataError(f"[data] channels = {channels}: allowed 0 (as stored), 1 (grey) or 3 (RGB)")
    if size < 1:
        raise DataError(f"[data] image_size = {size}: must be positive")

    if name == "digits":
        images, labels = load_digits()
    elif name == "folder":
        # The folder loader crops, resizes and converts while decoding (and caches the result).
        images = load_folder(_need_path(cfg, name), size, channels)
        return images, None
    elif name == "mnist":
        images, labels = load_mnist(_need_path(cfg, name))
    elif name == "cifar10":
        images, labels = load_cifar10(_need_path(cfg, name))
    elif name == "npz":
        images, labels = load_npz(_need_path(cfg, name))
    else:
        raise DataError(f"[data] name = {name!r} is not an image data set "
                        "(allowed: 'digits', 'folder', 'mnist', 'cifar10', 'npz')")
    return finish_images(images, size, channels), labels


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled 8x8 digits as stored: uint8 ``[1797, 1, 8, 8]`` and their labels 0-9."""
    import resources
    path = resources.path("digits.npz")
    images, labels = load_npz(path)
    return images, labels


def _need_path(cfg, name: str) -> Path:
    p = cfg.resolved_data_path()
    if p is None:
        raise DataError(f"data set {name!r} needs a path: set [data] path to a file or folder")
    return Path(p)

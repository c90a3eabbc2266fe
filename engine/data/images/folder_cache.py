"""The cache of the ``folder`` data set: decoding a folder of images is slow, so the decoded array
is kept as an .npz in :func:`cache_dir`, keyed by the folder, the size, the channels and every
file's (name, size, mtime). A cache file that is missing, corrupt or of another key is ignored
(the folder is decoded again); one that cannot be written is no error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ...io import user_cache_dir

#: Bumped whenever the folder pipeline changes, so old cache files are not reused.
CACHE_VERSION = 1


def cache_dir() -> Path:
    """Where processed folder data sets are cached: ``$WGAN_CACHE_DIR`` or ``~/.cache/wgan-studio/images``."""
    return user_cache_dir("images", "WGAN_CACHE_DIR")


def cache_key(folder: Path, size: int, channels: int, listing) -> str:
    """The key of a folder's decoded array: ``listing`` is its files' ``(name, size, mtime_ns)``."""
    blob = json.dumps([CACHE_VERSION, str(folder), int(size), int(channels), [list(f) for f in listing]],
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_file(key: str) -> Path:
    return cache_dir() / f"folder-{key[:40]}.npz"


def read_cache(key: str, size: int, channels: int) -> tuple[np.ndarray, str] | None:
    """The cached array for ``key`` and the message about the files skipped when it was made, or
    None when absent or unusable (then it is rebuilt)."""
    path = cache_file(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            images = z["images"]
            msg = str(z["skipped"])
    except Exception:  # corrupt / truncated / foreign file: ignore and rebuild
        return None
    if (images.dtype != np.uint8 or images.ndim != 4 or len(images) == 0
            or images.shape[1:] != (channels, size, size)):
        return None
    return images, msg


def write_cache(key: str, images: np.ndarray, skipped_msg: str) -> bool:
    """Best effort: whether the cache file was written (a read-only home or a full disk is not an
    error)."""
    from ...io import atomic_open
    path = cache_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as fh:
            np.savez(fh, images=images, key=np.array(key), skipped=np.array(skipped_msg))
    except OSError:
        return False
    return True

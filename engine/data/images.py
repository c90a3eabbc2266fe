"""Image data sets: load once into one uint8 array, keep it on the device, draw batches there.

:func:`load_images` turns a config's ``[data]`` section into ``(images, labels)``: ``images``
uint8 ``[N, C, H, W]`` with ``H = W = image_size``, ``labels`` int64 ``[N]`` or None.

- ``digits``: the bundled 8x8 scikit-learn digits (1797 images, labels 0-9), resized.
- ``folder``: every .png/.jpg/.jpeg/.webp below a folder (recursively), centre-cropped and
  resized. Unreadable files are skipped with one :class:`DataWarning`. The result is cached
  as an .npz (``$WGAN_CACHE_DIR`` or ``~/.cache/wgan-studio/images``) keyed by the folder,
  the size, the channels and every file's (name, size, mtime).
- ``mnist``: IDX files (plain or gzip), parsed here.
- ``cifar10``: the ``cifar-10-batches-py`` pickles, read with a restricted unpickler that only
  rebuilds NumPy arrays (a pickle that names anything else is refused, never executed).
- ``npz``: key ``images`` uint8 ``(N, H, W)`` or ``(N, H, W, C)``, optional ``labels``.

Every problem with the data raises :class:`~engine.data.base.DataError` naming the file and
what is wrong; no raw OSError/EOFError/zlib/pickle/NumPy exception escapes.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import json
import math
import os
import pickle
import re
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from ..io import format_bytes, unreadable_reason
from .base import DataError, DataSource

__all__ = [
    "DataWarning",
    "ImageData",
    "IMAGE_EXTENSIONS",
    "MAX_DATA_FILE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "cache_dir",
    "load_images",
    "stats",
]

#: File name endings the ``folder`` data set reads (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
#: Image files larger than this are skipped (``folder``).
MAX_FILE_BYTES = 100 * 1024 * 1024
#: Images with more pixels than this are skipped (``folder``): decompression-bomb guard.
MAX_PIXELS = 100_000_000
#: The largest data file read whole (IDX, CIFAR-10 batch, .npz/.npy), before and after gunzip:
#: MNIST's training images are 47 MB, a CIFAR-10 batch 31 MB.
MAX_DATA_FILE_BYTES = 4 << 30
#: Bumped whenever the folder pipeline changes, so old cache files are not reused.
CACHE_VERSION = 1

#: Counters for tests and the studio's log: image files decoded, folder-cache hits/writes.
stats = {"decoded": 0, "cache_hits": 0, "cache_writes": 0}


class DataWarning(UserWarning):
    """Some of the data could not be used (e.g. unreadable files skipped) but the rest can."""


# ----------------------------------------------------------------------------- entry point

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
        images, labels = _load_digits()
    elif name == "folder":
        # The folder loader crops, resizes and converts while decoding (and caches the result).
        images = _load_folder(_need_path(cfg, name), size, channels)
        return images, None
    elif name == "mnist":
        images, labels = _load_mnist(_need_path(cfg, name))
    elif name == "cifar10":
        images, labels = _load_cifar10(_need_path(cfg, name))
    elif name == "npz":
        images, labels = _load_npz(_need_path(cfg, name))
    else:
        raise DataError(f"[data] name = {name!r} is not an image data set "
                        "(allowed: 'digits', 'folder', 'mnist', 'cifar10', 'npz')")
    return _finish(images, size, channels), labels


def _need_path(cfg, name: str) -> Path:
    p = cfg.resolved_data_path()
    if p is None:
        raise DataError(f"data set {name!r} needs a path: set [data] path to a file or folder")
    return Path(p)


# ----------------------------------------------------------------------------- array helpers

def _finish(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Convert channels and centre-crop/resize ``[N, C, H, W]`` uint8 to ``size``."""
    if channels == 1 and images.shape[1] == 3:
        images = _luminance(images)
    images = _fit(images, size)
    if channels == 3 and images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return np.ascontiguousarray(images, dtype=np.uint8)


def _luminance(images: np.ndarray) -> np.ndarray:
    """RGB ``[N, 3, H, W]`` -> grey ``[N, 1, H, W]`` with ITU-R 601 weights."""
    out = np.empty((images.shape[0], 1) + images.shape[2:], dtype=np.uint8)
    w = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
    step = 4096  # bounded float32 temporaries for large sets
    for i in range(0, len(images), step):
        y = (images[i:i + step].astype(np.float32) * w).sum(axis=1, keepdims=True)
        out[i:i + step] = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return out


def _resample(src: int, dst: int):
    return Image.Resampling.LANCZOS if dst < src else Image.Resampling.BICUBIC


def _fit(images: np.ndarray, size: int) -> np.ndarray:
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
    resample = _resample(side, size)
    for i in range(n):
        for ch in range(c):  # Pillow's filters are per band; "L" per channel avoids any mode quirks
            im = Image.fromarray(np.ascontiguousarray(images[i, ch]), mode="L")
            out[i, ch] = np.asarray(im.resize((size, size), resample))
    return out


def _check_labels(labels, n: int, where: str) -> np.ndarray:
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


def _check_data_file(path: Path, what: str = "a file") -> None:
    reason = unreadable_reason(path, MAX_DATA_FILE_BYTES, what)
    if reason is not None:
        raise DataError(f"{path}: {reason}")


def _read_bytes(path: Path, what: str = "file") -> bytes:
    _check_data_file(path, f"{'an' if what[0] in 'aeiouAEIOU' else 'a'} {what}")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a {what}") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _maybe_gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress gzip data (detected by its magic bytes 1f 8b, whatever the file's name)."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
            out = gz.read(MAX_DATA_FILE_BYTES + 1)  # bounded: a small file may inflate without end
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None
    if len(out) > MAX_DATA_FILE_BYTES:
        raise DataError(f"{path}: decompresses to more than the {format_bytes(MAX_DATA_FILE_BYTES)} allowed "
                        "for a data file")
    return out


# ----------------------------------------------------------------------------- digits

def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    import resources
    path = resources.path("digits.npz")
    images, labels = _load_npz(path)
    return images, labels


# ----------------------------------------------------------------------------- folder

def cache_dir() -> Path:
    """Where processed folder data sets are cached: ``$WGAN_CACHE_DIR`` or ``~/.cache/wgan-studio/images``."""
    env = os.environ.get("WGAN_CACHE_DIR")
    if env:
        return Path(os.path.expanduser(env))
    return Path.home() / ".cache" / "wgan-studio" / "images"


def _scan_folder(folder: Path) -> tuple[list[tuple[str, int, int]], list[str]]:
    """Image files below ``folder`` as sorted ``(relative posix path, size, mtime_ns)``, and the
    relative names of the other files (ignored)."""
    found, other = [], []

    def onerror(err: OSError):  # an unreadable sub-folder: count it as an unusable entry
        other.append(os.path.relpath(err.filename or "?", folder))

    for root, dirs, files in os.walk(folder, onerror=onerror):
        dirs.sort()
        for fname in files:
            full = os.path.join(root, fname)
            rel = Path(os.path.relpath(full, folder)).as_posix()
            if os.path.splitext(fname)[1].lower() not in IMAGE_EXTENSIONS:
                other.append(rel)
                continue
            try:
                st = os.stat(full)
            except OSError:
                found.append((rel, -1, -1))  # broken link etc.: reported as unreadable later
                continue
            if not os.path.isfile(full):
                other.append(rel)
                continue
            found.append((rel, int(st.st_size), int(st.st_mtime_ns)))
    found.sort()
    other.sort()
    return found, other


def _cache_key(folder: Path, size: int, channels: int, listing) -> str:
    blob = json.dumps([CACHE_VERSION, str(folder), int(size), int(channels), [list(f) for f in listing]],
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Skip(Exception):
    """An image file that cannot be used; the message is the short reason."""


def _decode_image(path: Path, size: int, mode: str) -> np.ndarray:
    """Open one image, convert to ``mode`` ("L" or "RGB"), centre-crop, resize: ``[C, size, size]``."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise _Skip(f"more than {MAX_PIXELS // 1_000_000} megapixels")
            if w < 1 or h < 1:
                raise _Skip("empty image")
            with contextlib.suppress(Exception):
                im.draft(mode, (size, size))  # JPEG: decode at a reduced scale (still >= size)
            try:
                im = ImageOps.exif_transpose(im)
            except Exception:  # a broken EXIF block: keep the stored orientation
                pass
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):  # 16-bit / float grey
                a = np.asarray(im, dtype=np.float64)
                top = 65535.0 if a.max(initial=0) > 255 else 255.0
                im = Image.fromarray(np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8), mode="L")
            im = im.convert(mode)
            w, h = im.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            if (w, h) != (side, side):  # crop first: the resize filter must not see the cut-off sides
                im = im.crop((left, top, left + side, top + side))
            im = im.resize((size, size), _resample(side, size))
            a = np.asarray(im, dtype=np.uint8)
    except _Skip:
        raise
    except Image.DecompressionBombError:
        raise _Skip(f"more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except MemoryError:
        raise _Skip("too large to decode") from None
    except Exception:  # Pillow raises many types for corrupt data (OSError, SyntaxError, ValueError, ...)
        raise _Skip("not an image or corrupt") from None
    stats["decoded"] += 1
    if a.ndim == 2:
        return a[None]
    return a.transpose(2, 0, 1)


def _summarise_skips(skipped: list[tuple[str, str]], limit: int = 3) -> str:
    by_reason: dict[str, int] = {}
    for _, reason in skipped:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    reasons = ", ".join(f"{k}: {v}" for k, v in by_reason.items())
    names = ", ".join(name for name, _ in skipped[:limit])
    more = f", ... {len(skipped) - limit} more" if len(skipped) > limit else ""
    return f"{reasons}; {names}{more}"


def _load_folder(folder: Path, size: int, channels: int) -> np.ndarray:
    if not folder.exists():
        raise DataError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{folder}: is a file, expected a folder of images (png/jpg/jpeg/webp)")
    folder = folder.resolve()
    listing, other = _scan_folder(folder)
    out_c = 1 if channels == 1 else 3
    key = _cache_key(folder, size, out_c, listing)

    cached = _read_cache(key, size, out_c)
    if cached is not None:
        images, skipped_msg = cached
        stats["cache_hits"] += 1
        if skipped_msg:
            warnings.warn(skipped_msg, DataWarning, stacklevel=3)
        return images

    mode = "L" if out_c == 1 else "RGB"
    arrays: list[np.ndarray] = []
    skipped: list[tuple[str, str]] = []
    with warnings.catch_warnings():
        # Our own pixel limit applies; Pillow's bomb warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", message="Palette images with Transparency")
        for rel, nbytes, _ in listing:
            if nbytes < 0:
                skipped.append((rel, "unreadable"))
            elif nbytes == 0:
                skipped.append((rel, "empty file"))
            elif nbytes > MAX_FILE_BYTES:
                skipped.append((rel, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"))
            else:
                try:
                    arrays.append(_decode_image(folder / rel, size, mode))
                except _Skip as e:
                    skipped.append((rel, str(e)))

    if not arrays:
        detail = f"{len(skipped)} files skipped"
        if skipped:
            detail += f": {_summarise_skips(skipped)}"
        if other:
            shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
            detail += f"; {len(other)} other files ignored: {shown}"
        raise DataError(f"no readable image (png/jpg/jpeg/webp) in {folder} ({detail})")

    images = np.stack(arrays).astype(np.uint8, copy=False)
    skipped_msg = ""
    if skipped:
        skipped_msg = (f"{folder}: skipped {len(skipped)} of {len(listing)} files "
                       f"({_summarise_skips(skipped)})")
        warnings.warn(skipped_msg, DataWarning, stacklevel=3)
    _write_cache(key, images, skipped_msg)
    return images


def _cache_file(key: str) -> Path:
    return cache_dir() / f"folder-{key[:40]}.npz"


def _read_cache(key: str, size: int, channels: int) -> tuple[np.ndarray, str] | None:
    """The cached array for ``key``, or None when absent or unusable (then it is rebuilt)."""
    path = _cache_file(key)
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


def _write_cache(key: str, images: np.ndarray, skipped_msg: str) -> None:
    """Best effort: a cache that cannot be written (read-only home, full disk) is not an error."""
    from ..io import atomic_open
    path = _cache_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as fh:
            np.savez(fh, images=images, key=np.array(key), skipped=np.array(skipped_msg))
        stats["cache_writes"] += 1
    except OSError:
        pass


# ----------------------------------------------------------------------------- MNIST (IDX)

_IDX_IMAGES = 0x00000803  # uint8, 3 dimensions
_IDX_LABELS = 0x00000801  # uint8, 1 dimension
_MNIST_NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte",
                "t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte")


def _find_mnist_images(folder: Path) -> Path:
    for sub in (folder, folder / "raw", folder / "MNIST" / "raw"):
        for base in _MNIST_NAMES:
            for cand in (sub / base, sub / f"{base}.gz"):
                if cand.is_file():
                    return cand
    raise DataError(f"{folder}: no MNIST images file in this folder (expected "
                    "train-images-idx3-ubyte[.gz] or t10k-images-idx3-ubyte[.gz])")


def _mnist_labels_path(images_path: Path) -> Path | None:
    name = images_path.name
    new = re.sub(r"images([-.])idx3", r"labels\1idx1", name)
    if new == name:
        return None
    stem = new[:-3] if new.endswith(".gz") else new
    for cand in (images_path.with_name(new), images_path.with_name(stem), images_path.with_name(stem + ".gz")):
        if cand.is_file():
            return cand
    return None


def _read_idx(path: Path, magic_expected: int, what: str) -> tuple[tuple[int, ...], bytes]:
    raw = _maybe_gunzip(_read_bytes(path, f"IDX {what} file"), path)
    ndim = magic_expected & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < 4:
        raise DataError(f"{path}: truncated: {len(raw)} bytes, too short for an IDX {what} file")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != magic_expected:
        raise DataError(f"{path}: not an IDX {what} file: magic number 0x{magic:08x}, expected "
                        f"0x{magic_expected:08x} (uint8, {ndim}-D)")
    if len(raw) < header:
        raise DataError(f"{path}: truncated: the header needs {header} bytes, the file has {len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    need = math.prod(dims)
    have = len(raw) - header
    if have < need:
        raise DataError(f"{path}: truncated: the header announces {' x '.join(map(str, dims))} = {need} "
                        f"bytes of data, the file has {have}")
    if have > need:
        raise DataError(f"{path}: {have - need} unexpected bytes after the {' x '.join(map(str, dims))} "
                        "data announced by the header")
    return dims, raw[header:]


def _load_mnist(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    images_path = _find_mnist_images(path) if path.is_dir() else path
    (n, h, w), data = _read_idx(images_path, _IDX_IMAGES, "images")
    if n == 0 or h == 0 or w == 0:
        raise DataError(f"{images_path}: contains no images ({n} x {h} x {w})")
    images = np.frombuffer(data, dtype=np.uint8).reshape(n, 1, h, w).copy()
    labels = None
    labels_path = _mnist_labels_path(images_path)
    if labels_path is not None:
        (m,), ldata = _read_idx(labels_path, _IDX_LABELS, "labels")
        if m != n:
            raise DataError(f"{labels_path}: {m} labels but {images_path.name} has {n} images")
        labels = np.frombuffer(ldata, dtype=np.uint8).astype(np.int64)
    return images, labels


# ----------------------------------------------------------------------------- CIFAR-10 (pickles)

try:  # NumPy >= 2
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


def _np_frombuffer(buf, dtype, shape, order):
    """What NumPy's protocol-5 pickles call (``numpy._core.numeric._frombuffer``)."""
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    """Protocol-2 pickles of ``bytes`` call ``_codecs.encode(text, "latin1")``; only that is allowed."""
    if not isinstance(obj, str) or str(encoding).lower().replace("-", "").replace("_", "") not in ("latin1",):
        raise pickle.UnpicklingError("_codecs.encode is only allowed for latin-1 byte strings")
    return codecs.encode(obj, "latin1", errors)


_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds NumPy arrays, dicts, lists, numbers and strings; refuses every other global,
    so a crafted pickle cannot run code."""

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="bytes")
        self._path = path

    def find_class(self, module, name):
        obj = _PICKLE_ALLOWED.get((module, name))
        if obj is None:
            raise DataError(f"refusing to load {self._path}: it contains a pickled object of type "
                            f"{module}.{name} (only NumPy arrays, numbers, strings and lists are allowed)")
        return obj

    def persistent_load(self, pid):
        raise DataError(f"refusing to load {self._path}: it contains a persistent reference")


def _unpickle(path: Path):
    raw = _read_bytes(path, "CIFAR-10 batch file")
    if raw[:2] == b"\x1f\x8b":
        raise DataError(f"{path}: is a gzip/tar archive, not a CIFAR-10 batch; extract it "
                        "(tar xzf) and set [data] path to the cifar-10-batches-py folder")
    try:
        return _RestrictedUnpickler(io.BytesIO(raw), path).load()
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{path}: not a CIFAR-10 batch (unpickling needs more memory than available)") from None
    except Exception as e:  # UnpicklingError, EOFError, ValueError, TypeError, ... from bad bytes
        raise DataError(f"{path}: not a CIFAR-10 batch: cannot unpickle ({type(e).__name__}: {e})") from None


def _cifar_batches(path: Path) -> list[Path]:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if not path.is_dir():
        _check_data_file(path, "a CIFAR-10 batch file or folder")
        return [path]
    folder = path
    if not (folder / "data_batch_1").is_file() and (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"

    def num(p: Path) -> int:
        return int(p.name.rsplit("_", 1)[1])

    batches = sorted((p for p in folder.glob("data_batch_*") if re.fullmatch(r"data_batch_\d+", p.name)), key=num)
    if not batches and (folder / "test_batch").is_file():
        batches = [folder / "test_batch"]
    if not batches:
        raise DataError(f"{path}: no CIFAR-10 batch files in this folder (expected data_batch_1 ... "
                        "data_batch_5 or test_batch, as in cifar-10-batches-py)")
    return batches


def _load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    d = _unpickle(path)
    if not isinstance(d, dict):
        raise DataError(f"{path}: not a CIFAR-10 batch: expected a dict, found {type(d).__name__}")
    d = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d:
        raise DataError(f"{path}: not a CIFAR-10 batch: key b'data' missing (keys: {sorted(map(str, d))})")
    data = d["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: key b'data' is {found}; expected uint8 N x 3072 "
                        "(3 x 32 x 32 per row, channel-major)")
    label_key = "labels" if "labels" in d else "fine_labels" if "fine_labels" in d else None
    if label_key is None:
        raise DataError(f"{path}: not a CIFAR-10 batch: key b'labels' missing")
    try:
        labels = np.asarray(d[label_key])
    except Exception:
        raise DataError(f"{path}: key b'{label_key}' is not a list of integers") from None
    labels = _check_labels(labels, len(data), f"{path}: key b'{label_key}'")
    return data.reshape(-1, 3, 32, 32), labels


def _load_cifar10(path: Path) -> tuple[np.ndarray, np.ndarray]:
    parts = [_load_cifar_batch(p) for p in _cifar_batches(path)]
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0].copy()
    labels = np.concatenate([p[1] for p in parts])
    if len(images) == 0:
        raise DataError(f"{path}: the CIFAR-10 batches contain no images")
    return images, labels


# ----------------------------------------------------------------------------- npz

_NPZ_ALLOWED = "uint8 with shape (N, H, W) or (N, H, W, C), C in 1, 3, 4 (alpha is dropped)"


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    path = Path(path)
    _check_data_file(path, "an .npz or .npy file")
    try:
        with open(path, "rb") as fh:  # our handle: closed even when NumPy fails half-way
            z = np.load(fh, allow_pickle=False)
            if isinstance(z, np.ndarray):  # a plain .npy: the images alone
                images, labels = z, None
            else:
                with z:
                    if "images" not in z.files:
                        raise DataError(f"{path}: key 'images' missing (keys found: "
                                        f"{', '.join(z.files) or 'none'}); allowed: 'images' {_NPZ_ALLOWED}, "
                                        "optional 'labels'")
                    images = z["images"]
                    labels = z["labels"] if "labels" in z.files else None
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except MemoryError:
        raise DataError(f"{path}: too large to load into memory") from None
    except Exception as e:  # BadZipFile, ValueError (object arrays, bad header), OSError, EOFError
        raise DataError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None

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
    if bad is not None:
        hint = ""
        if images.ndim == 4 and shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4):
            hint = "; it looks channel-first: transpose to (N, H, W, C)"
        raise DataError(f"{path}: key 'images' has shape {shape} and dtype {dtype} ({bad}); "
                        f"allowed: {_NPZ_ALLOWED}{hint}")
    if images.ndim == 3:
        images = images[:, None]
    else:
        images = images[..., :3] if shape[3] == 4 else images
        images = images.transpose(0, 3, 1, 2)
    images = np.ascontiguousarray(images)
    if labels is not None:
        labels = _check_labels(labels, len(images), f"{path}: key 'labels'")
    return images, labels


# ----------------------------------------------------------------------------- the data source

class ImageData(DataSource):
    """Images kept as ONE uint8 tensor ``[N, C, H, W]``; batches are indexed and scaled to float32
    in [-1, 1] on the training device (no NumPy per batch).

    Where the images live (``resident``):

    - ``"device"``: on the training device, where batches are gathered (the usual case; on the
      CPU the device IS the host);
    - ``"host"``: in host memory, for a set too large for the GPU: each batch is gathered on the
      host into a staging buffer, page-locked (pinned) when ``pin_memory`` and CUDA, and copied to
      the device with ``non_blocking=True``. The batch indices are drawn on the device from the
      run's generator as before (the same batches as device-resident data for the same seed), so
      each batch costs one small device-to-host copy of its indices;
    - ``"auto"``: on the device unless it is a CUDA device and the set would take more than
      :data:`DEVICE_SHARE` of its free memory.

    ``memory_format``: the layout of the batches (``torch.channels_last`` for networks in that
    layout; the trainer sets it)."""

    kind = "image"

    def __init__(self, name: str, images, labels=None, device="cpu", *, resident: str = "auto",
                 pin_memory: bool = True):
        self.name = name
        self.device = torch.device(device)
        if isinstance(images, np.ndarray):
            if images.dtype != np.uint8 or images.ndim != 4:
                raise DataError(f"{name}: images must be uint8 [N, C, H, W], got {images.dtype} {images.shape}")
            if not images.flags.writeable:
                images = images.copy()
            images = torch.from_numpy(np.ascontiguousarray(images))
        elif not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
            raise DataError(f"{name}: images must be uint8 [N, C, H, W]")
        if images.shape[0] == 0:
            raise DataError(f"{name}: no images")
        if resident not in ("auto", "device", "host"):
            raise ValueError(f"resident must be 'auto', 'device' or 'host', got {resident!r}")
        self.pin_memory = pin_memory
        self.requested = resident  # kept by to() and split(): "auto" decides again for the new device
        self.on_host = (resident == "host" or
                        (resident == "auto" and not fits_on_device(images.numel() * images.element_size(),
                                                                   self.device)))
        self.resident = "host" if self.on_host else "device"
        self.images = images.cpu() if self.on_host else images.to(self.device)
        self.memory_format = torch.contiguous_format
        self._staging: torch.Tensor | None = None
        self._copied = None  # the CUDA event of the last copy out of the staging buffer
        self.shape = tuple(int(s) for s in images.shape[1:])
        if labels is not None:
            if not isinstance(labels, torch.Tensor):
                labels = torch.from_numpy(np.array(labels, dtype=np.int64))
            labels = labels.to(dtype=torch.int64)
            if labels.shape != (images.shape[0],):
                raise DataError(f"{name}: {tuple(labels.shape)} labels for {images.shape[0]} images")
            self.labels = labels.to(self.device)  # small: on the device wherever the images are
            self.num_classes = int(self.labels.max().item()) + 1
        else:
            self.labels = None
            self.num_classes = 0

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def to(self, device) -> ImageData:
        out = ImageData(self.name, self.images, self.labels, device=device, resident=self.requested,
                        pin_memory=self.pin_memory)
        out.memory_format = self.memory_format
        return out

    @property
    def pinned(self) -> bool:
        """Host-resident batches go through page-locked memory: only with CUDA, whose copies from
        pinned memory run asynchronously; the CPU trains from host memory as it is, and MPS
        shares it, so there is nothing to pin for there."""
        return self.on_host and self.pin_memory and self.device.type == "cuda"

    def _gather_on_host(self, idx: torch.Tensor) -> torch.Tensor:
        """``images[idx]`` gathered on the host and copied to the device (uint8)."""
        idx = idx.cpu()  # a device-to-host copy of the indices (the run's generator draws them on the device)
        n = idx.shape[0]
        if not self.pinned:
            return self.images[idx].to(self.device)
        shape = (n,) + tuple(self.images.shape[1:])
        if self._staging is None or tuple(self._staging.shape) != shape:
            self._staging = torch.empty(shape, dtype=torch.uint8).pin_memory()
            self._copied = None
        if self._copied is not None:
            self._copied.synchronize()  # the previous batch has left the buffer
        torch.index_select(self.images, 0, idx, out=self._staging)
        x = self._staging.to(self.device, non_blocking=True)
        self._copied = torch.cuda.Event()
        self._copied.record()
        return x

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        """The images at ``idx`` (indices on the device) as float32 in [-1, 1] on the device, in
        :attr:`memory_format`."""
        raw = self._gather_on_host(idx) if self.on_host else self.images[idx]
        return raw.to(torch.float32, memory_format=self.memory_format).div_(127.5).sub_(1.0)

    def sample_labels(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Labels of ``n`` random images: the data set's own class frequencies."""
        idx = torch.randint(0, len(self), (n,), generator=generator, device=self.device)
        return self.labels[idx]

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = torch.randint(0, len(self), (n,), generator=generator, device=self.device)
        return self.batch(idx), (self.labels[idx] if self.labels is not None else None)

    def split(self, share: float, seed: int) -> tuple[ImageData, ImageData | None]:
        """``(training, held_out)``: ``share`` of the images (at least one, rounded) kept out of
        training, chosen by a permutation seeded from ``seed`` (the same run keeps the same
        images out, on any device). ``held_out`` is None when ``share`` is 0 or fewer than two
        images would be left. Both keep the full set's ``num_classes``."""
        n = len(self)
        k = int(round(share * n))
        if share <= 0 or n < 2:
            return self, None
        k = min(max(k, 1), n - 1)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + HOLDOUT_SEED_OFFSET))
        held_idx, train_idx = perm[:k].sort().values, perm[k:].sort().values
        parts = []
        for idx in (train_idx, held_idx):
            part = ImageData(self.name, self.images[idx.to(self.images.device)],
                             self.labels[idx.to(self.device)] if self.labels is not None else None,
                             device=self.device, resident=self.requested, pin_memory=self.pin_memory)
            part.num_classes = self.num_classes
            part.memory_format = self.memory_format
            parts.append(part)
        return parts[0], parts[1]


#: Added to the run's seed for the held-out split (independent of every other stream).
HOLDOUT_SEED_OFFSET = 15485863

#: Image sets are kept on a CUDA device when they take at most this share of its free memory
#: (the rest is the networks', their activations' and the penalty's double backward's).
DEVICE_SHARE = 0.5


def fits_on_device(nbytes: int, device: torch.device, share: float = DEVICE_SHARE) -> bool:
    """Whether ``nbytes`` of images stay on ``device``: always on the CPU and MPS (the host's
    memory either way), on CUDA when they take at most ``share`` of its free memory."""
    if device.type != "cuda":
        return True
    free, _total = torch.cuda.mem_get_info(device)
    return nbytes <= share * free

"""The ``folder`` data set: every .png/.jpg/.jpeg/.webp below a folder (recursively), each
centre-cropped and resized while it is decoded. Files that cannot be used (unreadable, empty, too
large, not an image) are skipped with one :class:`~engine.data.base.DataWarning`; the result is
cached (:mod:`engine.data.images.folder_cache`)."""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..base import DataError, DataWarning
from .arrays import resample_filter
from .folder_cache import cache_key, read_cache, write_cache

#: File name endings the ``folder`` data set reads (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
#: Image files larger than this are skipped.
MAX_FILE_BYTES = 100 * 1024 * 1024
#: Images with more pixels than this are skipped: decompression-bomb guard.
MAX_PIXELS = 100_000_000

#: Counters for tests and the studio's log: image files decoded, folder-cache hits/writes.
stats = {"decoded": 0, "cache_hits": 0, "cache_writes": 0}


class SkippedImage(Exception):
    """An image file that cannot be used; the message is the short reason."""


def load_folder(folder: Path, size: int, channels: int) -> np.ndarray:
    """The images below ``folder`` as uint8 ``[N, C, size, size]`` (C = 1 for ``channels`` 1, else 3)."""
    folder = _checked_folder(folder)
    listing, other = scan_folder(folder)
    out_c = 1 if channels == 1 else 3
    key = cache_key(folder, size, out_c, listing)

    cached = read_cache(key, size, out_c)
    if cached is not None:
        images, skipped_msg = cached
        stats["cache_hits"] += 1
        if skipped_msg:
            warnings.warn(skipped_msg, DataWarning, stacklevel=3)
        return images

    arrays, skipped = _decode_listing(folder, listing, size, "L" if out_c == 1 else "RGB")
    if not arrays:
        raise _nothing_readable(folder, skipped, other)
    images = np.stack(arrays).astype(np.uint8, copy=False)
    skipped_msg = ""
    if skipped:
        skipped_msg = (f"{folder}: skipped {len(skipped)} of {len(listing)} files "
                       f"({_summarise_skips(skipped)})")
        warnings.warn(skipped_msg, DataWarning, stacklevel=3)
    if write_cache(key, images, skipped_msg):
        stats["cache_writes"] += 1
    return images


def _checked_folder(folder: Path) -> Path:
    if not folder.exists():
        where = "" if folder.is_absolute() else f" (looked for {folder.absolute()}: a relative path is read against " \
            "the config file's folder, or the current folder for a preset)"
        raise DataError(f"{folder}: no such folder{where}; set [data] path to a folder of images")
    if not folder.is_dir():
        raise DataError(f"{folder}: is a file, expected a folder of images (png/jpg/jpeg/webp)")
    return folder.resolve()


def scan_folder(folder: Path) -> tuple[list[tuple[str, int, int]], list[str]]:
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


def _decode_listing(folder: Path, listing, size: int, mode: str):
    """``(arrays, skipped)``: the decoded images, and ``(name, reason)`` for each file skipped."""
    arrays: list[np.ndarray] = []
    skipped: list[tuple[str, str]] = []
    with warnings.catch_warnings():
        # Our own pixel limit applies; Pillow's bomb warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", message="Palette images with Transparency")
        for rel, nbytes, _ in listing:
            reason = _size_problem(nbytes)
            if reason is None:
                try:
                    arrays.append(decode_image(folder / rel, size, mode))
                    continue
                except SkippedImage as e:
                    reason = str(e)
            skipped.append((rel, reason))
    return arrays, skipped


def _size_problem(nbytes: int) -> str | None:
    if nbytes < 0:
        return "unreadable"
    if nbytes == 0:
        return "empty file"
    if nbytes > MAX_FILE_BYTES:
        return f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
    return None


def _nothing_readable(folder: Path, skipped: list[tuple[str, str]], other: list[str]) -> DataError:
    detail = f"{len(skipped)} files skipped"
    if skipped:
        detail += f": {_summarise_skips(skipped)}"
    if other:
        shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
        detail += f"; {len(other)} other files ignored: {shown}"
    return DataError(f"no readable image (png/jpg/jpeg/webp) in {folder} ({detail})")


def decode_image(path: Path, size: int, mode: str) -> np.ndarray:
    """Open one image, convert to ``mode`` ("L" or "RGB"), centre-crop, resize: ``[C, size, size]``.
    Raises :class:`SkippedImage` with the reason when the file cannot be used."""
    try:
        with Image.open(path) as im:
            a = _square_pixels(im, size, mode)
    except SkippedImage:
        raise
    except Image.DecompressionBombError:
        raise SkippedImage(f"more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except MemoryError:
        raise SkippedImage("too large to decode") from None
    except Exception:  # Pillow raises many types for corrupt data (OSError, SyntaxError, ValueError, ...)
        raise SkippedImage("not an image or corrupt") from None
    stats["decoded"] += 1
    if a.ndim == 2:
        return a[None]
    return a.transpose(2, 0, 1)


def _square_pixels(im: Image.Image, size: int, mode: str) -> np.ndarray:
    """An open image's pixels in ``mode``, centre-cropped and resized: ``[size, size(, C)]``."""
    w, h = im.size
    if w * h > MAX_PIXELS:
        raise SkippedImage(f"more than {MAX_PIXELS // 1_000_000} megapixels")
    if w < 1 or h < 1:
        raise SkippedImage("empty image")
    with contextlib.suppress(Exception):
        im.draft(mode, (size, size))  # JPEG: decode at a reduced scale (still >= size)
    with contextlib.suppress(Exception):  # a broken EXIF block: keep the stored orientation
        im = ImageOps.exif_transpose(im)
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
    im = im.resize((size, size), resample_filter(side, size))
    return np.asarray(im, dtype=np.uint8)


def _summarise_skips(skipped: list[tuple[str, str]], limit: int = 3) -> str:
    by_reason: dict[str, int] = {}
    for _, reason in skipped:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    reasons = ", ".join(f"{k}: {v}" for k, v in by_reason.items())
    names = ", ".join(name for name, _ in skipped[:limit])
    more = f", ... {len(skipped) - limit} more" if len(skipped) > limit else ""
    return f"{reasons}; {names}{more}"

"""Reading a data file whole (an IDX file, a CIFAR-10 batch, an .npz): refused before reading when
it is not a regular file or larger than :data:`MAX_DATA_FILE_BYTES`, gzip data inflated within the
same limit, and every problem a :class:`~engine.data.base.DataError` that names the file."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

from ...io import format_bytes, unreadable_reason
from ..base import DataError

#: The largest data file read whole (IDX, CIFAR-10 batch, .npz/.npy), before and after gunzip:
#: MNIST's training images are 47 MB, a CIFAR-10 batch 31 MB.
MAX_DATA_FILE_BYTES = 4 << 30


def check_data_file(path: Path, what: str = "a file") -> None:
    """DataError unless ``path`` is a regular file of at most :data:`MAX_DATA_FILE_BYTES`."""
    reason = unreadable_reason(path, MAX_DATA_FILE_BYTES, what)
    if reason is not None:
        raise DataError(f"{path}: {reason}")


def read_data_file(path: Path, what: str = "file") -> bytes:
    """The bytes of ``path`` (``what`` names the kind of file in messages)."""
    check_data_file(path, f"{'an' if what[0] in 'aeiouAEIOU' else 'a'} {what}")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a {what}") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def gunzip_if_gzip(raw: bytes, path: Path) -> bytes:
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

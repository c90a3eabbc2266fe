"""The ``cifar10`` data set: the ``cifar-10-batches-py`` pickles (a batch file, or the folder of
them), read with a restricted unpickler that only rebuilds NumPy arrays: a pickle that names
anything else is refused, never executed."""

from __future__ import annotations

import codecs
import io
import pickle
import re
from pathlib import Path

import numpy as np

from ..base import DataError
from .arrays import check_labels
from .files import check_data_file, read_data_file

try:  # NumPy >= 2
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


def load_cifar10(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 ``[N, 3, 32, 32]`` and int64 labels of every batch found at ``path``."""
    parts = [load_cifar_batch(p) for p in cifar_batches(path)]
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0].copy()
    labels = np.concatenate([p[1] for p in parts])
    if len(images) == 0:
        raise DataError(f"{path}: the CIFAR-10 batches contain no images")
    return images, labels


def cifar_batches(path: Path) -> list[Path]:
    """The batch files: ``path`` itself, or data_batch_1... (else test_batch) in the folder."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if not path.is_dir():
        check_data_file(path, "a CIFAR-10 batch file or folder")
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


def load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    d = unpickle(path)
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
    labels = check_labels(labels, len(data), f"{path}: key b'{label_key}'")
    return data.reshape(-1, 3, 32, 32), labels


def unpickle(path: Path):
    """The object pickled in ``path``, rebuilt by :class:`RestrictedUnpickler`."""
    raw = read_data_file(path, "CIFAR-10 batch file")
    if raw[:2] == b"\x1f\x8b":
        raise DataError(f"{path}: is a gzip/tar archive, not a CIFAR-10 batch; extract it "
                        "(tar xzf) and set [data] path to the cifar-10-batches-py folder")
    try:
        return RestrictedUnpickler(io.BytesIO(raw), path).load()
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{path}: not a CIFAR-10 batch (unpickling needs more memory than available)") from None
    except Exception as e:  # UnpicklingError, EOFError, ValueError, TypeError, ... from bad bytes
        raise DataError(f"{path}: not a CIFAR-10 batch: cannot unpickle ({type(e).__name__}: {e})") from None


def _np_frombuffer(buf, dtype, shape, order):
    """What NumPy's protocol-5 pickles call (``numpy._core.numeric._frombuffer``)."""
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    """Protocol-2 pickles of ``bytes`` call ``_codecs.encode(text, "latin1")``; only that is allowed."""
    if not isinstance(obj, str) or str(encoding).lower().replace("-", "").replace("_", "") not in ("latin1",):
        raise pickle.UnpicklingError("_codecs.encode is only allowed for latin-1 byte strings")
    return codecs.encode(obj, "latin1", errors)


#: The only globals a CIFAR-10 pickle may name, and what each becomes.
PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _np_frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds NumPy arrays, dicts, lists, numbers and strings; refuses every other global,
    so a crafted pickle cannot run code."""

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="bytes")
        self._path = path

    def find_class(self, module, name):
        obj = PICKLE_ALLOWED.get((module, name))
        if obj is None:
            raise DataError(f"refusing to load {self._path}: it contains a pickled object of type "
                            f"{module}.{name} (only NumPy arrays, numbers, strings and lists are allowed)")
        return obj

    def persistent_load(self, pid):
        raise DataError(f"refusing to load {self._path}: it contains a persistent reference")

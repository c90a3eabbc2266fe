"""The ``mnist`` data set: MNIST's IDX files (plain or gzip), parsed here. ``[data] path`` is the
images file or a folder holding it (also ``raw/`` or ``MNIST/raw/`` below it, as torchvision
leaves them); the labels file beside it is read when present."""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import numpy as np

from ..base import DataError
from .files import gunzip_if_gzip, read_data_file

IDX_IMAGES = 0x00000803  # uint8, 3 dimensions
IDX_LABELS = 0x00000801  # uint8, 1 dimension
MNIST_NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte",
               "t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte")


def load_mnist(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 ``[N, 1, H, W]`` and int64 labels (None without a labels file)."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    images_path = find_mnist_images(path) if path.is_dir() else path
    (n, h, w), data = read_idx(images_path, IDX_IMAGES, "images")
    if n == 0 or h == 0 or w == 0:
        raise DataError(f"{images_path}: contains no images ({n} x {h} x {w})")
    images = np.frombuffer(data, dtype=np.uint8).reshape(n, 1, h, w).copy()
    labels = None
    labels_path = mnist_labels_path(images_path)
    if labels_path is not None:
        (m,), ldata = read_idx(labels_path, IDX_LABELS, "labels")
        if m != n:
            raise DataError(f"{labels_path}: {m} labels but {images_path.name} has {n} images")
        labels = np.frombuffer(ldata, dtype=np.uint8).astype(np.int64)
    return images, labels


def find_mnist_images(folder: Path) -> Path:
    for sub in (folder, folder / "raw", folder / "MNIST" / "raw"):
        for base in MNIST_NAMES:
            for cand in (sub / base, sub / f"{base}.gz"):
                if cand.is_file():
                    return cand
    raise DataError(f"{folder}: no MNIST images file in this folder (expected "
                    "train-images-idx3-ubyte[.gz] or t10k-images-idx3-ubyte[.gz])")


def mnist_labels_path(images_path: Path) -> Path | None:
    """The labels file that belongs to an images file, when it is there."""
    name = images_path.name
    new = re.sub(r"images([-.])idx3", r"labels\1idx1", name)
    if new == name:
        return None
    stem = new[:-3] if new.endswith(".gz") else new
    for cand in (images_path.with_name(new), images_path.with_name(stem), images_path.with_name(stem + ".gz")):
        if cand.is_file():
            return cand
    return None


def read_idx(path: Path, magic_expected: int, what: str) -> tuple[tuple[int, ...], bytes]:
    """An IDX file's dimensions and data bytes, checked against its header."""
    raw = gunzip_if_gzip(read_data_file(path, f"IDX {what} file"), path)
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

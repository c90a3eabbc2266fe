"""Your own 2-D points: ``[data] name = "points"`` with ``path`` to a text table or a ``.npy``.

Text (``.csv``, ``.tsv``, ``.txt``; commas, tabs, semicolons or spaces): one point a line, ``x, y``
and optionally a third column, the point's mode (a whole number >= 0). A first line that is not
numbers is a header; blank lines and lines starting with ``#`` are skipped. ``.npy``: an
``N x 2`` or ``N x 3`` array, the same columns.

When the modes are given, each mode's centre is the mean of its points and the spread the
points' root-mean-square distance from their centre per coordinate; the run then reports modes
covered and the high-quality share as for the built-in mixtures. Every problem is reported with
the file, the line and what is allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import unreadable_reason
from .base import DataError

MIN_POINTS = 2
MAX_POINTS = 1_000_000
MAX_POINTS_FILE_BYTES = 256 << 20
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
ALLOWED = "x, y and an optional mode (a whole number >= 0) per line, or an N x 2 / N x 3 .npy array"
_SPLIT = re.compile(r"[,;\t ]+")


@dataclass
class PointSet:
    """Points ``[N, 2]`` float32; ``modes`` ``[N]`` int64 (renumbered 0..K-1) or None."""

    points: np.ndarray
    modes: np.ndarray | None = None

    def centres(self) -> tuple[np.ndarray, float] | None:
        """Per-mode means ``[K, 2]`` and the pooled per-coordinate spread, or None without modes."""
        if self.modes is None:
            return None
        k = int(self.modes.max()) + 1
        counts = np.bincount(self.modes, minlength=k).astype(np.float64)
        sums = np.zeros((k, 2))
        np.add.at(sums, self.modes, self.points.astype(np.float64))
        centres = sums / counts[:, None]
        spread = float(np.sqrt(np.mean((self.points - centres[self.modes]) ** 2)))
        return centres, max(spread, 1e-6)

    def standardisation(self) -> tuple[np.ndarray, float]:
        """(centre, scale) of the points: their mean, and one standard deviation for both
        coordinates (the root of the mean per-coordinate variance; 1 for points all in one place),
        so that the networks see ``(x - centre) / scale`` at unit scale (engine.models.mlp)."""
        p = self.points.astype(np.float64)
        centre = p.mean(axis=0)
        scale = float(np.sqrt(np.mean(p.var(axis=0))))
        return centre, (scale if scale > 1e-12 else 1.0)

    def extent(self, margin: float = 0.15) -> tuple[float, float, float, float]:
        """A square frame around the points (their scale, whatever units the file uses)."""
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-3) * (1 + margin)
        return (float(mid[0] - half), float(mid[0] + half), float(mid[1] - half), float(mid[1] + half))


def load_points(path: str | os.PathLike) -> PointSet:
    path = Path(path)
    reason = unreadable_reason(path, MAX_POINTS_FILE_BYTES, "a .csv, .tsv, .txt or .npy file of 2-D points")
    if reason is not None:
        raise DataError(f"{path}: {reason}")
    if path.suffix.lower() == ".npy":
        table = _read_npy(path)
        where = lambda i: f"row {i}"  # noqa: E731 - the .npy's row index
    else:
        table, lines = _read_text(path)
        where = lambda i: f"line {lines[i]}"  # noqa: E731 - the text file's line number
    if len(table) < MIN_POINTS:
        raise DataError(f"{path}: {len(table)} point{'s' if len(table) != 1 else ''}; at least {MIN_POINTS} are "
                        f"needed ({ALLOWED})")
    bad = ~np.isfinite(table).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{path}: {where(i)}: not a finite number ({', '.join(map(str, table[i]))}); "
                        "NaN and infinity are not points")
    modes = None
    if table.shape[1] == 3:
        m = table[:, 2]
        bad = (m < 0) | (m != np.round(m))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{path}: {where(i)}: mode {m[i]:g} is not a whole number >= 0")
        _, modes = np.unique(m.astype(np.int64), return_inverse=True)
        modes = modes.astype(np.int64)
    return PointSet(np.ascontiguousarray(table[:, :2], dtype=np.float32), modes)


def _read_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as fh:
            a = np.load(fh, allow_pickle=False)
    except Exception as e:  # ValueError (object arrays, bad header), OSError, EOFError
        raise DataError(f"{path}: not a readable .npy file ({type(e).__name__}: {e})") from None
    if not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[1] not in (2, 3):
        raise DataError(f"{path}: an array of shape {getattr(a, 'shape', '?')}; allowed: {ALLOWED}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise DataError(f"{path}: dtype {a.dtype}; allowed: real numbers")
    if len(a) > MAX_POINTS:
        raise DataError(f"{path}: {len(a):,} points, more than the {MAX_POINTS:,} allowed")
    return a.astype(np.float64)


def _read_text(path: Path) -> tuple[np.ndarray, list[int]]:
    rows: list[list[float]] = []
    lines: list[int] = []
    ncols = 0
    try:
        fh = open(path, encoding="utf-8-sig")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    with fh:
        try:
            for lineno, line in enumerate(fh, 1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                fields = [f for f in _SPLIT.split(text) if f]
                try:
                    values = [float(f) for f in fields]
                except ValueError:
                    if not rows and not lines:  # the first line that is not numbers: a header
                        lines.append(-lineno)
                        continue
                    word = next(f for f in fields if not _is_number(f))
                    raise DataError(f"{path}: line {lineno}: {word!r} is not a number ({ALLOWED})") from None
                if not 2 <= len(values) <= 3:
                    raise DataError(f"{path}: line {lineno}: {len(values)} value{'s' if len(values) != 1 else ''}; "
                                    f"allowed: {ALLOWED}")
                if ncols and len(values) != ncols:
                    raise DataError(f"{path}: line {lineno}: {len(values)} values, the lines before have {ncols}")
                ncols = len(values)
                if len(rows) >= MAX_POINTS:
                    raise DataError(f"{path}: more than the {MAX_POINTS:,} points allowed (line {lineno})")
                rows.append(values)
                lines.append(lineno)
        except UnicodeDecodeError:
            raise DataError(f"{path}: not a text file (not UTF-8); allowed: {ALLOWED}") from None
    lines = [n for n in lines if n > 0]
    return (np.asarray(rows, dtype=np.float64) if rows else np.zeros((0, 2))), lines


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_points(path: str | os.PathLike, points: np.ndarray, modes: np.ndarray | None = None) -> None:
    """Write points (and modes) as a CSV that :func:`load_points` reads back exactly; atomic."""
    from ..io import atomic_write_bytes

    points = np.asarray(points, dtype=np.float32)
    head = "x,y,mode\n" if modes is not None else "x,y\n"
    if modes is None:
        body = "".join(f"{x!r},{y!r}\n" for x, y in points.tolist())
    else:
        body = "".join(f"{x!r},{y!r},{int(m)}\n" for (x, y), m in zip(points.tolist(), modes, strict=True))
    atomic_write_bytes(Path(path), (head + body).encode("utf-8"))

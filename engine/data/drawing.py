"""A drawn 2-D distribution: what the studio's Draw mode does with the mouse, without Qt.

A stroke is a press, the moves while the button is held and the release. Painting drops *dabs*
along the stroke, one at the press and then one every half brush radius of the path (a slow and a
fast drag leave the same density); each dab adds ``density`` points around its centre, normally
distributed with a standard deviation of half the brush radius. Erasing removes every point
within the brush radius of the path. Each stroke and each clear is one step of the undo history.

Modes: when every painted stroke stays within one brush radius of where it began (a click or a
dab, a *blob*), each stroke is one mode of the distribution and the file gets a mode column, so
a run reports modes covered as for the built-in mixtures. A drawing with a longer stroke (a
line, a curve) has no modes.

Coordinates and the brush radius are in data units: the view converts its pixels before calling.
"""

from __future__ import annotations

import os

import numpy as np

from .points import PointSet, write_points

MAX_DRAWN = 200_000      # points in one drawing (a dab past it adds nothing)
MAX_UNDO = 200           # undo steps kept


class Drawing:
    def __init__(self, radius: float = 0.1, density: int = 20, seed: int = 0):
        self.radius = float(radius)
        self.density = int(density)
        self.rng = np.random.default_rng(seed)
        self.points = np.zeros((0, 2), np.float32)
        self.strokes = np.zeros(0, np.int64)    # the stroke that painted each point
        self._compact: dict[int, bool] = {}      # stroke -> stayed within one radius of its start
        self._next_stroke = 0
        self._undo: list[tuple] = []
        self._stroke: dict | None = None         # the stroke in progress

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        return len(self.points)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def drawing(self) -> bool:
        """A stroke is in progress (between press and release)."""
        return self._stroke is not None

    def _snapshot(self) -> tuple:
        return self.points, self.strokes, dict(self._compact), self._next_stroke

    def _restore(self, snap: tuple) -> None:
        self.points, self.strokes, self._compact, self._next_stroke = snap[0], snap[1], dict(snap[2]), snap[3]

    def _push_undo(self) -> None:
        self._undo.append(self._snapshot())
        del self._undo[:-MAX_UNDO]

    # ------------------------------------------------------------------ the mouse
    def press(self, x: float, y: float, erase: bool = False) -> None:
        """Begin a stroke at (x, y): paint (or erase) the first dab."""
        if self._stroke is not None:
            self.release()
        self._push_undo()
        sid = self._next_stroke
        if not erase:
            self._next_stroke += 1
            self._compact[sid] = True
        self._stroke = {"erase": erase, "id": sid, "start": np.array([x, y], float), "last": np.array([x, y], float),
                        "before": len(self.points), "changed": False, "carry": 0.0}
        self._dab(np.array([x, y], float))

    def move(self, x: float, y: float) -> None:
        """Continue the stroke to (x, y): a dab every half radius of the path (none without a press)."""
        s = self._stroke
        if s is None:
            return
        p = np.array([x, y], float)
        step = max(self.radius / 2, 1e-12)
        seg = p - s["last"]
        length = float(np.hypot(*seg))
        if length == 0:
            return
        if s["erase"]:
            self._erase_segment(s["last"], p)
            s["last"] = p
            return
        # dabs at path distances step, 2*step... counted from the last dab (carry: the path since it)
        t = step - s["carry"]
        while t <= length:
            self._dab(s["last"] + seg * (t / length))
            t += step
        s["carry"] = length - (t - step)
        s["last"] = p

    def release(self) -> None:
        """End the stroke; a stroke that changed nothing leaves no undo step."""
        s, self._stroke = self._stroke, None
        if s is not None and not s["changed"]:
            self._restore(self._undo.pop())

    def _erase_segment(self, a: np.ndarray, b: np.ndarray) -> None:
        """Remove the points within the brush radius of the segment a-b (the eraser's path)."""
        if not len(self.points):
            return
        ab = b - a
        t = np.clip((self.points - a) @ ab / max(float(ab @ ab), 1e-300), 0.0, 1.0)
        keep = np.hypot(*(self.points - (a + t[:, None] * ab)).T) > self.radius
        if not keep.all():
            self.points, self.strokes = self.points[keep], self.strokes[keep]
            self._stroke["changed"] = True

    def _dab(self, c: np.ndarray) -> None:
        s = self._stroke
        if s["erase"]:
            self._erase_segment(c, c)
            return
        n = min(self.density, MAX_DRAWN - len(self.points))
        if float(np.hypot(*(c - s["start"]))) > self.radius:
            self._compact[s["id"]] = False
        if n <= 0:
            return
        new = (c + self.rng.normal(0.0, self.radius / 2, (n, 2))).astype(np.float32)
        self.points = np.concatenate([self.points, new])
        self.strokes = np.concatenate([self.strokes, np.full(n, s["id"], np.int64)])
        s["changed"] = True

    # ------------------------------------------------------------------ edits
    def clear(self) -> bool:
        """Remove every point (one undo step); False when there was nothing to clear."""
        self.release()
        if not len(self.points):
            return False
        self._push_undo()
        self.points, self.strokes = np.zeros((0, 2), np.float32), np.zeros(0, np.int64)
        return True

    def undo(self) -> bool:
        """Take back the last stroke or clear; False when there is nothing to undo."""
        self.release()
        if not self._undo:
            return False
        self._restore(self._undo.pop())
        return True

    def set_points(self, points: np.ndarray) -> None:
        """Start from these points (one undo step; loaded points have no modes)."""
        self.release()
        self._push_undo()
        self.points = np.asarray(points, np.float32).reshape(-1, 2)[:MAX_DRAWN].copy()
        sid = self._next_stroke
        self._next_stroke += 1
        self._compact[sid] = False
        self.strokes = np.full(len(self.points), sid, np.int64)

    # ------------------------------------------------------------------ the result
    def modes(self) -> np.ndarray | None:
        """One mode per stroke when every stroke left is a blob (see the module), else None."""
        if not len(self.points):
            return None
        ids = np.unique(self.strokes)
        if len(ids) < 2 or not all(self._compact.get(int(i), False) for i in ids):
            return None
        return np.searchsorted(ids, self.strokes)

    def point_set(self) -> PointSet:
        return PointSet(self.points.copy(), self.modes())

    def save(self, path: str | os.PathLike) -> None:
        """Write the drawing as a points CSV (with a mode column when it has modes)."""
        write_points(path, self.points, self.modes())

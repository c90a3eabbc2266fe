"""Quality measures that need no download (docs/algorithm.md, "Quality measures").

- :func:`w1_exact`: the exact 1-Wasserstein distance between two equal-size point clouds
  (optimal assignment on the Euclidean cost matrix).
- :func:`mode_stats`: modes covered and share of high-quality samples for Gaussian mixtures.
- :func:`sliced_wasserstein`: sliced W1 between two batches of any shape.
- :func:`spearman`: rank correlation, for "W_est falls together with sample quality".
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import spearmanr


def w1_exact(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W1 between the empirical measures of ``a`` and ``b`` (same number of points)."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if len(a) != len(b):
        raise ValueError("w1_exact needs two sets of the same size")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def mode_stats(points: np.ndarray, centres: np.ndarray, std: float, *, radius_std: float = 3.0,
               min_share: float = 0.01) -> tuple[int, float]:
    """``(modes_covered, high_quality_share)``.

    A sample is high quality when it lies within ``radius_std`` std (Euclidean distance) of some
    centre; a mode is covered when at least ``min_share`` of all samples lie that close to it.
    """
    points = np.asarray(points, dtype=np.float64)
    d = cdist(points, np.asarray(centres, dtype=np.float64))
    nearest = d.argmin(axis=1)
    close = d[np.arange(len(points)), nearest] <= radius_std * std
    counts = np.bincount(nearest[close], minlength=len(centres))
    covered = int((counts >= min_share * len(points)).sum())
    return covered, float(close.mean()) if len(points) else 0.0


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, n_projections: int = 128, seed: int = 0) -> float:
    """Sliced W1: the mean over random unit directions of the 1-D W1 of the projections."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if len(a) != len(b):
        raise ValueError("sliced_wasserstein needs two sets of the same size")
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((a.shape[1], n_projections))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    pa = np.sort(a @ dirs, axis=0)
    pb = np.sort(b @ dirs, axis=0)
    return float(np.abs(pa - pb).mean())


def spearman(x, y) -> float:
    """Spearman rank correlation of two sequences, ignoring pairs with a NaN."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")  # undefined (scipy would say so with a warning)
    return float(spearmanr(x[ok], y[ok]).statistic)

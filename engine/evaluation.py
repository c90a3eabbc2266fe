"""Evaluation: ALGORITHM.md's quality measures of the generator, computed off the training
thread, and the W-estimate's correlation with them over a run."""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .metrics import mode_stats, sliced_wasserstein, spearman, w1_exact
from .rundir import read_metrics

EVAL_POINTS = 1000          # points for exact W1 / sliced W (ALGORITHM.md)


def quality_metrics(fake: np.ndarray, real: np.ndarray, is_toy: bool, centres=None, digits: bool = False
                    ) -> dict[str, float]:
    """ALGORITHM.md's quality measures of a generated batch (host arrays; runs on any thread)."""
    res: dict[str, float] = {}
    finite = bool(np.isfinite(fake).all())
    if is_toy:
        res["w1_exact"] = w1_exact(fake, real)
        if centres is not None:
            covered, hq = mode_stats(fake, centres[0], centres[1]) if finite else (0, 0.0)
            res["modes_covered"], res["high_quality_share"] = covered, hq
        return res
    res["sliced_w"] = sliced_wasserstein(fake, real) if finite else float("nan")
    if digits:
        from .digits_classifier import coverage
        hit, kl = coverage(fake) if finite else (0, float("nan"))
        res["classes_hit"], res["class_kl"] = hit, kl
    return res


class Evaluator:
    """Quality metrics of generated batches on one worker thread (NumPy/SciPy work: an optimal
    assignment of 1,000 x 1,000 points, sorting projections, a classifier), one future per
    generator iteration, collected by the metrics recorder when it writes that iteration's row."""

    def __init__(self, is_toy: bool, centres=None, digits: bool = False):
        self.is_toy, self.centres, self.digits = is_toy, centres, digits
        self.last: dict[str, float] = {}    # the latest collected result, with its gen_iter
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[int, Future] = {}

    def submit(self, gen_iter: int, fake: np.ndarray, real: np.ndarray) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wgan-eval")
        fut = self._pool.submit(quality_metrics, fake, real, self.is_toy, self.centres, self.digits)
        self._futures[gen_iter] = fut
        fut.gen_iter = gen_iter
        return fut

    def first_pending(self) -> int | None:
        """The earliest iteration whose metrics are still being computed."""
        pending = [it for it, fut in self._futures.items() if not fut.done()]
        return min(pending) if pending else None

    def collect(self, gen_iter: int) -> dict[str, float] | None:
        """The metrics of ``gen_iter`` (waits for them), or None when none were asked for."""
        fut = self._futures.pop(gen_iter, None)
        if fut is None:
            return None
        res = fut.result()
        self.last = dict(res, gen_iter=gen_iter)
        return res

    def clear(self) -> None:
        self._futures.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def w_estimate_correlation(metrics_path: Path) -> dict | None:
    """The WGAN paper's key claim measured on a run: the Spearman rank correlation between the
    logged W-estimate and the quality measure (exact W1 on toy sets, sliced W on images) over the
    evaluations in metrics.csv. None with fewer than three evaluations."""
    if not metrics_path.is_file():
        return None
    m = read_metrics(metrics_path)
    key = next((k for k in ("w1_exact", "sliced_w") if k in m), None)
    if key is None:
        return None
    w, q = np.asarray(m["w_estimate"], dtype=np.float64), np.asarray(m[key], dtype=np.float64)
    ok = np.isfinite(w) & np.isfinite(q)
    if ok.sum() < 3:
        return None
    rho = spearman(w[ok], q[ok])
    return {"measure": key, "evaluations": int(ok.sum()),
            "spearman": round(rho, 4) if math.isfinite(rho) else None}  # None: a constant column

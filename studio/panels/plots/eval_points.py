"""The evaluation points of a run: a row every eval_every iterations where a quality measure was
computed (exact or sliced W1, the critic on training and held-out images, the Fréchet distance,
KID with its spread, the confident share), drawn as symbols. Few (one per evaluation), so they are kept apart from
the thinned curves, each one drawn."""

from __future__ import annotations

import numpy as np

from engine.metrics import spearman
from studio.runs import ColumnBuffer

EVAL_CURVES = ("w1_exact", "sliced_w", "critic_train", "critic_heldout", "frechet_distance", "kid",
               "confident_share")
EVAL_SPREADS = ("kid_std",)  # kept with the points, drawn as a band (.kid_band)
EVAL_POINT_COLUMNS = ("gen_iter", "w_estimate", *EVAL_CURVES, *EVAL_SPREADS)


class EvalPoints:
    """The rows of the history where some evaluation is finite, with the W-estimate there."""

    def __init__(self):
        self.buffer = ColumnBuffer(EVAL_POINT_COLUMNS, capacity=256)

    @property
    def n(self) -> int:
        return self.buffer.n

    def clear(self) -> None:
        self.buffer.clear()

    def add(self, cols) -> bool:
        """The evaluation rows of a batch of rows ``{column: values}``; True when there were some."""
        ev = {k: np.asarray(cols[k], dtype=np.float64) for k in EVAL_CURVES + EVAL_SPREADS if k in cols}
        if not ev:
            return False
        mask = np.logical_or.reduce([np.isfinite(v) for v in ev.values()])
        if not mask.any():
            return False
        rows = {k: v[mask] for k, v in ev.items()}
        rows["gen_iter"] = np.asarray(cols["gen_iter"], dtype=np.float64)[mask]
        if "w_estimate" in cols:
            rows["w_estimate"] = np.asarray(cols["w_estimate"], dtype=np.float64)[mask]
        self.buffer.append(rows)
        return True

    def points(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(gen_iter, value) of the evaluations where ``name`` is finite."""
        y = self.buffer.view(name)
        finite = np.isfinite(y)
        return self.buffer.view("gen_iter")[finite], y[finite]

    def rho(self, measure: str) -> float | None:
        """Spearman's rank correlation of the W-estimate with ``measure`` over the evaluations
        (None until it can be computed): a few hundred points at most, redone at each evaluation."""
        rho = spearman(self.buffer.view("w_estimate"), self.buffer.view(measure))
        return rho if np.isfinite(rho) else None

    def nearest(self, gen_iter: float) -> dict[str, float]:
        """Every measure of the evaluation nearest to ``gen_iter`` ({} when there is none)."""
        ex = self.buffer.view("gen_iter")
        if not len(ex):
            return {}
        j = int(np.argmin(np.abs(ex - gen_iter)))
        return {name: self.buffer.view(name)[j] for name in EVAL_CURVES}

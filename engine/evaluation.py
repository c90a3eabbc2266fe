"""Evaluation: the quality measures of the generator (docs/algorithm.md, "Quality measures"),
computed off the training thread, and the W-estimate's correlation with them over a run; the two
rules read from the evaluations: which one is the best so far (:func:`best_measure`,
:func:`is_better`) and when the critic overfits its training images (:func:`critic_overfitting`).
What a run does with them: :mod:`engine.evaluation_policy`."""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .measures import FeatureSpace, lower_is_better
from .metrics import mode_stats, sliced_wasserstein, spearman, w1_exact
from .rundir import read_metrics

EVAL_POINTS = 1000          # points for exact W1 / sliced W (docs/algorithm.md, "Quality measures")

# The overfitting rule (critic_overfitting): the gap between the critic's mean value on training
# and on held-out real images has grown over OVERFIT_WINDOW evaluations in a row and is more than
# OVERFIT_SHARE of the W-estimate.
OVERFIT_WINDOW = 3
OVERFIT_SHARE = 0.25
OVERFIT_ADVICE = ("more training images (or a lower [data] holdout), a smaller critic ([model] features / hidden), "
                  "fewer critic steps ([objective] n_critic), a stronger penalty ([objective] gp_lambda) or a "
                  "lower critic learning rate")


def best_measure(is_toy: bool, best_by: str = "auto") -> str:
    """The metrics column that decides the best checkpoint: ``[train] best_by``, or ("auto")
    exact W1 on 2-D sets, the Fréchet distance on images."""
    if best_by != "auto":
        return best_by
    return "w1_exact" if is_toy else "frechet_distance"


def is_better(value: float, best: float | None, measure: str = "w1_exact") -> bool:
    """Whether an evaluation's ``value`` of ``measure`` beats ``best`` (None: nothing yet), in
    the measure's direction (:func:`engine.measures.lower_is_better`); NaN never does."""
    if not math.isfinite(value):
        return False
    return best is None or (value < best if lower_is_better(measure) else value > best)


def feature_space(net, samples: int = EVAL_POINTS) -> FeatureSpace:
    """The :class:`~engine.measures.FeatureSpace` of a feature network (a shipped one's name, or
    an object with ``space(samples)``)."""
    if isinstance(net, str):
        from .image_quality import FEATURE_DIMS
        return FeatureSpace(net, FEATURE_DIMS[net], samples)
    return net.space(samples)


@dataclass
class OverfitCheck:
    overfitting: bool
    gap: float          # critic_train - critic_heldout at the latest evaluation
    share: float        # gap / |W-estimate| there (NaN when the W-estimate is 0)
    growing: int        # evaluations in a row the gap has grown over (at most OVERFIT_WINDOW)

    def message(self, gen_iter: int) -> str:
        return (f"critic overfitting at iteration {gen_iter}: its mean value on held-out real images is "
                f"{self.gap:.4g} below its value on training images ({self.share:.0%} of the W-estimate, growing "
                f"over the last {self.growing} evaluations); it is learning the training images rather than "
                f"the data's distribution, and its W-estimate and gradients mean less. Try {OVERFIT_ADVICE}")


def critic_overfitting(critic_train, critic_heldout, w_estimate) -> OverfitCheck:
    """The overfitting rule on a run's evaluations so far (oldest first; NaN rows are skipped).

    gap = critic_train - critic_heldout (the critic scores the real images it trained on above
    real images it never saw; 0 for a critic that generalises). Overfitting: the gap grew at each
    of the last :data:`OVERFIT_WINDOW` evaluations and is now above :data:`OVERFIT_SHARE` of the
    W-estimate's magnitude (the critic's separation of real from generated samples)."""
    t, h, w = (np.asarray(a, dtype=np.float64) for a in (critic_train, critic_heldout, w_estimate))
    ok = np.isfinite(t) & np.isfinite(h) & np.isfinite(w)
    gaps, ws = (t - h)[ok], w[ok]
    if len(gaps) == 0:
        return OverfitCheck(False, float("nan"), float("nan"), 0)
    gap, scale = float(gaps[-1]), abs(float(ws[-1]))
    share = gap / scale if scale > 0 else float("nan")
    growing = 0
    for i in range(len(gaps) - 1, 0, -1):
        if gaps[i] > gaps[i - 1] and growing < OVERFIT_WINDOW:
            growing += 1
        else:
            break
    return OverfitCheck(growing >= OVERFIT_WINDOW and gap > 0 and share > OVERFIT_SHARE, gap, share, growing)


def feature_net_for(data_name: str, channels: int) -> str:
    """The shipped feature network of the image measures: the digit classifier's for the bundled
    digits (known to be digits), fixed random convolutional features otherwise. A labelled set
    other than the digits is measured in a classifier trained on it instead
    (:mod:`engine.fitted_features`, chosen by :func:`engine.build.build_run`)."""
    return "digits" if data_name == "digits" and channels == 1 else "random"


class RealReference:
    """The real evaluation batch's features and their statistics in one feature network,
    computed once (the batch changes only when a checkpoint loads)."""

    def __init__(self, net):
        self.net, self._src, self.feats, self.stats = net, None, None, None

    def of(self, real: np.ndarray):
        if self._src is not real:
            from .image_quality import feature_stats, features
            self.feats = features(real, self.net)
            self.stats, self._src = feature_stats(self.feats), real
        return self.feats, self.stats


FEATURE_COLUMNS = {"": ("frechet_distance", "kid", "kid_std"),
                   "inception": ("inception_fid", "inception_kid", "inception_kid_std")}


def feature_measures(fake: np.ndarray, ref: RealReference, real: np.ndarray, kind: str = "") -> dict[str, float]:
    """The Fréchet distance and KID (mean, spread) of ``fake`` against ``real`` in ``ref``'s
    features; NaN for non-finite samples. ``kind`` "inception": the inception_* columns."""
    fd_col, kid_col, std_col = FEATURE_COLUMNS[kind]
    if not np.isfinite(fake).all():
        return {fd_col: float("nan"), kid_col: float("nan"), std_col: float("nan")}
    from .image_quality import feature_stats, features, frechet_distance, frechet_distance_of_features, kid
    real_feats, real_stats = ref.of(real)
    f = features(fake, ref.net)
    k, k_std = kid(f, real_feats)
    fd = (frechet_distance(feature_stats(f), real_stats) if len(f) >= f.shape[1]
          else frechet_distance_of_features(f, real_feats))
    return {fd_col: fd, kid_col: k, std_col: k_std}


def quality_metrics(fake: np.ndarray, real: np.ndarray, is_toy: bool, centres=None, digits: bool = False,
                    feature_net="random", reference: RealReference | None = None,
                    inception: RealReference | None = None) -> dict[str, float]:
    """The quality measures of a generated batch (docs/algorithm.md, "Quality measures"; host
    arrays; runs on any thread).
    Images: sliced W, and the Fréchet distance and KID in ``feature_net``'s features
    (``reference``: the real batch's, cached; made here when None) and, with ``inception``, in
    Inception-v3's; the bundled digits (``digits``) the digit classifier's class coverage and
    confident share too."""
    res: dict[str, float] = {}
    finite = bool(np.isfinite(fake).all())
    if is_toy:
        res["w1_exact"] = w1_exact(fake, real)
        if centres is not None:
            covered, hq = mode_stats(fake, centres[0], centres[1]) if finite else (0, 0.0)
            res["modes_covered"], res["high_quality_share"] = covered, hq
        return res
    res["sliced_w"] = sliced_wasserstein(fake, real) if finite else float("nan")
    res.update(feature_measures(fake, reference or RealReference(feature_net), real))
    if inception is not None:
        res.update(feature_measures(fake, inception, real, "inception"))
    if digits:
        from .digits_classifier import coverage
        from .image_quality import confident_share
        hit, kl = coverage(fake) if finite else (0, float("nan"))
        res["classes_hit"], res["class_kl"] = hit, kl
        res["confident_share"] = confident_share(fake) if finite else float("nan")
    return res


class Evaluator:
    """Quality metrics of generated batches on one worker thread (NumPy/SciPy work: an optimal
    assignment of 1,000 x 1,000 points, sorting projections, a classifier), one future per
    generator iteration, collected by the metrics recorder when it writes that iteration's row.
    ``feature_net``: a :data:`engine.image_quality.FEATURE_NETS` name or an object with
    ``features(images)`` and ``space(samples)``; ``inception``: Inception-v3 features
    (:mod:`engine.inception`) or None."""

    def __init__(self, is_toy: bool, centres=None, digits: bool = False, feature_net="random", inception=None):
        self.is_toy, self.centres, self.digits, self.feature_net = is_toy, centres, digits, feature_net
        self._ref = RealReference(feature_net)
        self._inception = RealReference(inception) if inception is not None else None
        self.last: dict[str, float] = {}    # the latest collected result, with its gen_iter
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[int, Future] = {}

    def space(self, samples: int = EVAL_POINTS):
        """Where the image measures are taken (:class:`engine.measures.FeatureSpace`; None on 2-D
        sets). A classifier still training gives its accuracy once it is trained."""
        return None if self.is_toy else feature_space(self.feature_net, samples)

    def inception_space(self, samples: int = EVAL_POINTS):
        return None if self._inception is None else feature_space(self._inception.net, samples)

    def submit(self, gen_iter: int, fake: np.ndarray, real: np.ndarray, extra: dict[str, float] | None = None
               ) -> Future:
        """Measure ``fake`` against ``real`` on the worker; ``extra``: values measured already
        (the critic's means on real images), returned with the measures."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wgan-eval")
        fut = self._pool.submit(self._measure, fake, real, dict(extra or {}))
        self._futures[gen_iter] = fut
        fut.gen_iter = gen_iter
        return fut

    def _measure(self, fake: np.ndarray, real: np.ndarray, extra: dict[str, float]) -> dict[str, float]:
        res = quality_metrics(fake, real, self.is_toy, self.centres, self.digits, self.feature_net, self._ref,
                              self._inception)
        res.update(extra)
        return res

    @property
    def busy(self) -> bool:
        """Whether a measurement is still computing (on the worker thread, beside training)."""
        return self.first_pending() is not None

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

"""The evaluation policy: a run's evaluations, and what it does with each once its row is reported.

- An evaluation (:meth:`EvaluationPolicy.submit`): the generator's batch from the fixed
  evaluation noise, made on the training thread (the generator belongs to it), measured off it by
  the :class:`~engine.evaluation.Evaluator`; the critic's means on real images
  (:func:`critic_means`) go with it.

- The best checkpoint (checkpoints/best.pt): the run's state at each evaluation is kept until its
  measure is known (:meth:`EvaluationPolicy.keep`); when the measure beats the best so far
  (:func:`engine.evaluation.is_better`), that state is written as best.pt and a "best" event is
  logged.
- The overfitting rule (:func:`engine.evaluation.critic_overfitting`) on the evaluations so far:
  a "critic_overfitting" event when it turns true.
- After a resume or a rollback both are read back from the folder (:meth:`restore`): the best so
  far from best.pt (which may be newer than the checkpoint the run continues from), the
  overfitting rule's evaluations from metrics.csv.
- The W-estimate's correlation with the quality measure over the whole run
  (:func:`engine.evaluation.w_estimate_correlation`) for the summary.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
import torch

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .evaluation import best_measure, critic_overfitting, is_better, w_estimate_correlation
from .measures import measures_record
from .rundir import RunDir, read_metrics
from .sampling import forward_in_chunks


@torch.no_grad()
def critic_means(critic: torch.nn.Module, probe_heldout: tuple | None, probe_train: tuple | None) -> dict[str, float]:
    """The critic's mean value on the held-out real images and on as many training images
    (metrics columns critic_heldout, critic_train; ``probe_*``: (images, labels)); empty without
    held-out images. One sync, at evaluation time only. Both sets go through the critic in the
    same chunks."""
    if probe_heldout is None:
        return {}
    means = torch.stack([forward_in_chunks(critic, x, y).float().mean()
                         for x, y in (probe_heldout, probe_train)]).cpu()
    return {"critic_heldout": float(means[0]), "critic_train": float(means[1])}


class EvaluationPolicy:
    """The best checkpoint and the overfitting rule of one run. ``run_dir``: where best.pt goes
    (None: no folder, nothing kept); ``event(kind, **fields)`` logs what the rules find."""

    def __init__(self, is_toy: bool, run_dir: RunDir | None, event: Callable, best_by: str = "auto"):
        self.is_toy, self.run_dir, self.event = is_toy, run_dir, event
        # The best checkpoint: the measure that decides it ([train] best_by, in its direction), the
        # best value so far and its iteration; the states of evaluations not yet measured.
        self.measure = best_measure(is_toy, best_by)
        self.record: dict = {}           # measures.json: what each evaluated column measures
        self._described = None           # (evaluator, columns) the record was made from
        self._features_seen = None       # the feature classifier's progress last logged
        self.best: dict | None = None
        self.pending: dict[int, dict] = {}
        # the evaluations' (gen_iter, critic_train, critic_heldout, w_estimate) for the overfitting rule
        self.overfit_rows: list[tuple[int, float, float, float]] = []
        self.overfitting = False
        self._real_np = self._real_src = None  # the real evaluation set on the host (cached)

    def describe(self, evaluator, columns) -> None:
        """Write measures.json (engine.measures): the name of every evaluated column, with its
        feature network and sample count; again when a classifier trained on the data set has
        its held-out accuracy."""
        self._described = (evaluator, columns)
        rec = measures_record(columns, evaluator.space(), evaluator.inception_space())
        if rec != self.record:
            self.record = rec
            if self.run_dir is not None:
                self.run_dir.write_measures(rec)  # a follower rank's folder writes nothing

    def _feature_progress(self, evaluator=None) -> None:
        """A "feature_classifier" event when the classifier trained on the data set has moved on
        (its share trained; its held-out accuracy once done), and measures.json once it is done."""
        evaluator = evaluator or (self._described[0] if self._described else None)
        net = getattr(evaluator, "feature_net", None)
        share = getattr(net, "share", None)
        if share is None or share == self._features_seen:
            return
        self._features_seen = share
        fields = {"progress": round(share, 3), "cached": net.cached}
        if net.ready:
            fields["accuracy"] = round(evaluator.space().accuracy or 0.0, 4)
            if self._described:
                self.describe(*self._described)
        self.event("feature_classifier", **fields)

    @torch.no_grad()
    def submit(self, trainer) -> Future:
        """Evaluate ``trainer``'s generator now: generate the evaluation batch here (the training
        thread), keep the run's state for the best checkpoint, and have the evaluator measure the
        batch off the training thread. The metrics.csv row of this iteration waits for the
        measures, so the files are the same as with a synchronous evaluation."""
        t = trainer
        self._feature_progress(t.evaluator)
        fake = forward_in_chunks(t.sampler, t.eval_noise, t.eval_labels)
        self.keep(t.gen_iter, t.state_dict)  # until its measure says whether it is the best
        return t.evaluator.submit(t.gen_iter, fake.float().cpu().numpy(), self.real_on_host(t.eval_real),
                                  t.critic_on_real())

    def real_on_host(self, eval_real: torch.Tensor) -> np.ndarray:
        """The real evaluation set on the host (cached; it changes only when a checkpoint loads)."""
        if self._real_src is not eval_real:
            self._real_np, self._real_src = eval_real.float().cpu().numpy(), eval_real
        return self._real_np

    def keep(self, gen_iter: int, state: Callable[[], dict]) -> None:
        """The run's state at an evaluation of ``gen_iter`` (``state()``: the checkpoint's dict),
        kept until its measure says whether it is the best so far (a copy: training goes on)."""
        if self.run_dir is not None:
            self.pending[gen_iter] = copy.deepcopy(state())

    def read(self, cols: dict[str, np.ndarray]) -> None:
        """The rules read from the rows reported: a new best writes checkpoints/best.pt; the
        overfitting rule logs a "critic_overfitting" event when it turns true."""
        measure = cols.get(self.measure)
        for i, it in enumerate(cols["gen_iter"]):
            it = int(it)
            state = self.pending.pop(it, None)
            if measure is not None and np.isfinite(measure[i]) and state is not None:
                self._consider(it, float(measure[i]), state)
            if "critic_heldout" in cols and np.isfinite(cols["critic_heldout"][i]):
                self.overfit_rows.append((it, float(cols["critic_train"][i]), float(cols["critic_heldout"][i]),
                                          float(cols["w_estimate"][i])))
                self._check_overfitting(it)
        for it in [k for k in self.pending if k <= int(cols["gen_iter"][-1])]:
            del self.pending[it]  # an evaluation without a measure (NaN samples)
        self._feature_progress()  # a classifier trained on the data set: its accuracy once measured with

    def _consider(self, gen_iter: int, value: float, state: dict) -> None:
        if is_better(value, self.best["value"] if self.best else None, self.measure):
            self.best = {"measure": self.measure, "value": value, "gen_iter": gen_iter}
            state["best"] = dict(self.best)
            save_checkpoint(state, self.run_dir.best_checkpoint)
            self.event("best", measure=self.measure, value=value, gen_iter=gen_iter)

    def restore(self) -> None:
        """After a resume or a rollback: the best so far is the one in checkpoints/best.pt (which
        may be newer than the checkpoint the run continues from: it stays, and is what a new best
        must beat); the overfitting rule's evaluations are those left in metrics.csv."""
        self.pending.clear()
        self.best = None
        rd = self.run_dir
        if rd.best_checkpoint.is_file():
            try:
                best = load_checkpoint(rd.best_checkpoint).get("best")
            except CheckpointError:
                best = None  # damaged: the next evaluation writes a new one
            if isinstance(best, dict) and best.get("measure") == self.measure:
                self.best = {"measure": best["measure"], "value": float(best["value"]),
                             "gen_iter": int(best["gen_iter"])}
        self.overfit_rows, self.overfitting = [], False
        if not self.is_toy and rd.metrics_path.is_file():
            m = read_metrics(rd.metrics_path)
            if "critic_heldout" in m:
                self.overfit_rows = [(int(it), t, h, w) for it, t, h, w in zip(
                    m["gen_iter"], m["critic_train"], m["critic_heldout"], m["w_estimate"], strict=True)
                    if np.isfinite(h) and np.isfinite(t)]
                if self.overfit_rows:
                    self.overfitting = self._overfit_check().overfitting

    def _overfit_check(self):
        _, t, h, w = zip(*self.overfit_rows, strict=True)
        return critic_overfitting(t, h, w)

    def _check_overfitting(self, gen_iter: int) -> None:
        check = self._overfit_check()
        if check.overfitting and not self.overfitting:
            self.event("critic_overfitting", gen_iter=gen_iter, gap=check.gap, share=check.share,
                       message=check.message(gen_iter))
        self.overfitting = check.overfitting

    def summary(self) -> dict:
        """The run summary's entries of the evaluations: the best checkpoint and the W-estimate's
        correlation with the quality measure (each only when there is one)."""
        s = {"measures": self.record} if self.record else {}
        if self.best is not None:
            s["best"] = dict(self.best, checkpoint="checkpoints/best.pt")
        corr = self.w_estimate_correlation()
        if corr is not None:
            s["w_estimate_vs_quality"] = corr
        return s

    def w_estimate_correlation(self) -> dict | None:
        """The Spearman rank correlation between the logged W-estimate and the quality measure
        over the evaluations in metrics.csv, earlier sessions of a resumed run included (see
        :func:`engine.evaluation.w_estimate_correlation`). With ``eval_every`` =
        ``checkpoint_every`` these are the correlation "across checkpoints" of
        docs/algorithm.md, "Quality measures"."""
        if self.run_dir is None:
            return None
        return w_estimate_correlation(self.run_dir.metrics_path)

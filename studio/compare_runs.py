"""The runs a comparison shows (no widgets): what Compare runs shows of one run, read from a run
folder through the engine's one reader (:func:`engine.run_report.inspect_run`) or taken from the
:class:`studio.runs.Run` the main window holds; and the table's columns and cells.

A folder that is not a run, or whose metrics.csv has no readable rows, raises
:class:`RunUnreadable` naming what is wrong; a partly damaged one is compared with its problems
named (those of its checkpoints excepted: a comparison samples no generator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import RunDir
from engine.measures import read_measures
from engine.objectives import traits
from engine.run_report import inspect_run, is_run_folder
from engine.rundir import EVAL_COLUMNS
from engine.status import RunState
from engine.text import format_duration
from studio.runs import Run

# One colour per run, in the order runs are added: distinct from each other and readable on the
# light and the dark plot background (matplotlib's tab10).
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")

# metrics.csv columns by the names the studio's plots use (one word for one thing).
METRIC_LABELS = {
    "w_estimate": "W-estimate",
    "w1_exact": "exact W1",
    "sliced_w": "sliced W1",
    "frechet_distance": "Fréchet distance (features)",
    "kid": "KID (features)",
    "kid_std": "KID std over subsets",
    "inception_fid": "FID (Inception-v3)",
    "inception_kid": "KID (Inception-v3)",
    "critic_heldout": "critic on held-out images",
    "critic_train": "critic on training images",
    "gp_grad_q50": "‖∇f(x̂)‖ median",
    "modes_covered": "modes covered",
    "high_quality_share": "high-quality share",
    "confident_share": "confident share (digits)",
    "classes_hit": "classes hit",
    "class_kl": "class KL to uniform",
    "critic_loss": "critic loss L_f",
    "generator_loss": "generator loss L_g",
    "gradient_penalty": "gradient penalty",
    "clip_fraction": "clip fraction",
    "critic_grad_norm": "critic gradient norm",
    "lr_critic": "α_D (critic learning rate)",
    "lr_generator": "α_G (generator learning rate)",
    "clip_value": "clip value c",
    "gp_lambda": "penalty weight λ",
    "n_critic": "n_critic",
    "wall_time_s": "wall time (s)",
}

# The table: (header, metrics.csv column or None for a computed cell, tooltip).
TABLE_COLUMNS = (
    ("Run", None, "The run folder's name (its colour in the plot)"),
    ("Objective", None, "Training objective (f-gan: with its divergence)"),
    ("Data", None, "Data set"),
    ("Iterations", "gen_iter", "Generator iterations done"),
    ("Last eval at", "eval_iter", "Generator iteration of the last evaluation (every eval_every iterations): "
                                  "the metrics to the right are from there, not from the end of the run"),
    ("W1 (last eval)", "w1_exact", "Exact W1 between 1,000 generated and 1,000 real points at the last "
                                   "evaluation (toy sets; lower is better)"),
    ("Modes covered", "modes_covered", "Modes with at least 1% of the samples within 3 std (toy mixtures)"),
    ("High-quality share", "high_quality_share", "Share of samples within 3 std of some centre (toy mixtures)"),
    ("Sliced W (last eval)", "sliced_w",
     "Sliced Wasserstein distance at the last evaluation (images; lower is better)"),
    ("FD (last eval)", "frechet_distance", "Fréchet distance between generated and real images at the last "
                                           "evaluation (images; lower is better); a cell's tooltip names the run's "
                                           "feature network and sample count: values compare only where they match"),
    ("KID (last eval)", "kid", "KID (kernel inception distance, mean over subsets) between generated and real images "
                               "in the same features as FD, at the last evaluation (images; lower is better)"),
    ("Confident share", "confident_share", "Share of the samples the bundled digit classifier puts in one class "
                                           "with probability ≥ 0.9 at the last evaluation (digit-like images; "
                                           "higher is better: noise and blends of digits are not confidently "
                                           "classified)"),
    ("Classes hit", "classes_hit", "Digits the bundled classifier predicts for at least 1% of the samples"),
    ("Best at", "best_iter", "Generator iteration of the best evaluation so far: checkpoints/best.pt "
                             "(wgan-sample RUN --best)"),
    ("Best (W1 / FD)", "best_value", "The best evaluation's measure (exact W1 on 2-D sets, Fréchet distance on "
                                     "images; lower is better), beside the last evaluation's to its left"),
    ("Wall time", "wall_time_s", "Training time up to the last row of metrics.csv"),
)
MISSING = "—"


class RunUnreadable(Exception):
    """A folder that cannot be compared: the message says what is wrong."""


@dataclass
class ComparedRun:
    """What the comparison shows of one run folder."""

    path: Path
    objective: str
    data: str
    columns: dict[str, np.ndarray]
    sample_png: Path | None = None
    problems: list[str] = field(default_factory=list)   # readable, but partly damaged
    best: dict | None = None    # the last "best" event: checkpoints/best.pt's measure, value, iteration
    measures: dict[str, str] = field(default_factory=dict)  # column -> its name (measures.json, engine.measures)
    name: str = ""
    colour: str = RUN_COLOURS[0]

    def __post_init__(self):
        self.name = self.name or self.path.name

    @property
    def label(self) -> str:
        return f"{self.name} ({self.objective})"

    def final(self, column: str) -> float:
        """The last finite value of ``column`` (NaN when it has none); ``"eval_iter"``: the
        generator iteration of the last evaluation."""
        if column == "eval_iter":
            return self.last_eval_iter()
        if column in ("best_iter", "best_value"):
            key = "gen_iter" if column == "best_iter" else "value"
            v = (self.best or {}).get(key)
            return float(v) if isinstance(v, int | float) else math.nan
        v = self.columns.get(column)
        if v is None:
            return math.nan
        finite = v[np.isfinite(v)]
        return float(finite[-1]) if len(finite) else math.nan

    def last_eval_iter(self) -> float:
        """The generator iteration of the last row with any evaluation (NaN: never evaluated)."""
        it = self.columns.get("gen_iter")
        if it is None:
            return math.nan
        done = np.zeros(len(it), dtype=bool)
        for c in EVAL_COLUMNS:
            v = self.columns.get(c)
            if v is not None and len(v) == len(it):
                done |= np.isfinite(v)
        return float(it[done][-1]) if done.any() else math.nan

    @property
    def iterations(self) -> int:
        it = self.columns.get("gen_iter")
        return int(it[-1]) if it is not None and len(it) else 0


def read_run(path: str | Path) -> ComparedRun:
    """The curves, kind and latest sample picture of a run folder, read by
    :func:`engine.run_report.inspect_run`. Raises :class:`RunUnreadable` naming what is wrong."""
    rd = RunDir(path)
    if not rd.path.is_dir():
        raise RunUnreadable("not a folder (moved or deleted?)")
    if not is_run_folder(rd.path):
        raise RunUnreadable("not a run folder: it has no config.toml, metrics.csv, events.jsonl or checkpoint")
    rep = inspect_run(rd.path, checkpoints=False)  # the small files only: no generator is sampled here
    problems = [p for p in rep.problems if not p.startswith("checkpoints")]
    return compared_run(Run.opened(rep, RunState.STOPPED), problems)


def compared_run(run: Run, problems: list[str] | None = None) -> ComparedRun:
    """What the comparison shows of ``run`` (a run folder read, or a run the main window holds:
    its rows so far)."""
    problems = list(problems or [])
    cols = {k: np.array(v, dtype=np.float64) for k, v in run.columns().items()}
    if not len(cols.get("gen_iter", ())):
        why = next((p.split(": ", 1)[1] for p in problems if p.startswith("metrics.csv: ")), None)
        raise RunUnreadable(f"metrics.csv: {why or 'no rows yet: no curves to show'}")
    cfg = run.config
    if cfg is not None:
        kind = cfg.objective.kind  # with its divergence when the objective reads one (f-GAN)
        objective = f"{kind} {cfg.objective.divergence}" if "objective.divergence" in traits(kind).own_fields else kind
        data = cfg.data.name
    else:
        objective, data = f"{run.objective}?", "?"  # the same guess the main window makes
    rd = RunDir(run.key)
    pngs = sorted(rd.samples.glob("iter_*.png")) if rd.samples.is_dir() else []
    best = None
    if rd.best_checkpoint.is_file():
        best = next((e for e in reversed(run.events) if e.get("type") == "best"), None)
    return ComparedRun(rd.path, objective, data, cols, pngs[-1] if pngs else None, problems, best,
                       measures=read_measures(rd.path))


def format_cell(v: float, column: str | None) -> str:
    if not math.isfinite(v):
        return MISSING
    if column in ("gen_iter", "eval_iter", "best_iter", "modes_covered", "classes_hit"):
        return str(int(round(v)))
    if column == "wall_time_s":
        return format_duration(v, MISSING)
    if column in ("high_quality_share", "confident_share"):
        return f"{v:.2f}"
    return f"{v:.4g}"


def compare_title(runs: list[ComparedRun], metric: str) -> str:
    """The compared column's name: the runs' own (engine.measures: "FD, digit classifier features
    (128-d), 1,000 samples") when they all measured it in the same features and sample count; else
    the plain name, saying that the runs measured it differently."""
    runs = [r for r in runs if metric in r.columns]  # the runs that have the column at all
    names = {r.measures.get(metric) for r in runs} - {None}
    plain = METRIC_LABELS.get(metric, metric or "")
    if len(names) == 1 and all(metric in r.measures for r in runs):
        return names.pop()
    return f"{plain} (measured in different features: not comparable)" if len(names) > 1 else plain

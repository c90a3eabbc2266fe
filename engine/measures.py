"""What each quality measure of a run measures, in words: the one source of the names the command
line, ``summary.json``, the run folder's ``measures.json``, exported metadata and the studio show
(docs/guide/quality.md).

A measure in a feature space is only comparable with another in the same feature network and from
the same number of samples, so its name carries both: "FD, digit classifier features (128-d),
1,000 samples". :class:`FeatureSpace` describes where image measures are taken;
:func:`measure_labels` names every evaluated column of a run; :data:`HIGHER_IS_BETTER` gives the
direction of each (the rest are lower-is-better). ``measures.json`` is written when a run starts
(``RunDir.write_measures``) and read back by :func:`read_measures` (older folders without it get the
names their configuration implies).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .rundir import MEASURES_FILE

#: The feature networks of the image measures, in words.
FEATURE_TEXT = {
    "digits": "digit classifier features",
    "random": "random convolutional features",
    "fitted": "features of a classifier trained on this data set",
    "inception": "Inception-v3 pool features (FID's)",
}
#: What a reader must know about a feature network before trusting its numbers.
FEATURE_CAVEAT = {
    "random": "a weak measure: random features know no data set (no labels to train a classifier on)",
}

#: Evaluated columns where higher is better; every other evaluated column is lower-is-better.
HIGHER_IS_BETTER = frozenset({"modes_covered", "high_quality_share", "confident_share", "classes_hit"})
#: Columns that are a spread, never a measure to optimise.
SPREAD_COLUMNS = frozenset({"kid_std", "inception_kid_std"})

SHORT = {
    "w1_exact": "exact W1", "modes_covered": "modes covered", "high_quality_share": "high-quality share",
    "sliced_w": "sliced W", "frechet_distance": "FD", "kid": "KID", "kid_std": "KID std",
    "inception_fid": "FID", "inception_kid": "KID", "inception_kid_std": "KID std",
    "confident_share": "confident share", "classes_hit": "classes hit", "class_kl": "class KL",
    "critic_heldout": "critic on held-out images", "critic_train": "critic on training images",
}


@dataclass(frozen=True)
class FeatureSpace:
    """Where image measures are taken: the feature network ``net`` (a :data:`FEATURE_TEXT` key),
    its feature dimension, the number of samples each side, and (a classifier trained on the
    data set) its held-out accuracy."""

    net: str
    dim: int
    samples: int
    accuracy: float | None = None

    def words(self) -> str:
        """"digit classifier features (128-d), 1,000 samples"."""
        acc = f", held-out accuracy {self.accuracy:.0%}" if self.accuracy is not None else ""
        return f"{FEATURE_TEXT.get(self.net, self.net)} ({self.dim}-d{acc}), {self.samples:,} samples"

    def caveat(self) -> str:
        return FEATURE_CAVEAT.get(self.net, "")


def lower_is_better(column: str) -> bool:
    return column not in HIGHER_IS_BETTER


def label(column: str, space: FeatureSpace | None = None, samples: int = 1000) -> str:
    """The name of ``column`` with what it is measured in: "FD, digit classifier features (128-d),
    1,000 samples"; "exact W1, 1,000 points"; a column of no feature space by its short name."""
    short = SHORT.get(column, column)
    if column in ("frechet_distance", "kid", "kid_std", "inception_fid", "inception_kid", "inception_kid_std"):
        return f"{short}, {space.words()}" if space is not None else short
    if column in ("w1_exact", "sliced_w"):
        return f"{short}, {samples:,} {'points' if column == 'w1_exact' else 'samples'}"
    return short


def measure_labels(columns, space: FeatureSpace | None, inception: FeatureSpace | None = None,
                   samples: int = 1000) -> dict[str, str]:
    """The name of every evaluated column among ``columns`` (the ``inception_*`` ones in
    ``inception``'s space)."""
    from .rundir import EVAL_COLUMNS
    out = {}
    for c in columns:
        if c in EVAL_COLUMNS:
            out[c] = label(c, inception if c.startswith("inception_") else space, samples)
    return out


def measures_record(columns, space: FeatureSpace | None, inception: FeatureSpace | None = None,
                    samples: int = 1000) -> dict:
    """What ``measures.json`` and ``summary.json`` ("measures") hold: each evaluated column's name
    and direction, and the feature spaces."""
    labels = measure_labels(columns, space, inception, samples)
    rec = {"columns": {c: {"label": t, "better": "spread" if c in SPREAD_COLUMNS else
                           ("lower" if lower_is_better(c) else "higher")} for c, t in labels.items()}}
    if space is not None:
        rec["features"] = dict(asdict(space), words=space.words(), caveat=space.caveat())
    if inception is not None:
        rec["inception"] = dict(asdict(inception), words=inception.words())
    return rec


def read_measures(run_path: str | Path) -> dict[str, str]:
    """The names of a run folder's evaluated columns (``measures.json``), {} when it has none or
    it is unreadable (the caller falls back to the column's short name)."""
    p = Path(run_path) / MEASURES_FILE
    try:
        rec = json.loads(p.read_text("utf-8"))
        return {str(c): str(v["label"]) for c, v in rec.get("columns", {}).items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def short_name(column: str) -> str:
    return SHORT.get(column, column)


def measures_of_checkpoint(checkpoint: str | Path) -> dict[str, str]:
    """The measure names of the run folder a checkpoint sits in (``RUN/checkpoints/x.pt``, or the
    folder itself), for exported metadata; {} elsewhere."""
    p = Path(checkpoint)
    folder = p if p.is_dir() else p.parent.parent if p.parent.name == "checkpoints" else None
    return read_measures(folder) if folder is not None else {}


def feature_classifier_text(ev: dict) -> str:
    """The line of a "feature_classifier" event: the classifier the image measures are taken in,
    trained on the run's own data set (engine.fitted_features), its progress or its accuracy."""
    if "accuracy" in ev:
        how = "from the cache" if ev.get("cached") else "trained"
        return (f"quality measures: a classifier of this data set's classes ({how}), held-out accuracy "
                f"{float(ev['accuracy']):.0%}; FD and KID are taken in its features")
    return (f"quality measures: training a classifier on this data set's images for their features "
            f"({float(ev.get('progress', 0.0)):.0%}); the first evaluation waits for it")

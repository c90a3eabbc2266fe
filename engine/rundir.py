"""A run folder's files (:class:`RunDir`): where each one lives and how it is written, so a crash
never leaves half a file. The trainer writes a run through it; :func:`read_metrics` and
:func:`read_events` read the files back as they were written.

Judging a folder someone hands you (what it holds, what is damaged, whether and from which
checkpoint it can be continued) is :mod:`engine.run_report`; this module only knows the layout:

```
RUN_DIR/
  config.toml            fully resolved configuration
  metrics.csv            one row per generator iteration (appended in whole rows)
  events.jsonl           start, edits, pauses, stops, errors (one JSON object a line)
  samples/iter_NNNNNNN.png
  checkpoints/latest.pt, checkpoints/iter_NNNNNNN.pt, checkpoints/best.pt
  summary.json           at the end
  measures.json          what each evaluated column measures, in words (engine.measures)
  data/points.csv        [data] name = "points": the points the run trained on (the file's own
                         suffix), named in config.toml relative to the folder
```
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import time
from pathlib import Path

from .config import Config, dumps_config
from .io import atomic_write_bytes, replace_file

BASE_COLUMNS = ("gen_iter", "wall_time_s", "w_estimate", "critic_loss", "generator_loss", "gradient_penalty",
                "clip_fraction", "critic_grad_norm", "gp_grad_q10", "gp_grad_q50", "gp_grad_q90",
                "lr_critic", "lr_generator", "clip_value", "n_critic", "gp_lambda")
TOY_EVAL_COLUMNS = ("w1_exact", "modes_covered", "high_quality_share")
# images: sliced W1; the Fréchet distance and KID (mean, spread over subsets) in the run's feature network
# (engine.measures names it); the critic's mean value on held-out and on training real images (the
# overfitting check)
IMAGE_EVAL_COLUMNS = ("sliced_w", "frechet_distance", "kid", "kid_std", "critic_heldout", "critic_train")
# [train] inception_weights set: FID and KID in Inception-v3's features (engine.inception)
INCEPTION_EVAL_COLUMNS = ("inception_fid", "inception_kid", "inception_kid_std")
DIGITS_EVAL_COLUMNS = ("classes_hit", "class_kl")  # the bundled digits: the shipped classifier's mode coverage
# the bundled digits (known to be digits): the share of samples the digit classifier puts in one class with
# probability >= 0.9 (higher is better)
DIGIT_FEATURE_COLUMNS = ("confident_share",)
#: Every column an evaluation writes, of any run (the others are written at every iteration).
EVAL_COLUMNS = (TOY_EVAL_COLUMNS + IMAGE_EVAL_COLUMNS + INCEPTION_EVAL_COLUMNS + DIGITS_EVAL_COLUMNS
                + DIGIT_FEATURE_COLUMNS)


def uses_digit_classifier(config: Config, data=None) -> bool:
    """The bundled digits (1 channel; the classifier reads any size)."""
    return config.data.name == "digits" and (data is None or getattr(data, "kind", "") == "image")


def metric_columns(is_toy: bool, digits: bool = False, digit_features: bool | None = None,
                   inception: bool = False) -> tuple[str, ...]:
    """metrics.csv's columns. ``digits``: the bundled digits (classes hit, class KL);
    ``digit_features``: the confident share (default: ``digits``); ``inception``: FID and KID in
    Inception-v3's features."""
    if is_toy:
        return BASE_COLUMNS + TOY_EVAL_COLUMNS
    if digit_features is None:
        digit_features = digits
    return (BASE_COLUMNS + IMAGE_EVAL_COLUMNS + (INCEPTION_EVAL_COLUMNS if inception else ())
            + (DIGITS_EVAL_COLUMNS if digits else ()) + (DIGIT_FEATURE_COLUMNS if digit_features else ()))


def csv_cell(v) -> str:
    """CSV cell: '' for a missing value, integers as integers, floats with 9 significant digits
    (round-trips float32 exactly, so identical runs give identical files)."""
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.9g}"
    return str(v)


MEASURES_FILE = "measures.json"  # what each evaluated column measures (engine.measures)


class RunDir:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.samples = self.path / "samples"
        self.checkpoints = self.path / "checkpoints"
        self.config_path = self.path / "config.toml"
        self.metrics_path = self.path / "metrics.csv"
        self.events_path = self.path / "events.jsonl"
        self.latest_checkpoint = self.checkpoints / "latest.pt"
        # the evaluation with the best quality measure so far (engine.evaluation.best_measure);
        # never rotated away, kept across resume and NaN rollback
        self.best_checkpoint = self.checkpoints / "best.pt"

    # ---------------------------------------------------------------- layout
    def create(self) -> RunDir:
        for p in (self.path, self.samples, self.checkpoints):
            p.mkdir(parents=True, exist_ok=True)
        return self

    def checkpoint_path(self, gen_iter: int) -> Path:
        return self.checkpoints / f"iter_{gen_iter:07d}.pt"

    def sample_path(self, gen_iter: int) -> Path:
        return self.samples / f"iter_{gen_iter:07d}.png"

    def points_path(self, suffix: str) -> Path:
        return self.path / "data" / f"points{suffix.lower() or '.csv'}"

    def has_run(self) -> bool:
        return self.config_path.is_file() or self.latest_checkpoint.is_file()

    # ---------------------------------------------------------------- writers
    def write_config(self, cfg: Config) -> None:
        atomic_write_bytes(self.config_path, dumps_config(cfg).encode("utf-8"))

    def keep_points(self, cfg: Config) -> Config:
        """A ``[data] name = "points"`` run keeps the points it trains on: the file is copied to
        ``data/points<suffix>`` and the returned config names it relative to the folder (with
        ``source`` = config.toml), so the run continues, compares and repeats after the original
        moves. A config already naming the folder's copy is returned as it is."""
        src = cfg.resolved_data_path()
        if cfg.data.name != "points" or src is None:
            return cfg
        dest = self.points_path(src.suffix)
        out = cfg.copy()
        out.data.path = dest.relative_to(self.path).as_posix()
        out.source = str(self.config_path)
        if dest.exists() and os.path.samefile(src, dest):
            return out
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(dest, src.read_bytes())
        return out

    def start_metrics(self, columns: tuple[str, ...], keep_until: int | None = None) -> None:
        """Start metrics.csv with a header, or (on resume) keep the whole rows up to ``keep_until``
        and drop the rest, including a row cut short by a crash."""
        self.columns = columns
        rows: list[str] = []
        if keep_until is not None and self.metrics_path.is_file():
            old = _header(self.metrics_path)
            rows = [r for r in read_metric_lines(self.metrics_path, len(old or columns))
                    if int(r.split(",", 1)[0]) <= keep_until]
            if old is not None and tuple(old) != tuple(columns):
                # written by a version with other columns: each value under its own name, the
                # columns it did not have left empty
                where = {name: i for i, name in enumerate(old)}
                rows = [",".join(cells[where[c]] if c in where else "" for c in columns)
                        for cells in (r.split(",") for r in rows)]
        text = ",".join(columns) + "\n" + "".join(r + "\n" for r in rows)
        atomic_write_bytes(self.metrics_path, text.encode("utf-8"))

    def append_metrics(self, rows: list[list]) -> None:
        if not rows:
            return
        buf = io.StringIO()
        for row in rows:
            buf.write(",".join(csv_cell(v) for v in row) + "\n")
        # Whole rows in one write() call: a killed process leaves whole rows (and resume drops
        # anything after the checkpoint it continues from).
        append_bytes(self.metrics_path, buf.getvalue().encode("utf-8"))

    def append_event(self, event: dict) -> dict:
        event = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **event}
        append_bytes(self.events_path, (json.dumps(event, default=str) + "\n").encode("utf-8"))
        return event

    def write_summary(self, summary: dict) -> None:
        atomic_write_bytes(self.path / "summary.json", (json.dumps(summary, indent=2, default=str) + "\n").encode())

    def write_measures(self, record: dict) -> None:
        """measures.json: what each evaluated column measures (engine.measures.measures_record)."""
        atomic_write_bytes(self.path / MEASURES_FILE, (json.dumps(record, indent=2) + "\n").encode("utf-8"))

    def link_latest(self, src: Path) -> None:
        """Make checkpoints/latest.pt the same file as ``src`` without writing it twice."""
        tmp = self.checkpoints / ".latest.pt.link"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:  # file systems without hard links: copy (still atomic via the rename)
            import shutil
            shutil.copyfile(src, tmp)
        replace_file(tmp, self.latest_checkpoint)


def checkpoint_config_source(checkpoint: str | os.PathLike) -> str | None:
    """What relative paths in a checkpoint's stored configuration are relative to: the run folder
    of ``RUN/checkpoints/*.pt`` (its config.toml), as for the run's own config.toml."""
    p = Path(checkpoint)
    return str(RunDir(p.parent.parent).config_path) if p.parent.name == "checkpoints" else None


def append_bytes(path: Path, data: bytes) -> None:
    """Append ``data`` with a single O_APPEND write (no user-space buffering that could split it)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _header(path: Path) -> list[str] | None:
    """The column names of a metrics.csv, or None when its first line is not a header."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            names = [h.strip() for h in fh.readline().rstrip("\n").split(",")]
    except OSError:
        return None
    return names if names and names[0] == "gen_iter" and all(names) and len(set(names)) == len(names) else None


def read_metric_lines(path: Path, ncols: int) -> list[str]:
    """Whole data rows of a metrics.csv (a trailing partial row from a crash is dropped)."""
    text = path.read_text("utf-8", errors="replace")
    lines = text.split("\n")
    out = []
    for line in lines[1:]:
        if line.count(",") == ncols - 1 and line.split(",", 1)[0].isdigit():
            out.append(line)
    if text and not text.endswith("\n") and out and out[-1] == lines[-1]:
        out.pop()  # the last line has no newline: it may be cut short
    return out


def read_metrics(path: str | os.PathLike) -> dict[str, list]:
    """metrics.csv as columns of floats (NaN where a cell is empty)."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        cols: dict[str, list] = {h: [] for h in header}
        for row in reader:
            if len(row) != len(header):
                continue
            for h, v in zip(header, row, strict=True):
                cols[h].append(float(v) if v not in ("",) else float("nan"))
    return cols


def read_events(path: str | os.PathLike) -> list[dict]:
    out = []
    p = Path(path)
    if not p.is_file():
        return out
    for line in p.read_text("utf-8", errors="replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            ev = json.loads(line)
            if isinstance(ev, dict):
                out.append(ev)
    return out

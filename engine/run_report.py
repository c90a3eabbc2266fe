"""Inspecting a run folder someone hands you: the rules both front ends apply to it (what it
holds, what is damaged, what kind of run it is, and whether and from which checkpoint it can be
continued). :func:`inspect_run` gives a :class:`RunReport`. The folder's layout and the writing of
its files are :mod:`engine.rundir` (:class:`~engine.rundir.RunDir`).

A run folder can be hurt by a full disk, a crash outside the engine's atomic writes (an
editor, a sync tool, a copy cut short) or a hand edit. :func:`inspect_run` reads each file on
its own, so one damaged file never hides the others: the curves still show when a checkpoint is
corrupt, the run can still be continued when metrics.csv is garbled. Every problem becomes one
line ``"<file>: <what is wrong>"`` for the single message a front end shows.

A run can be continued from the newest checkpoint that loads: ``checkpoints/latest.pt``, or
when that one is damaged or missing, the newest readable ``checkpoints/iter_NNNNNNN.pt``
(:func:`prepare_resume`, which ``Trainer.resume_run`` calls: :func:`use_as_latest` puts the
fallback in place of latest.pt and keeps the damaged file beside it).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import CheckpointError, load_checkpoint
from .config import Config, ConfigError, config_from_dict, load_config
from .io import replace_file
from .objective_traits import OBJECTIVE_TRAITS
from .rundir import RunDir, checkpoint_config_source, metric_columns

MAX_LISTED = 5  # line numbers named in a message before "…"


@dataclass
class RunReport:
    """What :func:`inspect_run` could read of a run folder, and what it could not."""

    path: Path
    config: Config | None = None
    config_source: str = ""                       # "config.toml" or the checkpoint it came from
    columns: dict[str, list[float]] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    checkpoint: Path | None = None                # the newest checkpoint that loads
    checkpoint_iter: int = 0
    checkpoint_live: dict[str, float] = field(default_factory=dict)  # the live values the run continues with
    problems: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.problems)

    @property
    def resumable(self) -> bool:
        return self.checkpoint is not None

    @property
    def last_iter(self) -> int:
        it = self.columns.get("gen_iter")
        return int(it[-1]) if it else self.checkpoint_iter

    @property
    def uses_fallback(self) -> bool:
        """True when the run continues from an older checkpoint than checkpoints/latest.pt."""
        return self.checkpoint is not None and self.checkpoint.name != "latest.pt"

    def rel(self, p: Path) -> str:
        try:
            return p.relative_to(self.path).as_posix()
        except ValueError:
            return str(p)


def is_run_folder(path: str | os.PathLike) -> bool:
    rd = RunDir(path)
    return (rd.path.is_dir() and (rd.config_path.exists() or rd.metrics_path.exists() or rd.events_path.exists()
                                  or any(rd.checkpoints.glob("*.pt"))))


def _skipped(what: str, numbers: list[int], cut_last: bool) -> str:
    """"skipped: 2 damaged rows (lines 3, 7) and the last row, cut short (…)"."""
    parts = []
    if numbers:
        s = "s" if len(numbers) != 1 else ""
        shown = ", ".join(str(n) for n in numbers[:MAX_LISTED]) + (", …" if len(numbers) > MAX_LISTED else "")
        parts.append(f"{len(numbers)} damaged {what}{s} (line{s} {shown})")
    if cut_last:
        parts.append(f"the last {what}, cut short (the run was interrupted while writing it)")
    return "skipped: " + " and ".join(parts)


def _without_path(message: str, path: Path) -> str:
    """The engine's messages start with the file's full path; the report names it already."""
    for prefix in (f"{path}: ", f"{path}:"):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def expected_columns(cfg: Config) -> list[tuple[str, ...]]:
    """The column sets a run of ``cfg`` may have written (the engine adds evaluation columns by
    data set; asking for each variant keeps this working as that list grows)."""
    out = [metric_columns(cfg.is_toy)]
    with contextlib.suppress(TypeError):
        out.append(metric_columns(cfg.is_toy, True))  # with the digits classifier's columns
        out.append(metric_columns(cfg.is_toy, True, False))  # the bundled digits before confident_share
        out.append(metric_columns(cfg.is_toy, False, True))  # other digit-like images (MNIST)
    return list(dict.fromkeys(out))


def read_metrics_report(path: Path, fallback_columns: list[tuple[str, ...]] | None = None
                        ) -> tuple[dict[str, list[float]], str | None]:
    """metrics.csv as columns of floats (NaN for an empty cell), keeping every whole, readable
    row, and a description of what was skipped (None when the file is intact).

    ``fallback_columns``: candidate column sets for when the header line itself is damaged (the
    one whose width most rows have is used)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, "missing: no curves to show"
    except OSError as e:
        return {}, f"cannot be read ({e.strerror or e})"
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return {}, "empty: no curves to show"
    lines = text.split("\n")
    header, first_data, problem = _metrics_header(lines, fallback_columns)
    if header is None:
        return {}, problem
    problems = [problem] if problem else []
    cut_last = not text.endswith("\n")
    cols, bad = _metrics_rows(lines, header, first_data, cut_last)
    if bad:
        cut = cut_last and bad[-1] == len(lines)
        problems.append(_skipped("row", bad[:-1] if cut else bad, cut))
    if not cols["gen_iter"] and len(lines) > 2:
        problems.append("no readable rows: no curves to show")
    return cols, ("; ".join(problems) if problems else None)


def _metrics_header(lines: list[str], fallback_columns) -> tuple[list[str] | None, int, str | None]:
    """``(columns, index of the first data line, problem)``; no columns when the header line is
    damaged and there is nothing to fall back on."""
    header = [h.strip() for h in lines[0].split(",")]
    if "gen_iter" in header and len(set(header)) == len(header) and all(header):
        return header, 1, None
    if not fallback_columns:
        return None, 1, "the header line is damaged (no gen_iter column): no curves to show"
    widths = [line.count(",") + 1 for line in lines[1:] if line]
    header = list(max(fallback_columns, key=lambda c: widths.count(len(c))))
    first_data = 1 if not lines[0][:1].isdigit() else 0
    return header, first_data, "the header line is damaged; the columns were taken from the configuration"


def _metrics_rows(lines: list[str], header: list[str], first_data: int, cut_last: bool
                  ) -> tuple[dict[str, list[float]], list[int]]:
    """The readable rows by column, and the 1-based numbers of the lines skipped (as an editor
    shows them); the last line counts as cut off when the file does not end with a newline."""
    cols: dict[str, list[float]] = {h: [] for h in header}
    gi = header.index("gen_iter")
    bad: list[int] = []
    last_index = len(lines) - 1
    for i in range(first_data, len(lines)):
        if not lines[i] and i == last_index:
            break  # the newline that ends the file
        row = _metrics_row(lines[i], len(header), gi)
        if row is None or (i == last_index and cut_last):
            bad.append(i + 1)
            continue
        for h, v in zip(header, row, strict=True):
            cols[h].append(v)
    return cols, bad


def _metrics_row(line: str, width: int, gi: int) -> list[float] | None:
    """One row's values, or None unless it has ``width`` numbers and a whole gen_iter >= 0."""
    cells = line.split(",")
    if len(cells) != width:
        return None
    try:
        row = [float(c) if c.strip() else math.nan for c in cells]
    except ValueError:
        return None
    g = row[gi]
    return row if math.isfinite(g) and g >= 0 and g == int(g) else None


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _valid_event(ev) -> bool:
    """A JSON object the studio can show: a type, a numeric gen_iter, and for an edit its key
    and numeric old and new values (a damaged line can still be valid JSON)."""
    if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
        return False
    if "gen_iter" in ev and not _number(ev["gen_iter"]):
        return False
    if ev["type"] == "edit":
        return isinstance(ev.get("key"), str) and _number(ev.get("old")) and _number(ev.get("new"))
    return True


def read_events_report(path: Path) -> tuple[list[dict], str | None]:
    """events.jsonl, every line that is a JSON object, and what was skipped."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return [], "missing: no markers, pauses or edit history to show"
    except OSError as e:
        return [], f"cannot be read ({e.strerror or e})"
    events, bad = [], []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            ev = None
        if _valid_event(ev):
            events.append(ev)
        else:
            bad.append(i + 1)
    if not bad:
        return events, None
    cut = bad[-1] == len(lines) and not text.endswith("\n")
    return events, _skipped("line", bad[:-1] if cut else bad, cut)


def _checkpoint_candidates(rd: RunDir) -> list[Path]:
    numbered = sorted(rd.checkpoints.glob("iter_*.pt"), reverse=True)  # zero-padded: newest first
    return [rd.latest_checkpoint, *numbered]


def _newest_good_checkpoint(rd: RunDir, rep: RunReport) -> Config | None:
    """Set ``rep.checkpoint`` to the newest checkpoint that loads and holds a valid configuration
    (returned), naming each one passed over in ``rep.problems``."""
    for cand in _checkpoint_candidates(rd):
        if not cand.is_file():
            if cand == rd.latest_checkpoint:
                rep.problems.append("checkpoints/latest.pt: missing")
            continue
        if not zipfile.is_zipfile(cand):
            # torch.save writes a zip archive whose directory is at the end: a file cut short or
            # overwritten is not one. (load_checkpoint would call random bytes "refused: more than
            # tensors", which is true but says nothing useful here.)
            rep.problems.append(f"{rep.rel(cand)}: not a readable checkpoint (truncated or corrupt)")
            continue
        try:
            st = load_checkpoint(cand)
            cfg = config_from_dict(st["config"])
            cfg.source = checkpoint_config_source(cand)
        except CheckpointError as e:
            rep.problems.append(f"{rep.rel(cand)}: {_without_path(str(e), cand)}")
            continue
        except ConfigError as e:
            rep.problems.append(f"{rep.rel(cand)}: the configuration stored in it is invalid: "
                                f"{e.with_file(None)}")
            continue
        rep.checkpoint, rep.checkpoint_iter = cand, int(st["gen_iter"])
        hp = st.get("hp") if isinstance(st.get("hp"), dict) else {}
        rep.checkpoint_live = {k: v for k, v in hp.items() if isinstance(v, int | float)}
        return cfg
    if any(p.startswith("checkpoints/") for p in rep.problems):
        rep.problems.append("checkpoints: no readable checkpoint, so the run cannot be continued")
    return None


def inspect_run(path: str | os.PathLike, *, checkpoints: bool = True) -> RunReport:
    """Read what can be read of a run folder; name each damaged or missing file.

    ``checkpoints=False``: only the small files (config.toml, metrics.csv, events.jsonl), no
    checkpoint loaded, unless config.toml cannot be read (its checkpoints' configuration is then
    shown): for a front end that compares runs and continues none of them (a DCGAN checkpoint is
    tens of MB)."""
    rd = RunDir(path)
    rep = RunReport(path=rd.path)

    # ---- config.toml
    config_problem = None
    if not rd.config_path.is_file():
        config_problem = "missing"
    else:
        try:
            rep.config, rep.config_source = load_config(rd.config_path), "config.toml"
        except ConfigError as e:
            config_problem = str(e.with_file(None))

    # ---- checkpoints: the newest one that loads (and holds a valid configuration)
    cfg = _newest_good_checkpoint(rd, rep) if checkpoints or config_problem is not None else None
    if rep.config is None and cfg is not None:
        rep.config, rep.config_source = cfg, rep.rel(rep.checkpoint)

    if config_problem is not None:
        shown = (f"; the configuration stored in {rep.config_source} is shown instead" if rep.config is not None
                 else "")
        rep.problems.insert(0, f"config.toml: {config_problem}{shown}")

    # ---- metrics.csv and events.jsonl
    fallback = expected_columns(rep.config) if rep.config is not None else None
    rep.columns, problem = read_metrics_report(rd.metrics_path, fallback)
    if problem:
        rep.problems.append(f"metrics.csv: {problem}")
    rep.events, problem = read_events_report(rd.events_path)
    if problem:
        rep.problems.append(f"events.jsonl: {problem}")
    return rep


def use_as_latest(rd: RunDir, checkpoint: Path) -> Path | None:
    """Make ``checkpoint`` the run's checkpoints/latest.pt (the one a run continues from). A
    damaged latest.pt is kept as ``latest.pt.damaged`` (``-2``, ``-3``… if taken), never deleted;
    returns where it went, or None when there was none."""
    if checkpoint == rd.latest_checkpoint:
        return None
    aside = None
    if rd.latest_checkpoint.exists():
        aside = rd.checkpoints / "latest.pt.damaged"
        k = 2
        while aside.exists():
            aside = rd.checkpoints / f"latest.pt.damaged-{k}"
            k += 1
        replace_file(rd.latest_checkpoint, aside)
    with contextlib.suppress(FileNotFoundError):
        (rd.checkpoints / ".latest.pt.link").unlink()
    rd.link_latest(checkpoint)
    return aside


@dataclass
class ResumePoint:
    """Where a run continues: the checkpoint (now also checkpoints/latest.pt), its generator
    iteration, where a damaged latest.pt was put aside (None: it was not) and what was passed
    over on the way."""

    run_dir: Path
    checkpoint: Path
    gen_iter: int
    damaged_latest: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def uses_fallback(self) -> bool:
        return self.checkpoint.name != "latest.pt"

    def describe(self) -> str:
        """One sentence for the user: which checkpoint the run continues from, and why."""
        rel = self.checkpoint.relative_to(self.run_dir).as_posix()
        text = f"continuing from {rel} (generator iteration {self.gen_iter})"
        if self.problems:
            text += ": " + "; ".join(self.problems)
        if self.damaged_latest is not None:
            text += f"; the damaged latest.pt is kept as {self.damaged_latest.relative_to(self.run_dir).as_posix()}"
        return text


def prepare_resume(path: str | os.PathLike) -> ResumePoint:
    """Choose the checkpoint a run continues from: checkpoints/latest.pt, or when that one is
    damaged or missing the newest numbered checkpoint that loads, which is then put in its
    place (:func:`use_as_latest`). Raises CheckpointError when none loads."""
    rd = RunDir(path)
    rep = RunReport(path=rd.path)
    _newest_good_checkpoint(rd, rep)
    if rep.checkpoint is None:
        found = "; ".join(rep.problems) if rep.problems else "no checkpoints/latest.pt"
        raise CheckpointError(f"{rd.path}: nothing to resume ({found})")
    aside = use_as_latest(rd, rep.checkpoint) if rep.uses_fallback else None
    return ResumePoint(rd.path, rep.checkpoint, rep.checkpoint_iter, aside, rep.problems)


def run_kind(config: Config | None, columns: Mapping[str, Sequence[float]]) -> tuple[str, bool]:
    """(objective, is_toy) of a run; guessed from its metrics.csv columns when no configuration
    could be read (a toy run has the w1_exact column; each objective fills its regulariser)."""
    if config is not None:
        return config.objective.kind, config.is_toy

    def filled(name):
        return any(v == v for v in columns.get(name, ()))  # any non-NaN

    regularised = [t.kind for t in OBJECTIVE_TRAITS.values() if t.regulariser_column and filled(t.regulariser_column)]
    objective = regularised[0] if regularised else "gan"  # no regulariser: the GAN's curves are shown
    return objective, "sliced_w" not in columns

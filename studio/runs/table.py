"""The Runs view's rows (Qt-free): one :class:`RunRow` per run folder of the folders the user
watches, read incrementally by :class:`RunsScanner`.

A watched folder holds run folders (the runs folder, any folder the user adds) or is one; a
folder that holds ``trials/`` is a sweep (``wgan-sweep --out DIR``) and its trials are listed.
Each run folder is read by an :class:`engine.follow.RunFollower` (only the bytes added to
metrics.csv and events.jsonl since the last look) and skipped altogether while the sizes and
modification times of its files are unchanged, so a scan of 50 finished runs and 4 training
ones reads a few hundred bytes. The scanner blocks on the disk: the studio runs it on a thread
of its own (:mod:`studio.runs_table`) and hands the changed rows to the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from engine.config import ConfigError, load_config
from engine.follow import RunFollower
from engine.run_report import is_run_folder
from engine.status import ACTIVE_STATES, RunState, RunStatus
from engine.text import format_duration

# The measures a best quality is read from, in order (lower is better): exact W1 of a 2-D run,
# the Fréchet distance of an image run, and its sliced W1 where it has no Fréchet distance.
QUALITY_COLUMNS = ("w1_exact", "frechet_distance", "sliced_w")
STATE_ORDER = {s: i for i, s in enumerate((RunState.RUNNING, RunState.STARTING, RunState.PAUSED,
                                           RunState.STOPPING, RunState.NOT_RESPONDING, RunState.QUEUED,
                                           RunState.FAILED, RunState.STOPPED, RunState.FINISHED, RunState.IDLE))}
FILES = ("metrics.csv", "events.jsonl", "status.json", "config.toml")
# The colour a state is shown in (the status bar, the Runs view's state column).
STATE_COLOUR = {RunState.IDLE: "#7f7f7f", RunState.QUEUED: "#7f7f7f", RunState.STARTING: "#1f77b4",
                RunState.RUNNING: "#2ca02c", RunState.PAUSED: "#e6a700", RunState.STOPPING: "#e6a700",
                RunState.FINISHED: "#1f77b4", RunState.STOPPED: "#7f7f7f", RunState.FAILED: "#d62728",
                RunState.NOT_RESPONDING: "#d62728", RunState.CONNECTION_LOST: "#e6a700"}


@dataclass
class RunRow:
    """What the Runs view shows of one run (``None``: not known)."""

    path: Path
    name: str
    group: str = ""                       # the watched folder (or sweep) it was found in
    what: str = ""                        # the preset a queued run uses, else the run's objective
    state: RunState = RunState.STARTING
    gen_iter: int = 0
    total: int = 0
    its_per_sec: float | None = None
    eta_s: float | None = None
    w_estimate: float | None = None       # the last row's
    best: float | None = None             # the best (lowest) quality measure so far
    best_measure: str = ""
    best_iter: int | None = None
    started: float | None = None          # seconds since the epoch: the first event's time
    duration_s: float | None = None       # training time (the heartbeat's or the end event's)
    queue_id: str | None = None           # an entry of a queue (not started yet)


def _iso_time(text) -> float | None:
    try:
        return dt.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def _finite(v) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


class RunFolderReader:
    """One run folder, read a little at a time: the :class:`RunRow` it gives so far."""

    def __init__(self, path: Path, group: str = "", *, clock: Callable[[], float] = time.time):
        self.path, self.clock = Path(path), clock
        self.follower = RunFollower(self.path)
        self.row = RunRow(self.path, self.path.name, group)
        self.signature: tuple | None = None
        self.config_read = False

    @property
    def bytes_read(self) -> int:
        return self.follower.bytes_read

    def _signature(self) -> tuple:
        sig = []
        for name in FILES:
            try:
                st = os.stat(self.path / name)
                sig.append((st.st_size, st.st_mtime_ns, st.st_ino))
            except OSError:
                sig.append(None)
        return tuple(sig)

    def update(self) -> bool:
        """Read what was added since the last call; True when the row changed."""
        sig = self._signature()
        before = replace(self.row)
        if sig != self.signature:
            self.signature = sig
            self._read()
        self._set_state()
        return self.row != before

    def _read(self) -> None:
        if not self.config_read:
            self._read_config()
        up = self.follower.poll()
        if up.reset:   # metrics.csv rewritten (a resume keeps the rows up to its checkpoint): all again
            self.row.best = self.row.best_iter = self.row.w_estimate = None
            self.row.gen_iter = 0
        if up.rows:
            self._fold_rows(up.rows)
        for ev in up.events:
            self._fold_event(ev)
        st = self.follower.run_status
        if self.follower.status is not None:
            self.row.gen_iter = max(self.row.gen_iter, st.gen_iter)
            self.row.total = st.total or self.row.total
            self.row.its_per_sec = st.its_per_sec
            if st.elapsed_s is not None:
                self.row.duration_s = st.elapsed_s

    def _read_config(self) -> None:
        path = self.path / "config.toml"
        if not path.exists():
            return
        self.config_read = True
        try:
            cfg = load_config(path)
        except (ConfigError, OSError):
            return
        self.row.what = self.row.what or cfg.objective.kind
        self.row.total = self.row.total or cfg.train.iterations

    def _fold_rows(self, rows: dict[str, list[float]]) -> None:
        r = self.row
        its = rows.get("gen_iter") or []
        if its:
            r.gen_iter = max(r.gen_iter, int(its[-1]))
        w = [v for v in rows.get("w_estimate", []) if math.isfinite(v)]
        if w:
            r.w_estimate = w[-1]
        measure = next((c for c in QUALITY_COLUMNS if c in rows and (not r.best_measure or c == r.best_measure)), None)
        if measure is None:
            return
        for it, v in zip(its, rows[measure], strict=False):
            if math.isfinite(v) and (r.best is None or v < r.best):
                r.best, r.best_iter, r.best_measure = v, int(it), measure

    def _fold_event(self, ev: dict) -> None:
        r = self.row
        if r.started is None and ev.get("type") in ("start", "resume_run"):
            r.started = _iso_time(ev.get("time"))
        if ev.get("type") in ("finish", "stop") and _finite(ev.get("elapsed_s")) is not None:
            r.duration_s = float(ev["elapsed_s"])

    def _set_state(self) -> None:
        """The state as :meth:`RunFollower.state` says it, the silence measured from the
        heartbeat's (or the metrics') modification time, so a run killed long ago is not
        responding at once."""
        age = None
        for name in ("status.json", "metrics.csv", "events.jsonl"):
            try:
                age = self.clock() - (self.path / name).stat().st_mtime
                break
            except OSError:
                continue
        r = self.row
        r.state = self.follower.state(age or 0.0)
        status = RunStatus(state=r.state, gen_iter=r.gen_iter, total=r.total, its_per_sec=r.its_per_sec)
        r.eta_s = status.eta_s if r.state in ACTIVE_STATES else None
        if r.state not in ACTIVE_STATES:
            r.its_per_sec = None


def sweep_trials(folder: Path) -> Path | None:
    """The trials folder of a sweep folder (None: not a sweep)."""
    trials = folder / "trials"
    marks = ("sweep.toml", "trials.csv")
    return trials if trials.is_dir() or any((folder / m).exists() for m in marks) else None


class RunsScanner:
    """The run folders of the watched folders (``roots``), read incrementally: :meth:`scan`
    gives the rows that changed since the last call and the folders that went away."""

    def __init__(self, roots: Iterable[str | os.PathLike] = (), *, clock: Callable[[], float] = time.time):
        self.roots: list[Path] = [Path(r) for r in roots]
        self.clock = clock
        self.readers: dict[Path, RunFolderReader] = {}

    @property
    def bytes_read(self) -> int:
        return sum(r.bytes_read for r in self.readers.values())

    def set_roots(self, roots: Iterable[str | os.PathLike]) -> None:
        self.roots = [Path(r) for r in roots]

    def discover(self) -> dict[Path, str]:
        """Every run folder of the watched folders: its path and the group it is listed under."""
        found: dict[Path, str] = {}
        for root in self.roots:
            self._discover_in(root, root.name, found, sweep_depth=1)
        return found

    def _discover_in(self, folder: Path, group: str, found: dict, sweep_depth: int) -> None:
        if is_run_folder(folder):
            found.setdefault(folder, group)
            return
        trials = sweep_trials(folder)
        if trials is not None:
            group = f"sweep {folder.name}"
            folder = trials
        try:
            children = sorted(e.path for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
        except OSError:
            return
        for child in map(Path, children):
            if is_run_folder(child):
                found.setdefault(child, group)
            elif sweep_depth > 0 and sweep_trials(child) is not None:
                self._discover_in(child, group, found, sweep_depth - 1)

    def scan(self) -> tuple[list[RunRow], list[Path]]:
        """(the rows that are new or changed, copies; the folders no longer listed)."""
        found = self.discover()
        gone = [p for p in self.readers if p not in found]
        for p in gone:
            del self.readers[p]
        changed = []
        for path, group in found.items():
            reader = self.readers.get(path)
            if reader is None:
                reader = self.readers[path] = RunFolderReader(path, group, clock=self.clock)
            if reader.update() or reader.row.group != group:
                reader.row.group = group
                changed.append(replace(reader.row))
        return changed, gone


# ---------------------------------------------------------------------------- the table's columns
def _fmt(v: float | None, spec: str = ".4g") -> str:
    return "" if v is None else format(v, spec)


def duration_text(seconds: float | None) -> str:
    return format_duration(seconds, missing="")


def _iters(r: RunRow) -> str:
    return f"{r.gen_iter} / {r.total}" if r.total else (str(r.gen_iter) if r.gen_iter else "")


def _best(r: RunRow) -> str:
    if r.best is None:
        return ""
    short = {"w1_exact": "W1", "frechet_distance": "FD", "sliced_w": "SW"}.get(r.best_measure, r.best_measure)
    return f"{short} {r.best:.4g} @ {r.best_iter}"


def _started(r: RunRow) -> str:
    return "" if r.started is None else dt.datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M")


# header, text, sort key, tooltip
COLUMNS: tuple[tuple[str, Callable[[RunRow], str], Callable[[RunRow], object], str], ...] = (
    ("Run", lambda r: r.name, lambda r: r.name.lower(), "The run folder's name"),
    ("Preset / objective", lambda r: r.what, lambda r: r.what, "A queued run's preset, else the run's objective"),
    ("State", lambda r: str(r.state), lambda r: STATE_ORDER.get(r.state, 99), "Where the run is"),
    ("Iteration", _iters, lambda r: r.gen_iter, "Generator iterations done of the run's total"),
    ("it/s", lambda r: _fmt(r.its_per_sec, ".1f"), lambda r: r.its_per_sec or -1.0,
     "Generator iterations per second (while training)"),
    ("ETA", lambda r: duration_text(r.eta_s), lambda r: r.eta_s if r.eta_s is not None else math.inf,
     "Time to the last iteration at the current speed"),
    ("W-estimate", lambda r: _fmt(r.w_estimate), lambda r: r.w_estimate if r.w_estimate is not None else math.inf,
     "The critic's estimate of the Wasserstein distance in the last row"),
    ("Best quality", _best, lambda r: r.best if r.best is not None else math.inf,
     "The best evaluation so far (lower is better: W1 of 2-D runs, the Fréchet distance of image runs) and its "
     "iteration"),
    ("Started", _started, lambda r: r.started or 0.0, "When the run started"),
    ("Duration", lambda r: duration_text(r.duration_s), lambda r: r.duration_s or 0.0, "Training time"),
    ("Folder", lambda r: r.group, lambda r: r.group, "The watched folder or sweep the run was found in"),
)
HEADERS = tuple(c[0] for c in COLUMNS)


def cell_text(row: RunRow, column: int) -> str:
    return COLUMNS[column][1](row)


def sort_key(row: RunRow, column: int):
    return COLUMNS[column][2](row)


def matches(row: RunRow, text: str = "", state: RunState | str | None = None) -> bool:
    """Whether the filter shows ``row``: every word of ``text`` in its name, preset or objective,
    or folder; and its state ``state`` (None or "": any)."""
    if state and row.state != RunState.parse(state):
        return False
    hay = f"{row.name} {row.what} {row.group} {row.path}".lower()
    return all(word in hay for word in text.lower().split())


def csv_text(rows: Iterable[RunRow]) -> str:
    """The rows as CSV (raw numbers, one header line), as the table lists them."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "folder", "what", "state", "gen_iter", "total", "its_per_sec", "eta_s", "w_estimate",
                "best", "best_measure", "best_iter", "started", "duration_s", "path"])
    for r in rows:
        w.writerow([r.name, r.group, r.what, str(r.state), r.gen_iter, r.total, _fmt(r.its_per_sec, ".6g"),
                    _fmt(r.eta_s, ".6g"), _fmt(r.w_estimate, ".9g"), _fmt(r.best, ".9g"), r.best_measure,
                    "" if r.best_iter is None else r.best_iter, _started(r), _fmt(r.duration_s, ".6g"), str(r.path)])
    return buf.getvalue()

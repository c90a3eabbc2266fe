"""Follow a run folder that another process writes: new metrics rows, events, pictures, and
whether the run is alive.

The trainer appends whole rows to ``metrics.csv`` and whole lines to ``events.jsonl`` (one
``write()`` each), rewrites ``status.json`` about every second and writes a picture every
``sample_every`` iterations. :class:`RunFollower` reads only what was added since its last look,
never a line without its newline (a row being written, or a file synced half-way from another
machine), and starts again from the top when a file was rewritten (``--resume`` keeps the rows
up to its checkpoint and rewrites metrics.csv). It costs the trainer nothing: it only reads.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .requests import STATUS_FILE, parse_status, read_status
from .runfiles import FileStat, LocalFiles, RunFiles, as_run_files
from .status import ACTIVE_STATES, RunState, RunStatus

SILENT_S = 30.0   # no new heartbeat for this long while "running" or "paused": not responding


@dataclass
class FollowUpdate:
    rows: dict[str, list[float]] = field(default_factory=dict)  # new metrics rows, by column
    reset: bool = False             # metrics.csv was rewritten: ``rows`` holds all of it again
    events: list[dict] = field(default_factory=list)
    sample: Path | PurePosixPath | None = None  # the newest picture, when it changed (a remote one: its name)
    sample_name: str | None = None  # the same, relative to the run folder (RunFollower.read_file reads it)
    status: dict | None = None      # the heartbeat, when it changed
    state: RunState = RunState.STARTING  # from the heartbeat and the last event (starting: nothing written yet)
    silent_s: float = 0.0           # how long the heartbeat has not changed

    @property
    def empty(self) -> bool:
        return not (self.rows or self.events or self.sample or self.status or self.reset)


class _Tail:
    """The complete lines added to a file since the last call, read from the last byte offset (a
    ranged read of the new bytes only, plus the few last bytes already read: when they differ,
    the file was rewritten and is read again from its start)."""

    OVERLAP = 16

    def __init__(self, files: RunFiles, rel: str):
        self.files, self.rel = files, rel
        self.offset = 0
        self.ident: tuple | None = None
        self.seen = b""  # the last bytes consumed (at most OVERLAP)
        self.bytes_read = 0  # every byte read so far (the overlap that checks for a rewrite included)

    def grew(self, st: FileStat | None) -> bool:
        """Whether the file has other bytes than those read (grown, shrunk or replaced)."""
        return st is not None and (st.size != self.offset or st.ident != self.ident)

    def read(self, st: FileStat | None) -> tuple[list[bytes], bool, bool]:
        """(new complete lines, whether they start at the top of the file, whether the file was
        replaced since the last call and is read from its start again). ``st``: the file's stat
        of this poll (None: not there); nothing is read when it did not grow."""
        if st is None:
            return [], False, False
        reset = self.offset > 0 and (st.ident != self.ident or st.size < self.offset)
        self.ident = st.ident
        if reset:
            self.offset, self.seen = 0, b""
        elif st.size == self.offset:
            return [], False, False
        k = len(self.seen)
        data = self.files.read(self.rel, self.offset - k, st.size - self.offset + k)
        self.bytes_read += len(data)
        if data[:k] != self.seen:  # same name and size class, other bytes: rewritten in place
            reset, self.offset, self.seen = True, 0, b""
            data = self.files.read(self.rel, 0, st.size)
            self.bytes_read += len(data)
        else:
            data = data[k:]
        end = data.rfind(b"\n")
        if end < 0:
            return [], False, reset
        chunk = data[:end + 1]
        top = self.offset == 0
        self.offset += len(chunk)
        self.seen = (self.seen + chunk)[-self.OVERLAP:]
        return chunk.split(b"\n")[:-1], top, reset


class _Watch:
    """Whether a file or folder whose bytes are not appended (the heartbeat, the pictures' folder)
    must be read again: its stat changed, or it changed less than ``settle`` s before the last
    read and has not been read since (a remote time has whole seconds: two changes within one
    second look the same)."""

    def __init__(self, clock, settle: float = 2.0):
        self.clock, self.settle = clock, settle
        self.key: tuple | None = None
        self.changed_at = -math.inf
        self.pending = False

    def due(self, st: FileStat | None) -> bool:
        if st is None:
            return False
        key = (st.size, st.mtime, st.ident)
        return key != self.key or (self.pending and self.clock() - self.changed_at >= self.settle)

    def read(self, st: FileStat) -> None:
        key = (st.size, st.mtime, st.ident)
        if key != self.key:
            self.key, self.changed_at, self.pending = key, self.clock(), True
        else:
            self.pending = False


class RunFollower:
    """Follows the run folder ``run_dir`` (a path, or :class:`engine.runfiles.RunFiles`: a remote
    folder goes through the same code). Each :meth:`poll` asks for the stat of the files it
    watches once, reads only the bytes added, lists the pictures' folder only when it changed."""

    # Looked at every poll: what a live run changes at least once a second (rows, the heartbeat).
    # The others (events, pictures) too in a local folder; in a remote one when those changed in
    # this poll or the last, and every REMOTE_CHECK_ALL_EVERY polls in any case: a poll of a quiet
    # remote folder asks for two stats, not four.
    FILES = ("metrics.csv", STATUS_FILE)
    MORE_FILES = ("events.jsonl", "samples")
    REMOTE_CHECK_ALL_EVERY = 4
    # what a poll changes: put back as it was when the poll fails half-way (a lost connection)
    STATE = ("_metrics", "_events", "_status_watch", "_samples_watch", "columns", "_sample", "status", "last_event",
             "_last_sign", "_polls", "_changed_before")

    def __init__(self, run_dir: str | os.PathLike | RunFiles, *, clock=time.monotonic, silent_s: float = SILENT_S,
                 rows: bool = True):
        """``rows=False``: metrics.csv is never read (wgan-ctl wants the state and the events, not
        the history: a long run's metrics over SSH would cost megabytes)."""
        self.files = as_run_files(run_dir)
        self.rows = rows
        self.path = self.files.path if isinstance(self.files, LocalFiles) else None
        self.clock = clock
        self.silent_s = silent_s
        self._metrics = _Tail(self.files, "metrics.csv")
        self._events = _Tail(self.files, "events.jsonl")
        self._status_watch = _Watch(clock)
        self._samples_watch = _Watch(clock)
        self.columns: list[str] = []
        self._sample: str | None = None
        self.status: dict | None = None
        self._last_sign = clock()
        self.last_event: dict | None = None
        self._polls = 0
        self._changed_before = True

    def poll(self) -> FollowUpdate:
        """What changed since the last poll. Raises :class:`engine.runfiles.ConnectionLost` (a
        remote folder) with nothing consumed: poll again once reconnected, and no row is missed
        or read twice."""
        saved = self._snapshot()
        try:
            return self._poll()
        except OSError:
            self._restore(saved)
            raise

    def _stats(self) -> dict[str, FileStat | None]:
        """The stats of this poll (the files that need no look now: None)."""
        self._polls += 1
        stats = self.files.stat_many(list(self.FILES))
        changed = (self._metrics.grew(stats["metrics.csv"]) or self._status_watch.due(stats[STATUS_FILE]))
        every = self.REMOTE_CHECK_ALL_EVERY if self.files.remote else 1
        more = changed or self._changed_before or self._polls % every == 1 % every
        self._changed_before = changed
        stats.update(self.files.stat_many(list(self.MORE_FILES)) if more else dict.fromkeys(self.MORE_FILES))
        return stats

    def _snapshot(self) -> dict:
        return {name: copy.copy(getattr(self, name)) for name in self.STATE}

    def _restore(self, saved: dict) -> None:
        for name, value in saved.items():
            setattr(self, name, value)

    def _poll(self) -> FollowUpdate:
        up = FollowUpdate()
        stats = self._stats()
        lines, top, up.reset = self._metrics.read(stats["metrics.csv"]) if self.rows else ([], False, False)
        if top and lines:  # the header
            self.columns = lines[0].decode("utf-8", "replace").split(",")
            lines = lines[1:]
        if lines and self.columns:
            up.rows = self._parse_rows(lines)
        ev_lines, _, _ = self._events.read(stats["events.jsonl"])
        for line in ev_lines:
            try:
                ev = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a damaged line is skipped, never shown
            if isinstance(ev, dict) and isinstance(ev.get("type"), str):
                up.events.append(ev)
                self.last_event = ev
        up.sample_name = self._newest_sample(stats["samples"])
        if up.sample_name is not None:
            up.sample = self.path / up.sample_name if self.path is not None else PurePosixPath(up.sample_name)
        self._read_status(up, stats[STATUS_FILE])
        if not up.empty:
            self._last_sign = self.clock()
        up.silent_s = self.clock() - self._last_sign
        up.state = self.state(up.silent_s)
        return up

    def _parse_rows(self, lines: list[bytes]) -> dict[str, list[float]]:
        ncols = len(self.columns)
        cols: dict[str, list[float]] = {c: [] for c in self.columns}
        for line in lines:
            parts = line.decode("utf-8", "replace").split(",")
            if len(parts) != ncols or not parts[0].isdigit():
                continue
            try:
                values = [float(v) if v else math.nan for v in parts]
            except ValueError:
                continue
            for c, v in zip(self.columns, values, strict=True):
                cols[c].append(v)
        return cols if cols[self.columns[0]] else {}

    def _newest_sample(self, st: FileStat | None) -> str | None:
        """``samples/NAME.png`` of the newest picture when it changed (the folder is listed only
        when its own stat changed)."""
        if not self._samples_watch.due(st):
            return None
        try:
            names = [n for n in self.files.listdir("samples") if n.endswith(".png") and not n.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return None
        self._samples_watch.read(st)
        if not names:
            return None
        newest = f"samples/{max(names)}"
        if newest == self._sample:
            return None
        self._sample = newest
        return newest

    def read_file(self, rel: str) -> bytes:
        """A file of the folder (a picture named by :attr:`FollowUpdate.sample_name`)."""
        return self.files.read(rel)

    def _read_status(self, up: FollowUpdate, st: FileStat | None) -> None:
        if not self._status_watch.due(st):
            return
        try:
            raw = self.files.read(STATUS_FILE)
        except (FileNotFoundError, IsADirectoryError):
            return
        status = parse_status(raw)
        if status is None:
            return  # being replaced right now: read it at the next look
        self._status_watch.read(st)
        if status == self.status:
            return
        self.status = status
        up.status = status

    @property
    def bytes_read(self) -> int:
        """Bytes read of metrics.csv and events.jsonl so far: what was added since each look, and
        the few bytes before it that tell whether the file was rewritten."""
        return self._metrics.bytes_read + self._events.bytes_read

    @property
    def run_status(self) -> RunStatus:
        """The last heartbeat read (:class:`engine.status.RunStatus`; not known: all zero)."""
        return RunStatus.from_dict(self.status)

    def state(self, silent_s: float) -> RunState:
        """The run as a user would say it: from its heartbeat and last event."""
        ended = {"finish": RunState.FINISHED, "stop": RunState.STOPPED, "error": RunState.FAILED}
        kind = (self.last_event or {}).get("type")
        if kind in ended:
            return ended[kind]
        st = RunState.parse((self.status or {}).get("state"))
        if st is not None and st.ended:
            return st
        if self.status is None and self.last_event is None:
            return RunState.STARTING  # nothing written yet
        if silent_s > self.silent_s:
            return RunState.NOT_RESPONDING
        return st if st in ACTIVE_STATES else RunState.RUNNING


def is_live(path: str | os.PathLike | RunFiles, *, clock=time.time, silent_s: float = SILENT_S) -> bool:
    """Whether another process is training (or has paused) the run in ``path`` right now: its
    heartbeat says so and was rewritten less than ``silent_s`` ago. Opening such a folder means
    following it, never continuing it (two trainers would write the same files)."""
    status = read_status(path)
    if not status or RunState.parse(status.get("state")) not in ACTIVE_STATES:
        return False
    age = heartbeat_age(path, clock=clock)
    return age is not None and age < silent_s


def heartbeat_age(path: str | os.PathLike | RunFiles, *, clock=time.time) -> float | None:
    """Seconds since the run's heartbeat (``status.json``) was last rewritten; None without one (a
    remote folder: by the server's clock against this one's)."""
    try:
        st = as_run_files(path).stat(STATUS_FILE)
    except OSError:
        return None
    return None if st is None else clock() - st.mtime


class Backoff:
    """The delay before the next look: ``base`` after a change, growing by ``factor`` up to
    ``most`` while nothing changes (a paused, ended or silent run costs few looks)."""

    def __init__(self, base: float, most: float, factor: float = 1.5):
        self.base, self.most, self.factor = base, most, factor
        self.delay = base

    def next(self, changed: bool) -> float:
        self.delay = self.base if changed else min(self.most, self.delay * self.factor)
        return self.delay


def describe_state(state: RunState | str, silent_s: float) -> str:
    """A sentence for the user."""
    state = RunState.parse(state) or state
    if state == RunState.NOT_RESPONDING:
        return (f"not responding: no sign of life for {silent_s:.0f} s (the process may have been killed or its "
                "machine lost; the run folder keeps the last checkpoint, continue it with wgan-train --resume)")
    if state == RunState.CONNECTION_LOST:
        return "connection lost, retrying (the run goes on on its machine; nothing is missed when it comes back)"
    return {RunState.STARTING: "starting (nothing written yet)", RunState.RUNNING: "training"}.get(state, str(state))

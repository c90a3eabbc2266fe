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

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .requests import STATUS_FILE, read_status
from .status import ACTIVE_STATES, RunState, RunStatus

SILENT_S = 30.0   # no new heartbeat for this long while "running" or "paused": not responding


@dataclass
class FollowUpdate:
    rows: dict[str, list[float]] = field(default_factory=dict)  # new metrics rows, by column
    reset: bool = False             # metrics.csv was rewritten: ``rows`` holds all of it again
    events: list[dict] = field(default_factory=list)
    sample: Path | None = None      # the newest picture, when it changed
    status: dict | None = None      # the heartbeat, when it changed
    state: RunState = RunState.STARTING  # from the heartbeat and the last event (starting: nothing written yet)
    silent_s: float = 0.0           # how long the heartbeat has not changed

    @property
    def empty(self) -> bool:
        return not (self.rows or self.events or self.sample or self.status or self.reset)


class _Tail:
    """The complete lines added to a file since the last call."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.ident: tuple | None = None
        self.head = b""
        self.bytes_read = 0     # every byte read so far (the header check included)

    def read(self) -> tuple[list[bytes], bool, bool]:
        """(new complete lines, whether they start at the top of the file, whether the file was
        replaced since the last call and is read from its start again)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return [], False, False
        ident = (st.st_dev, st.st_ino)
        reset = False
        if self.ident is not None and (ident != self.ident or st.st_size < self.offset):
            reset = True
        elif self.offset and self.head:
            with open(self.path, "rb") as fh:  # same inode, rewritten in place: the header changed
                self.bytes_read += len(self.head)
                if fh.read(len(self.head)) != self.head:
                    reset = True
        if reset:
            self.offset = 0
        self.ident = ident
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.bytes_read += len(data)
        end = data.rfind(b"\n")
        if end < 0:
            return [], False, reset
        chunk = data[:end + 1]
        top = self.offset == 0
        if top:
            self.head = chunk.split(b"\n", 1)[0] + b"\n"
        self.offset += len(chunk)
        return chunk.split(b"\n")[:-1], top, reset


class RunFollower:
    def __init__(self, run_dir: str | os.PathLike, *, clock=time.monotonic, silent_s: float = SILENT_S):
        self.path = Path(run_dir)
        self.clock = clock
        self.silent_s = silent_s
        self._metrics = _Tail(self.path / "metrics.csv")
        self._events = _Tail(self.path / "events.jsonl")
        self.columns: list[str] = []
        self._sample: Path | None = None
        self._status_raw: str | None = None
        self.status: dict | None = None
        self._last_sign = clock()
        self.last_event: dict | None = None

    def poll(self) -> FollowUpdate:
        up = FollowUpdate()
        lines, top, up.reset = self._metrics.read()
        if top and lines:  # the header
            self.columns = lines[0].decode("utf-8", "replace").split(",")
            lines = lines[1:]
        if lines and self.columns:
            up.rows = self._parse_rows(lines)
        ev_lines, _, _ = self._events.read()
        for line in ev_lines:
            try:
                ev = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a damaged line is skipped, never shown
            if isinstance(ev, dict) and isinstance(ev.get("type"), str):
                up.events.append(ev)
                self.last_event = ev
        up.sample = self._newest_sample()
        self._read_status(up)
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

    def _newest_sample(self) -> Path | None:
        try:
            names = [e.name for e in os.scandir(self.path / "samples") if e.name.endswith(".png")
                     and not e.name.startswith(".")]
        except FileNotFoundError:
            return None
        if not names:
            return None
        newest = self.path / "samples" / max(names)
        if newest == self._sample:
            return None
        self._sample = newest
        return newest

    def _read_status(self, up: FollowUpdate) -> None:
        try:
            raw = (self.path / STATUS_FILE).read_text(encoding="utf-8")
        except OSError:
            return
        if raw == self._status_raw:
            return
        status = read_status(self.path)
        if status is None:
            return  # being replaced right now: read it at the next look
        self._status_raw, self.status = raw, status
        up.status = status

    @property
    def bytes_read(self) -> int:
        """Bytes read of metrics.csv and events.jsonl so far: what was added since each look, and
        a file's first line to tell whether it was rewritten."""
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


def is_live(path: str | os.PathLike, *, clock=time.time, silent_s: float = SILENT_S) -> bool:
    """Whether another process is training (or has paused) the run in ``path`` right now: its
    heartbeat says so and was rewritten less than ``silent_s`` ago. Opening such a folder means
    following it, never continuing it (two trainers would write the same files)."""
    status = read_status(path)
    if not status or RunState.parse(status.get("state")) not in ACTIVE_STATES:
        return False
    age = heartbeat_age(path, clock=clock)
    return age is not None and age < silent_s


def heartbeat_age(path: str | os.PathLike, *, clock=time.time) -> float | None:
    """Seconds since the run's heartbeat (``status.json``) was last rewritten; None without one."""
    try:
        return clock() - (Path(path) / STATUS_FILE).stat().st_mtime
    except OSError:
        return None


def describe_state(state: RunState | str, silent_s: float) -> str:
    """A sentence for the user."""
    state = RunState.parse(state) or state
    if state == RunState.NOT_RESPONDING:
        return (f"not responding: no sign of life for {silent_s:.0f} s (the process may have been killed or its "
                "machine lost; the run folder keeps the last checkpoint, continue it with wgan-train --resume)")
    return {RunState.STARTING: "starting (nothing written yet)", RunState.RUNNING: "training"}.get(state, str(state))

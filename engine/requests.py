"""Steering a run through its folder: requests in ``RUN/requests/``, a heartbeat in ``RUN/status.json``.

Whoever can write to a run folder can steer its run. A request is one small JSON file,
written atomically (a temp name, then a rename to ``*.json``), so the trainer never reads half
of one::

    {"id": "…", "action": "pause" | "resume" | "step" | "stop" | "set",
     "key": "lr_critic", "value": 0.0002,   # "set" only (engine.LIVE_KEYS)
     "n": 1,                                 # "step" only
     "created": 1767225600.0, "by": "wgan-ctl"}

The trainer looks at the folder at its iteration boundaries (and while paused), at most every
:data:`POLL_S`; it validates each request with the same rules as the configuration, applies or
refuses it, deletes the file and records the outcome in ``events.jsonl`` as a ``request`` event
(``outcome`` "applied" with the iteration, or "refused" with the reason). A malformed request, a
stale one (written before the run started, or more than :data:`MAX_AGE_S` before it was read) or
one for a key that is not live is refused; none stops the run.

``status.json`` is the run's heartbeat, rewritten about every :data:`HEARTBEAT_S` while the run
lives (training or paused): state, iteration, speed, live values, process. A follower that sees no
new heartbeat for a while says the run stopped responding.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
import uuid
from pathlib import Path

from .config import LIVE_KEYS, ConfigError, live_value
from .io import replace_file
from .runfiles import RunFiles, as_run_files

REQUESTS_DIR = "requests"
STATUS_FILE = "status.json"
ACTIONS = ("pause", "resume", "step", "stop", "set")
POLL_S = 0.2
MAX_AGE_S = 600.0
HEARTBEAT_S = 1.0
MAX_REQUEST_BYTES = 64 * 1024


def requests_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / REQUESTS_DIR


def write_request(run_dir: str | os.PathLike | RunFiles, action: str, *, key: str | None = None, value=None, n: int = 1,
                  by: str = "", clock=time.time) -> dict:
    """Validate and write one request atomically; returns it (with its ``id``). Raises ConfigError
    for an unknown action, key or value, so a terminal or the studio hears at once."""
    req = make_request(action, key=key, value=value, n=n, by=by, clock=clock)
    send_request(run_dir, req)
    return req


def make_request(action: str, *, key: str | None = None, value=None, n: int = 1, by: str = "",
                 clock=time.time) -> dict:
    """One request, checked (ConfigError for an unknown action, key or value), not yet written."""
    if action not in ACTIONS:
        raise ConfigError("unknown action", key="action", value=action, allowed=", ".join(ACTIONS))
    req: dict = {"id": uuid.uuid4().hex[:12], "action": action, "created": clock(), "by": by}
    if action == "set":
        if key not in LIVE_KEYS:
            raise ConfigError("cannot be changed during a run", key=str(key), value=value, allowed=", ".join(LIVE_KEYS))
        req.update(key=key, value=live_value(key, value))
    elif action == "step":
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError("expected a whole number >= 1", key="n", value=n)
        req["n"] = n
    return req


def request_file_name(req: dict) -> str:
    """``NNNN-ID.json``: oldest first when sorted. A request sent again (a retry after a lost
    connection, whose first try may have arrived) keeps its name, and the trainer reads a name once."""
    return f"{time.time_ns():020d}-{req['id']}.json"


def send_request(run_dir: str | os.PathLike | RunFiles, req: dict, name: str | None = None) -> None:
    """Write ``req`` into the run folder's requests/ atomically (local or remote: the same code)
    as ``name`` (default: a new :func:`request_file_name`)."""
    files = as_run_files(run_dir)  # a local folder, or one on another machine (engine.remote)
    if not files.is_dir():
        raise FileNotFoundError(f"{files}: no such run folder")
    files.makedirs(REQUESTS_DIR)
    # a temp name (.NAME.json.tmp), then a rename: the trainer lists *.json only, never half a request
    files.write_atomic(f"{REQUESTS_DIR}/{name or request_file_name(req)}", json.dumps(req).encode("utf-8"))


def check_request(raw: bytes, *, run_started: float, now: float) -> tuple[dict | None, str | None]:
    """``(request, None)`` when it can be applied, ``(what we could read, reason)`` when refused."""
    try:
        req = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"malformed: not JSON ({e})"
    if not isinstance(req, dict):
        return None, "malformed: not a JSON object"
    return req, _action_problem(req) or _age_problem(req, run_started, now) or _fields_problem(req)


def _action_problem(req: dict) -> str | None:
    action = req.get("action")
    if action not in ACTIONS:
        return f"unknown action {action!r} (allowed: {', '.join(ACTIONS)})"
    return None


def _age_problem(req: dict, run_started: float, now: float) -> str | None:
    """Why the request is too old to apply: written before this part of the run, or long ago."""
    created = req.get("created")
    if isinstance(created, bool) or not isinstance(created, int | float) or not math.isfinite(created):
        return "malformed: no 'created' time"
    if created < run_started - 1.0:
        return "stale: written before this run (or this part of it) started"
    if now - created > MAX_AGE_S:
        return f"stale: written {now - created:.0f} s ago (requests older than {MAX_AGE_S:.0f} s are refused)"
    return None


def _fields_problem(req: dict) -> str | None:
    """What is wrong with a ``set``'s key or value (the value is coerced in place) or a ``step``'s n."""
    if req["action"] == "set":
        key = req.get("key")
        if key not in LIVE_KEYS:
            return f"{key!r} cannot be changed during a run (live parameters: {', '.join(LIVE_KEYS)})"
        try:
            req["value"] = live_value(key, req.get("value"))
        except ConfigError as e:
            return f"{e.problem} (allowed: {e.allowed})" if e.allowed else e.problem
    if req["action"] == "step":
        n = req.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            return f"step n = {n!r}: expected a whole number >= 1"
    return None


class RequestInbox:
    """The trainer's side: the requests waiting in the folder, oldest first, each read once."""

    def __init__(self, run_dir: str | os.PathLike, *, clock=time.time, poll_s: float = POLL_S):
        self.folder = requests_dir(run_dir)
        self.clock = clock
        self.poll_s = poll_s
        self.started = clock()
        self._next = -math.inf
        self.taken: set[str] = set()  # the names read: one sent again after a lost connection is read once

    def restart(self) -> None:
        """A new part of the run begins (started or resumed): older requests are stale."""
        self.started = self.clock()

    def take(self, force: bool = False) -> list[tuple[dict | None, str | None, str]]:
        """``[(request, refusal reason or None, file name)]`` of the waiting requests, each file
        removed once read; nothing when the last look was under ``poll_s`` ago (unless ``force``)."""
        now = self.clock()
        if not force and now < self._next:
            return []
        self._next = now + self.poll_s
        try:
            names = sorted(e.name for e in os.scandir(self.folder) if e.name.endswith(".json") and e.is_file())
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            path = self.folder / name
            try:
                with open(path, "rb") as fh:
                    raw = fh.read(MAX_REQUEST_BYTES + 1)
            except OSError:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
            if name in self.taken:
                continue
            self.taken.add(name)
            if len(raw) > MAX_REQUEST_BYTES:
                out.append((None, f"malformed: larger than {MAX_REQUEST_BYTES} bytes", name))
                continue
            req, reason = check_request(raw, run_started=self.started, now=now)
            out.append((req, reason, name))
        return out


def write_status(run_dir: str | os.PathLike, status: dict, *, clock=time.time) -> None:
    """Rewrite the heartbeat (a rename, so a reader sees the old or the new one; no fsync: it is
    rewritten every second and a lost one costs nothing)."""
    path = Path(run_dir) / STATUS_FILE
    body = {**status, "updated": clock(), "pid": os.getpid(), "host": socket.gethostname()}
    tmp = path.with_name(f".{STATUS_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, default=str), encoding="utf-8")
    replace_file(tmp, path)


def read_status(run_dir: str | os.PathLike | RunFiles) -> dict | None:
    try:
        raw = as_run_files(run_dir).read(STATUS_FILE)
    except OSError:
        return None
    return parse_status(raw)


def parse_status(raw: bytes) -> dict | None:
    """A heartbeat's bytes as a dict; None when it is not one (being replaced, damaged)."""
    try:
        status = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return None
    return status if isinstance(status, dict) else None

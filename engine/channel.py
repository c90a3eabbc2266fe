"""The run folder as a steering channel: the requests other processes write to RUN/requests/
(:mod:`engine.requests`: ``wgan-ctl``, a studio following the folder) and the heartbeat
(RUN/status.json) that tells a follower the run is alive.

The trainer serves the channel at every generator-iteration boundary and while paused
(:meth:`engine.trainer.Trainer.serve_requests`); both halves are throttled to a few file-system
calls a second. A request is applied through the trainer's own thread-safe requests (pause,
resume, stop, steps, live edits), so it takes effect at a boundary like one made in-process, and
every request, applied or refused, is logged as a "request" event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from .config import ConfigError
from .requests import HEARTBEAT_S, POLL_S, RequestInbox, write_status


class RequestChannel:
    """The requests waiting in ``folder``/requests/ and the heartbeat in ``folder``/status.json.
    ``target``: what applies a request (``pause``, ``resume``, ``stop``, ``request_step``,
    ``request_edit``: the trainer); ``event(kind, **fields)`` logs one; ``status()`` is the
    heartbeat's :class:`~engine.status.RunStatus`."""

    def __init__(self, folder: str | Path, target, event: Callable, status: Callable, poll_s: float = POLL_S):
        self.folder = Path(folder)
        self.inbox = RequestInbox(self.folder, poll_s=poll_s)
        self.target, self.event, self.status = target, event, status
        self.beating = False           # the heartbeat starts with the run (open)
        self._heartbeat_due = -math.inf

    def open(self) -> None:
        """A part of the run begins (started or resumed): requests written before it are stale,
        and the heartbeat starts."""
        self.inbox.restart()
        self.beating = True

    def serve(self) -> None:
        """Apply the requests waiting in the folder and beat the heart (both throttled)."""
        for req, reason, _name in self.inbox.take():
            self.apply(req, reason)
        self.heartbeat()

    def apply(self, req: dict | None, reason: str | None) -> None:
        """Apply one request (``reason``: why it is refused already, None when valid) and log it."""
        req = req if isinstance(req, dict) else {}
        action = req.get("action")
        fields = {"id": req.get("id"), "action": action, "by": req.get("by", "")}
        if action == "set":
            fields.update(key=req.get("key"), value=req.get("value"))
        if reason is None:
            try:
                self._apply(action, req)
            except ConfigError as e:  # refused with the config's own words; the run goes on
                reason = str(e)
        outcome = {"outcome": "refused", "reason": reason} if reason else {"outcome": "applied"}
        self.event("request", **fields, **outcome)

    def _apply(self, action: str, req: dict) -> None:
        t = self.target
        if action == "set":
            t.request_edit(**{req["key"]: req["value"]})
        elif action == "step":
            t.request_step(int(req.get("n", 1)))
        else:
            {"pause": t.pause, "resume": t.resume, "stop": t.stop}[action]()

    def heartbeat(self, force: bool = False) -> None:
        """Rewrite status.json (at most every HEARTBEAT_S unless ``force``: a state change)."""
        if not self.beating:
            return
        now = time.monotonic()
        if not force and now < self._heartbeat_due:
            return
        self._heartbeat_due = now + HEARTBEAT_S
        try:
            write_status(self.folder, self.status().to_dict())
        except OSError:  # a full disk must not stop the run for a heartbeat
            pass

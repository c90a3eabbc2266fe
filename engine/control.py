"""Run control: pause, single steps, stop, pending live edits and sample requests, asked for
from any thread and taken by the training loop at a generator-iteration boundary."""

from __future__ import annotations

import threading
import time

from .config import LIVE_KEYS, SCHEMA, ConfigError, coerce_value


class RunControl:
    """The thread-safe requests to a running loop. The GUI thread calls :meth:`pause`,
    :meth:`resume`, :meth:`request_step`, :meth:`stop`, :meth:`request_edit` and
    :meth:`request_samples`; the training thread asks :meth:`next_action` before each iteration
    and takes the edits and sample requests at the boundary."""

    def __init__(self):
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending_edits: list[tuple[str, float]] = []
        self._pause = False
        self._stop = False
        self._step_requests = 0
        self._samples_requested = False

    # ---------------------------------------------------------------- from any thread
    def _set(self, **flags) -> None:
        with self._wake:
            for name, value in flags.items():
                setattr(self, name, value)
            self._wake.notify_all()  # a paused loop re-reads its flags

    def pause(self) -> None:
        self._set(_pause=True)

    def resume(self) -> None:
        self._set(_pause=False)

    def stop(self) -> None:
        self._set(_stop=True)

    def request_step(self, n: int = 1) -> None:
        with self._wake:
            self._step_requests += n
            self._wake.notify_all()

    def request_samples(self) -> None:
        with self._lock:
            self._samples_requested = True

    def request_edit(self, **changes) -> None:
        """Queue live changes; ConfigError at once for an unknown key or a bad value."""
        checked = []
        for key, value in changes.items():
            if key not in LIVE_KEYS:
                raise ConfigError("cannot be changed during a run", key=key, value=value,
                                  allowed=", ".join(LIVE_KEYS))
            sec, name = LIVE_KEYS[key]
            checked.append((key, coerce_value(SCHEMA[f"{sec}.{name}"], value)))
        with self._wake:
            self._pending_edits.extend(checked)
            self._wake.notify_all()

    @property
    def paused(self) -> bool:
        return self._pause

    @property
    def stop_requested(self) -> bool:
        return self._stop

    @property
    def samples_requested(self) -> bool:
        return self._samples_requested

    # ---------------------------------------------------------------- the training thread
    def next_action(self) -> str:
        """What the loop does next: "stop", "run" (not paused), "step" (one requested step while
        paused) or "wait" (paused)."""
        with self._wake:
            if self._stop:
                return "stop"
            if not self._pause:
                return "run"
            if self._step_requests:
                self._step_requests -= 1  # one step while paused, then wait again
                return "step"
            return "wait"

    def wait_while_paused(self, timeout: float | None = None) -> bool | None:
        """Block while paused; return on resume (True), a stop or a step request (False), or
        after ``timeout`` seconds still paused (None)."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            while self._pause and not self._stop and self._step_requests == 0:
                left = 0.5 if end is None else min(0.5, end - time.monotonic())
                if left <= 0:
                    return None
                self._wake.wait(left)
            return not self._pause

    def take_edits(self) -> list[tuple[str, float]]:
        with self._lock:
            edits, self._pending_edits = self._pending_edits, []
        return edits

    def take_samples_request(self) -> None:
        with self._lock:
            self._samples_requested = False

    def clear_stop(self) -> None:
        with self._wake:
            self._stop = False

"""Run control: pause, single steps, stop, pending live edits, sample requests and calls to make
at the next boundary, asked for from any thread and taken by the training loop at a
generator-iteration boundary.

A front end may make the control before the trainer exists (building a run loads data and can
take a while) and hand it to the trainer (``Trainer(..., control=c)``): whatever was asked of it
meanwhile (a pause, a stop, live edits, calls) is kept and takes effect at the first iteration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from .config import live_value


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
        self._calls: list[tuple[Callable, Future]] = []
        self._trainer = None          # set by the trainer that runs this control (attach)
        self._ended: BaseException | bool = False  # the loop has ended (or the exception that kept it from starting)

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
        checked = [(key, live_value(key, value)) for key, value in changes.items()]
        with self._wake:
            self._pending_edits.extend(checked)
            self._wake.notify_all()

    def call_at_boundary(self, fn: Callable) -> Future:
        """``fn(trainer)`` where it cannot race the training loop: on the training thread at the
        next generator-iteration boundary (also while paused: the waiting loop wakes for it), or
        at once on the caller's thread when the loop has ended. The future holds its result or
        its exception."""
        fut: Future = Future()
        with self._wake:
            ended, trainer = self._ended, self._trainer
            if ended is False:
                self._calls.append((fn, fut))
                self._wake.notify_all()
                return fut
        if isinstance(ended, BaseException):
            fut.set_exception(ended)
        else:
            _complete(fut, fn, trainer)
        return fut

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
        after ``timeout`` seconds or for a boundary call still paused (None)."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            while self._pause and not self._stop and self._step_requests == 0 and not self._calls:
                left = 0.5 if end is None else min(0.5, end - time.monotonic())
                if left <= 0:
                    return None
                self._wake.wait(left)
            if self._pause and not self._stop and self._step_requests == 0:
                return None  # still paused: woken for a boundary call
            return not self._pause

    def wants_calls(self) -> bool:
        return bool(self._calls)

    def attach(self, trainer) -> None:
        """The trainer that takes this control's requests (the argument of the boundary calls)."""
        with self._lock:
            self._trainer = trainer
            self._ended = False

    def run_calls(self) -> None:
        """Make the calls waiting for a boundary (the training thread, at one)."""
        with self._lock:
            calls, self._calls = self._calls, []
            trainer = self._trainer
        for fn, fut in calls:
            _complete(fut, fn, trainer)

    def end(self, error: BaseException | None = None) -> None:
        """The loop has ended (or, with ``error``, the trainer could not be built): the calls still
        waiting are made now (or fail with ``error``), later ones at once."""
        with self._wake:
            self._ended = error if error is not None else True
            calls, self._calls = self._calls, []
            trainer = self._trainer
        for fn, fut in calls:
            if error is not None:
                fut.set_exception(error)
            else:
                _complete(fut, fn, trainer)

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


def _complete(fut: Future, fn: Callable, trainer) -> None:
    try:
        fut.set_result(fn(trainer))
    except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
        fut.set_exception(e)

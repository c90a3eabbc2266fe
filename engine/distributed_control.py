"""The control messages of a data-parallel run (:mod:`engine.distributed`): rank 0 decides.

Requests made to rank 0's trainer (pause, resume, stop, steps, sample requests, live edits, from
any thread, or from the run folder's request files) wait in its :class:`RequestOutbox`. At each
generator-iteration boundary rank 0 writes them, with whether to report at this iteration, into
one small float64 CPU tensor (:func:`encode`), broadcasts it over a gloo group, and every process
applies the same message to its own :class:`~engine.control.RunControl` (:func:`apply`), so every
request takes effect everywhere at the same iteration.

The message: ``[report due, number of ops, (op, a, b) x MAX_OPS]``; ``a`` and ``b`` are the op's
arguments (steps: a = n; edits: a = the live key's index in LIVE_KEYS, b = the value).
"""

from __future__ import annotations

import threading

import torch

from .config import LIVE_KEYS, live_value

PAUSE, RESUME, STOP, STEP, SAMPLES, EDIT = 1, 2, 3, 4, 5, 6
LIVE = list(LIVE_KEYS)
MAX_OPS = 16
MESSAGE_LEN = 2 + 3 * MAX_OPS  # [report due, number of ops, (op, a, b) x MAX_OPS]


class RequestOutbox:
    """Requests made to rank 0 (any thread), kept in order until the next boundary sends them.
    The same methods as a :class:`~engine.control.RunControl`'s requests."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ops: list[tuple[int, float, float]] = []

    def put(self, op: int, a: float = 0.0, b: float = 0.0) -> None:
        with self._lock:
            self._ops.append((op, float(a), float(b)))

    def take(self, n: int) -> list[tuple[int, float, float]]:
        """The ``n`` oldest requests (the rest wait for the next boundary)."""
        with self._lock:
            ops, self._ops = self._ops[:n], self._ops[n:]
        return ops

    def pause(self) -> None:
        self.put(PAUSE)

    def resume(self) -> None:
        self.put(RESUME)

    def stop(self) -> None:
        self.put(STOP)

    def request_step(self, n: int = 1) -> None:
        self.put(STEP, n)

    def request_samples(self) -> None:
        self.put(SAMPLES)

    def request_edit(self, **changes) -> None:
        """Queue live changes; ConfigError at once for an unknown key or a bad value (as
        :meth:`engine.control.RunControl.request_edit`)."""
        checked = [(key, live_value(key, value)) for key, value in changes.items()]
        for key, value in checked:
            self.put(EDIT, LIVE.index(key), value)


def encode(msg: torch.Tensor, report: bool, ops: list[tuple[int, float, float]]) -> torch.Tensor:
    """Write the boundary's message into ``msg`` (MESSAGE_LEN float64, reused)."""
    msg.zero_()
    msg[0] = float(report)
    msg[1] = len(ops)
    for i, op in enumerate(ops):
        msg[2 + 3 * i:5 + 3 * i] = torch.tensor(op, dtype=torch.float64)
    return msg


_APPLY = {
    PAUSE: lambda c, a, b: c.pause(),
    RESUME: lambda c, a, b: c.resume(),
    STOP: lambda c, a, b: c.stop(),
    STEP: lambda c, a, b: c.request_step(int(a)),
    SAMPLES: lambda c, a, b: c.request_samples(),
    EDIT: lambda c, a, b: c.request_edit(**{LIVE[int(a)]: b}),
}


def apply(msg: torch.Tensor, control) -> bool:
    """Apply a boundary's message to this process's ``control``; returns whether to report at
    this iteration."""
    vals = msg.tolist()
    for i in range(int(vals[1])):
        op, a, b = vals[2 + 3 * i:5 + 3 * i]
        _APPLY[int(op)](control, a, b)
    return vals[0] > 0

"""A run's CPU thread count: a fixed ``[train] threads``; with 0, a tuner that tries counts while
training (:class:`engine.threads.ThreadTuner`); or, when several processes share the machine, the
strategy's even share of its cores (:meth:`engine.distributed.DataParallel.thread_share`).

The count is PyTorch's process-wide setting, which every thread started later inherits: a run
sets it on its training thread when it starts (:meth:`RunThreads.take`) and gives the one before
back when it ends (:meth:`RunThreads.given_back`). Kept, a count the tuner was trying when the run
ended (or chose under load) became the next run's ceiling in the same process, and the studio,
which runs every run in one process, trained its second and later runs on one thread
(benchmarks/gui_overhead.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

from .threads import ThreadTuner, others_cpu_s


class RunThreads:
    """The thread count of a run on ``device`` with ``threads`` (``[train] threads``; 0: automatic).
    ``share()``: the strategy's share of the machine's cores, or None to tune."""

    def __init__(self, device: torch.device, threads: int, share: Callable[[], int | None]):
        self.cpu = device.type == "cpu"
        self.fixed = threads if threads > 0 else None
        self.tuner: ThreadTuner | None = None
        self.share: int | None = None
        if self.cpu and threads == 0:
            tuner = ThreadTuner(others=others_cpu_s)
            if tuner.active:
                self.share = share()
                self.tuner = tuner if self.share is None else None

    def take(self) -> None:
        """Set the run's count (on the training thread: it runs the ops)."""
        if not self.cpu:
            return
        if self.fixed is not None:
            torch.set_num_threads(self.fixed)
        elif self.tuner is not None:
            self.tuner.resume()
        if self.share is not None:
            torch.set_num_threads(self.share)

    @contextlib.contextmanager
    def given_back(self) -> Iterator[None]:
        """The count before the run, set again when it ends."""
        before = torch.get_num_threads() if self.cpu else None
        try:
            yield
        finally:
            if before is not None and torch.get_num_threads() != before:
                torch.set_num_threads(before)

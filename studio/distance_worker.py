"""The distance lab's worker: runs :func:`engine.distance.sweep` for one or more objectives in a
``QThread`` and turns its callbacks into Qt signals.

Same shape as :mod:`studio.worker`: a ``QObject`` moved to a
``QThread`` by :func:`studio.worker.start_worker` (so :func:`studio.worker.live_threads` sees the
thread); the sweep blocks that thread, so :meth:`DistanceWorker.stop` is a plain thread-safe method
(a ``threading.Event`` the engine polls through ``should_stop``), not a queued slot. Signals carry
plain dicts. Progress is throttled to ``progress_interval_s``; every result is emitted as it
arrives (there is at most one every few tenths of a second).

The compute part is :func:`engine.distance.run_plan`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal, Slot

from engine import distance as lab

log = logging.getLogger(__name__)


class DistanceWorker(QObject):
    """One sweep over ``thetas`` for each of ``objectives``. Create, then hand to
    :func:`studio.worker.start_worker` (it moves the worker to a new ``QThread``, calls :meth:`run`
    there and quits the thread when :attr:`done` is emitted)."""

    result = Signal(object)      # one engine result dict, as soon as it is measured
    progress = Signal(object)    # a progress dict (see engine.distance.run_plan), at most every progress_interval_s
    failed = Signal(str, str)    # user message, details (traceback)
    done = Signal(object)        # summary: {"status": "finished" | "stopped" | "error", "results": n, "elapsed_s"}

    def __init__(self, thetas: Sequence[float], objectives: Sequence[str], settings: lab.LabSettings, *,
                 device=None, progress_interval_s: float = 0.1):
        super().__init__()
        # Validated here, in the GUI thread, so a bad value is reported before any thread starts.
        self.settings = lab.plan_settings(settings, objectives)
        self.thetas = [float(t) for t in thetas]
        self.device = device
        self.progress_interval_s = progress_interval_s
        self._stop = threading.Event()
        self._last_progress = -math.inf  # the first report is emitted at once

    def stop(self) -> None:
        """Thread-safe: the engine sees it at its next poll (every 50 critic steps)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def _on_progress(self, p: dict) -> None:
        now = time.monotonic()
        if now - self._last_progress >= self.progress_interval_s or p["step"] == p["steps"]:
            self._last_progress = now
            self.progress.emit(p)

    @Slot()
    def run(self) -> None:
        t0 = time.perf_counter()
        n = [0]

        def on_result(r: dict) -> None:
            n[0] += 1
            self.result.emit(dict(r))

        status = "finished"
        try:
            lab.run_plan(self.thetas, self.settings, device=self.device, on_result=on_result,
                     on_progress=self._on_progress, should_stop=self._stop.is_set)
        except lab.DistanceStopped:
            status = "stopped"
        except BaseException as e:  # noqa: BLE001 - every error must reach the user, none kill the app
            log.exception("distance sweep failed")
            status = "error"
            self.failed.emit(f"{type(e).__name__}: {e}", traceback.format_exc())
        finally:
            self.done.emit({"status": status, "results": n[0], "elapsed_s": time.perf_counter() - t0})

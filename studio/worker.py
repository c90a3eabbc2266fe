"""The worker: runs one :class:`engine.Trainer` in a ``QThread`` and turns its callbacks into
Qt signals.

Threading model (docs/ARCHITECTURE.md, "Threads and signals"):

- ``TrainingWorker`` is a ``QObject`` moved to a ``QThread`` (no parent). The thread's
  ``started`` signal calls :meth:`TrainingWorker.run`, which builds the Trainer (data loading
  can be slow, so not in the GUI thread) and calls the blocking ``Trainer.run()``.
- Because ``run()`` blocks the worker thread, queued slots on the worker would never run. The
  controls (pause, resume, step, stop, live edits) are therefore plain methods that call the
  engine's own thread-safe :class:`engine.control.RunControl` directly from the GUI thread. The
  worker makes it before the Trainer (which can take a while to build) and hands it over: what
  is asked meanwhile applies at the first iteration. Work that must not race the loop (a copy of
  the generator for an export) is a future of ``RunControl.call_at_boundary``.
- Only this module reads the Trainer: what it hands out is signals (rows, payloads, events,
  :class:`engine.status.RunStatus` from the observers' ``on_status``) and futures.
- The engine calls its observers on the training thread. :class:`_Bridge` re-emits them as
  signals of the worker; the receivers live in the GUI thread, so Qt queues them. The signals
  carry plain NumPy arrays and dicts (``Signal(object)``); no Qt object crosses threads.
- The engine batches metrics; the studio asks for a report every :data:`REPORT_S` (5 a second,
  the plots' fastest redraw rate; ``wgan-train`` reports 10 a second): each report is a signal
  that wakes the GUI thread, whose handling of the rows then holds the GIL the training thread
  needs (benchmarks/gui_overhead.py). Nothing more is throttled here except the live samples,
  made at most every ``live_samples_s``.

Live samples cost training time (docs/figures.md, "The studio"), so the worker makes them itself, at a
report boundary on the training thread, more cheaply than ``Trainer.make_samples``: the heat map
on a coarser ``live_field_res`` grid (the view draws it smoothly scaled), the gradient
arrows only while ``live_arrows`` is on, nothing while ``live_samples_enabled`` is off (the window
can switch it off while the samples are not shown), and never more than :data:`LIVE_BUDGET` of
the training time (a slow machine or a big critic gets fewer pictures, not a slower run).
The pictures the engine writes to the run folder are unchanged. See :func:`live_toy_payload`.
"""

from __future__ import annotations

import copy
import gc
import logging
import math
import threading
import time
import traceback
import weakref
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from engine import Config, RunState, Trainer
from engine.continuation import Continuation, continue_run
from engine.control import RunControl

# Live heat map grid (the engine's pictures: engine.sampling.FIELD_RES, 64). 32: 1,024 critic
# evaluations, ~8 ms on 2 cores for the toy preset's critic, where 40 x 40 took ~11-13 ms and
# 64 x 64 ~35 ms; the view draws it smoothly scaled.
LIVE_FIELD_RES = 32
REPORT_S = 0.2        # seconds between metrics reports of a run in the studio (see the module doc)
# Seconds between the status signals of a run (the status bar redraws once a second); a change of
# state is sent at once. One signal fewer per report: each one wakes the GUI thread.
STATUS_S = 1.0
# The share of training time the live toy pictures may take: they are made at most every
# ``live_samples_s``, and less often when one takes longer than LIVE_BUDGET of that interval
# (a ~12 ms picture: one every 1.2 s). Every share of the training thread's time the studio
# takes is a share of throughput lost (benchmarks/gui_overhead.py, issue 22 point 4).
LIVE_BUDGET = 0.01

log = logging.getLogger(__name__)

# Every thread the studio starts, so tests (and the close handler) can check none is left.
_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()


def live_threads() -> list[QThread]:
    out = []
    for t in list(_THREADS):
        try:
            if t.isRunning():
                out.append(t)
        except RuntimeError:  # the C++ object is already gone: it is not running
            pass
    return out


class _Bridge:
    """The engine observer. Runs on the training thread; never touches a widget."""

    def __init__(self, worker: TrainingWorker):
        self.worker = worker

    def on_metrics(self, cols):
        w = self.worker
        w.metrics.emit(cols)
        now = w.clock()
        trainer = w.trainer
        if (trainer is not None and w.live_samples_enabled and w.live_samples_s > 0
                and now - w._last_samples_t >= max(w.live_samples_s, w._samples_wait_s)):
            w._last_samples_t = now
            if not trainer.is_toy:
                trainer.request_samples()  # images: the fixed-noise batch at the next boundary
            elif _finite_report(cols):
                # This is a generator-iteration boundary on the training thread: the networks
                # are between updates. (After a NaN/Inf report the engine rolls back or stops;
                # no picture of the broken state.)
                try:
                    payload = live_toy_payload(trainer, w.live_field_res, w.live_arrows)
                except Exception:  # noqa: BLE001 - a missing picture must never stop the run
                    log.exception("live samples failed")
                else:
                    w._samples_wait_s = (w.clock() - now) / w.live_budget
                    w.samples.emit(payload)

    def on_samples(self, payload):
        self.worker._last_samples_t = self.worker.clock()
        self.worker.samples.emit(payload)

    def on_event(self, event):
        self.worker.event.emit(dict(event))

    def on_state(self, state):
        self.worker.state_changed.emit(str(state))

    def on_status(self, status):
        w = self.worker
        now = w.clock()
        # Throttled while it runs only: a paused run reports after a step, and that must show.
        if status.state != RunState.RUNNING or status.state != w._status_state or now - w._status_t >= STATUS_S:
            w._status_state, w._status_t = status.state, now
            w.status.emit(status)


_warm_up: threading.Thread | None = None


def warm_up() -> threading.Thread:
    """Import, in a background thread, what the first run would otherwise import on the training
    thread: the first ``torch.optim`` optimiser imports ``torch._dynamo`` (and sympy), seconds of
    imports. Call it once the window is shown (idempotent; returns the thread).

    The collector is off during the import: the imports create so many objects that they set off
    full collections, each walking every object of torch, sympy and Qt while holding the GIL, and
    those, not the imports, froze the window (docs/figures.md, "The studio"). Afterwards ``gc.freeze()``
    moves everything alive by then, all long-lived, out of the collector's reach."""
    global _warm_up
    if _warm_up is None:
        def work():
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                import torch._dynamo  # noqa: F401
            except Exception:  # noqa: BLE001 - only a head start; the run imports it anyway
                log.debug("warm-up import failed", exc_info=True)
            finally:
                gc.freeze()
                if was_enabled:
                    gc.enable()

        _warm_up = threading.Thread(target=work, name="warm-up", daemon=True)
        _warm_up.start()
    return _warm_up


def _finite_report(cols) -> bool:
    return all(np.isfinite(np.asarray(cols[k], dtype=np.float64)).all()
               for k in ("w_estimate", "critic_loss", "generator_loss") if k in cols)


def checkpoint_samples(checkpoint: str | Path) -> dict:
    """The sample payload of a checkpoint (the run's fixed batch, as its live view shows it); slow:
    call it off the GUI thread (a :class:`Task`)."""
    return Trainer.from_checkpoint(checkpoint).make_samples(write=False)


def live_toy_payload(trainer: Trainer, field_res: int = LIVE_FIELD_RES, arrows: bool = True) -> dict:
    """The toy view's picture, as ``Trainer.make_samples(write=False)`` hands it over (same keys),
    but made for the live view: the critic's value on a ``field_res`` x ``field_res`` grid, and
    its gradient arrows only when ``arrows``. Call it on the training thread, at a boundary."""
    return trainer.sample_payload(field_res, arrows)


class TrainingWorker(QObject):
    """One training run. Create, move to a QThread, connect, start the thread (see
    :func:`start_worker`). The only studio object that reads the engine's ``Trainer``: what it
    hands out are signals (rows, payloads, events, :class:`engine.status.RunStatus`) and futures
    (:meth:`snapshot_generator`)."""

    ready = Signal(object)          # {"values", "device", "warnings", "num_classes"}, once built
    metrics = Signal(object)        # dict[str, np.ndarray], a batch of rows
    samples = Signal(object)        # sample payload dict
    event = Signal(object)          # event dict (start, edit, pause, resume, stop, finish, error, ...)
    status = Signal(object)         # engine.status.RunStatus, at every report and state change
    state_changed = Signal(str)     # engine.status.RunState value
    failed = Signal(str, str)       # user message, details (traceback)
    done = Signal(object)           # summary dict, or None after an error

    def __init__(self, config: Config | None = None, run_dir: str | Path | None = None, *,
                 plan: Continuation | None = None, report_interval_s: float = REPORT_S,
                 live_samples_s: float = 1.0):
        super().__init__()
        if config is None and plan is None:
            raise ValueError("a config (new run) or a continuation plan (continue a run) is needed")
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.plan = plan
        self.report_interval_s = report_interval_s
        self.live_samples_s = live_samples_s
        # Live-picture options, read on the training thread (plain attributes: set them from
        # the GUI thread at any time).
        self.live_samples_enabled = True     # off: no live pictures (e.g. while they are not shown)
        self.live_field_res = LIVE_FIELD_RES
        self.live_arrows = True              # the toy view's "gradient arrows" check box
        self.trainer: Trainer | None = None
        # The controls, made before the trainer: requests made before it exists apply at its
        # first iteration (the engine keeps them).
        self.control = RunControl()
        # The clock of the live pictures' schedule (tests inject their own). The first picture is
        # due at once: a 0 baseline would hold it back until time.monotonic() (seconds since
        # boot) exceeds live_samples_s.
        self.clock = time.monotonic
        self.live_budget = LIVE_BUDGET
        self._last_samples_t = -math.inf
        self._status_t, self._status_state = -math.inf, None  # the last status sent (STATUS_S)
        self._samples_wait_s = 0.0   # the last toy picture's cost / live_budget

    # ------------------------------------------------------------------ the thread's body
    @Slot()
    def run(self) -> None:
        summary = None
        try:
            trainer = self._build()
            self.trainer = trainer
            st = trainer.status()
            self.ready.emit({"values": dict(st.live), "device": st.device, "warnings": list(trainer.warnings),
                             "num_classes": int(trainer.num_classes)})
            summary = trainer.run()
        except BaseException as e:  # noqa: BLE001 - every error must reach the user, none kill the app
            log.exception("training failed")
            if self.trainer is None:
                self.control.end(e)
            self.failed.emit(f"{type(e).__name__}: {e}", traceback.format_exc())
        finally:
            self.done.emit(summary)

    def _build(self) -> Trainer:
        kw = {"observers": [_Bridge(self)], "report_interval_s": self.report_interval_s, "control": self.control}
        if self.plan is not None:
            return continue_run(self.plan, **kw)
        return Trainer(self.config, self.run_dir, **kw)

    # ------------------------------------------------------------------ thread-safe controls
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def step(self, n: int = 1) -> None:
        self.control.request_step(n)

    def stop(self) -> None:
        self.control.stop()

    def request_edit(self, **changes) -> None:
        """Raises ``ConfigError`` at once for a bad value (the engine validates immediately)."""
        self.control.request_edit(**changes)

    def snapshot_generator(self) -> Future:
        """A private copy of the generator (and the iteration it is at) for exports while the
        run goes on: sampling the live network from the GUI thread would race the optimiser. The
        copy is made at the next generator-iteration boundary (engine.control's
        ``call_at_boundary``), or at once when the run's loop has ended."""
        def snap(trainer):
            return copy.deepcopy(trainer.sampler).cpu(), int(trainer.gen_iter)
        return self.control.call_at_boundary(snap)


class RunHandle:
    """A started worker and its thread, kept together so neither is garbage-collected early."""

    def __init__(self, worker: TrainingWorker, thread: QThread):
        self.worker = worker
        self.thread = thread

    def is_running(self) -> bool:
        try:
            return self.thread.isRunning()
        except RuntimeError:
            return False

    def stop_and_wait(self, timeout_s: float = 60.0, process_events=None) -> bool:
        """Ask the trainer to stop at a boundary (it writes checkpoints/latest.pt), wake it if
        paused, and wait for the thread to end while keeping the GUI painting."""
        self.worker.stop()
        deadline = time.monotonic() + timeout_s
        while self.is_running() and time.monotonic() < deadline:
            if process_events is not None:
                process_events()
            if self.is_running():
                self.thread.wait(20)
        if process_events is not None:
            process_events()  # deliver the last queued signals (stop event, final state)
        return not self.is_running()


def start_worker(worker: TrainingWorker, connect=None) -> RunHandle:
    """Move ``worker`` to a new QThread, let ``connect(worker, thread)`` hook up the signals,
    then start the thread. The thread quits by itself when the run ends."""
    thread = QThread()
    thread.setObjectName("training")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: quit() is thread-safe and must not wait for the GUI thread's event loop. A quit
    # before the thread's own loop starts makes exec() return at once (QThread::exit docs).
    worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    if connect is not None:
        connect(worker, thread)
    _THREADS.add(thread)
    thread.start()
    return RunHandle(worker, thread)


class _FunctionWorker(QObject):
    done = Signal(object)
    failed = Signal(str, str)

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as e:  # noqa: BLE001 - reported to the GUI
            log.exception("background task failed")
            self.failed.emit(f"{type(e).__name__}: {e}", traceback.format_exc())
        else:
            self.done.emit(result)


class Task:
    """Run ``fn()`` in its own QThread (loading a checkpoint, sampling a big grid) and deliver
    the result to ``on_done`` / ``on_error`` in the GUI thread."""

    def __init__(self, fn, on_done, on_error, parent: QObject | None = None):
        self.worker = _FunctionWorker(fn)
        self.thread = QThread()
        self.thread.setObjectName("task")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        # `relay` lives in the GUI thread, so the user's callbacks run there (queued connections).
        self.relay = _Relay(on_done, on_error, parent)
        self.worker.done.connect(self.relay.on_done)
        self.worker.failed.connect(self.relay.on_error)
        self.worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.worker.failed.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        _THREADS.add(self.thread)
        self.thread.start()

    def is_running(self) -> bool:
        try:
            return self.thread.isRunning()
        except RuntimeError:
            return False

    def wait(self, ms: int = 30_000) -> bool:
        return self.thread.wait(ms)


class _Relay(QObject):
    def __init__(self, on_done, on_error, parent=None):
        super().__init__(parent)
        self._done, self._error = on_done, on_error

    @Slot(object)
    def on_done(self, result) -> None:
        self._done(result)

    @Slot(str, str)
    def on_error(self, message: str, details: str) -> None:
        self._error(message, details)

"""Where the current run's data come from.

A :class:`RunSource` reports one run through its signals, in the GUI thread and in the order the
run produced them, and takes the user's controls. :class:`studio.run_model.RunModel` listens to
exactly one source at a time. Today's source is :class:`LocalSource`, a Trainer on a thread of
this process; a run folder written by another process (followed by polling metrics.csv and
events.jsonl) is meant to be a second one beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from engine import LIVE_KEYS
from studio.worker import RunHandle, TrainingWorker, start_worker


@dataclass
class Progress:
    """Where a run is, for the status bar. ``None``: not known (yet)."""

    gen_iter: int = 0
    total: int = 0
    its_per_sec: float | None = None
    elapsed_s: float | None = None
    device: str = ""


class RunSource(QObject):
    """The interface. A source emits, in this order: ``ready`` once (the run can be steered),
    then any ``metrics``, ``samples``, ``event`` and ``state_changed``, and ``ended`` last
    (after ``failed`` when the run failed). Nothing comes after ``ended``."""

    ready = Signal(object)          # {"values": live values, "device": str, "warnings": [str]}
    metrics = Signal(object)        # a batch of metrics rows: {column: array}
    samples = Signal(object)        # a sample payload (Trainer.make_samples' keys)
    event = Signal(object)          # an events.jsonl record
    state_changed = Signal(str)     # the engine's state name
    failed = Signal(str, str)       # message for the user, details
    ended = Signal()

    can_steer = False               # whether pause/resume/step/stop/request_edit reach the run
    trainer = None                  # the in-process Trainer, if any (exports, the status bar)
    worker = None                   # the in-process TrainingWorker, if any

    def start(self) -> None:
        raise NotImplementedError

    def is_running(self) -> bool:
        raise NotImplementedError

    def progress(self) -> Progress:
        return Progress()

    def live_values(self) -> dict:
        """The run's live parameters now (``engine.LIVE_KEYS``), as far as known."""
        return {}

    def set_live_view(self, samples: bool, arrows: bool) -> None:
        """What the window shows: live pictures only while ``samples``, arrows while ``arrows``."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def step(self, n: int = 1) -> None: ...
    def stop(self) -> None: ...

    def request_edit(self, **changes) -> None:
        raise RuntimeError("this run cannot be steered from here")

    def stop_and_wait(self, timeout_s: float, process_events=None) -> bool:
        """Ask the run to stop and wait up to ``timeout_s`` for it; True once it has."""
        return True


class LocalSource(RunSource):
    """A :class:`studio.worker.TrainingWorker` on its own QThread. The worker's signals come from
    the training thread; the slots here live in the GUI thread, so Qt queues them, in order, and
    the thread's ``finished`` (queued after everything the run sent) becomes ``ended``."""

    can_steer = True

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.handle: RunHandle | None = None

    @property
    def trainer(self):
        return self.worker.trainer

    def start(self) -> None:
        self.handle = start_worker(self.worker, self._connect)

    def _connect(self, worker: TrainingWorker, thread) -> None:
        worker.ready.connect(self._on_ready)
        worker.metrics.connect(self._on_metrics)
        worker.samples.connect(self._on_samples)
        worker.event.connect(self._on_event)
        worker.state_changed.connect(self._on_state)
        worker.failed.connect(self._on_failed)
        thread.finished.connect(self._on_finished)

    @Slot(object)
    def _on_ready(self, trainer) -> None:
        self.ready.emit({"values": self.live_values(), "device": str(trainer.device),
                         "warnings": list(trainer.warnings)})

    @Slot(object)
    def _on_metrics(self, cols) -> None:
        self.metrics.emit(cols)

    @Slot(object)
    def _on_samples(self, payload) -> None:
        self.samples.emit(payload)

    @Slot(object)
    def _on_event(self, ev) -> None:
        self.event.emit(ev)

    @Slot(str)
    def _on_state(self, state: str) -> None:
        self.state_changed.emit(state)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.failed.emit(message, details)

    @Slot()
    def _on_finished(self) -> None:
        # No deleteLater: the worker and thread have no Qt parent, so Python frees them once the
        # last reference (this source, or a close handler still waiting) is gone.
        self.handle = None
        self.ended.emit()

    def is_running(self) -> bool:
        return self.handle is not None

    def progress(self) -> Progress:
        t = self.trainer
        if t is None:
            return Progress()
        elapsed_fn = getattr(t, "_elapsed", None)  # the engine has no public live elapsed time
        elapsed = elapsed_fn() if callable(elapsed_fn) else float(getattr(t, "elapsed_s", 0.0))
        return Progress(int(t.gen_iter), int(t.total_iters), float(t.its_per_sec or 0.0), elapsed, str(t.device))

    def live_values(self) -> dict:
        t = self.trainer
        return {k: v for k, v in dict(t.hp).items() if k in LIVE_KEYS} if t is not None else {}

    def set_live_view(self, samples: bool, arrows: bool) -> None:
        # Plain attributes the worker reads between iterations.
        self.worker.live_arrows = arrows
        self.worker.live_samples_enabled = samples

    def pause(self) -> None:
        self.worker.pause()

    def resume(self) -> None:
        self.worker.resume()

    def step(self, n: int = 1) -> None:
        self.worker.step(n)

    def stop(self) -> None:
        self.worker.stop()

    def request_edit(self, **changes) -> None:
        self.worker.request_edit(**changes)

    def stop_and_wait(self, timeout_s: float, process_events=None) -> bool:
        handle = self.handle
        return handle.stop_and_wait(timeout_s, process_events) if handle is not None else True

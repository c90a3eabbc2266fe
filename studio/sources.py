"""Where a run's data come from: each source feeds its own :class:`studio.runs.Run`.

A :class:`RunSource` reports one run through its signals, in the order the run produced them,
and takes the user's controls. :meth:`RunSource.feed` connects those signals to the run's own
methods, handled in the GUI thread (the source lives there; signals emitted on another thread
are queued to it): :class:`LocalSource`, a Trainer on a thread of this process;
:class:`FolderSource`, a run folder written by another process (followed by polling its files and
steered through request files); :class:`ProcessSource`, a job this studio started and follows.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path, PurePosixPath

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine.status import RunState, RunStatus
from studio.runs import FOLDER, LOCAL, PROCESS
from studio.worker import RunHandle, TrainingWorker, start_worker

log = logging.getLogger(__name__)


class RunSource(QObject):
    """The interface. A source emits, in this order: ``ready`` once (the run can be steered),
    then any ``metrics``, ``samples``, ``event``, ``status`` and ``state_changed``, and ``ended``
    last (after ``failed`` when the run failed). Nothing comes after ``ended``."""

    ready = Signal(object)          # {"values": live values, "device": str, "warnings": [str]}
    metrics = Signal(object)        # a batch of metrics rows: {column: array}
    samples = Signal(object)        # a sample payload (Trainer.make_samples' keys)
    event = Signal(object)          # an events.jsonl record
    status = Signal(object)         # an engine.status.RunStatus
    state_changed = Signal(str)     # an engine.status.RunState value
    failed = Signal(str, str)       # message for the user, details
    ended = Signal()
    metrics_reset = Signal()        # the rows so far are no longer the run's: they come again
    note = Signal(str)              # a line of the studio's own for the run's log (a lost connection)

    kind = LOCAL                    # studio.runs: where the run comes from (the Run's kind)
    owns_run = True                 # False: the run lives in another process; closing stops following only
    can_steer = False               # whether pause/resume/step/stop/request_edit reach the run
    run = None                      # the studio.runs.Run this source feeds

    def feed(self, run) -> None:
        """Report into ``run`` from now on (before :meth:`start`)."""
        self.run = run
        for sig, slot in ((self.ready, self._to_ready), (self.metrics, self._to_metrics),
                          (self.samples, self._to_samples), (self.event, self._to_event),
                          (self.status, self._to_status), (self.state_changed, self._to_state),
                          (self.failed, self._to_failed), (self.ended, self._to_ended),
                          (self.metrics_reset, self._to_metrics_reset), (self.note, self._to_note)):
            sig.connect(slot)

    # Slots of this GUI-thread object: a signal from another thread is queued to the GUI thread.
    @Slot(object)
    def _to_ready(self, info) -> None:
        self.run.ready(info)

    @Slot(object)
    def _to_metrics(self, cols) -> None:
        self.run.append_metrics(cols)

    @Slot(object)
    def _to_samples(self, payload) -> None:
        self.run.set_samples(payload)

    @Slot(object)
    def _to_event(self, ev) -> None:
        self.run.add_event(ev)

    @Slot(object)
    def _to_status(self, status) -> None:
        self.run.set_status(status)

    @Slot(str)
    def _to_state(self, state: str) -> None:
        self.run.set_state(state)

    @Slot(str, str)
    def _to_failed(self, message: str, details: str) -> None:
        self.run.fail(message, details)

    @Slot()
    def _to_ended(self) -> None:
        self.run.end()

    @Slot()
    def _to_metrics_reset(self) -> None:
        self.run.reset_metrics()

    @Slot(str)
    def _to_note(self, text: str) -> None:
        self.run.add_note(text)

    def start(self) -> None:
        raise NotImplementedError

    def is_running(self) -> bool:
        raise NotImplementedError

    def set_live_view(self, samples: bool, arrows: bool) -> None:
        """What the window shows: live pictures only while ``samples``, arrows while ``arrows``."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def step(self, n: int = 1) -> None: ...
    def stop(self) -> None: ...

    def request_edit(self, **changes) -> None:
        raise RuntimeError("this run cannot be steered from here")

    def snapshot_generator(self):
        """A future of (a copy of the generator, its iteration), for exports while the run goes
        on; None when the run is not trained in this process."""
        return None

    def stop_and_wait(self, timeout_s: float, process_events=None) -> bool:
        """Ask the run to stop and wait up to ``timeout_s`` for it; True once it has."""
        return True


class LocalSource(RunSource):
    """A :class:`studio.worker.TrainingWorker` on its own QThread. The worker's signals come from
    the training thread; this source lives in the GUI thread, so Qt queues them to it, in order:
    they go on unchanged (one signal connected to the other), and the thread's ``finished``
    (queued after everything the run sent) becomes ``ended``."""

    can_steer = True

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.handle: RunHandle | None = None

    def start(self) -> None:
        self.handle = start_worker(self.worker, self._connect)

    def _connect(self, worker: TrainingWorker, thread) -> None:
        for name in ("ready", "metrics", "samples", "event", "status", "state_changed", "failed"):
            getattr(worker, name).connect(getattr(self, name))   # passed on unchanged
        thread.finished.connect(self._on_finished)

    @Slot()
    def _on_finished(self) -> None:
        # No deleteLater: the worker and thread have no Qt parent, so Python frees them once the
        # last reference (this source, or a close handler still waiting) is gone.
        self.handle = None
        self.ended.emit()

    def is_running(self) -> bool:
        return self.handle is not None

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

    def snapshot_generator(self):
        return self.worker.snapshot_generator()

    def stop_and_wait(self, timeout_s: float, process_events=None) -> bool:
        handle = self.handle
        return handle.stop_and_wait(timeout_s, process_events) if handle is not None else True


class FolderSource(RunSource):
    """A run folder written by another process (a terminal, a server, a torchrun job), followed
    by polling it (:class:`engine.follow.RunFollower`) on a thread of its own and steered through
    request files (:mod:`engine.requests`). The run goes on when the studio stops following.

    ``folder``: a path, or :class:`engine.runfiles.RunFiles` (a folder on another machine over
    SSH, :mod:`engine.remote`: the same code). Every file operation of a remote folder happens
    on the follower's thread, requests included (queued there), never on the GUI thread. A lost
    connection shows "connection lost, retrying" and reconnects with a growing delay; the
    follower's offsets are kept, so no row is missed or shown twice."""

    kind = FOLDER
    can_steer = True
    owns_run = False
    POLL_S = 0.25          # after a change (a remote folder: REMOTE_POLL_S)
    MOST_POLL_S = 2.0      # while nothing changes (a remote folder: REMOTE_MOST_POLL_S)
    REMOTE_POLL_S, REMOTE_MOST_POLL_S = 0.5, 4.0
    RECONNECT_S, MOST_RECONNECT_S = 1.0, 30.0

    def __init__(self, folder, parent: QObject | None = None, *, silent_s: float | None = None):
        super().__init__(parent)
        from engine.follow import SILENT_S, Backoff, RunFollower
        from engine.runfiles import as_run_files

        self.files = as_run_files(folder)
        self.path = Path(self.files.path) if not self.files.remote else Path(self.files.name)
        self.follower = RunFollower(self.files, silent_s=silent_s if silent_s is not None else SILENT_S)
        remote = self.files.remote
        self.backoff = Backoff(self.REMOTE_POLL_S if remote else self.POLL_S,
                               self.REMOTE_MOST_POLL_S if remote else self.MOST_POLL_S)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._outbox: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready = False
        self.follow_state = "waiting"
        self.silent_s = 0.0
        self.reconnects = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="follow", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from engine.runfiles import ConnectionLost
        from engine.status import ENDED_STATES as ENDED

        try:
            while not self._stop.is_set():
                try:
                    self._send_requests()
                    up = self.follower.poll()
                except ConnectionLost as e:
                    self._reconnect(e)
                    continue
                self._deliver(up)
                if self._over(up.state in ENDED):
                    break
                self._sleep(self.backoff.next(not up.empty))
        except Exception as e:  # noqa: BLE001 - reported, never a dead thread without a word
            log.exception("following %s failed", self.files)
            self.failed.emit(str(e) if isinstance(e, OSError) else f"{type(e).__name__}: {e}", "")
        finally:
            if self.files.remote:
                self.files.close()  # the connection only: the run goes on on its machine
            self.ended.emit()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _reconnect(self, lost) -> None:
        """Say the connection is lost, then try again with a growing delay until it is back (or
        the studio stops following). Raises what is not a lost link (a changed host key)."""
        from engine.runfiles import ConnectionLost
        from engine.status import RunState

        log.warning("%s", lost)
        if self.follow_state != RunState.CONNECTION_LOST:
            self.follow_state = RunState.CONNECTION_LOST
            self.state_changed.emit(str(RunState.CONNECTION_LOST))
        self.note.emit(f"{time.strftime('%H:%M:%S')}  {lost}; retrying (the run goes on on its machine)")
        delay, lost_at = self.RECONNECT_S, time.monotonic()
        while not self._stop.is_set():
            self._sleep(delay)
            if self._stop.is_set():
                return
            try:
                self.files.reconnect()
            except ConnectionLost as e:
                log.info("still no connection: %s", e)
                delay = min(self.MOST_RECONNECT_S, delay * 2)
                continue
            self.reconnects += 1
            self.backoff.next(True)
            self.note.emit(f"{time.strftime('%H:%M:%S')}  connected again after {time.monotonic() - lost_at:.0f} s: "
                           "the rows written meanwhile follow")
            return

    def _send_requests(self) -> None:
        """Write the queued requests (a remote folder's), oldest first; one that meets a lost
        connection stays queued for after the reconnection."""
        from engine.requests import send_request

        while True:
            try:
                req, name = self._outbox.queue[0]
            except IndexError:
                return
            send_request(self.files, req, name)  # sent again under the same name after a lost connection
            self._outbox.get_nowait()

    def _gone(self) -> bool:
        """Whether the writer is known to be gone (after delivering its last files); a followed
        folder's writer is not ours to watch: its heartbeat tells."""
        return False

    def _over(self, folder_ended: bool) -> bool:
        """Whether following is over: the folder says the run ended, or its writer is gone."""
        return folder_ended or self._gone()

    def _deliver(self, up) -> None:
        status = self.follower.status or {}
        if not self._ready and (status or up.rows or up.events):
            self._ready = True
            self.ready.emit({"values": dict(status.get("live") or {}), "device": str(status.get("device", "")),
                             "warnings": []})
        if up.reset:
            self.metrics_reset.emit()
        if up.rows:
            self.metrics.emit({k: np.asarray(v, dtype=np.float64) for k, v in up.rows.items()})
        for ev in up.events:
            self.event.emit(ev)
        if up.sample_name is not None:
            self._deliver_sample(up.sample_name)
        if up.status is not None:
            self.status.emit(RunStatus.from_dict(up.status))
        self.silent_s = up.silent_s
        if up.state != self.follow_state:
            self.follow_state = up.state
            self.state_changed.emit(str(RunState.parse(up.state)))

    def _deliver_sample(self, name: str) -> None:
        from PIL import UnidentifiedImageError
        try:
            self.samples.emit(png_payload(name, self.follower.read_file(name)))
        except (OSError, ValueError, UnidentifiedImageError):
            pass  # being written, damaged, or the link just dropped: the next picture will do

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _request(self, action: str, **fields) -> None:
        """Checked here (ConfigError at once), written here for a local folder; a remote folder's
        is written on the follower's thread (the GUI never waits on the network)."""
        from engine.requests import make_request, request_file_name, send_request
        req = make_request(action, by="studio", **fields)
        if not self.files.remote:
            send_request(self.files, req)
            return
        self._outbox.put((req, request_file_name(req)))
        self._wake.set()

    def pause(self) -> None:
        self._request("pause")

    def resume(self) -> None:
        self._request("resume")

    def step(self, n: int = 1) -> None:
        self._request("step", n=n)

    def stop(self) -> None:
        self._request("stop")

    def request_edit(self, **changes) -> None:
        """Raises ConfigError at once for a bad key or value (the same rules as the trainer's)."""
        for key, value in changes.items():
            self._request("set", key=key, value=value)

    def stop_following(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop_and_wait(self, timeout_s: float, process_events=None) -> bool:
        """Stop following (the run itself goes on in its own process or machine: nothing is sent
        to it)."""
        self.stop_following()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if process_events is not None:
            process_events()
        return not self.is_running()


def png_payload(path, data: bytes | None = None) -> dict:
    """A picture a run wrote (``samples/iter_NNNNNNN.png``: a grid or the toy view) as a sample
    payload, shown as it is: one "sample" per row (``data``: its bytes, read already; a remote
    folder's). Raises OSError, ValueError or PIL's UnidentifiedImageError for a file being
    written or damaged."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data) if data is not None else path) as im:
        img = np.asarray(im.convert("RGB"), dtype=np.float32) / 127.5 - 1
    name = PurePosixPath(str(path).replace("\\", "/")).name
    gen_iter = int(PurePosixPath(name).stem.split("_")[-1])
    return {"kind": "image", "images": img.transpose(2, 0, 1)[None], "gen_iter": gen_iter, "nrow": 1,
            "picture": name}


class ProcessSource(FolderSource):
    """A training job this studio started as a child process: ``wgan-train CONFIG --out RUN
    --nproc-per-node N`` (torchrun and its N processes, engine.distributed), shown by following its
    run folder like any :class:`FolderSource`, with the same controls. Unlike a followed run it
    belongs to this window: closing asks, then stops it cleanly (a stop request; every process
    stops at the same iteration and rank 0 writes a checkpoint). The job's own output goes to
    ``log_path`` (beside ``config_path``, outside the run folder, which wgan-train wants empty)."""

    kind = PROCESS
    owns_run = True

    def __init__(self, path, config_path, nproc: int, parent: QObject | None = None, *, log_path=None,
                 silent_s: float | None = None):
        super().__init__(path, parent, silent_s=silent_s)
        self.config_path, self.nproc = Path(config_path), int(nproc)
        self.log_path = Path(log_path) if log_path is not None else self.config_path.with_suffix(".log")
        self.proc = None

    def command(self) -> list[str]:
        from engine.procs import engine_command
        return engine_command("train", self.config_path, "--out", self.path, "--quiet", "--nproc-per-node", self.nproc)

    def start(self) -> None:
        import os
        import subprocess
        import sys

        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)  # this studio's engine in the child too
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        with open(self.log_path, "wb") as log_file:
            kw = {"start_new_session": True} if sys.platform != "win32" else {}
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log_file,
                                         stderr=subprocess.STDOUT, env=env, **kw)
        super().start()

    def _gone(self) -> bool:
        """The job is gone: deliver its last files, then say how it ended."""
        from engine.status import ENDED_STATES as ENDED

        rc = self.proc.poll() if self.proc is not None else None
        if rc is None:
            return False
        up = self.follower.poll()
        self._deliver(up)
        if up.state not in ENDED or rc != 0:
            self.failed.emit(f"the {self.nproc}-process job ended with exit code {rc}", self.log_tail())
        return True

    def _over(self, folder_ended: bool) -> bool:
        """Over when the job's process has exited, not when its folder says the run ended: its
        processes still tear down then, and how they exit decides whether the job ended cleanly."""
        return self._gone()

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def is_running(self) -> bool:
        return super().is_running() or (self.proc is not None and self.proc.poll() is None)

    @property
    def ended_cleanly(self) -> bool:
        """The job has exited, with exit code 0."""
        return self.proc is not None and self.proc.poll() == 0

    def stop_and_wait(self, timeout_s: float, process_events=None) -> bool:
        """A stop request (the run stops at its next iteration and writes a checkpoint), then wait
        for the job to exit; True once it has."""

        if self.proc is None or self.proc.poll() is not None:
            return super().stop_and_wait(timeout_s, process_events)
        if (self.path / "status.json").exists():
            self.stop()
        else:  # still starting: no trainer reads requests yet (and would call earlier ones stale)
            import os
            import signal
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # torchrun passes it to its processes
            except (OSError, AttributeError):
                self.proc.terminate()
        end = time.monotonic() + timeout_s
        while self.proc.poll() is None and time.monotonic() < end:
            if process_events is not None:
                process_events()
            time.sleep(0.05)
        if self.proc.poll() is None:
            return False
        return super().stop_and_wait(max(0.1, end - time.monotonic()), process_events)

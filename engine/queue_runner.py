"""Running a runs folder's queue (:mod:`engine.queue`): start queued entries as ``wgan-train``
processes as slots free, record how each ends, and pick up after a restart.

One runner at a time holds ``RUNS_DIR/queue.runner.lock`` (``wgan-queue`` or the studio). Its
runs are processes in sessions of their own: they outlive the runner, and the next runner adopts
them (the pid lives on this host) or, when one died, continues it by the continuation rule
(``wgan-train --resume``, engine.continuation) or marks it failed with the rule's sentence.

Slots: with none set, an entry starts while the threads of the running entries and its own fit
in the cores (one run may always start); with ``slots = N``, at most N run at once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .continuation import plan_continuation, resume_wanted
from .procs import HOST, FileLock, engine_command, last_line, lock_holder, machine_cores, pid_alive, spawn
from .queue import RUNNER_LOCK, QueueEntry, RunQueue
from .run_report import inspect_run, is_run_folder

MAX_ATTEMPTS = 3
TICK_S = 1.0


@dataclass(frozen=True)
class QueueEvent:
    kind: str            # started | resumed | done | stopped | failed
    entry: QueueEntry
    message: str = ""


def runner_info(runs_dir) -> dict | None:
    """Who runs the queue of ``runs_dir`` now ({"pid", "host", "since", "by"}), or None."""
    return lock_holder(RunQueue(runs_dir).root / RUNNER_LOCK)


def background_command(runs_dir) -> list[str]:
    """``wgan-queue RUNS_DIR`` with this interpreter: the queue going on without the studio."""
    return engine_command("queue", runs_dir)


class QueueRunner:
    def __init__(self, runs_dir, *, slots: int | None = None, cores: int | None = None, by: str = "wgan-queue",
                 clock=time.time):
        self.queue = RunQueue(runs_dir)
        self.slots = slots
        self.cores = cores or machine_cores()
        self.by = by
        self.clock = clock
        self.lock = FileLock(self.queue.root / RUNNER_LOCK)
        self.procs: dict[str, object] = {}   # entry id -> Popen of the runs this runner started

    def acquire(self) -> bool:
        """Become the queue's runner (False: another one runs it, see :func:`runner_info`)."""
        self.queue.root.mkdir(parents=True, exist_ok=True)
        return self.lock.acquire(block=False, info={"pid": os.getpid(), "host": HOST, "since": self.clock(),
                                                    "by": self.by})

    def release(self) -> None:
        """Stop running the queue; its runs go on (the next runner adopts them)."""
        self.lock.release()

    # ------------------------------------------------------------------ one look

    def tick(self) -> list[QueueEvent]:
        if not self.lock.held:
            raise RuntimeError("QueueRunner.tick() before acquire()")
        events: list[QueueEvent] = []
        for e in self.queue.entries():
            if e.state == "running":
                events += self._check_running(e)
        events += self._start_next()
        return events

    def _check_running(self, e: QueueEntry) -> list[QueueEvent]:
        proc = self.procs.get(e.id)
        if proc is not None:
            if proc.poll() is None:
                return []
            del self.procs[e.id]
            return self._ended(e, proc.returncode)
        alive = pid_alive(e.pid, e.host)
        if alive or alive is None:   # adopted (or on another machine: not ours to judge)
            return []
        return self._ended(e, None)

    def _ended(self, e: QueueEntry, returncode: int | None) -> list[QueueEvent]:
        """The entry's process is gone: done, stopped, continued (a crash) or failed."""
        now = self.clock()
        if _finished(e):
            return [self._set(e, "done", now, returncode, "")]
        if e.stop_requested or returncode == 0:
            return [self._set(e, "stopped", now, returncode, "stopped on request")]
        if returncode is not None and returncode > 0:
            return [self._set(e, "failed", now, returncode, last_line(e.log_path) or f"exit status {returncode}")]
        if e.attempts >= MAX_ATTEMPTS:
            return [self._set(e, "failed", now, returncode, f"ended early {e.attempts} times; not continued again")]
        return self._launch(e, resumed=True)

    def _set(self, e: QueueEntry, state: str, now: float, returncode, message: str) -> QueueEvent:
        e = self.queue.update(e.id, state=state, ended=now, returncode=returncode, message=message, pid=None)
        return QueueEvent(state, e, message)

    # ------------------------------------------------------------------ starting

    def _start_next(self) -> list[QueueEvent]:
        data = self.queue.read()
        if data["held"]:
            return []
        running = [e for e in data["entries"] if e.state == "running"]
        slots = self.slots or data["slots"]
        events = []
        for e in data["entries"]:
            if e.state != "queued":
                continue
            if not self._fits(e, running, slots):
                break
            events += self._launch(e, resumed=False)
            running.append(e)
        return events

    def _fits(self, e: QueueEntry, running: list[QueueEntry], slots: int | None) -> bool:
        if not running:
            return True
        if slots:
            return len(running) < slots
        return sum(r.threads for r in running) + e.threads <= self.cores

    def threads_for(self, e: QueueEntry) -> int:
        slots = self.slots or self.queue.slots()
        return max(1, self.cores // slots) if slots else e.threads

    def _launch(self, e: QueueEntry, *, resumed: bool) -> list[QueueEvent]:
        """Start (or continue) the entry's run; an entry whose run cannot be continued fails."""
        nproc = ["--nproc-per-node", str(e.nproc)] if e.nproc and e.nproc > 1 else []
        message = ""
        if is_run_folder(e.run_path):
            report = inspect_run(e.run_path)
            plan = plan_continuation(report, resume_wanted(report))
            if not plan.possible:
                return [self._set(e, "failed", self.clock(), None, plan.message)]
            argv = engine_command("train", "--resume", e.run_path, "--quiet", *nproc)
            message, resumed = plan.message, True
        else:
            if e.run_path.exists() and not any(e.run_path.iterdir()):
                e.run_path.rmdir()
            argv = engine_command("train", e.config_path, "--out", e.run_path, "--quiet", *nproc)
        proc = spawn(argv, log=e.log_path, threads=self.threads_for(e))
        self.procs[e.id] = proc
        e = self.queue.update(e.id, state="running", pid=proc.pid, host=HOST, started=self.clock(), ended=None,
                              attempts=e.attempts + 1, message=message, returncode=None)
        return [QueueEvent("resumed" if resumed else "started", e, message)]

    # ------------------------------------------------------------------ the loop

    def busy(self) -> bool:
        return any(e.state in ("queued", "running") for e in self.queue.entries()) and not (
            self.queue.held() and not any(e.state == "running" for e in self.queue.entries()))

    def run(self, *, watch: bool = False, tick_s: float = TICK_S, on_event=None) -> None:
        """Tick until nothing is queued or running (``watch``: until interrupted)."""
        while True:
            for ev in self.tick():
                if on_event is not None:
                    on_event(ev)
            if not watch and not self.busy():
                return
            time.sleep(tick_s)

    def stop_all(self, timeout_s: float = 120.0) -> None:
        """Stop the running entries (each writes its checkpoint) and put them back at the front
        of the queue: the next runner continues them."""
        from .requests import write_request
        running = [e for e in self.queue.entries() if e.state == "running"]
        for e in running:
            if e.run_path.is_dir():
                write_request(e.run_path, "stop", by="wgan-queue")
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and any(self._alive(e) for e in running):
            time.sleep(0.2)
        for i, e in enumerate(running):
            self.procs.pop(e.id, None)
            self.queue.update(e.id, state="queued", pid=None, message="stopped with the queue; continues next time")
            self.queue.move(e.id, i)

    def _alive(self, e: QueueEntry) -> bool:
        proc = self.procs.get(e.id)
        if proc is not None:
            return proc.poll() is None
        return bool(pid_alive(e.pid, e.host))


def _finished(e: QueueEntry) -> bool:
    """The entry's run reached its iterations."""
    if not (e.run_path / "summary.json").exists():
        return False
    report = inspect_run(e.run_path, checkpoints=False)
    return report.config is not None and report.last_iter >= report.config.train.iterations


__all__ = ["QueueEvent", "QueueRunner", "background_command", "runner_info"]

"""The queue of a runs folder (engine.queue, engine.queue_runner, wgan-queue): it survives a new
process, one runner at a time, queued runs trained to the end, a runner's runs outliving it.
The runs are real ``wgan-train`` processes on a tiny toy configuration."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import load_preset
from engine.queue import QueueError, RunQueue, slots_for, threads_needed
from engine.queue_runner import QueueRunner, runner_info
from tests.helpers import wait_until

QUEUE_CMD = [sys.executable, "-c", "import sys; from engine.cli import queue_main; sys.exit(queue_main())"]


def run_queue(*argv) -> subprocess.CompletedProcess:
    """``wgan-queue ARGV`` in this process (its runs are processes of their own)."""
    from engine.cli import queue_main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = queue_main([str(a) for a in argv])
    return subprocess.CompletedProcess(["wgan-queue", *argv], code, out.getvalue(), err.getvalue())


def tiny(iterations: int = 20):
    cfg = load_preset("toy-wgan-gp")
    cfg.model.hidden, cfg.train.batch_size, cfg.train.device = 16, 16, "cpu"
    cfg.train.iterations, cfg.train.sample_count = iterations, 64
    cfg.train.eval_every = cfg.train.checkpoint_every = 10
    cfg.train.sample_every = 0
    return cfg


def test_the_queue_survives_a_new_process_with_its_order_and_holds(tmp_path):
    q = RunQueue(tmp_path)
    a, b, c = (q.add(tiny(), name=n) for n in ("a", "b", "c"))
    q.move(c.id, 0)
    q.hold(b.id)
    q.set_slots(2)
    with pytest.raises(QueueError, match="only a queued run"):
        q.hold(b.id)
    listed = subprocess.run([*QUEUE_CMD, str(tmp_path), "--list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [["queued", "c"], ["queued", "a"],
                                                                          ["held", "b"]]
    again = RunQueue(tmp_path)
    assert [e.name for e in again.entries()] == ["c", "a", "b"] and again.slots() == 2
    assert again.get(a.id).config_path.is_file()   # the configuration as it was when queued
    # a held queue starts nothing
    again.set_held(True)
    runner = QueueRunner(tmp_path)
    assert runner.acquire()
    try:
        assert runner.tick() == [] and {e.state for e in again.entries()} == {"queued", "held"}
    finally:
        runner.release()
    again.remove(a.id)
    assert [e.name for e in again.entries()] == ["c", "b"]


def test_slots_follow_the_cores_and_each_runs_threads():
    assert slots_for(2, 1) == 2 and slots_for(2, 2) == 1 and slots_for(8, 3) == 2 and slots_for(1, 4) == 1
    assert threads_needed(tiny(), 2) == 1
    assert threads_needed(load_preset("digits-wgan-gp"), 8) == 2
    assert threads_needed(tiny(), 8, nproc=2) == 2


def test_one_runner_at_a_time_never_starts_an_entry_twice(tmp_path):
    RunQueue(tmp_path).add(tiny())
    first = QueueRunner(tmp_path, by="studio")
    assert first.acquire()
    try:
        assert not QueueRunner(tmp_path).acquire()
        assert runner_info(tmp_path)["by"] == "studio"
        r = run_queue(tmp_path)
        assert r.returncode == 2 and "already run by studio" in r.stderr
        assert [e.state for e in RunQueue(tmp_path).entries()] == ["queued"]
    finally:
        first.release()
    assert runner_info(tmp_path) is None


def test_wgan_queue_trains_two_queued_runs_to_the_end(tmp_path):
    q = RunQueue(tmp_path)
    q.add(tiny(), name="one")
    q.add(tiny(), name="two")
    r = run_queue(tmp_path)
    assert r.returncode == 0, r.stderr
    entries = RunQueue(tmp_path).entries()
    assert [e.state for e in entries] == ["done", "done"]
    for e in entries:
        summary = json.loads((e.run_path / "summary.json").read_text())
        assert summary["gen_iter"] == 20
    assert "done: one" in r.stderr and "done: two" in r.stderr


def test_runs_outlive_their_runner_and_the_next_runner_adopts_them(tmp_path):
    q = RunQueue(tmp_path)
    e = q.add(tiny(iterations=100_000), name="long")
    proc = subprocess.Popen([*QUEUE_CMD, str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # training under way (its first checkpoint): a stop asked before the first iteration leaves nothing to keep
        wait_until(lambda: any((tmp_path / "long" / "checkpoints").glob("*.pt")), 120, proc=proc,
                   what="the run to write its first checkpoint")
    finally:
        proc.kill()        # the runner dies (a crash of the studio): its run trains on
        proc.wait()
    running = q.get(e.id)
    assert running.state == "running"
    runner = QueueRunner(tmp_path)
    assert runner.acquire()
    try:
        assert runner.tick() == [] and q.get(e.id).pid == running.pid   # adopted, not started again
        q.stop(e.id)
        events = []
        wait_until(lambda: events.extend(runner.tick()) or q.get(e.id).state != "running", 120,
                   what="the run to stop")
        assert q.get(e.id).state == "stopped" and [ev.kind for ev in events] == ["stopped"]
        assert any(Path(tmp_path / "long" / "checkpoints").glob("*.pt"))
    finally:
        runner.release()
        if running.pid and q.get(e.id).state == "running":  # never leave a run training after a failure
            os.kill(running.pid, signal.SIGKILL)

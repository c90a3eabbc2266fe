"""Run control made before the trainer, and calls at the next iteration boundary (engine.control)."""

from __future__ import annotations

import threading

import pytest

from engine import RunState, Trainer, read_events
from engine.control import RunControl
from tests.helpers import tiny_config, wait_until


def test_requests_made_before_the_trainer_exists_apply_at_its_first_iteration(tmp_path):
    control = RunControl()
    control.request_edit(lr_critic=5e-5)
    control.pause()
    t = Trainer(tiny_config(), tmp_path / "run", control=control)
    thread = threading.Thread(target=t.run)
    thread.start()
    wait_until(lambda: t.state == RunState.PAUSED, 60, what="the run to pause")
    assert t.gen_iter == 0  # paused before its first iteration, as asked
    control.resume()
    thread.join(60)
    edits = [e for e in read_events(tmp_path / "run" / "events.jsonl") if e["type"] == "edit"]
    assert [(e["key"], e["new"], e["gen_iter"]) for e in edits] == [("lr_critic", 5e-5, 0)]


def test_a_boundary_call_runs_on_the_training_thread_while_training_and_while_paused(tmp_path):
    t = Trainer(tiny_config(live=True), tmp_path / "run")
    thread = threading.Thread(target=t.run, name="training")
    thread.start()
    try:
        wait_until(lambda: t.gen_iter >= 3, 60, what="training")
        running = t.control.call_at_boundary(lambda tr: (threading.current_thread().name, tr.gen_iter))
        name, at = running.result(60)
        assert name == "training" and at >= 3
        t.pause()
        wait_until(lambda: t.state == RunState.PAUSED, 60, what="the pause")
        paused = t.control.call_at_boundary(lambda tr: (threading.current_thread().name, tr.gen_iter))
        assert paused.result(60) == ("training", t.gen_iter)
        assert t.state == RunState.PAUSED  # the call did not resume the run
    finally:
        t.stop()
        thread.join(60)
    after = t.control.call_at_boundary(lambda tr: tr.state)
    assert after.result(1) == RunState.STOPPED  # the loop has ended: made at once, here


def test_a_boundary_call_fails_with_the_error_that_kept_the_trainer_from_being_built():
    control = RunControl()
    fut = control.call_at_boundary(lambda tr: tr.gen_iter)
    control.end(RuntimeError("no such data set"))
    with pytest.raises(RuntimeError, match="no such data set"):
        fut.result(1)
    with pytest.raises(RuntimeError, match="no such data set"):
        control.call_at_boundary(lambda tr: 1).result(1)

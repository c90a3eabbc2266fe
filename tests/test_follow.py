"""Following a run folder written by another process, and steering it through request files."""

from __future__ import annotations

import json
import os
import time

import pytest

from engine.config import ConfigError
from engine.follow import RunFollower, describe_state
from engine.requests import RequestInbox, check_request, requests_dir, write_request, write_status
from tests.helpers import ManualClock

HEADER = "gen_iter,wall_time_s,w_estimate\n"


def append(path, text):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def test_rows_arrive_in_order_once_and_never_half_written(tmp_path):
    m = tmp_path / "metrics.csv"
    f = RunFollower(tmp_path)
    assert f.poll().rows == {}  # nothing yet
    append(m, HEADER + "1,0.1,0.5\n2,0.2,0.4\n3,0.3,0.3")  # row 3 is being written
    up = f.poll()
    assert up.rows["gen_iter"] == [1, 2] and up.rows["w_estimate"] == [0.5, 0.4] and not up.reset
    assert f.poll().rows == {}  # none twice
    append(m, "5\n4,0.4,0.2\n")
    up = f.poll()
    assert up.rows["gen_iter"] == [3, 4] and up.rows["w_estimate"] == [0.35, 0.2]


def test_a_rewritten_metrics_file_is_read_again_from_the_top(tmp_path):
    m = tmp_path / "metrics.csv"
    m.write_text(HEADER + "1,0.1,0.5\n2,0.2,0.4\n3,0.3,0.3\n")
    f = RunFollower(tmp_path)
    assert f.poll().rows["gen_iter"] == [1, 2, 3]
    tmp = tmp_path / "new.csv"  # --resume keeps the rows up to its checkpoint (atomic replace)
    tmp.write_text(HEADER + "1,0.1,0.5\n2,0.2,0.4\n")
    os.replace(tmp, m)
    up = f.poll()
    assert up.reset and up.rows["gen_iter"] == [1, 2]


def test_damaged_event_lines_are_skipped_and_the_state_follows_the_run(tmp_path):
    clock = ManualClock()
    f = RunFollower(tmp_path, clock=clock, silent_s=30)
    assert f.poll().state == "starting"
    ev = tmp_path / "events.jsonl"
    append(ev, json.dumps({"type": "start", "gen_iter": 0}) + "\n{not json\n" + json.dumps({"type": "pause"}) + "\n")
    write_status(tmp_path, {"state": "paused", "gen_iter": 4})
    up = f.poll()
    assert [e["type"] for e in up.events] == ["start", "pause"] and up.state == "paused"
    clock.advance(29)
    assert f.poll().state == "paused"
    clock.advance(2)  # no heartbeat for 31 s
    up = f.poll()
    assert up.state == "not responding" and "no sign of life for 31 s" in describe_state(up.state, up.silent_s)
    write_status(tmp_path, {"state": "running", "gen_iter": 5})
    assert f.poll().state == "running"
    append(ev, json.dumps({"type": "finish", "gen_iter": 9}) + "\n")
    clock.advance(1000)
    assert f.poll().state == "finished"  # an ended run is not "not responding"


def test_newest_picture_is_reported_when_it_changes(tmp_path):
    (tmp_path / "samples").mkdir()
    f = RunFollower(tmp_path)
    (tmp_path / "samples" / "iter_0000100.png").write_bytes(b"x")
    assert f.poll().sample.name == "iter_0000100.png"
    assert f.poll().sample is None
    (tmp_path / "samples" / "iter_0000200.png").write_bytes(b"x")
    assert f.poll().sample.name == "iter_0000200.png"


def test_requests_are_checked_when_written_and_when_read(tmp_path):
    with pytest.raises(ConfigError, match="cannot be changed during a run"):
        write_request(tmp_path, "set", key="batch_size", value=3)
    with pytest.raises(ConfigError, match=r"lr_critic = -5: too small"):
        write_request(tmp_path, "set", key="lr_critic", value=-5)
    with pytest.raises(ConfigError, match="unknown action"):
        write_request(tmp_path, "explode")
    clock = ManualClock(start=1_000_000.0)
    inbox = RequestInbox(tmp_path, clock=clock)
    a = write_request(tmp_path, "pause", clock=clock)
    b = write_request(tmp_path, "set", key="lr_critic", value=2e-4, clock=clock)
    (requests_dir(tmp_path) / "zz-bad.json").write_text("{half")
    (requests_dir(tmp_path) / ".x.tmp").write_text("{}")  # a request still being written: not read
    got = inbox.take()
    assert [(r and r.get("id"), reason) for r, reason, _ in got[:2]] == [(a["id"], None), (b["id"], None)]
    assert got[1][0]["value"] == 2e-4
    assert got[2][0] is None and got[2][1].startswith("malformed: not JSON")
    assert sorted(p.name for p in requests_dir(tmp_path).iterdir()) == [".x.tmp"]  # each read once
    write_request(tmp_path, "resume", clock=clock)
    assert inbox.take() == []  # looked 0 s ago: the next look waits POLL_S
    clock.advance(0.25)
    assert [r["action"] for r, _, _ in inbox.take()] == ["resume"]


@pytest.mark.parametrize("req, reason", [
    ({"action": "set", "key": "batch_size", "value": 3, "created": 100.0}, "'batch_size' cannot be changed"),
    ({"action": "set", "key": "n_critic", "value": 2.5, "created": 100.0}, "expected an integer"),
    ({"action": "pause", "created": 10.0}, "stale: written before this run"),
    ({"action": "pause", "created": 100.0}, "stale: written 1000 s ago"),
    ({"action": "pause"}, "malformed: no 'created' time"),
    ({"action": "step", "n": 0, "created": 100.0}, "expected a whole number >= 1"),
    (["pause"], "malformed: not a JSON object"),
])
def test_refused_requests_say_why(req, reason):
    now = 1100.0 if "1000 s ago" in reason else 101.0
    got, why = check_request(json.dumps(req).encode(), run_started=50.0, now=now)
    assert why is not None and reason in why


# ----------------------------------------------------------------------------- a real run, in another process
def _start_train(tmp_path):
    from tests.helpers import start_wgan_train

    out = tmp_path / "run"
    return start_wgan_train(out), out


def test_follow_and_steer_a_run_in_another_process(tmp_path):
    """wgan-train in its own process; this test follows its folder and steers it with wgan-ctl's
    requests: rows arrive in order, none twice; pause, an edit and a stop are applied at the
    iterations the events name; the run ends as stopped."""
    from engine.cli import ctl_main
    from engine.rundir import read_metrics
    from tests.helpers import wait_until

    proc, out = _start_train(tmp_path)
    try:
        wait_until(lambda: (out / "status.json").exists(), 120, proc=proc, what="the run's heartbeat")
        f = RunFollower(out)
        seen: list[float] = []

        def follow():
            up = f.poll()
            seen.extend(up.rows.get("gen_iter", []))
            events.extend(up.events)
            return up

        events: list[dict] = []
        wait_until(lambda: len(seen) >= 20 or follow() and False, 120, proc=proc, what="20 rows")
        assert ctl_main([str(out), "pause"]) == 0  # waits for the outcome
        wait_until(lambda: follow().state == "paused", 60, proc=proc, what="paused")
        assert ctl_main([str(out), "set", "lr_critic=3e-4"]) == 0
        assert ctl_main([str(out), "set", "batch_size=3"]) == 2  # wgan-ctl refuses at once: not live
        # ... and so does the trainer when such a request (or a malformed one) reaches the folder anyway
        not_live = json.dumps({"action": "set", "key": "batch_size", "value": 3, "created": time.time()})
        for i, body in enumerate([not_live, '{"action": "set", "key": '], 1):
            tmp = requests_dir(out) / f".raw{i}.tmp"
            tmp.write_text(body)
            os.replace(tmp, requests_dir(out) / f"{time.time_ns():020d}-raw{i}.json")
        wait_until(lambda: sum(e["type"] == "request" for e in events) >= 4 or follow() and False, 60, proc=proc)
        assert ctl_main([str(out), "resume"]) == 0
        assert ctl_main([str(out), "stop"]) == 0
        assert proc.wait(120) == 0
        follow()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert seen == list(range(1, len(seen) + 1)), "in order, none twice, none missing"
    assert seen == read_metrics(out / "metrics.csv")["gen_iter"]
    reqs = [e for e in events if e["type"] == "request"]
    assert [(r["action"], r["outcome"]) for r in reqs] == [("pause", "applied"), ("set", "applied"),
                                                              ("set", "refused"), (None, "refused"),
                                                              ("resume", "applied"), ("stop", "applied")]
    assert "cannot be changed during a run" in reqs[2]["reason"] and "malformed" in reqs[3]["reason"]
    edit = next(e for e in events if e["type"] == "edit")
    assert edit["key"] == "lr_critic" and edit["new"] == 3e-4 and edit["gen_iter"] >= reqs[1]["gen_iter"]
    pause = next(e for e in events if e["type"] == "pause")
    assert pause["gen_iter"] == reqs[0]["gen_iter"]
    assert f.poll().state == "stopped" and events[-1]["type"] == "stop"


def test_a_killed_run_is_said_to_have_stopped_responding(tmp_path):
    from tests.helpers import wait_until

    proc, out = _start_train(tmp_path)
    clock = ManualClock()
    try:
        wait_until(lambda: (out / "status.json").exists(), 120, proc=proc, what="the run's heartbeat")
        f = RunFollower(out, clock=clock, silent_s=30)
        wait_until(lambda: f.poll().state == "running", 60, what="running")
        proc.kill()  # SIGKILL on Linux and macOS, TerminateProcess on Windows: no chance to clean up
        proc.wait(60)
        f.poll()  # whatever it wrote last
        clock.advance(31)
        up = f.poll()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert up.state == "not responding"
    assert "no sign of life for 31 s" in describe_state(up.state, up.silent_s)


def test_wgan_ctl_says_an_ended_run_takes_no_requests_and_leaves_none_behind(tmp_path, capsys):
    """A request written to a stopped run would wait, then be refused as stale by wgan-train
    --resume: wgan-ctl says at once that the run must be continued first, and writes nothing."""
    from engine import Trainer
    from engine.cli import ctl_main
    from tests.helpers import tiny_config

    run = tmp_path / "run"
    trainer = Trainer(tiny_config(train__iterations=6, train__sample_every=0, train__eval_every=0), run)
    trainer.stop()  # asked before it starts: it stops at its first iteration boundary
    trainer.run()
    capsys.readouterr()
    assert ctl_main([str(run), "pause", "--wait", "0"]) == 1
    out = capsys.readouterr().out
    assert f"refused: {run} is stopped; a stopped run takes no requests (continue it with wgan-train --resume {run}, " \
           "then steer it)" in out
    assert not list(requests_dir(run).glob("*.json"))
    assert ctl_main([str(run), "status"]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"{run}: stopped; iteration ") and " of 6" in line and "it/s" not in line


@pytest.mark.parametrize("state, age_s, says, speed", [
    ("running", 0, "training; iteration 3 of 6, 9.50 it/s", True),
    ("paused", 0, "paused; iteration 3 of 6", False),
    ("running", 120, "not responding: no sign of life for 120 s", False),  # killed: its heartbeat went stale
])
def test_wgan_ctl_status_gives_the_speed_of_a_training_run_only(tmp_path, capsys, state, age_s, says, speed):
    from engine.cli import ctl_main
    from engine.config import Config, save_config
    from engine.status import RunState, RunStatus

    save_config(Config(), tmp_path / "config.toml")
    write_status(tmp_path, RunStatus(RunState(state), 3, 6, 9.5, 1.0).to_dict())
    then = time.time() - age_s
    os.utime(tmp_path / "status.json", (then, then))
    assert ctl_main([str(tmp_path), "status"]) == 0
    line = capsys.readouterr().out
    assert says in line and ("it/s" in line) == speed


def test_a_quiet_folder_is_looked_at_less_often_and_at_once_again_after_a_change():
    from engine.follow import Backoff

    b = Backoff(0.5, 4.0)
    quiet = [b.next(False) for _ in range(8)]
    assert quiet == sorted(quiet) and quiet[0] > 0.5 and quiet[-1] == 4.0  # slower and slower, to a limit
    assert b.next(True) == 0.5  # something new: the next look comes soon


def test_a_request_sent_twice_is_read_once(tmp_path):
    """A retry after a lost connection may write again a request whose first try arrived: the run
    applies it once."""
    from engine.requests import make_request, request_file_name, send_request

    inbox = RequestInbox(tmp_path)
    req = make_request("step", n=10)
    name = request_file_name(req)
    send_request(tmp_path, req, name)
    assert [r["n"] for r, _, _ in inbox.take(force=True)] == [10]
    send_request(tmp_path, req, name)  # the retry
    assert inbox.take(force=True) == [] and not list(requests_dir(tmp_path).glob("*.json"))

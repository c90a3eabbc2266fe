"""Following a run that another process trains: wgan-studio RUN_DIR shows it live and steers it."""

from __future__ import annotations

from engine.follow import is_live
from engine.rundir import read_metrics
from studio.sources import FolderSource
from tests.helpers import start_wgan_train, wait_until


def start_train(tmp_path):
    out = tmp_path / "followed"
    proc = start_wgan_train(out, "--set", "train.sample_every=20")  # pictures to follow too
    wait_until(lambda: is_live(out), 120, proc=proc, what="the run's heartbeat")
    return proc, out


def test_window_follows_and_steers_a_run_of_another_process(qtbot, window, tmp_path):
    proc, out = start_train(tmp_path)
    try:
        assert window.open_path(out)
        model = window.model
        assert isinstance(model.source, FolderSource) and window.is_active()
        qtbot.waitUntil(lambda: model.rows >= 10 and model.state == "running", timeout=120_000)
        qtbot.waitUntil(lambda: model.samples is not None, timeout=120_000)  # the run's own pictures
        assert window.steer.isEnabled() or window.act_pause.isEnabled()
        window.toggle_pause()
        qtbot.waitUntil(lambda: model.state == "paused", timeout=60_000)
        assert window.request_edit("lr_critic", 3e-4)
        qtbot.waitUntil(lambda: sum(e.get("type") == "request" for e in model.events) == 2, timeout=60_000)
        window.toggle_pause()  # the edit applies at the next iteration
        qtbot.waitUntil(lambda: any(e.get("type") == "edit" for e in model.events), timeout=60_000)
        edit = next(e for e in model.events if e.get("type") == "edit")
        assert edit["key"] == "lr_critic" and edit["new"] == 3e-4
        qtbot.waitUntil(lambda: model.state == "running", timeout=60_000)
        window.stop()
        qtbot.waitUntil(lambda: not window.is_active(), timeout=120_000)
        assert proc.wait(120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert model.state == "stopped"
    rows = read_metrics(out / "metrics.csv")["gen_iter"]
    assert list(model.columns()["gen_iter"]) == rows, "every row once, in order"
    reqs = [e for e in model.events if e.get("type") == "request"]
    assert [(r["action"], r["outcome"]) for r in reqs] == [("pause", "applied"), ("set", "applied"),
                                                              ("resume", "applied"), ("stop", "applied")]
    # Stopped, it can be continued (engine.continuation's rule), as when its folder is opened (issue 35 point 14)
    qtbot.waitUntil(lambda: window.act_start.text() == "Continue run", timeout=30_000)
    assert window.model.current.key == out


def test_a_killed_followed_run_is_shown_as_not_responding(qtbot, tmp_path):
    from studio.run_model import RunModel

    proc, out = start_train(tmp_path)
    model = RunModel()
    source = FolderSource(out, silent_s=2.0)
    try:
        from engine import load_config
        model.start(source, load_config(out / "config.toml"), out)
        qtbot.waitUntil(lambda: model.state == "running" and model.rows > 0, timeout=120_000)
        proc.kill()  # SIGKILL on Linux and macOS, TerminateProcess on Windows: no chance to clean up
        proc.wait(60)
        qtbot.waitUntil(lambda: model.state == "not responding", timeout=120_000)
    finally:
        if proc.poll() is None:
            proc.kill()
        source.stop_and_wait(10)
        qtbot.waitUntil(lambda: not model.is_active(), timeout=60_000)

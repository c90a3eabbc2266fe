"""A stopped run is never lost: it is in File > Open recent, opens ready to continue ("Continue
run" on the Start button), and continuing goes on from the stopped iteration in the same folder."""

from __future__ import annotations

import numpy as np
import pytest

from engine import read_events, read_metrics
from studio.main_window import MainWindow
from tests.helpers import tiny_config

from .helpers import use, wait_state


def recent_action(window, path):
    """The File > Open recent entry of ``path`` (the menu a user clicks)."""
    for a in window.recent_menu.actions():
        if a.data() == str(path.resolve()):
            return a
    raise AssertionError(f"{path} is not in the recent list: {[a.text() for a in window.recent_menu.actions()]}")


def test_stopped_run_continues_from_the_recent_list(qtbot, window, tmp_path):
    use(window, tiny_config(live=True))
    window.start()
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= 8, timeout=60_000)
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)
    run, stopped_at = window.run_path, window.run_status.gen_iter
    window.close()

    # Next session: the run is in the recent list, labelled as a run.
    again = MainWindow(live_samples_s=0.3)
    again.question_handler = lambda title, text: pytest.fail(f"unexpected question: {title}: {text}")
    qtbot.addWidget(again)
    again.show()
    assert again.act_start.text() == "Start"
    action = recent_action(again, run)
    assert action.text().startswith(f"Run {run.name}") and again.recent_menu.isEnabled()
    action.trigger()

    assert again.opened_run == run and again.run_state == "stopped"
    assert again.plots.buf.n == stopped_at
    assert again.act_start.text() == "Continue run" and again.act_start.isEnabled()
    tip = again.act_start.toolTip()
    assert f"from generator iteration {stopped_at}" in tip and run.name in tip and "Ctrl+Enter" in tip
    assert any("Continue run" in line for line in again.log_panel.lines())

    again.act_start.trigger()
    wait_state(qtbot, again, "running")
    assert again.act_start.text() == "Start" and not again.act_start.isEnabled()
    qtbot.waitUntil(lambda: again.run_status.gen_iter >= stopped_at + 5, timeout=60_000)
    # gen_iter went on from where the run stopped: never back to 1.
    qtbot.waitUntil(lambda: again.plots.buf.n > stopped_at, timeout=30_000)
    x = again.plots.buf.view("gen_iter")
    assert np.array_equal(x, np.arange(1, len(x) + 1))
    again.stop()
    qtbot.waitUntil(lambda: not again.is_active(), timeout=60_000)

    assert again.run_path == run
    assert [p.name for p in run.parent.iterdir()] == [run.name]  # no new run folder
    m = read_metrics(run / "metrics.csv")
    assert m["gen_iter"] == [float(i) for i in range(1, again.run_status.gen_iter + 1)]
    kinds = [e["type"] for e in read_events(run / "events.jsonl")]
    assert kinds.count("start") == 1 and kinds.count("resume_run") == 1 and kinds[-1] == "stop"
    resumed = next(e for e in read_events(run / "events.jsonl") if e["type"] == "resume_run")
    assert resumed["gen_iter"] == stopped_at


def test_open_run_that_cannot_continue_says_why(qtbot, window):
    use(window, tiny_config(live=True, train__iterations=6))
    with qtbot.waitSignal(window.run_finished, timeout=60_000):
        window.start()
    run = window.run_path
    assert window.open_path(run)
    # A finished run: Start begins a new run, and the tooltip says how to continue this one instead.
    assert window.act_start.text() == "Start"
    assert "raise train.iterations" in window.act_start.toolTip()
    window.config_panel.set_field_text("train.iterations", "9")
    assert window.act_start.text() == "Continue run"
    window.config_panel.set_field_text("train.batch_size", "16")
    assert window.act_start.text() == "Start"
    assert "configuration differs" in window.act_start.toolTip()

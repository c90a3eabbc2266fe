"""Start -> pause -> step -> resume -> stop drive the run, and the window shows the state."""

from __future__ import annotations

from engine import load_checkpoint, read_events
from tests.helpers import tiny_config

from .helpers import use, wait_state


def test_start_pause_step_resume_stop(qtbot, window):
    use(window, tiny_config(live=True))
    assert window.act_start.isEnabled()
    assert not window.act_pause.isEnabled() and not window.act_stop.isEnabled()

    window.act_start.trigger()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= 2, timeout=30_000)
    assert "Running" in window.windowTitle()
    assert "Running" in window.state_label.text()
    assert not window.act_start.isEnabled() and not window.act_step.isEnabled()
    assert window.config_panel.field_widget("train.batch_size").isReadOnly()  # form locked during a run

    window.act_pause.trigger()
    wait_state(qtbot, window, "paused")
    qtbot.waitUntil(lambda: window.run_status.state == "paused", timeout=30_000)  # the run's own word
    assert window.act_pause.text() == "Resume" and window.act_step.isEnabled()
    assert "Paused" in window.windowTitle()

    it = window.run_status.gen_iter
    window.act_step.trigger()
    # The step's row reaches the plots when the loop flushes it on going back to sleep: by then a
    # second iteration would have run already.
    qtbot.waitUntil(lambda: window.plots.buf.n and window.plots.buf.view("gen_iter")[-1] >= it + 1, timeout=60_000)
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= it + 1, timeout=60_000)
    assert window.run_status.gen_iter == it + 1, "a step runs exactly one generator iteration and stays paused"
    assert window.plots.buf.view("gen_iter")[-1] == it + 1
    assert window.run_state == "paused"
    window._update_status()
    assert window.iter_label.text() == f"{it + 1} / 100000"

    window.act_pause.trigger()  # now "Resume"
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= it + 4, timeout=30_000)

    window.act_stop.trigger()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)
    assert window.run_state == "stopped"
    assert "Stopped" in window.state_label.text()
    assert window.act_start.isEnabled() and not window.act_stop.isEnabled()
    assert not window.config_panel.field_widget("train.batch_size").isReadOnly()

    run = window.run_path
    kinds = [e["type"] for e in read_events(run / "events.jsonl")]
    assert kinds[0] == "start" and "pause" in kinds and "resume" in kinds and kinds[-1] == "stop"
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["gen_iter"] == window.run_status.gen_iter
    labels = [text for _, text in window.plots.markers]
    assert labels.count("pause") == 1 and labels.count("resume") == 1


def test_status_bar_shows_rate_eta_and_device(qtbot, window):
    use(window, tiny_config(live=True))
    window.start()
    qtbot.waitUntil(lambda: (window.run_status.its_per_sec or 0) > 0, timeout=30_000)
    window._update_status()
    assert window.rate_label.text().endswith("it/s") and window.rate_label.text() != "– it/s"
    assert window.eta_label.text().startswith("ETA ") and window.eta_label.text() != "ETA –"
    assert window.device_label.text() == "cpu"
    assert window.progress.maximum() == 100_000
    assert str(window.run_path) in window.path_label.text()
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)

"""Closing during a run stops it at a boundary with a checkpoint and leaves no thread; a
worker exception is shown, the run ends cleanly and the window stays usable."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from engine import Trainer, load_checkpoint, read_events
from studio.worker import live_threads

from .helpers import tiny, use, wait_state


def test_close_mid_run_stops_with_checkpoint_and_no_thread(qtbot, window, monkeypatch):
    use(window, tiny())
    window.start()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.gen_iter >= 3, timeout=30_000)

    # The user is asked, and "No" keeps everything running.
    monkeypatch.delenv("WGAN_STUDIO_NO_CONFIRM")
    questions = []
    window.question_handler = lambda title, text: questions.append(title) or False
    assert window.close() is False
    assert questions == ["Stop training?"] and window.is_active()

    window.question_handler = lambda title, text: True
    assert window.close() is True
    assert not live_threads()
    assert window.run_state == "stopped"
    state = load_checkpoint(window.run_path / "checkpoints" / "latest.pt")
    assert state["gen_iter"] == window.trainer.gen_iter >= 3
    assert read_events(window.run_path / "events.jsonl")[-1]["type"] == "stop"
    # and the checkpoint is enough to continue the run
    assert Trainer.from_checkpoint(window.run_path / "checkpoints" / "latest.pt").gen_iter == state["gen_iter"]


def test_close_while_paused(qtbot, window):
    use(window, tiny())
    window.start()
    wait_state(qtbot, window, "running")
    window.toggle_pause()
    wait_state(qtbot, window, "paused")
    assert window.close() is True
    assert not live_threads()
    assert (window.run_path / "checkpoints" / "latest.pt").is_file()


def test_worker_exception_shows_error_and_reenables_controls(qtbot, window, monkeypatch):
    original = Trainer._generator_step

    def failing(self):
        if self.gen_iter >= 5:
            raise RuntimeError("boom: the generator exploded")
        return original(self)

    monkeypatch.setattr(Trainer, "_generator_step", failing)
    use(window, tiny(train__checkpoint_every=2))
    with qtbot.waitSignal(window.run_finished, timeout=60_000) as finished:
        window.start()
    assert finished.args == ["error"]
    box = window.error_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "boom: the generator exploded" in box.text()
    assert "Traceback" in box.detailedText() and "failing" in box.detailedText()
    assert "latest.pt" in box.informativeText()
    assert "Error" in window.state_label.text() and "Error" in window.windowTitle()
    assert window.act_start.isEnabled() and not window.act_stop.isEnabled()
    assert not window.config_panel.field_widget("train.batch_size").isReadOnly()
    assert load_checkpoint(window.run_path / "checkpoints" / "latest.pt")["gen_iter"] == 4
    assert read_events(window.run_path / "events.jsonl")[-1]["type"] == "error"
    box.close()

    # the window is usable: a new run starts and runs
    monkeypatch.setattr(Trainer, "_generator_step", original)
    window.start()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.gen_iter >= 6, timeout=30_000)
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)


@pytest.mark.parametrize("bad", ["nonexistent-folder"])
def test_data_error_at_start_is_reported(qtbot, window, tmp_path, bad):
    cfg = tiny("digits-wgan-gp")
    cfg.data.name, cfg.data.path = "folder", str(tmp_path / bad)
    use(window, cfg)
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        window.start()
    assert window.error_box.isVisible()
    assert window.act_start.isEnabled()
    assert "No checkpoint" in window.error_box.informativeText()

"""Closing during a run stops it at a boundary with a checkpoint and leaves no thread; a
worker exception is shown, the run ends cleanly and the window stays usable."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

import engine.run_state
from engine import Trainer, load_checkpoint, read_events
from engine.algorithm import TrainingStep
from engine.io import atomic_open
from studio.worker import live_threads
from tests.helpers import tiny_config

from .helpers import pause, start_live, stop, use


def test_close_mid_run_stops_with_checkpoint_and_no_thread(qtbot, window, monkeypatch):
    use(window, tiny_config(live=True))
    window.start()
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= 3, timeout=30_000)

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
    assert state["gen_iter"] == window.run_status.gen_iter >= 3
    assert read_events(window.run_path / "events.jsonl")[-1]["type"] == "stop"
    # and the checkpoint is enough to continue the run
    assert Trainer.from_checkpoint(window.run_path / "checkpoints" / "latest.pt").gen_iter == state["gen_iter"]


def test_close_while_paused(qtbot, window):
    start_live(qtbot, window)
    pause(qtbot, window)
    assert window.close() is True
    assert not live_threads()
    assert (window.run_path / "checkpoints" / "latest.pt").is_file()


def test_worker_exception_shows_error_and_reenables_controls(qtbot, window, monkeypatch):
    original = TrainingStep.generator_update
    calls = [0]

    def failing(self):
        calls[0] += 1
        if calls[0] > 5:  # the update of generator iteration 6
            raise RuntimeError("boom: the generator exploded")
        return original(self)

    monkeypatch.setattr(TrainingStep, "generator_update", failing)
    use(window, tiny_config(live=True, train__checkpoint_every=2))
    with qtbot.waitSignal(window.run_finished, timeout=60_000) as finished:
        window.start()
    assert finished.args == ["failed"]
    box = window.error_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "boom: the generator exploded" in box.text()
    assert "Traceback" in box.detailedText() and "failing" in box.detailedText()
    assert "latest.pt" in box.informativeText()
    assert "Failed" in window.state_label.text() and "Failed" in window.windowTitle()
    assert window.act_start.isEnabled() and not window.act_stop.isEnabled()
    assert not window.config_panel.field_widget("train.batch_size").isReadOnly()
    assert load_checkpoint(window.run_path / "checkpoints" / "latest.pt")["gen_iter"] == 4
    assert read_events(window.run_path / "events.jsonl")[-1]["type"] == "error"
    box.close()

    # the window is usable: a new run starts and runs
    monkeypatch.setattr(TrainingStep, "generator_update", original)
    window.start()
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= 6, timeout=30_000)
    stop(qtbot, window)


@pytest.mark.parametrize("bad", ["nonexistent-folder"])
def test_data_error_at_start_is_reported(qtbot, window, tmp_path, bad):
    cfg = tiny_config("digits-wgan-gp", live=True)
    cfg.data.name, cfg.data.path = "folder", str(tmp_path / bad)
    use(window, cfg)
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        window.start()
    assert window.error_box.isVisible()
    assert window.act_start.isEnabled()
    assert "No checkpoint" in window.error_box.informativeText()


class SlowCheckpoints:
    """Stands in for the engine's checkpoint writer: the same atomic write, but a slow disk. The
    first write stops half-way until :attr:`release` is set, so a test can close the window
    while a checkpoint is certainly being written."""

    def __init__(self):
        self.writing = threading.Event()    # the first write has begun (half the file is out)
        self.release = threading.Event()    # let it finish
        self.written: list[Path] = []       # completed writes, in order

    def __call__(self, state, path):
        path = Path(path)
        buf = io.BytesIO()
        torch.save(state, buf)
        data = buf.getvalue()
        half = len(data) // 2
        with atomic_open(path, "wb") as fh:
            fh.write(data[:half])
            fh.flush()
            if not self.writing.is_set():
                self.writing.set()
                assert self.release.wait(60), "the test never released the write"
            for i in range(half, len(data), 4096):
                fh.write(data[i:i + 4096])
                time.sleep(0.001)  # a slow disk
        self.written.append(path)
        return path


def close_during_checkpoint_write(qtbot, window, monkeypatch, release_after_ms: int | None,
                                  slow: SlowCheckpoints | None = None) -> SlowCheckpoints:
    """``release_after_ms`` None: the caller releases the write itself (``slow.release``)."""
    slow = slow or SlowCheckpoints()
    monkeypatch.setattr(engine.run_state, "save_checkpoint", slow)
    use(window, tiny_config(live=True, train__checkpoint_every=5))
    window.start()
    qtbot.waitUntil(slow.writing.is_set, timeout=60_000)  # iteration 5's checkpoint is half written
    assert not slow.written and window.is_active()
    if release_after_ms is not None:
        QTimer.singleShot(release_after_ms, slow.release.set)  # the disk catches up while the window waits
    assert window.close() is True
    assert slow.release.is_set(), "the window closed before the checkpoint write could finish"
    return slow


def test_close_during_a_checkpoint_write_waits_for_it(qtbot, window, monkeypatch):
    slow = close_during_checkpoint_write(qtbot, window, monkeypatch, release_after_ms=500)
    assert not window.isVisible() and not live_threads()
    run = window.run_path
    # The write that was under way when the window closed is complete, then the stop's own.
    assert slow.written[0] == run / "checkpoints" / "iter_0000005.pt"
    assert load_checkpoint(slow.written[0])["gen_iter"] == 5
    final = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert final["gen_iter"] == window.run_status.gen_iter >= 5
    assert Trainer.from_checkpoint(run / "checkpoints" / "latest.pt").gen_iter == final["gen_iter"]
    assert not list((run / "checkpoints").glob(".*.tmp")), "a temporary checkpoint file was left behind"
    assert read_events(run / "events.jsonl")[-1]["type"] == "stop"


def test_close_during_a_very_slow_checkpoint_write_asks_to_keep_waiting(qtbot, window, monkeypatch):
    monkeypatch.delenv("WGAN_STUDIO_NO_CONFIRM")
    questions = []
    slow = SlowCheckpoints()

    def answer(title, text):  # "keep waiting"; the disk catches up once the window has asked
        questions.append(title)
        if title == "Still writing the checkpoint?":
            slow.release.set()
        return True
    window.question_handler = answer
    window.close_timeout_s = 0.3
    close_during_checkpoint_write(qtbot, window, monkeypatch, release_after_ms=None, slow=slow)
    assert questions[0] == "Stop training?"
    assert "Still writing the checkpoint?" in questions[1:]  # asked (and answered "keep waiting")
    assert not live_threads()
    assert load_checkpoint(slow.written[0])["gen_iter"] == 5
    assert load_checkpoint(window.run_path / "checkpoints" / "latest.pt")["gen_iter"] == window.run_status.gen_iter

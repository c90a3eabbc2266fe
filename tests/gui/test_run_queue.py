"""The queue in the studio: Run > Add to queue, the queued entries in the Runs view (move, remove,
hold), the queue kept in the runs folder across a restarted studio, queued runs trained as
wgan-train processes with a notice when one ends, and the close question (cancel, or stop them
each writing its checkpoint)."""

from __future__ import annotations

from pathlib import Path

from engine import save_config
from engine.queue import RunQueue
from engine.status import RunState
from tests.helpers import tiny_config


def queued_names(view) -> list[str]:
    return [r.name for r in view.model.rows if r.queue_id is not None]


def test_the_queue_survives_a_restarted_studio_and_is_reordered_removed_and_held(qtbot, window, tmp_path):
    from studio.main_window import MainWindow

    ctl, view = window.runs_dock.queue, window.runs_view
    view.hold_button.click()                       # nothing starts while the queue is held
    assert ctl.queue.held()
    assert ctl.add_preset("toy-wgan-clip") and ctl.add_preset("toy-wgan-gp")
    cfg_file = tmp_path / "mine.toml"
    save_config(tiny_config(), cfg_file)
    assert ctl.add_file(cfg_file)
    qtbot.waitUntil(lambda: queued_names(view) == ["toy-wgan-clip", "toy-wgan-gp", "mine"], timeout=10_000)
    row = next(r for r in view.model.rows if r.name == "mine")
    assert row.state == RunState.QUEUED and row.what and str(row.state) == "queued"

    # Move "mine" up: the queue's order (the next to start first) changes; remove the first.
    view.select_paths([row.path])
    view.up_button.click()
    assert [e.name for e in RunQueue(window.settings.runs_dir).entries()] == ["toy-wgan-clip", "mine", "toy-wgan-gp"]
    first = next(r for r in view.model.rows if r.name == "toy-wgan-clip")
    view.select_paths([first.path])
    view.remove_button.click()
    assert [e.name for e in RunQueue(window.settings.runs_dir).entries()] == ["mine", "toy-wgan-gp"]
    qtbot.waitUntil(lambda: sorted(queued_names(view)) == ["mine", "toy-wgan-gp"], timeout=10_000)
    window.close()

    # A new studio on the same runs folder shows the queue as it was (and still held).
    again = MainWindow()
    again.question_handler = window.question_handler
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: sorted(queued_names(again.runs_view)) == ["mine", "toy-wgan-gp"], timeout=10_000)
    assert again.runs_view.hold_button.isChecked()

    # Run > Add to queue (the toolbar's button): the form's configuration, under the preset's name.
    again.load_preset("toy-wgan-clip")
    again.runs_dock.actions["add_to_queue"].trigger()
    qtbot.waitUntil(lambda: sorted(queued_names(again.runs_view)) == ["mine", "toy-wgan-clip", "toy-wgan-gp"],
                    timeout=10_000)
    entry = next(e for e in RunQueue(again.settings.runs_dir).entries() if e.name == "toy-wgan-clip")
    assert entry.source == "current configuration" and entry.config_path.is_file()
    again.close()


def test_queued_runs_train_as_processes_notify_and_the_close_question(qtbot, window, tmp_path, monkeypatch):
    from studio.run_queue import CANCEL, STOP

    ctl, view = window.runs_dock.queue, window.runs_view
    ctl.slots_box.setValue(1)                      # one at a time: the first ends before the second starts
    notices = []
    ctl.notified.connect(lambda title, text: notices.append((title, text)))
    assert ctl.add(tiny_config(), name="short", source="test")
    assert ctl.add(tiny_config(live=True), name="long", source="test")
    qtbot.waitUntil(lambda: ("Run finished", "short finished training.") in notices, timeout=180_000)
    runs = Path(window.settings.runs_dir)
    qtbot.waitUntil(lambda: any(r.name == "long" and r.queue_id is None and r.state == RunState.RUNNING
                                for r in view.model.rows), timeout=180_000)
    short = next(r for r in view.model.rows if r.name == "short")
    assert short.state == RunState.FINISHED and short.gen_iter == 20 and short.path.parent == runs

    # Closing asks: cancel keeps the window open and the run training.
    monkeypatch.setenv("WGAN_STUDIO_NO_CONFIRM", "0")
    asked = []
    ctl.ask_close = lambda running, waiting: asked.append((running, waiting)) or CANCEL
    window.close()
    assert asked == [(1, 0)] and window.isVisible()
    # Stop them: the run writes its checkpoint and waits in the queue for the next runner.
    ctl.ask_close = lambda running, waiting: STOP
    window.close()
    assert not window.isVisible()
    entry = next(e for e in RunQueue(runs).entries() if e.name == "long")
    assert entry.state == "queued"
    assert (Path(entry.run_path) / "checkpoints" / "latest.pt").exists()

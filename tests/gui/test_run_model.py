"""The run model on its own, fed by a scripted source: what a second kind of source (a run
folder followed by polling) has to do to drive every panel."""

from __future__ import annotations

import numpy as np
import pytest

from engine import load_preset
from studio.run_model import RunModel
from studio.sources import Progress, RunSource


class ScriptedSource(RunSource):
    """A source whose run is whatever the test emits."""

    def __init__(self):
        super().__init__()
        self.running = False
        self.stopped = False

    def start(self):
        self.running = True

    def is_running(self):
        return self.running

    def stop(self):
        self.stopped = True

    def progress(self):
        return Progress(3, 10, 2.0, 1.5, "elsewhere")

    def finish(self, state="finished"):
        self.running = False
        self.state_changed.emit(state)
        self.ended.emit()


def rows(start, n):
    it = np.arange(start + 1, start + n + 1, dtype=np.float64)
    return {"gen_iter": it, "w_estimate": 1 / it, "critic_loss": -1 / it}


@pytest.fixture
def model(qtbot):
    return RunModel()


def test_a_source_drives_the_model(qtbot, model, tmp_path):
    cfg = load_preset("toy-wgan-clip")
    src = ScriptedSource()
    seen = []
    for name in ("run_changed", "metrics_appended", "event_added", "samples_changed", "state_changed", "ended"):
        getattr(model, name).connect(lambda *a, name=name: seen.append(name))
    model.start(src, cfg, tmp_path / "run")
    assert src.running and model.is_active() and model.state == "starting"
    assert model.objective == "wgan-clip" and model.live_values["clip_value"] == cfg.objective.clip_value

    src.ready.emit({"values": {"clip_value": 0.02}, "device": "elsewhere", "warnings": ["slow disk"]})
    src.metrics.emit(rows(0, 3))
    src.event.emit({"type": "edit", "gen_iter": 2, "key": "clip_value", "old": 0.02, "new": 0.05})
    src.samples.emit({"kind": "toy", "gen_iter": 3})
    src.finish()
    assert not model.is_active() and model.state == "finished"
    assert model.rows == 3 and model.last_iter() == 3 and model.live_values["clip_value"] == 0.05
    assert model.log == ["warning: slow disk", model.events[0]] and model.samples["gen_iter"] == 3
    assert model.progress() == Progress(3, 10, 2.0, 1.5, "elsewhere")
    assert seen == ["run_changed", "state_changed", "metrics_appended", "event_added", "samples_changed",
                    "state_changed", "ended"]

    model.keep_until(2)
    assert np.array_equal(model.columns()["gen_iter"], [1, 2])


def test_another_run_leaves_nothing_and_hears_nothing_of_the_first(qtbot, model, tmp_path):
    cfg = load_preset("toy-wgan-gp")
    first = ScriptedSource()
    model.start(first, cfg, tmp_path / "a")
    first.metrics.emit(rows(0, 5))
    first.samples.emit({"kind": "toy", "gen_iter": 5})
    late = model.generation
    first.finish("stopped")

    model.clear(cfg)
    assert (model.rows, model.events, model.log, model.samples, model.path, model.state) == (0, [], [], None, None,
                                                                                             "idle")
    assert model.progress() == Progress(0, cfg.train.iterations)

    second = ScriptedSource()
    model.start(second, cfg, tmp_path / "b")
    first.metrics.emit(rows(5, 5))              # a late report of the first run: not this one's
    first.event.emit({"type": "pause", "gen_iter": 9})
    assert not model.set_samples({"kind": "toy", "gen_iter": 5}, late)  # made for the first run
    assert model.rows == 0 and model.events == [] and model.samples is None
    with pytest.raises(RuntimeError):
        model.clear()                            # the second run is in progress
    second.finish()


def test_an_opened_run_continues_with_its_history(qtbot, model, tmp_path):
    cfg = load_preset("toy-wgan-gp")
    cols = {k: list(v) for k, v in rows(0, 6).items()}
    events = [{"type": "edit", "gen_iter": 2, "key": "n_critic", "old": 5, "new": 3},
              {"type": "stop", "gen_iter": 6, "elapsed_s": 4.0}]
    model.show_run(tmp_path, cfg, cols, events, "stopped")
    assert model.opened and model.state == "stopped" and model.live_values["n_critic"] == 3
    assert model.progress() == Progress(6, cfg.train.iterations, elapsed_s=4.0)
    model.add_note("— opened")
    model.keep_until(4)
    src = ScriptedSource()
    model.start(src, cfg, tmp_path, continued=True)
    assert not model.opened and model.rows == 4 and model.events == events and model.log[-1] == "— opened"
    src.finish()

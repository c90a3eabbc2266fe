"""The run model on its own, fed by a scripted source: what a second kind of source (a run
folder followed by polling) has to do to drive every panel; and several runs held at once, the
signals telling the panels about the current one only."""

from __future__ import annotations

import numpy as np
import pytest

from engine import load_preset
from engine.status import RunState, RunStatus
from studio.run_model import RunModel
from studio.sources import RunSource

STATUS = RunStatus(state=RunState.RUNNING, gen_iter=3, total=10, its_per_sec=2.0, elapsed_s=1.5, device="elsewhere")


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
    src.status.emit(STATUS)
    src.finish()
    assert not model.is_active() and model.state == "finished"
    assert model.rows == 3 and model.last_iter() == 3 and model.live_values["clip_value"] == 0.05
    assert model.log == ["warning: slow disk", model.events[0]] and model.samples["gen_iter"] == 3
    assert model.status() == STATUS and model.device == "elsewhere"
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
    assert (model.status().gen_iter, model.status().total) == (0, cfg.train.iterations)

    second = ScriptedSource()
    model.start(second, cfg, tmp_path / "b")
    first.metrics.emit(rows(5, 5))              # a late report of the first run: not this one's
    first.event.emit({"type": "pause", "gen_iter": 9})
    assert not model.set_samples({"kind": "toy", "gen_iter": 5}, late)  # made for the first run
    assert model.rows == 0 and model.events == [] and model.samples is None
    second.finish()


def test_runs_held_at_once_signal_for_the_current_one_only(qtbot, model, tmp_path):
    cfg = load_preset("toy-wgan-gp")
    first, second = ScriptedSource(), ScriptedSource()
    a = model.start(first, cfg, tmp_path / "a")
    first.metrics.emit(rows(0, 5))
    listed = []
    model.runs_changed.connect(lambda: listed.append(len(model.runs)))
    model.clear(cfg)                             # a preset while a runs: a goes on, listed
    assert model.state == "idle" and a.active and len(model.runs) == 2
    b = model.start(second, cfg, tmp_path / "b")
    assert list(model.runs) == [a, b] and model.current is b  # the preset's draft is let go
    appended = []
    model.metrics_appended.connect(appended.append)
    first.metrics.emit(rows(5, 5))               # a is not current: kept in its run, not signalled
    second.metrics.emit(rows(0, 2))
    assert (a.rows, b.rows, model.rows) == (10, 2, 2) and len(appended) == 1
    redrawn = []
    model.run_changed.connect(lambda: redrawn.append(model.rows))
    model.switch_to(a)
    assert redrawn == [10] and model.path == tmp_path / "a" and listed
    first.finish("stopped")
    second.finish()
    assert model.state == "stopped" and b.state == "finished"


def test_an_opened_run_continues_with_its_history(qtbot, model, tmp_path):
    cfg = load_preset("toy-wgan-gp")
    cols = {k: list(v) for k, v in rows(0, 6).items()}
    events = [{"type": "edit", "gen_iter": 2, "key": "n_critic", "old": 5, "new": 3},
              {"type": "stop", "gen_iter": 6, "elapsed_s": 4.0}]
    model.show_run(tmp_path, cfg, cols, events, "stopped")
    assert model.opened and model.state == "stopped" and model.live_values["n_critic"] == 3
    st = model.status()
    assert (st.gen_iter, st.total, st.elapsed_s) == (6, cfg.train.iterations, 4.0)
    model.add_note("— opened")
    model.keep_until(4)
    src = ScriptedSource()
    model.start(src, cfg, tmp_path, continued=True)
    assert not model.opened and model.rows == 4 and model.events == events and model.log[-1] == "— opened"
    src.finish()

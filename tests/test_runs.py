"""The model of runs (studio.runs) without Qt: what each run holds, many runs with one current,
and what the window's actions may do (studio.action_states), all importable without PySide6."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import load_preset
from engine.run_report import RunReport
from engine.status import RunState, RunStatus
from studio.action_states import WindowView, action_states
from studio.runs import LOCAL, NEW, OPENED, Run, Runs

ROOT = Path(__file__).resolve().parents[1]


def test_the_model_of_runs_imports_without_qt():
    code = ("import sys; sys.modules['PySide6'] = None; sys.modules['pyqtgraph'] = None; "
            "import studio.runs, studio.action_states; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr


class Source:
    """What a run's controls need of a source: here, nothing happens."""

    can_steer = True


def rows(start, n, **cols):
    it = np.arange(start + 1, start + n + 1, dtype=np.float64)
    return {"gen_iter": it, "w_estimate": 1 / it, "critic_loss": -1 / it, **cols}


class Heard:
    def __init__(self, runs: Runs):
        self.changes = []
        runs.listen(lambda run, change, *args: self.changes.append((run.name if run else None, change)))

    def of(self, change):
        return [name for name, c in self.changes if c == change]


def started(runs: Runs, name: str, tmp_path, kind=LOCAL, owns=True) -> Run:
    run = Run.started(kind, tmp_path / name, load_preset("toy-wgan-gp"), Source(), owns=owns)
    runs.show(run)
    return run


def test_a_run_holds_what_its_source_reports(tmp_path):
    run = Run.started(LOCAL, tmp_path / "a", load_preset("toy-wgan-clip"), Source())
    assert run.state == RunState.STARTING and run.active and run.objective == "wgan-clip"
    run.ready({"values": {"clip_value": 0.02}, "device": "cpu", "warnings": ["slow disk"], "num_classes": 0})
    run.append_metrics(rows(0, 3))
    run.add_event({"type": "edit", "gen_iter": 2, "key": "clip_value", "old": 0.02, "new": 0.05})
    run.set_status(RunStatus(state=RunState.RUNNING, gen_iter=3, total=10, its_per_sec=2.0, elapsed_s=1.5,
                             live={"clip_value": 0.05, "n_critic": 2}, device="cpu"))
    run.set_state("running")
    assert run.steerable and run.trains_here
    assert run.rows == 3 and run.last_iter() == 3
    assert run.live_values["clip_value"] == 0.05 and run.live_values["n_critic"] == 2
    assert run.log == ["warning: slow disk", run.events[0]]
    assert run.shown_status().gen_iter == 3 and run.shown_status().device == "cpu"
    run.set_state(RunState.STOPPING)
    run.set_state(RunState.RUNNING)        # a late report from before the stop request
    assert run.state == RunState.STOPPING
    run.set_status(RunStatus(state=RunState.STOPPED, gen_iter=3, total=10))
    run.end()
    assert not run.active and run.state == RunState.STOPPED and not run.steerable


def test_a_run_that_never_reported_ends_failed_and_a_followed_one_stopped(tmp_path):
    mine = Run.started(LOCAL, tmp_path / "a", load_preset("toy-wgan-gp"), Source())
    mine.end()
    assert mine.state == RunState.FAILED
    theirs = Run.started("folder", tmp_path / "b", load_preset("toy-wgan-gp"), Source(), owns=False)
    theirs.set_state("running")
    theirs.end()
    assert theirs.state == RunState.STOPPED and not theirs.trains_here


def test_the_nan_rollback_is_the_runs_and_names_what_went_non_finite(tmp_path):
    run = Run.started(LOCAL, tmp_path / "a", load_preset("toy-wgan-gp"), Source())
    run.append_metrics(rows(0, 6))
    bad = rows(6, 2)
    bad["critic_loss"][1] = np.nan
    bad["gradient_penalty"] = np.array([0.1, np.inf])
    run.append_metrics(bad)
    assert run.rows == 8
    run.add_event({"type": "nonfinite", "gen_iter": 8, "first_bad": 8, "rolled_back_to": 5,
                   "lr_critic": 2e-4, "lr_generator": 2e-4})
    assert run.rollback["values"] == {"critic_loss": pytest.approx(np.nan, nan_ok=True),
                                      "gradient_penalty": np.inf}
    assert run.rows == 5 and run.live_values["lr_critic"] == 2e-4  # the rolled-back rows are gone
    run.add_event({"type": "resume", "gen_iter": 5})
    assert run.rollback is None


def test_a_clipping_run_does_not_watch_the_penalty(tmp_path):
    run = Run.started(LOCAL, tmp_path / "a", load_preset("toy-wgan-clip"), Source())
    run.append_metrics(rows(0, 2, gradient_penalty=np.array([np.nan, np.nan])))
    assert run.nonfinite_seen is None


def test_an_opened_run_and_its_continuation(tmp_path):
    cfg = load_preset("toy-wgan-gp")
    cols = {k: list(v) for k, v in rows(0, 6).items()}
    events = [{"type": "edit", "gen_iter": 2, "key": "n_critic", "old": 5, "new": 3},
              {"type": "stop", "gen_iter": 6, "elapsed_s": 4.0}]
    run = Run.opened(RunReport(path=tmp_path, config=cfg, columns=cols, events=events), "stopped")
    assert run.kind == OPENED and run.state == RunState.STOPPED and run.live_values["n_critic"] == 3
    st = run.shown_status()
    assert (st.gen_iter, st.total, st.elapsed_s, st.its_per_sec) == (6, cfg.train.iterations, 4.0, None)
    run.add_note("— opened")
    run.keep_until(4)
    changes = []
    run.notify = lambda r, change, *a: changes.append(change)
    run.go_on(Source(), cfg)
    assert run.kind == LOCAL and run.active and run.rows == 4 and run.events == events
    assert run.log[-1] == "— opened" and changes == ["restart"]


def test_many_runs_one_current_and_none_in_progress_let_go(tmp_path):
    runs = Runs(load_preset("toy-wgan-gp"))
    heard = Heard(runs)
    draft = runs.current
    assert draft.kind == NEW and list(runs) == [draft]

    a = started(runs, "a", tmp_path)                 # Start: the draft is let go
    assert runs.current is a and list(runs) == [a]
    followed = started(runs, "b", tmp_path, kind="folder", owns=False)
    assert runs.current is followed and list(runs) == [a, followed]   # a goes on, listed
    assert runs.training_here() is a and runs.active() == [a, followed]

    runs.switch(a)
    assert runs.current is a and heard.of("current")[-1] == "a"
    a.append_metrics(rows(0, 2))
    followed.append_metrics(rows(0, 3))              # not current: kept in its run, heard as its own
    assert (a.rows, followed.rows) == (2, 3)
    assert ("b", "metrics") in heard.changes

    with pytest.raises(RuntimeError):
        runs.remove(a)                               # in progress: never let go
    a.set_state("stopped")
    a.end()
    assert runs.training_here() is None
    opened = runs.show(Run.opened(RunReport(path=tmp_path / "c", config=load_preset("toy-wgan-gp")), "stopped"))
    assert list(runs) == [followed, opened]          # a had ended: let go once replaced
    a.append_metrics(rows(2, 2))                     # a late report of a: only a hears it
    assert heard.changes[-1] != ("a", "metrics")

    followed.end()
    runs.remove(opened)
    assert runs.current is followed and list(runs) == [followed]
    runs.remove(followed)
    assert runs.current.kind == NEW and list(runs) == [runs.current]


def test_showing_a_held_runs_folder_again_while_it_runs_is_refused(tmp_path):
    runs = Runs()
    a = started(runs, "a", tmp_path)
    with pytest.raises(RuntimeError):
        runs.show(Run.opened(RunReport(path=tmp_path / "a"), "stopped"))
    assert runs.find(tmp_path / "a") is a


# ------------------------------------------------------------------------------ the window's actions
@pytest.mark.parametrize("view, start, pause, step, stop, form", [
    (WindowView(), ("Start", True), ("Pause", False), False, False, True),
    (WindowView(form_error="bad"), ("Start", False), ("Pause", False), False, False, True),
    (WindowView(state=RunState.RUNNING, active=True, controllable=True, training_here="a", runs=1),
     ("Start", False), ("Pause", True), False, True, False),
    (WindowView(state=RunState.PAUSED, active=True, controllable=True, training_here="a"),
     ("Start", False), ("Resume", True), True, True, False),
    (WindowView(state=RunState.STOPPED, continues=True, start_hint="Resume run: continue a."),
     ("Continue run", True), ("Pause", False), False, False, True),
    (WindowView(state=RunState.STOPPED, continues=True, training_here="b", runs=2),   # another run trains here
     ("Start", False), ("Pause", False), False, False, True),
    (WindowView(state=RunState.RUNNING, active=True, controllable=True, runs=2),     # followed, nothing trains here
     ("Start", False), ("Pause", True), False, True, False),
])
def test_actions_are_declared_from_the_run_state(view, start, pause, step, stop, form):
    s = action_states(view)
    assert (s["start"].text, s["start"].enabled) == start
    assert (s["pause"].text, s["pause"].enabled) == pause
    assert (s["step"].enabled, s["stop"].enabled, s["form"].enabled) == (step, stop, form)
    if view.training_here:
        assert view.training_here in s["start"].tip and not s["start_procs"].enabled

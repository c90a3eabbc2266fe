"""The worker's live pictures: same payload as the engine's, cheaper, and they never change the run."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from engine import Trainer
from studio.worker import LIVE_FIELD_RES, TrainingWorker, _Bridge, live_toy_payload
from tests.helpers import ManualClock, TickingClock, tiny_config


def _trainer(tmp_path=None, **overrides):
    cfg = tiny_config(**{"model__generator_norm": "batch", **overrides})  # batch-norm: looking must not update it
    return Trainer(cfg, tmp_path)


def test_live_payload_has_the_engine_payloads_keys():
    t = _trainer()
    t.step()
    engine = t.make_samples(write=False)
    live = live_toy_payload(t)
    assert set(live) == set(engine)
    assert live["field"].shape == (LIVE_FIELD_RES, LIVE_FIELD_RES)
    assert live["arrow_pos"].shape == engine["arrow_pos"].shape == (256, 2)
    np.testing.assert_allclose(live["fake"], engine["fake"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(live["real"], engine["real"])
    same = live_toy_payload(t, field_res=64)  # at the engine's resolution: the engine's picture
    np.testing.assert_allclose(same["field"], engine["field"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(same["arrow_grad"], engine["arrow_grad"], rtol=1e-4, atol=1e-5)
    none = live_toy_payload(t, arrows=False)
    assert none["arrow_pos"].shape == (0, 2) and none["arrow_grad"].shape == (0, 2)


def test_live_pictures_do_not_change_the_run():
    a, b = _trainer(), _trainer()
    for _ in range(4):
        a.step()
        b.step()
        live_toy_payload(b)
    for pa, pb in zip(a.generator.state_dict().values(), b.generator.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)  # batch-norm running statistics included
    for pa, pb in zip(a.critic.parameters(), b.critic.parameters(), strict=True):
        assert torch.equal(pa, pb)
        assert (pa.grad is None) == (pb.grad is None)
        assert pa.grad is None or torch.equal(pa.grad, pb.grad)  # no gradient left behind by the arrows


def _report():
    return {"gen_iter": np.array([1]), "w_estimate": np.array([0.1]), "critic_loss": np.array([-0.1]),
            "generator_loss": np.array([0.2])}


def test_bridge_emits_live_pictures_at_most_every_live_samples_s(qtbot):
    t = _trainer()
    w = TrainingWorker(t.config, live_samples_s=3600)
    w.trainer = t
    # The first picture is due at once, whatever the uptime: the clock starts where time.monotonic()
    # would be on a machine booted 3 minutes ago, well under live_samples_s.
    w.clock = clock = ManualClock(start=180.0)
    got = []
    w.samples.connect(got.append)
    bridge = _Bridge(w)
    cols = _report()
    bridge.on_metrics(cols)
    clock.advance(3599)
    bridge.on_metrics(cols)  # not due again for an hour
    assert len(got) == 1 and got[0]["field"].shape == (LIVE_FIELD_RES, LIVE_FIELD_RES)
    w.live_arrows = False
    clock.advance(1)
    bridge.on_metrics(cols)
    assert len(got) == 2 and len(got[1]["arrow_pos"]) == 0
    w.live_samples_enabled = False  # e.g. while the samples are not shown
    clock.advance(3600)
    bridge.on_metrics(cols)
    assert len(got) == 2
    w.live_samples_enabled = True
    bad = dict(cols, critic_loss=np.array([np.nan]))  # the engine rolls back: no picture of that state
    bridge.on_metrics(bad)
    assert len(got) == 2
    clock.advance(3600)
    bridge.on_metrics(cols)
    assert len(got) == 3


def test_slow_live_pictures_come_less_often(qtbot, monkeypatch):
    """A live picture that takes long (a slow machine, a big critic) is made less often, so the
    pictures never take more than LIVE_BUDGET of the training time."""
    from studio import worker as mod

    t = _trainer()
    w = TrainingWorker(t.config, live_samples_s=0.001)
    w.trainer = t
    w.clock = clock = ManualClock()
    got = []
    w.samples.connect(got.append)
    real = mod.live_toy_payload

    def slow(*args, **kwargs):
        clock.advance(0.05)  # a 50 ms picture
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "live_toy_payload", slow)
    bridge = _Bridge(w)
    cols = _report()
    bridge.on_metrics(cols)
    assert len(got) == 1
    wait = 0.05 / mod.LIVE_BUDGET  # 5 s at a 1% budget
    assert w._samples_wait_s == pytest.approx(wait)
    clock.advance(0.2)  # far past live_samples_s, but a 50 ms picture may come every `wait` s only
    bridge.on_metrics(cols)
    assert len(got) == 1
    clock.advance(wait - 0.2)  # its time has come
    bridge.on_metrics(cols)
    assert len(got) == 2


def test_window_draws_live_pictures_only_while_shown(qtbot, window):
    """The training thread pays for the live critic field: the window switches it off while the
    Samples tab is hidden, and the arrows follow their check box."""
    from .helpers import use, wait_state

    use(window, tiny_config(live=True))
    window.act_start.trigger()
    wait_state(qtbot, window, "running")
    w = window.model.source.worker  # the live pictures' switches, read on the training thread
    # Every report boundary is due for a picture: the clock moves 1 s at each reading (live_samples_s
    # is 0.3 here) and a picture's cost of 1 s may take all of it. It starts after any reading of
    # the clock it replaces (time.monotonic(), the seconds since boot, already read by the training
    # thread): from 12,345 s, a machine up for more than 3.4 hours saw no picture for 25 minutes.
    w.clock, w.live_budget = TickingClock(1.0, start=time.monotonic() + 1e6), 1.0
    assert w.live_samples_enabled and not w.live_arrows  # arrows unticked by default
    window.samples.toy.show_arrows.setChecked(True)
    assert w.live_arrows
    got, reports = [], []
    w.samples.connect(got.append)
    w.metrics.connect(reports.append)
    qtbot.waitUntil(lambda: len(got) > 0 and got[-1]["arrow_pos"].shape[0] > 0, timeout=60_000)
    window.tabs.setCurrentWidget(window.distances_scroll)
    assert not w.live_samples_enabled
    # A picture already on its way when the tab changed was emitted before the next report (same
    # thread, same queue): once two more reports are in, nothing of the shown tab is still coming.
    r0 = len(reports)
    qtbot.waitUntil(lambda: len(reports) >= r0 + 2, timeout=60_000)
    n = len(got)
    qtbot.waitUntil(lambda: len(reports) >= r0 + 10, timeout=60_000)  # each one was due for a picture
    assert len(got) == n, "no live pictures while the Samples tab is hidden"
    window.tabs.setCurrentWidget(window.samples)
    assert w.live_samples_enabled
    qtbot.waitUntil(lambda: len(got) > n, timeout=60_000)
    window.act_stop.trigger()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)


def test_the_status_of_a_running_run_comes_once_a_second_and_every_other_at_once(qtbot):
    """Each signal wakes the GUI thread, which then holds the GIL the training needs: the status
    (the status bar's 1 Hz) is not sent with every report while the run trains; a change of state
    and a paused run's step are sent at once."""
    from engine import RunState, RunStatus
    from studio.worker import STATUS_S

    w = TrainingWorker(_trainer().config)
    w.clock = clock = ManualClock(start=180.0)
    got = []
    w.status.connect(got.append)
    bridge = _Bridge(w)
    for i in range(10):  # ten reports within a second: one status
        bridge.on_status(RunStatus(RunState.RUNNING, i))
        clock.advance(STATUS_S / 20)
    assert [s.gen_iter for s in got] == [0]
    clock.advance(STATUS_S)
    bridge.on_status(RunStatus(RunState.RUNNING, 11))
    bridge.on_status(RunStatus(RunState.PAUSED, 12))   # paused: at once
    bridge.on_status(RunStatus(RunState.PAUSED, 13))   # a step while paused: at once
    assert [s.gen_iter for s in got] == [0, 11, 12, 13]

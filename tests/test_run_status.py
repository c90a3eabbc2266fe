"""One vocabulary for where a run is (engine.status) and one table of what an objective can do
(engine.objectives.traits)."""

from __future__ import annotations

import json

import pytest

from engine import RunState, RunStatus, Trainer, traits
from engine.config import OBJECTIVES, SCHEMA, ConfigError, live_value, unused_fields
from engine.objectives import OBJECTIVE_TRAITS, get_objective
from tests.helpers import tiny_config


def test_old_state_words_are_read_as_todays():
    assert RunState.parse("error") is RunState.FAILED  # status.json of an earlier version
    assert RunState.parse("waiting") is RunState.STARTING
    assert RunState.parse("not responding") is RunState.NOT_RESPONDING
    assert RunState.parse("exploded") is None
    assert RunState.RUNNING.active and not RunState.RUNNING.ended and RunState.FAILED.ended


def test_a_heartbeat_round_trips_and_gives_an_eta():
    st = RunStatus(RunState.RUNNING, 250, 1000, 12.5, 20.0, {"lr_critic": 1e-4}, "cpu")
    back = RunStatus.from_dict(json.loads(json.dumps(st.to_dict())))
    assert back == st
    assert back.eta_s == pytest.approx(60.0) and back.fraction == 0.25
    assert RunStatus(RunState.PAUSED, 250, 1000, 12.5).eta_s is None  # no ETA while paused


def test_a_damaged_heartbeat_is_read_as_unknown_fields():
    st = RunStatus.from_dict({"state": "paused", "gen_iter": "12", "total": None, "its_per_sec": float("nan"),
                              "live": [1, 2]})
    assert st == RunStatus(RunState.PAUSED)


def test_every_objective_has_its_traits_and_the_losses_agree():
    assert set(OBJECTIVE_TRAITS) == set(OBJECTIVES)
    for kind, t in OBJECTIVE_TRAITS.items():
        obj = get_objective(kind)
        assert (obj.uses_penalty, obj.clips_weights) == (t.uses_penalty, t.clips_weights)
        assert {"n_critic", "lr_critic", "lr_generator"} <= set(t.live_keys)
        assert all(f in SCHEMA for f in t.own_fields)
    assert traits("wgan-gp").regulariser_column == "gradient_penalty" and "gp_lambda" in traits("wgan-gp").live_keys
    assert "gp_lambda" not in traits("wgan-clip").live_keys and "clip_value" in traits("wgan-clip").live_keys
    with pytest.raises(KeyError, match="wgan-gp"):
        traits("wgan-typo")


def test_one_check_for_a_live_value_names_key_value_and_range():
    assert live_value("lr_critic", "2e-4") == 2e-4 and live_value("n_critic", 3) == 3
    with pytest.raises(ConfigError, match=r"lr_critic = 'fast': is not a number \(allowed: a number in \(0"):
        live_value("lr_critic", "fast")
    with pytest.raises(ConfigError, match=r"n_critic = 0: too small \(allowed: an integer in \[1, 1000\]\)"):
        live_value("n_critic", 0)
    with pytest.raises(ConfigError, match="cannot be changed during a run"):
        live_value("batch_size", 64)


def test_unused_fields_follow_the_objective_and_the_data():
    clip = unused_fields(tiny_config("toy-wgan-clip"))
    assert "objective.gp_lambda" in clip and "objective.clip_value" not in clip and "data.image_size" in clip
    gp = unused_fields({"objective.kind": "wgan-gp", "data.name": "digits", "model.arch": "dcgan"})
    assert "objective.clip_value" in gp and "objective.gp_lambda" not in gp and "data.image_size" not in gp
    assert "WGAN" in gp["objective.clip_value"]


def test_the_trainer_reports_its_status_to_observers_and_the_heartbeat(tmp_path):
    seen = []

    class Watch:
        def on_status(self, status):
            seen.append(status)

    t = Trainer(tiny_config(), tmp_path / "run", observers=[Watch()])
    t.run()
    assert seen[0].state is RunState.RUNNING and seen[-1].state is RunState.FINISHED
    assert seen[-1].gen_iter == seen[-1].total == 20 and seen[-1].live["n_critic"] == t.hp["n_critic"]
    assert any(s.gen_iter not in (0, 20) for s in seen)  # reports in between, not only state changes
    beat = json.loads((tmp_path / "run" / "status.json").read_text())
    assert RunStatus.from_dict(beat).state is RunState.FINISHED and beat["state"] == "finished"

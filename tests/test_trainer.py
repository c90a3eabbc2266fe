import threading

import numpy as np
import pytest
import torch

from engine import CheckpointError, ConfigError, RunDir, Trainer, TrainingError, load_checkpoint, read_metrics
from engine.rundir import BASE_COLUMNS, TOY_EVAL_COLUMNS, read_events
from tests.helpers import DIVERGING, EXPLODE, tiny_config, wait_until


def csv_without_wall_time(path):
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    i = header.index("wall_time_s")
    return [",".join(c for j, c in enumerate(line.split(",")) if j != i) for line in lines]


def test_run_writes_the_whole_run_folder(tmp_path):
    t = Trainer(tiny_config(), tmp_path / "run")
    summary = t.run()
    rd = RunDir(tmp_path / "run")
    assert summary["gen_iter"] == 20 and t.state == "finished"
    assert rd.config_path.read_text().startswith("config_version = 1")
    m = read_metrics(rd.metrics_path)
    assert list(m) == list(BASE_COLUMNS + TOY_EVAL_COLUMNS)
    assert m["gen_iter"] == list(range(1, 21))  # one row per generator iteration
    assert np.isfinite(m["w1_exact"][9]) and np.isnan(m["w1_exact"][8])  # evaluated every 10
    assert all(np.isnan(m["clip_fraction"]))  # wgan-gp does not clip
    assert all(v > 0 for v in m["gradient_penalty"])
    assert {p.name for p in rd.samples.iterdir()} == {"iter_0000010.png", "iter_0000020.png"}
    assert {p.name for p in rd.checkpoints.iterdir()} == {"iter_0000010.pt", "iter_0000020.pt", "latest.pt",
                                                          "best.pt"}
    # a "best" event at each evaluation that beats the ones before (checkpoints/best.pt)
    assert [e["type"] for e in read_events(rd.events_path) if e["type"] != "best"] == ["start", "finish"]
    assert (rd.path / "summary.json").is_file()
    state = load_checkpoint(rd.latest_checkpoint)
    assert state["gen_iter"] == 20
    assert {"rng", "fixed_noise", "edit_log", "opt_critic", "opt_generator", "config"} <= set(state)


def test_same_seed_same_metrics_and_weights(tmp_path):
    runs = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        t = Trainer(tiny_config(train__seed=seed), tmp_path / name)
        t.run()
        runs.append(t)
    a, b, c = (csv_without_wall_time(tmp_path / n / "metrics.csv") for n in "abc")
    assert a == b
    for p, q in zip(runs[0].generator.parameters(), runs[1].generator.parameters(), strict=True):
        assert torch.equal(p, q)
    assert a != c  # another seed, another run


def test_stop_and_resume_give_the_same_run(tmp_path):
    straight = Trainer(tiny_config(), tmp_path / "straight")
    straight.run()
    part = Trainer(tiny_config(), tmp_path / "part")
    part.run(iterations=10)
    resumed = Trainer.resume_run(tmp_path / "part", iterations=20)
    resumed.run()
    assert csv_without_wall_time(tmp_path / "straight" / "metrics.csv") == csv_without_wall_time(
        tmp_path / "part" / "metrics.csv")
    for p, q in zip(straight.generator.parameters(), resumed.generator.parameters(), strict=True):
        assert torch.equal(p, q)


def test_clipping_run_keeps_weights_in_bounds_and_logs_clip_fraction(tmp_path):
    t = Trainer(tiny_config("toy-wgan-clip"), tmp_path / "clip")
    t.run()
    assert max(p.abs().max().item() for p in t.critic.parameters()) <= 0.01 + 1e-9
    m = read_metrics(tmp_path / "clip" / "metrics.csv")
    assert all(0 < v <= 1 for v in m["clip_fraction"]) and all(np.isnan(m["gradient_penalty"]))


def test_warmup_schedule_of_the_reference_code():
    t = Trainer(tiny_config("toy-wgan-clip", objective__warmup=True), None)
    seen = []
    for k in (0, 24, 25, 26, 499, 500, 1000):
        t.gen_iter = k
        seen.append(t.n_critic_now())
    assert seen == [100, 100, 5, 5, 5, 100, 100]


def test_a_penalty_weight_changed_mid_run_is_in_metrics_csv_from_that_iteration(tmp_path):
    t = Trainer(tiny_config("toy-wgan-gp", objective__gp_lambda=10.0), tmp_path / "r")
    for _ in range(3):
        t.step()
    t.request_edit(gp_lambda=2.5)
    t.run(iterations=5)
    m = read_metrics(tmp_path / "r" / "metrics.csv")
    assert m["gp_lambda"] == [10.0, 10.0, 10.0, 2.5, 2.5]


def test_live_edit_applies_at_the_next_iteration_and_is_logged(tmp_path):
    cfg = tiny_config("toy-wgan-clip")
    t = Trainer(cfg, tmp_path / "r")
    for _ in range(3):
        t.step()
    t.request_edit(clip_value=0.05, lr_critic=2e-4, n_critic=2)
    assert t.hp["clip_value"] == 0.01  # not before the boundary
    t.step()
    assert t.hp["clip_value"] == 0.05 and t.opt_critic.param_groups[0]["lr"] == 2e-4
    t.run(iterations=6)
    m = read_metrics(tmp_path / "r" / "metrics.csv")
    assert m["clip_value"][:3] == [0.01] * 3 and m["clip_value"][3] == 0.05
    assert m["n_critic"][2:4] == [5, 2] and m["lr_critic"][3] == pytest.approx(2e-4)
    edits = [e for e in read_events(tmp_path / "r" / "events.jsonl") if e["type"] == "edit"]
    assert {(e["key"], e["old"], e["new"], e["gen_iter"]) for e in edits} == {
        ("clip_value", 0.01, 0.05, 3), ("lr_critic", 5e-5, 2e-4, 3), ("n_critic", 5, 2, 3)}
    assert all(np.isnan(m["gp_lambda"])), "clipping has no penalty weight: the column stays empty"
    with pytest.raises(ConfigError, match="clip_value"):
        t.request_edit(clip_value=-1.0)
    with pytest.raises(ConfigError, match="cannot be changed during a run"):
        t.request_edit(batch_size=3)


class Recorder:
    def __init__(self):
        self.states, self.events, self.metrics, self.samples = [], [], [], []

    def on_state(self, s):
        self.states.append(s)

    def on_event(self, e):
        self.events.append(e)

    def on_metrics(self, cols):
        self.metrics.append(cols)

    def on_samples(self, p):
        self.samples.append(p)


def test_pause_step_resume_stop_from_another_thread(tmp_path):
    rec = Recorder()
    t = Trainer(tiny_config(train__iterations=100_000), tmp_path / "r", observers=[rec])
    t.pause()  # start paused: the run waits before its first iteration
    th = threading.Thread(target=t.run)
    th.start()
    try:
        wait_until(lambda: t.state == "paused")
        assert t.gen_iter == 0
        t.request_step()
        wait_until(lambda: t.gen_iter == 1)
        wait_until(lambda: t.state == "paused")
        assert t.gen_iter == 1
        t.resume()
        wait_until(lambda: t.gen_iter > 5)
        t.stop()
        th.join(30)
        assert not th.is_alive()
    finally:
        t.stop()
        t.resume()
        th.join(30)
    assert t.state == "stopped"
    types = [e["type"] for e in rec.events]
    assert types[0] == "start" and "pause" in types and "resume" in types and types[-1] == "stop", types
    assert load_checkpoint(tmp_path / "r")["gen_iter"] == t.gen_iter  # stop writes a checkpoint
    rows = np.concatenate([m["gen_iter"] for m in rec.metrics])
    assert list(rows) == list(range(1, t.gen_iter + 1))


def test_samples_payload_for_toy_and_images(tmp_path):
    rec = Recorder()
    t = Trainer(tiny_config(), None, observers=[rec])
    p = t.make_samples(write=False)
    assert p["kind"] == "toy" and p["fake"].shape == (16, 2) and p["field"].shape == (64, 64)
    assert p["arrow_grad"].shape == p["arrow_pos"].shape
    cfg = tiny_config("digits-wgan-gp")
    img = Trainer(cfg, None).make_samples(write=False)
    assert img["images"].shape == (16, 1, 32, 32)
    assert img["images"].min() >= -1 and img["images"].max() <= 1


def exploding_config():
    """A run that trains calmly and explodes at ``EXPLODE`` (tests.helpers.DIVERGING)."""
    return tiny_config(train__iterations=200, train__checkpoint_every=5, train__eval_every=0, train__sample_every=0,
                       **DIVERGING)


def test_nonfinite_losses_roll_back_to_the_last_checkpoint_and_pause(tmp_path):
    rec = Recorder()
    cfg = exploding_config()
    t = Trainer(cfg, tmp_path / "r", observers=[rec])
    for _ in range(5):
        t.step()  # a good checkpoint at iteration 5
    good = [p.detach().clone() for p in t.generator.parameters()]
    t.request_edit(**EXPLODE)
    for _ in range(40):
        t.step()
        if t.paused:
            break
    assert t.paused and t.nonfinite["rolled_back_to"] == 5 and t.nonfinite["first_bad"] > 5
    assert t.gen_iter == 5 and t.hp["lr_critic"] == cfg.optimiser.lr_critic  # all rolled back
    assert all(torch.equal(p, q) for p, q in zip(t.generator.parameters(), good, strict=True))
    assert read_metrics(tmp_path / "r" / "metrics.csv")["gen_iter"] == [1, 2, 3, 4, 5]
    assert load_checkpoint(tmp_path / "r")["gen_iter"] == 5  # the last good checkpoint is intact
    assert any(e["type"] == "nonfinite" for e in read_events(tmp_path / "r" / "events.jsonl"))
    # lower the learning rate and carry on from there
    t.request_edit(lr_critic=1e-5)
    t.resume()
    t.run(iterations=8)
    assert t.state == "finished" and read_metrics(tmp_path / "r" / "metrics.csv")["gen_iter"] == list(range(1, 9))


def test_nonfinite_weights_never_reach_a_checkpoint(tmp_path):
    t = Trainer(exploding_config(), tmp_path / "r")
    for _ in range(5):
        t.step()  # a good checkpoint at iteration 5
    ckpt = tmp_path / "r" / "checkpoints" / "latest.pt"
    before = ckpt.read_bytes()
    for _ in range(2):
        t.step()
    with torch.no_grad():
        next(t.generator.parameters())[0, 0] = float("nan")  # finite losses so far, a broken weight
    assert t.save_checkpoint() is None
    assert ckpt.read_bytes() == before, "the last good checkpoint is intact"
    assert t.paused and t.gen_iter == 5 and t.nonfinite["what"] == "weights"
    assert all(torch.isfinite(p).all() for p in t.generator.parameters())
    (tmp_path / "noise.pt").write_bytes(b"\x00garbage" * 50)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "noise.pt")


def test_nonfinite_in_raise_mode_stops_with_a_message(tmp_path):
    cfg = exploding_config()
    cfg.optimiser.lr_critic = cfg.optimiser.lr_generator = EXPLODE["lr_critic"]
    t = Trainer(cfg, tmp_path / "r", on_nonfinite="raise")
    with pytest.raises(TrainingError, match="NaN or infinite") as e:
        t.run()
    ev = read_events(tmp_path / "r" / "events.jsonl")
    assert ev[-1]["type"] == "error" and t.state == "failed"
    # The advice works from where the run is: here nothing was checkpointed before iteration 1
    assert "no checkpoint was written before it" in str(e.value) and "start the run again" in str(e.value)
    assert "resume" not in str(e.value)


def test_nonfinite_advice_names_the_checkpoint_to_continue_from(tmp_path):
    t = Trainer(exploding_config(), tmp_path / "r", on_nonfinite="raise")
    for _ in range(5):
        t.step()  # a good checkpoint at iteration 5
    t.request_edit(**EXPLODE)
    with pytest.raises(TrainingError) as e:
        t.run()
    msg = str(e.value)
    assert "last good checkpoint (iteration 5)" in msg and f"wgan-train --resume {tmp_path / 'r'}" in msg


def test_checkpoint_with_a_pickled_object_is_refused(tmp_path):
    import os
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    t = Trainer(tiny_config(), tmp_path / "r")
    t.step()
    state = t.state_dict()
    state["evil"] = Evil()
    torch.save(state, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()
    (tmp_path / "trunc.pt").write_bytes((tmp_path / "evil.pt").read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "trunc.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a WGAN Studio checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_summary_reports_how_the_w_estimate_follows_w1_over_the_whole_run(tmp_path):
    """summary.json carries the paper's key claim measured on the run: the Spearman correlation of
    the logged W-estimate with exact W1 at the evaluations, a resumed run's earlier part included."""
    from scipy.stats import spearmanr

    cfg = tiny_config(train__eval_every=4, train__iterations=24)
    Trainer(cfg, tmp_path / "run").run(iterations=12)
    summary = Trainer.resume_run(tmp_path / "run", iterations=24).run()
    m = read_metrics(tmp_path / "run" / "metrics.csv")
    w, w1 = np.array(m["w_estimate"]), np.array(m["w1_exact"])
    ok = np.isfinite(w1)
    assert ok.sum() == 6  # 3 before the resume, 3 after
    corr = summary["w_estimate_vs_quality"]
    assert corr["measure"] == "w1_exact" and corr["evaluations"] == 6
    assert corr["spearman"] == pytest.approx(spearmanr(w[ok], w1[ok]).statistic, abs=1e-4)
    import json
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["w_estimate_vs_quality"] == corr

"""Issue 21, "Signals": the held-out critic (overfitting check), the Lipschitz check's quantiles of
the critic's gradient norm at the interpolates, and the best checkpoint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import tiny_config
from test_cli import run_cli

from engine.checkpoint import load_checkpoint
from engine.config import ConfigError, config_from_dict
from engine.data.images import ImageData, load_images
from engine.evaluation import OVERFIT_SHARE, OVERFIT_WINDOW, critic_overfitting, is_better
from engine.rundir import read_events, read_metrics
from engine.trainer import Trainer


# ---------------------------------------------------------------------------- the rules
def test_overfitting_rule_needs_a_growing_gap_that_matters():
    w = [10.0] * 6
    # the gap grew at each of the last OVERFIT_WINDOW evaluations and is above OVERFIT_SHARE of W
    t = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    h = [0.0, 0.5, 0.8, 1.0, 1.2, 1.5]     # gap 0, .5, 1.2, 2, 2.8, 3.5 (35% of W)
    c = critic_overfitting(t, h, w)
    assert c.overfitting and c.growing == OVERFIT_WINDOW and c.gap == pytest.approx(3.5)
    assert c.share == pytest.approx(0.35) and "Try more training images" in c.message(500)
    # the same gap, but it shrank at the last evaluation: not (or no longer) growing
    assert not critic_overfitting(t + [5.0], h + [2.0], w + [10.0]).overfitting
    # growing, but small next to the W-estimate
    assert not critic_overfitting(t, h, [100.0] * 6).overfitting
    assert critic_overfitting(t, h, [3.5 / OVERFIT_SHARE * 0.99] * 6).overfitting
    # large, but not growing over the whole window
    assert not critic_overfitting([5, 5, 5, 5], [1, 1, 1, 1], [1, 1, 1, 1]).overfitting
    # too few evaluations yet; NaN rows (evaluations before a resume's columns) are skipped
    assert not critic_overfitting([1, 2, 3], [0, 0, 0], [1, 1, 1]).overfitting
    nan = float("nan")
    assert critic_overfitting([nan] + t, [nan] + h, [1.0] + w).overfitting
    assert math.isnan(critic_overfitting([], [], []).gap)


def test_best_rule_is_lower_and_finite():
    assert is_better(1.0, None) and is_better(0.5, 1.0)
    assert not is_better(1.0, 1.0) and not is_better(2.0, 1.0)
    assert not is_better(float("nan"), None) and not is_better(float("inf"), None)


# ---------------------------------------------------------------------------- the held-out split
def test_holdout_key_is_checked_and_the_split_is_fixed_by_the_seed():
    with pytest.raises(ConfigError) as e:
        config_from_dict({"data": {"holdout": 0.7}})
    assert "[data] holdout" in str(e.value) and "[0, 0.5]" in str(e.value)
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1)
    data = ImageData("t", images, np.arange(100) % 10)
    train, held = data.split(0.05, seed=3)
    ids = lambda d: set(d.images.flatten().tolist())  # noqa: E731
    assert len(held) == 5 and len(train) == 95 and not ids(train) & ids(held)
    assert held.num_classes == train.num_classes == 10
    assert ids(data.split(0.05, seed=3)[1]) == ids(held) != ids(data.split(0.05, seed=4)[1])
    assert data.split(0.0, seed=3) == (data, None)


def _image_trainer(n_images: int, **overrides) -> Trainer:
    """A tiny MLP critic on 8x8 digits: ``n_images`` of them, half held out."""
    cfg = tiny_config("digits-wgan-gp", data__image_size=8, model__arch="mlp", model__hidden=64, model__layers=2,
                      data__holdout=0.5, train__eval_every=0, train__sample_every=0, train__checkpoint_every=0,
                      train__threads=1, **overrides)
    images, _ = load_images(cfg)
    return Trainer(cfg, None, data=ImageData("digits", images[:n_images], None))


def test_heldout_value_equals_training_value_before_training():
    tr = _image_trainer(400)
    assert len(tr.heldout) == len(tr.data) == 200
    v = tr.critic_on_real()
    # The same distribution, a critic that never saw either set: equal within sampling error
    # (4 standard errors of a difference of two means of 200 values).
    with torch.no_grad():
        f = tr.critic(tr.probe_train[0]).flatten()
    tol = 4 * float(f.std()) * math.sqrt(2 / len(f))
    assert abs(v["critic_heldout"] - v["critic_train"]) < tol


def test_heldout_value_drifts_apart_when_the_critic_overfits_a_tiny_set():
    tr = _image_trainer(40, optimiser__lr_critic=1e-3, objective__gp_lambda=1.0)
    before = tr.critic_on_real()
    tr.run(iterations=120)
    after = tr.critic_on_real()
    gap0 = before["critic_train"] - before["critic_heldout"]
    gap = after["critic_train"] - after["critic_heldout"]
    # 20 training images: the critic scores them well above 20 real images it never saw
    assert gap > 0.1 * abs(tr.last_metrics["w_estimate"]) and gap > 20 * abs(gap0)


def test_image_runs_log_the_critic_on_real_data_and_the_frechet_distance(tmp_path):
    cfg = tiny_config("digits-wgan-gp", data__image_size=8, model__arch="mlp", train__iterations=10,
                      train__eval_every=5, train__sample_every=0, train__checkpoint_every=0, train__threads=1)
    Trainer(cfg, tmp_path / "run").run()
    m = read_metrics(tmp_path / "run" / "metrics.csv")
    rows = np.isfinite(m["critic_heldout"])
    assert np.asarray(m["gen_iter"])[rows].tolist() == [5, 10]
    for name in ("critic_train", "frechet_distance", "sliced_w"):
        assert np.isfinite(np.asarray(m[name])[rows]).all()


# ---------------------------------------------------------------------------- the Lipschitz check
@pytest.mark.parametrize("preset", ["toy-wgan-gp", "toy-wgan-clip"])
def test_gradient_norm_quantiles(tmp_path, preset):
    tr = Trainer(tiny_config(preset, train__iterations=6, train__threads=1, train__eval_every=0), tmp_path / "run")
    tr.run()
    m = read_metrics(tmp_path / "run" / "metrics.csv")
    q = np.array([m["gp_grad_q10"], m["gp_grad_q50"], m["gp_grad_q90"]])
    if preset == "toy-wgan-gp":
        assert np.isfinite(q).all() and (q >= 0).all()
        assert (q[0] <= q[1]).all() and (q[1] <= q[2]).all()
    else:  # no interpolates; the clipped share instead
        assert np.isnan(q).all()
        assert np.isfinite(m["clip_fraction"]).all()


# ---------------------------------------------------------------------------- the best checkpoint
@pytest.fixture
def small_eval(monkeypatch):
    """200 evaluation points instead of 1,000: exact W1 is an optimal assignment, cubic in them."""
    monkeypatch.setattr("engine.build.EVAL_POINTS", 200)


def test_best_checkpoint_updates_only_when_better_and_survives_resume(tmp_path, small_eval):
    run = tmp_path / "run"
    cfg = tiny_config(train__iterations=40, train__eval_every=5, train__checkpoint_every=20, train__sample_every=0,
                      train__threads=1, optimiser__lr_critic=1e-3, optimiser__lr_generator=1e-3)
    Trainer(cfg, run).run()

    def check():
        m = read_metrics(run / "metrics.csv")
        it, w1 = np.asarray(m["gen_iter"]), np.asarray(m["w1_exact"])
        ok = np.isfinite(w1)
        bests = [e for e in read_events(run / "events.jsonl") if e["type"] == "best"]
        values = [e["value"] for e in bests]
        assert values == sorted(values, reverse=True) and len(set(values)) == len(values)  # only when better
        best = load_checkpoint(run / "checkpoints" / "best.pt")
        assert best["best"]["value"] == pytest.approx(w1[ok].min())
        assert best["gen_iter"] == best["best"]["gen_iter"] == int(it[ok][np.argmin(w1[ok])])
        return best, bests

    best, bests = check()
    assert len(bests) >= 2
    # the weights are those of the evaluated iteration, not of a later one
    if best["gen_iter"] != 40:
        assert not torch.equal(best["generator"]["net.0.weight"],
                               load_checkpoint(run / "checkpoints" / "latest.pt")["generator"]["net.0.weight"])
    mtime = (run / "checkpoints" / "best.pt").stat().st_mtime_ns

    tr = Trainer.resume_run(run, iterations=50)
    assert tr.best is None  # read when the run starts
    tr.run()
    assert tr.best["value"] <= best["best"]["value"]
    best2, bests2 = check()
    if best2["best"]["value"] == best["best"]["value"]:
        assert (run / "checkpoints" / "best.pt").stat().st_mtime_ns == mtime  # not written again
    assert tr.summary()["best"]["value"] == best2["best"]["value"]


def test_nan_rollback_keeps_the_best_checkpoint(tmp_path, small_eval):
    run = tmp_path / "run"
    Trainer(tiny_config(train__iterations=20, train__threads=1, train__sample_every=0), run).run()
    best = load_checkpoint(run / "checkpoints" / "best.pt")["best"]
    tr = Trainer.resume_run(run, iterations=30)
    tr.step()
    tr.handle_nonfinite(tr.gen_iter)  # what a NaN loss does: back to latest.pt, paused
    assert (run / "checkpoints" / "best.pt").is_file() and tr.best == best


def test_wgan_sample_best(tmp_path, small_eval):
    run = tmp_path / "run"
    Trainer(tiny_config(train__iterations=20, train__threads=1, train__sample_every=0), run).run()
    best_iter = load_checkpoint(run / "checkpoints" / "best.pt")["gen_iter"]
    r = run_cli("wgan-sample", run, "--best", "-n", 8, "--out", tmp_path / "b.npy")
    code, err = r.returncode, r.stderr
    assert code == 0, err
    assert f"from iteration {best_iter} " in err and np.load(tmp_path / "b.npy").shape == (8, 2)
    (run / "checkpoints" / "best.pt").unlink()
    r = run_cli("wgan-sample", run, "--best", "--out", tmp_path / "c.npy")
    code, err = r.returncode, r.stderr
    assert code != 0 and "no checkpoints/best.pt yet" in err
    r = run_cli("wgan-sample", run / "checkpoints" / "latest.pt", "--best", "--out", tmp_path / "c.npy")
    code, err = r.returncode, r.stderr
    assert code != 0 and "give a run folder" in err


def test_resume_keeps_the_rows_of_a_metrics_file_with_other_columns(tmp_path, small_eval):
    run = tmp_path / "run"
    Trainer(tiny_config(train__iterations=20, train__threads=1, train__sample_every=0, train__eval_every=0),
            run).run()
    path = run / "metrics.csv"
    m = read_metrics(path)
    old = [c for c in m if not c.startswith("gp_grad_")]  # as an earlier version wrote it
    lines = [",".join(old)] + [",".join(f"{m[c][i]:.9g}" if np.isfinite(m[c][i]) else "" for c in old)
                               for i in range(len(m["gen_iter"]))]
    path.write_text("\n".join(lines) + "\n")
    tr = Trainer.resume_run(run, iterations=25)
    tr.run()
    m2 = read_metrics(path)
    assert m2["gen_iter"] == list(range(1, 26))
    assert np.allclose(m2["w_estimate"][:20], m["w_estimate"][:20])
    assert np.isnan(m2["gp_grad_q50"][:20]).all() and np.isfinite(m2["gp_grad_q50"][20:]).all()

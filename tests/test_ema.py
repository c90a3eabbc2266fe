"""The moving average of the generator's weights ([model] ema_decay): the average follows its
formula, training is unchanged by it, samples/metrics/exports use it, and it survives resume."""

import numpy as np
import pytest
import torch
from PIL import Image
from test_trainer import csv_without_wall_time

from engine import ConfigError, Trainer, apply_overrides, load_checkpoint, load_preset, read_metrics
from engine.cli import sample_main
from engine.inference import generate, load_model
from engine.models.ema import WeightAverage
from engine.rundir import TOY_EVAL_COLUMNS
from tests.helpers import tiny_config


def test_average_follows_the_formula_and_copies_buffers():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    avg = WeightAverage(net, 0.9)
    expect = [p.detach().double().clone() for p in net.parameters()]
    for t in range(1, 40):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net(torch.randn(8, 3))  # moves the batch-norm running statistics
        avg.update(t)
        b = min(0.9, (1 + t) / (10 + t))  # warm-up: early updates forget the random start
        expect = [b * e + (1 - b) * p.detach().double() for e, p in zip(expect, net.parameters(), strict=True)]
    for e, q in zip(expect, avg.model.parameters(), strict=True):
        torch.testing.assert_close(q.double(), e, rtol=1e-5, atol=1e-5)
        assert not q.requires_grad
    assert not torch.equal(avg.model[0].weight, net[0].weight)
    assert torch.equal(avg.model[1].running_mean, net[1].running_mean)
    assert avg.rate(1) == pytest.approx(1 - 2 / 11) and avg.rate(10_000) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        WeightAverage(net, 1.0)


def test_training_is_unchanged_and_samples_come_from_the_average(tmp_path):
    plain = Trainer(tiny_config(model__ema_decay=0.0), tmp_path / "plain")
    plain.run()
    avg = Trainer(tiny_config(model__ema_decay=0.9), tmp_path / "avg")
    avg.run()
    # the optimiser's trajectory is the same: every training column, every weight
    a, b = (read_metrics(tmp_path / n / "metrics.csv") for n in ("plain", "avg"))
    for col in a:
        if col not in TOY_EVAL_COLUMNS and col != "wall_time_s":
            assert np.array_equal(a[col], b[col], equal_nan=True), col
    for p, q in zip(plain.generator.parameters(), avg.generator.parameters(), strict=True):
        assert torch.equal(p, q)
    # what the user sees comes from the average
    assert avg.sampler is not avg.generator and plain.sampler is plain.generator
    assert not np.array_equal(a["w1_exact"][-1], b["w1_exact"][-1])
    x = avg.sample(50, seed=4)
    assert np.array_equal(x, generate(avg.sampler, 50, avg.config.model.z_dim, 4))
    assert not np.array_equal(x, generate(avg.generator, 50, avg.config.model.z_dim, 4))
    payload = avg.make_samples(write=False)
    with torch.no_grad():
        shown = avg.sampler(avg.fixed_noise).numpy()
    assert np.allclose(payload["fake"], shown) and payload["averaged"] is True
    assert plain.make_samples(write=False)["averaged"] is False
    state = load_checkpoint(tmp_path / "avg" / "checkpoints" / "latest.pt")
    for k, v in avg.sampler.state_dict().items():
        assert torch.equal(state["generator_ema"][k], v)
    assert load_checkpoint(tmp_path / "plain" / "checkpoints" / "latest.pt")["generator_ema"] is None


def test_resume_continues_the_average(tmp_path):
    cfg = dict(model__ema_decay=0.95)
    straight = Trainer(tiny_config(**cfg), tmp_path / "straight")
    straight.run()
    Trainer(tiny_config(**cfg), tmp_path / "part").run(iterations=10)
    resumed = Trainer.resume_run(tmp_path / "part", iterations=20)
    resumed.run()
    assert csv_without_wall_time(tmp_path / "straight" / "metrics.csv") == csv_without_wall_time(
        tmp_path / "part" / "metrics.csv")  # w1_exact of the averaged generator included
    for p, q in zip(straight.sampler.parameters(), resumed.sampler.parameters(), strict=True):
        assert torch.equal(p, q)


def test_a_checkpoint_without_an_average_starts_one_at_its_weights(tmp_path):
    Trainer(tiny_config(model__ema_decay=0.0), tmp_path / "run").run(iterations=10)
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt")
    t = Trainer(tiny_config(model__ema_decay=0.9))
    t.load_state(state)
    for p, q in zip(t.generator.parameters(), t.sampler.parameters(), strict=True):
        assert torch.equal(p, q) and p is not q


def test_wgan_sample_draws_from_the_average_unless_raw(tmp_path):
    t = Trainer(tiny_config(model__ema_decay=0.9), tmp_path / "run")
    t.run()
    z_dim = t.config.model.z_dim
    model = load_model(tmp_path / "run")
    assert model.averaged and load_model(tmp_path / "run", raw=True).averaged is False
    assert sample_main([str(tmp_path / "run"), "-n", "30", "--seed", "2", "--out", str(tmp_path / "a.npy")]) == 0
    assert sample_main([str(tmp_path / "run"), "-n", "30", "--seed", "2", "--raw",
                        "--out", str(tmp_path / "r.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "a.npy"), generate(t.sampler, 30, z_dim, 2))
    assert np.array_equal(np.load(tmp_path / "r.npy"), generate(t.generator, 30, z_dim, 2))
    for raw, weights in (([], "moving average"), (["--raw"], "as trained")):
        png = tmp_path / f"{weights}.png"
        assert sample_main([str(tmp_path / "run"), "-n", "8", "--out", str(png), *raw]) == 0
        with Image.open(png) as img:
            assert img.text["weights"] == weights


def test_decay_out_of_range_is_a_config_error():
    with pytest.raises(ConfigError) as e:
        apply_overrides(load_preset("toy-wgan-gp"), ["model.ema_decay=1.5"])
    assert "ema_decay" in str(e.value) and "1.5" in str(e.value)

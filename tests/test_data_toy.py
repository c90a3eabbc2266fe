import math

import numpy as np
import pytest
import torch

from engine.data import ToyData
from engine.data.toy import mixture_spec
from engine.metrics import mode_stats, sliced_wasserstein, spearman, w1_exact


@pytest.mark.parametrize("name, k, scale, std", [("8gaussians", 8, 1.414, 0.02), ("25gaussians", 25, 2.828, 0.05)])
def test_mixtures_match_the_reference_code(name, k, scale, std):
    data = ToyData(name)
    x, label = data.sample(20000, torch.Generator().manual_seed(0))
    centres, s = mixture_spec(name)
    assert len(centres) == k and s == pytest.approx(std / scale)
    resid = x.double() - centres[label]
    assert resid.std().item() == pytest.approx(std / scale, rel=0.05)
    assert np.bincount(label.numpy(), minlength=k).min() > 20000 / k * 0.8  # uniform over modes
    if name == "8gaussians":
        radii = centres.norm(dim=1)
        assert torch.allclose(radii, torch.full((8,), 2 / 1.414, dtype=torch.float64))


def test_swissroll_and_parallel_lines():
    g = torch.Generator().manual_seed(0)
    x, _ = ToyData("swissroll").sample(5000, g)
    assert x.shape == (5000, 2) and 1.5 < x.abs().max().item() < 2.5
    lines = ToyData("parallel-lines", theta=0.7)
    y, _ = lines.sample(1000, g)
    assert torch.all(y[:, 0] == 0.7) and 0 <= y[:, 1].min() and y[:, 1].max() <= 1


def test_same_generator_seed_same_batch():
    d = ToyData("8gaussians")
    a = d.sample(10, torch.Generator().manual_seed(3))[0]
    b = d.sample(10, torch.Generator().manual_seed(3))[0]
    assert torch.equal(a, b)


def test_w1_exact_on_known_cases():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 2))
    assert w1_exact(a, a) == 0
    assert w1_exact(a, a + np.array([3.0, 4.0])) == pytest.approx(5.0)
    # Example 1 of the WGAN paper: parallel lines at distance theta are theta apart in W1.
    z = rng.uniform(size=300)
    assert w1_exact(np.c_[np.zeros(300), z], np.c_[np.full(300, 0.5), z]) == pytest.approx(0.5)


def test_mode_stats_counts_covered_modes_and_quality():
    centres, std = mixture_spec("8gaussians")
    c = centres.numpy()
    good = np.repeat(c[:4], 50, axis=0)  # four modes hit exactly
    covered, hq = mode_stats(np.vstack([good, np.zeros((200, 2))]), c, std)
    assert covered == 4 and hq == pytest.approx(0.5)
    assert mode_stats(np.repeat(c, 10, axis=0), c, std) == (8, 1.0)


def test_sliced_wasserstein_and_spearman():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(256, 3, 4, 4))
    assert sliced_wasserstein(a, a) == 0
    near, far = sliced_wasserstein(a, a + 0.1), sliced_wasserstein(a, a + 1.0)
    assert 0 < near < far
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2], [1, 2]))

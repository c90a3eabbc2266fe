"""Issue 33, points 2, 3 and 6: the image measures behave as the FID-on-MNIST literature asks
(each rises monotonically with Gaussian noise, blur and blackout; two disjoint halves of the real
set sit near the floor), and the project's Fréchet distance and KID agree with torchmetrics' own on
the same features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.quality_measures import blackout, gaussian_blur, gaussian_noise  # the benchmark's own corruptions
from engine.config import load_preset
from engine.data.images import load_images
from engine.image_quality import feature_stats, features, frechet_distance, kid


@pytest.fixture(scope="module")
def halves():
    imgs, _ = load_images(load_preset("digits-wgan-gp"))
    x = torch.from_numpy(imgs.astype(np.float32) / 127.5 - 1.0)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    return x[perm[:800]], x[perm[800:1600]]


CORRUPTIONS = {"noise": (gaussian_noise, (0.2, 0.4, 0.6, 0.8)), "blur": (gaussian_blur, (1.5, 2.0, 3.0, 4.0)),
               "blackout": (blackout, (4, 8, 12, 16))}


def test_each_measure_rises_with_each_corruption_and_real_halves_sit_at_the_floor(halves):
    a, b = halves
    fa = features(a.numpy(), "digits")
    ref = feature_stats(fa)

    def measure(x):
        f = features(x.clamp(-1, 1).numpy(), "digits")
        return frechet_distance(feature_stats(f), ref), kid(f, fa, subsets=30)[0]

    floor_fd, floor_kid = measure(b)
    for name, (corrupt, strengths) in CORRUPTIONS.items():
        fds, kids = zip(*(measure(corrupt(b, s)) for s in strengths), strict=True)
        assert all(np.diff(fds) > 0), f"FD under {name} at {strengths}: {fds}"
        assert all(np.diff(kids) > 0), f"KID under {name} at {strengths}: {kids}"
        # two real halves are well below the weakest corruption of each kind
        assert floor_fd < fds[0] / 2, (name, floor_fd, fds)
        assert floor_kid < kids[0] / 2, (name, floor_kid, kids)
    assert abs(floor_kid) < 1.0, "KID is unbiased: two samples of one distribution measure about 0"


def test_kid_spread_comes_from_the_subsets():
    """KID's std is over subsets: half of 1,000 samples a side by default, so it is not zero;
    every subset of the whole set is the same set, so there is none."""
    g = np.random.default_rng(1)
    a, b = g.normal(size=(1000, 16)), g.normal(0.2, 1.0, size=(1000, 16))
    mean, std = kid(a, b)
    assert mean > 0 and std > 0
    whole, none = kid(a, b, subsets=3, subset_size=1000)
    assert none == pytest.approx(0.0, abs=1e-12) and whole > 0


class _Identity(torch.nn.Module):
    """Features handed to torchmetrics as they are (its metrics on the project's features)."""

    def __init__(self, dim):
        super().__init__()
        self.num_features = dim

    def forward(self, x):
        return x


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save all extracted features")
def test_fd_and_kid_agree_with_torchmetrics_on_the_same_features(halves):
    from engine.inception import import_fidelity  # torchmetrics imports torch-fidelity when installed
    import_fidelity()
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    a, b = halves
    fa = features(a.numpy(), "digits")
    fb = features(gaussian_noise(b, 0.4).clamp(-1, 1).numpy(), "digits")
    ta, tb = torch.from_numpy(fa), torch.from_numpy(fb)
    fid = FrechetInceptionDistance(feature=_Identity(fa.shape[1])).double()
    fid.update(ta, real=True)
    fid.update(tb, real=False)
    assert frechet_distance(feature_stats(fb), feature_stats(fa)) == pytest.approx(float(fid.compute()), rel=1e-4)
    # subsets of every sample: the subset draw cannot differ between the two, the estimator can
    tm_kid = KernelInceptionDistance(feature=_Identity(fa.shape[1]), subsets=2, subset_size=len(fa))
    tm_kid.update(ta, real=True)
    tm_kid.update(tb, real=False)
    assert kid(fb, fa, subsets=2, subset_size=len(fa))[0] == pytest.approx(float(tm_kid.compute()[0]), rel=1e-6)

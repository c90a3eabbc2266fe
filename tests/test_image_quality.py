"""The image quality measure: a Fréchet distance in the features of small shipped networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import Trainer, read_metrics
from engine.config import load_preset
from engine.data.images import load_images
from engine.evaluation import feature_net_for, quality_metrics
from engine.image_quality import (
    confident_share,
    feature_stats,
    features,
    frechet_distance,
    load_random_features,
    make_random_features,
)
from engine.rundir import metric_columns
from tests.helpers import tiny_config


@pytest.fixture(scope="module")
def digits():
    imgs, labels = load_images(load_preset("digits-wgan-gp"))
    x = torch.from_numpy(imgs.astype(np.float32) / 127.5 - 1.0)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    return x[perm[:800]], x[perm[800:1600]], torch.from_numpy(labels)[perm[800:1600]]


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = (np.zeros(3), np.diag([1.0, 2.0, 3.0]))
    b = (np.array([1.0, 0.0, 2.0]), np.diag([4.0, 2.0, 0.5]))
    # diagonal covariances: |mu|^2 + sum (sqrt(s1) - sqrt(s2))^2
    want = 5.0 + (1 - 2) ** 2 + 0 + (np.sqrt(3) - np.sqrt(0.5)) ** 2
    assert frechet_distance(a, b) == pytest.approx(want, rel=1e-9)
    f = rng.standard_normal((500, 8))
    assert frechet_distance(feature_stats(f), feature_stats(f)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("net", ["digits", "random"])
def test_distance_grows_as_digits_are_degraded(digits, net):
    """Real held-out digits are closest; noisier, blurrier and collapsed sets are further away in
    the order the eye ranks them."""
    a, b, labels = digits
    g = torch.Generator().manual_seed(0)
    ref = feature_stats(features(a, net))

    def fd(x):
        return frechet_distance(ref, feature_stats(features(x.clamp(-1, 1), net)))

    real = fd(b)
    slightly_noisy = fd(b + 0.3 * torch.randn(b.shape, generator=g))
    blurred = fd(F.interpolate(F.avg_pool2d(b, 8), size=32, mode="bilinear"))
    noise = fd(torch.rand(b.shape, generator=g) * 2 - 1)
    assert real < slightly_noisy < blurred < noise
    assert real < 0.25 * slightly_noisy
    if net == "digits":  # the classifier's features see a collapse onto one digit
        assert fd(b[labels == 3].repeat(8, 1, 1, 1)[:800]) > blurred


def test_confident_share_tells_digits_from_noise_and_blends(digits):
    _, b, _ = digits
    g = torch.Generator().manual_seed(0)
    assert confident_share(b) > 0.95
    assert confident_share(torch.rand(b.shape, generator=g) * 2 - 1) < 0.05
    assert confident_share(0.5 * (b + b.roll(1, 0))) < 0.8  # two digits on top of each other


def test_the_shipped_random_features_are_the_seeded_network():
    shipped, rebuilt = load_random_features(), make_random_features(0)
    for (k, v), (k2, v2) in zip(shipped.state_dict().items(), rebuilt.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), "random_features.npz is stale: run scripts/make_random_features.py"


def test_the_evaluation_reports_a_confident_share_for_the_bundled_digits_only(digits):
    """The measure the metrics column holds: real digits read as digits, noise does not, and
    a set not known to be digits (MNIST-format files may hold letters or clothes) gets no such
    value."""
    a, b, _ = digits
    g = torch.Generator().manual_seed(1)
    noise = (torch.rand(b.shape, generator=g) * 2 - 1).numpy()
    real = quality_metrics(b.numpy(), a.numpy(), is_toy=False, digits=True, feature_net="digits")
    fake = quality_metrics(noise, a.numpy(), is_toy=False, digits=True, feature_net="digits")
    for share in (real["confident_share"], fake["confident_share"]):
        assert 0.0 <= share <= 1.0
    assert real["confident_share"] > 0.9 > 0.1 > fake["confident_share"]
    assert real["frechet_distance"] < fake["frechet_distance"]
    assert "confident_share" not in quality_metrics(noise, a.numpy(), is_toy=False, feature_net="random")
    assert "confident_share" not in quality_metrics(b.numpy(), a.numpy(), is_toy=False, feature_net="digits")
    assert feature_net_for("mnist", 1) == "random"  # not known to be digits: never the digit classifier's
    assert metric_columns(False, digits=True)[-1] == "confident_share"
    assert "confident_share" not in metric_columns(False) + metric_columns(True)


def test_digits_run_writes_confident_share_and_keeps_it_on_resume(tmp_path):
    run = tmp_path / "run"
    cfg = tiny_config("digits-wgan-gp", train__iterations=4, train__eval_every=2, train__checkpoint_every=4,
                      train__sample_every=0, objective__n_critic=1)
    Trainer(cfg, run).run()
    m = {k: np.asarray(v, dtype=np.float64) for k, v in read_metrics(run / "metrics.csv").items()}
    ev = np.isfinite(m["confident_share"])
    assert m["gen_iter"][ev].tolist() == [2, 4], "one value at each evaluation, none between"
    assert ((m["confident_share"][ev] >= 0) & (m["confident_share"][ev] <= 1)).all()
    assert np.isfinite(m["frechet_distance"][ev]).all()

    # resumed: the earlier evaluations stay, the new ones are added
    Trainer.resume_run(run, iterations=6).run()
    m2 = {k: np.asarray(v, dtype=np.float64) for k, v in read_metrics(run / "metrics.csv").items()}
    assert m2["gen_iter"][np.isfinite(m2["confident_share"])].tolist() == [2, 4, 6]
    np.testing.assert_array_equal(m2["confident_share"][:4], m["confident_share"])

    # a run written before the column existed: resumed, its rows stay (empty there) and it gains the column
    lines = (run / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("confident_share")
    old = [",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines]
    (run / "metrics.csv").write_text("\n".join(old) + "\n")
    Trainer.resume_run(run, iterations=8).run()
    m3 = {k: np.asarray(v, dtype=np.float64) for k, v in read_metrics(run / "metrics.csv").items()}
    assert m3["gen_iter"].tolist() == list(range(1, 9))
    np.testing.assert_array_equal(m3["frechet_distance"][:6], m2["frechet_distance"])
    assert np.isnan(m3["confident_share"][:6]).all()
    assert m3["gen_iter"][np.isfinite(m3["confident_share"])].tolist() == [8]

"""A short training run per objective on 8gaussians improves the exact W1 (the engine's own
evaluation: 1,000 points from the fixed evaluation noise against the fixed stratified real set,
the w1 column of metrics.csv) well below the untrained generator's.

What the numbers mean. The untrained generator is close to a point mass at the origin, whose
W1 to 8gaussians (about 1.41) is the best any point mass can do: the origin is the mixture's
geometric median. A generator collapsed onto one mode scores about 1.78, onto two opposite
modes about 1.04, onto three neighbouring modes 1.18, onto four alternate modes 0.54, so W1 <=
0.7x the untrained value needs samples spread round the circle: a collapsed or runaway generator
fails, and so does one trained with a flipped generator loss (ratio 1.08x or more, or NaN, for
every case; checked by hand when these settings were chosen).

The settings (measured over seeds 0-4 when chosen; see the commit message for the ratios):
- a small MLP (2 x 64; 2 x 128 for reverse KL), z_dim 2, PyTorch's default initialisation: under
  the reference N(0, 0.02) initialisation a 2-D noise barely reaches the output and a GAN's
  generator hardly moves in a few hundred iterations;
- Adam lr 1e-3, betas (0, 0.9), batch 256 (WGAN: batch 128, RMSProp for clipping), n_critic 5:
  the discriminator stays ahead of the generator. With n_critic 1 and lr_critic = lr_generator
  (as in the toy-gan preset) the collapsed generator "surfs" out past the modes along the ReLU
  discriminator's linear extrapolation and W1 rises above the untrained value on some seeds.
  Reverse KL and squared Hellinger do better with n_critic 1 (n_critic 5: up to 0.93x);
- KL and Pearson chi^2 have the unbounded activation g_f(v) = v (Nowozin et al. Table 2): the
  critic's real-sample term never saturates, its output grows without bound and the generator
  overshoots or the loss overflows. No short setting tried improved W1 by 0.7x on all of seeds
  0-4 for them; their cases use the steadiest setting found and the weaker bound stated there.
"""

from __future__ import annotations

import pytest
import torch

from engine import Trainer, load_preset

# Shared by every case: a small MLP, 1 thread on the CPU, fixed seed.
BASE = {
    "model.hidden": 64, "model.layers": 2, "model.z_dim": 2, "model.init": "pytorch",
    "optimiser.name": "adam", "optimiser.lr_critic": 1e-3, "optimiser.lr_generator": 1e-3,
    "optimiser.betas": [0.0, 0.9], "objective.n_critic": 5, "train.batch_size": 256,
}
FGAN = {"objective.kind": "f-gan"}
# name -> (preset, generator iterations, overrides, largest allowed final W1 / untrained W1)
CASES = {
    "gan": ("toy-gan", 150, {}, 0.7),
    "wgan-clip": ("toy-wgan-clip", 150, {"optimiser.name": "rmsprop", "train.batch_size": 128}, 0.7),
    "wgan-gp": ("toy-wgan-gp", 150, {"train.batch_size": 128}, 0.7),
    "f-gan-js": ("toy-gan", 150, {**FGAN, "objective.divergence": "js"}, 0.7),
    "f-gan-hellinger": ("toy-gan", 300, {**FGAN, "objective.divergence": "hellinger", "objective.n_critic": 1}, 0.7),
    "f-gan-reverse-kl": ("toy-gan", 300, {**FGAN, "objective.divergence": "reverse-kl", "objective.n_critic": 1,
                                          "model.hidden": 128}, 0.7),
    # KL: W1 improves, but not by 0.7x on every seed (0.67-0.92 over seeds 0-4); it gets worse again
    # with more iterations (600: up to 1.5x) and diverges (NaN) at higher learning rates.
    "f-gan-kl": ("toy-gan", 300, {**FGAN, "objective.divergence": "kl", "optimiser.lr_critic": 1e-4,
                                  "optimiser.lr_generator": 1e-4}, 0.95),
    # Pearson: 0.61-0.88 over seeds 0-4 with 10 critic steps; with 5 some seeds run away (up to 2.7x).
    "f-gan-pearson": ("toy-gan", 200, {**FGAN, "objective.divergence": "pearson", "objective.n_critic": 10}, 0.95),
}


def config(name: str, seed: int = 0):
    preset, iterations, overrides, _ = CASES[name]
    cfg = load_preset(preset)
    for dotted, value in {**BASE, **overrides}.items():
        sec, key = dotted.split(".")
        setattr(getattr(cfg, sec), key, value)
    cfg.train.seed = seed
    cfg.train.iterations = iterations
    cfg.train.device = "cpu"
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0
    return cfg


def w1_before_after(name: str, seed: int = 0) -> tuple[float, float]:
    """Exact W1 of the untrained generator and after the case's iterations, on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(config(name, seed), None, on_nonfinite="raise")
        before = trainer.evaluate()["w1_exact"]
        trainer.run()
        after = trainer.evaluate()["w1_exact"]
        trainer.close()
    finally:
        torch.set_num_threads(threads)
    return before, after


@pytest.mark.parametrize("name", list(CASES))
def test_short_training_improves_exact_w1(name):
    before, after = w1_before_after(name)
    assert 1.2 < before < 1.5  # about a point mass near the origin
    ratio = CASES[name][3]
    assert after <= ratio * before, f"{name}: W1 {before:.3f} -> {after:.3f} ({after / before:.2f}x, allowed {ratio}x)"

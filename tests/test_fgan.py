"""f-GAN objectives (Nowozin et al. Table 2): conjugates against the Fenchel definition, stable
forms, loss signs and values on hand-computed inputs, and a short training run per divergence."""

from __future__ import annotations

import math

import pytest
import torch

from engine.objectives import get_objective
from engine.objectives.fgan import DIVERGENCES, activation, conjugate, conjugate_of_activation, generator_f
from engine.objectives.gan import GANObjective

V = torch.linspace(-3, 3, 13, dtype=torch.float64)


@pytest.mark.parametrize("div", DIVERGENCES)
def test_conjugate_matches_the_fenchel_definition(div):
    # f*(t) = sup_u (u t - f(u)), by brute force over a fine grid of u (all reals for Pearson).
    if div == "pearson":
        u = torch.linspace(-60, 60, 1_200_001, dtype=torch.float64)
    else:
        u = torch.logspace(-7, 4, 1_200_001, dtype=torch.float64)
    fu = generator_f(div, u)
    assert abs(float(generator_f(div, torch.tensor(1.0, dtype=torch.float64)))) < 1e-12, "f(1) = 0"
    for t in activation(div, V):  # the activation maps any critic output into dom f*
        sup = float(torch.max(u * t - fu))
        assert sup == pytest.approx(float(conjugate(div, t)), rel=1e-4, abs=1e-4), (div, float(t))


@pytest.mark.parametrize("div", DIVERGENCES)
def test_stable_composition_equals_the_naive_one_and_never_overflows(div):
    naive = conjugate(div, activation(div, V))
    torch.testing.assert_close(conjugate_of_activation(div, V), naive, rtol=1e-10, atol=1e-10)
    big = torch.tensor([-40.0, 40.0], dtype=torch.float64)
    if div != "kl" and div != "hellinger":  # exp-growing by definition; the others are finite far out
        assert torch.isfinite(conjugate_of_activation(div, big)).all()
    if div == "js":  # the naive form gives -log(0) = inf at v = 40
        assert not torch.isfinite(conjugate(div, activation(div, big))).all()


def test_loss_values_by_hand():
    real, fake = torch.tensor([0.0, 1.0]), torch.tensor([1.0])
    kl = get_objective("f-gan", divergence="kl")
    out = kl.critic_loss(real, fake)
    # estimate = mean g(V(x)) - mean f*(g(V(x~))) = 0.5 - exp(0) = -0.5; the critic minimises -estimate
    assert float(out.loss) == pytest.approx(0.5)
    assert float(out.w_estimate) == pytest.approx(-0.5)  # mean V(real) - mean V(fake), the shared sign
    assert float(kl.generator_loss(fake)) == pytest.approx(-1.0)  # trick: -mean g(V)
    minimax = get_objective("f-gan", divergence="kl", fgan_generator="minimax")
    assert float(minimax.generator_loss(fake)) == pytest.approx(-1.0)  # -mean f*(g(V)) = -exp(0)
    rkl = get_objective("f-gan", divergence="reverse-kl")
    # g(0) = -1, f*(g(1)) = 1 - 1 = 0: estimate = mean(-1, -exp(-1)) - 0
    assert float(rkl.critic_loss(real, fake).loss) == pytest.approx((1 + math.exp(-1)) / 2)
    pearson = get_objective("f-gan", divergence="pearson")
    assert float(pearson.critic_loss(real, fake).loss) == pytest.approx(-(0.5 - 1.25))
    hell = get_objective("f-gan", divergence="hellinger")
    est = (0 + (1 - math.exp(-1))) / 2 - (math.e - 1)
    assert float(hell.critic_loss(real, fake).loss) == pytest.approx(-est)
    # a critic that separates the sets (high on real, low on fake) gives a positive estimate
    for div in DIVERGENCES:
        obj = get_objective("f-gan", divergence=div)
        sep = obj.critic_loss(torch.full((4,), 2.0), torch.full((4,), -2.0))
        assert float(sep.loss) < 0 and float(sep.w_estimate) == 4.0, div


def test_js_f_gan_is_the_gan_objective_shifted_by_2_log_2():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(64, generator=g) * 3, torch.randn(64, generator=g) * 3
    js = get_objective("f-gan", divergence="js")
    gan = GANObjective()
    # GAN's critic loss is -(mean log D(x) + mean log(1 - D(x~))) = -(2 JS-estimate - 2 log 2)
    assert float(js.critic_loss(real, fake).loss) == pytest.approx(
        (float(gan.critic_loss(real, fake).loss) - 2 * math.log(2)) / 1, rel=1e-5)
    # and the trick generator loss is the non-saturating GAN loss up to the constant log 2
    assert float(js.generator_loss(fake)) == pytest.approx(float(gan.generator_loss(fake)) - math.log(2), rel=1e-5)


def test_bad_divergence_is_a_config_error(tmp_path):
    from engine import ConfigError, load_config
    p = tmp_path / "c.toml"
    p.write_text('config_version = 1\n[objective]\nkind = "f-gan"\ndivergence = "wasserstein"\n')
    with pytest.raises(ConfigError, match="divergence") as e:
        load_config(p)
    assert "kl" in str(e.value) and "c.toml" in str(e.value)

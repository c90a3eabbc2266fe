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


def test_js_critic_loss_value_by_hand():
    # g_f(v) = log(2 D(v)) and f*(g_f(v)) = -log(2 (1 - D(v))) with D = sigmoid (Nowozin Table 2 / GAN)
    def d(v):
        return 1 / (1 + math.exp(-v))
    js = get_objective("f-gan", divergence="js")
    est = (math.log(2 * d(0.0)) + math.log(2 * d(1.0))) / 2 - (-math.log(2 * (1 - d(1.0))))
    assert float(js.critic_loss(torch.tensor([0.0, 1.0]), torch.tensor([1.0])).loss) == pytest.approx(-est)


E = math.e
FAKE = torch.tensor([-0.5, 1.0])
SP = [math.log1p(math.exp(v)) for v in (-0.5, 1.0)]      # softplus(v)
SPN = [math.log1p(math.exp(-v)) for v in (-0.5, 1.0)]    # softplus(-v)
GENERATOR_LOSSES_BY_HAND = {
    # trick: -mean g_f(V(fake));  minimax: -mean f*(g_f(V(fake)))
    ("kl", "trick"): -(-0.5 + 1.0) / 2,
    ("kl", "minimax"): -(E ** -1.5 + E ** 0.0) / 2,
    ("reverse-kl", "trick"): (E ** 0.5 + E ** -1.0) / 2,
    ("reverse-kl", "minimax"): -((-0.5 - 1) + (1.0 - 1)) / 2,
    ("js", "trick"): -((math.log(2) - SPN[0]) + (math.log(2) - SPN[1])) / 2,
    ("js", "minimax"): -((SP[0] - math.log(2)) + (SP[1] - math.log(2))) / 2,
    ("pearson", "trick"): -(-0.5 + 1.0) / 2,
    ("pearson", "minimax"): -((0.0625 - 0.5) + (0.25 + 1.0)) / 2,
    ("hellinger", "trick"): -((1 - E ** 0.5) + (1 - E ** -1.0)) / 2,
    ("hellinger", "minimax"): -((E ** -0.5 - 1) + (E - 1)) / 2,
}


@pytest.mark.parametrize("div,form", list(GENERATOR_LOSSES_BY_HAND))
def test_generator_loss_values_by_hand(div, form):
    obj = get_objective("f-gan", divergence=div, fgan_generator=form)
    assert float(obj.generator_loss(FAKE)) == pytest.approx(GENERATOR_LOSSES_BY_HAND[(div, form)], rel=1e-6)


# The critic output whose activation is f'(1): the optimal T when P = Q (Nowozin eq. 5, T* = f'(p/q)).
V_AT_EQUALITY = {"kl": 1.0, "reverse-kl": 0.0, "js": 0.0, "pearson": 0.0, "hellinger": 0.0}


@pytest.mark.parametrize("div", DIVERGENCES)
def test_estimate_is_zero_for_the_optimal_critic_of_equal_distributions(div):
    u = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (fprime,) = torch.autograd.grad(generator_f(div, u), u)
    v0 = torch.full((3,), V_AT_EQUALITY[div], dtype=torch.float64)
    assert float(activation(div, v0[0])) == pytest.approx(float(fprime), abs=1e-12)
    obj = get_objective("f-gan", divergence=div)
    assert float(obj.critic_loss(v0, v0).loss) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("form", ["trick", "minimax"])
@pytest.mark.parametrize("div", DIVERGENCES)
def test_loss_signs(div, form):
    """Critic: scoring real higher or fake lower lowers its loss; generator: a higher critic score
    on its samples lowers its loss (both forms). Pearson's f* is increasing for t > -2 only (the
    density ratio f*'(t) = t/2 + 1 must be positive), hence the range of scores."""
    obj = get_objective("f-gan", divergence=div, fgan_generator=form)
    f_real = torch.linspace(-1.5, 2, 8, requires_grad=True)
    f_fake = torch.linspace(-1.5, 2, 8, requires_grad=True)
    obj.critic_loss(f_real, f_fake).loss.backward()
    assert (f_real.grad < 0).all() and (f_fake.grad > 0).all()
    g_fake = torch.linspace(-1.5, 2, 8, requires_grad=True)
    obj.generator_loss(g_fake).backward()
    assert (g_fake.grad < 0).all()

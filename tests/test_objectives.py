import math

import pytest
import torch
from torch import nn

from engine.models import DCGANCritic, MLPCritic
from engine.objectives import GANObjective, WGANClipObjective, WGANGPObjective, gradient_penalty
from engine.objectives.wgan_clip import clip_fraction, clip_parameters


class Linear(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float32))

    def forward(self, x):
        return (x.flatten(1) * self.a.flatten()).sum(1)


@pytest.mark.parametrize("a", [[3.0, 4.0], [0.6, 0.8], [0.1, -0.2]])
def test_gradient_penalty_of_a_linear_critic(a):
    # f(x) = a.x has gradient a everywhere, so GP = (|a| - 1)^2 whatever the samples.
    f = Linear(a)
    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    gp = gradient_penalty(f, real, fake)
    assert gp.item() == pytest.approx((math.hypot(*a) - 1) ** 2, rel=1e-5)
    gp.backward()  # the penalty reaches the critic's weights (create_graph)
    norm = math.hypot(*a)
    expected = 2 * (norm - 1) * torch.tensor(a) / norm
    assert torch.allclose(f.a.grad, expected, rtol=1e-4)


def test_epsilon_is_drawn_per_sample_and_shared_by_a_samples_features(monkeypatch):
    seen = {}
    real_rand = torch.rand

    def spy(*shape, **kw):
        out = real_rand(*shape, **kw)
        seen["eps"] = out
        return out

    monkeypatch.setattr(torch, "rand", spy)
    critic = Linear([[1.0] * 16] * 3)
    real, fake = torch.randn(32, 3, 4, 4), torch.randn(32, 3, 4, 4)
    gradient_penalty(critic, real, fake)
    eps = seen["eps"]
    assert eps.shape == (32, 1, 1, 1)  # one per sample, broadcast over C, H, W
    assert len(torch.unique(eps)) == 32


def test_penalty_norm_is_over_the_whole_flattened_image():
    # a = all ones over 3x4x4: |a| over the flattened sample is sqrt(48), not the per-pixel norm over dim=1.
    critic = Linear([[[1.0] * 4] * 4] * 3)
    real, fake = torch.randn(8, 3, 4, 4), torch.randn(8, 3, 4, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx((math.sqrt(48) - 1) ** 2, rel=1e-5)


def test_penalty_is_computed_in_fp32_under_autocast():
    critic = MLPCritic(2, hidden=16)
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gp = gradient_penalty(critic, real.bfloat16(), fake.bfloat16())
    assert gp.dtype == torch.float32 and torch.isfinite(gp)


def test_critic_activation_double_backward_matches_plain_relu():
    # The GP critic's activation skips dead work in the double backward; gradients must be identical.
    torch.manual_seed(0)
    fast = MLPCritic(2, hidden=32)
    plain = MLPCritic(2, hidden=32)
    plain.load_state_dict(fast.state_dict())
    plain.net = nn.Sequential(*[nn.ReLU() if type(m).__name__ == "CriticReLU" else m for m in plain.net])
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    for c in (fast, plain):
        torch.manual_seed(1)
        (c(real).mean() - c(fake).mean() + 10 * gradient_penalty(c, real, fake)).backward()
    for p, q in zip(fast.parameters(), plain.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-6)
    # and for the leaky ReLU of the DCGAN critic
    torch.manual_seed(0)
    conv = DCGANCritic(1, 32, features=4, norm="layer")
    ref = DCGANCritic(1, 32, features=4, norm="layer")
    ref.load_state_dict(conv.state_dict())
    ref.net = nn.Sequential(*[nn.LeakyReLU(0.2) if type(m).__name__ == "CriticReLU" else m for m in ref.net])
    x, y = torch.randn(4, 1, 32, 32), torch.randn(4, 1, 32, 32)
    for c in (conv, ref):
        torch.manual_seed(1)
        gradient_penalty(c, x, y).backward()
    for p, q in zip(conv.parameters(), ref.parameters(), strict=True):
        if q.grad is None:  # e.g. the last bias: the penalty does not depend on it
            assert p.grad is None
        else:
            assert torch.allclose(p.grad, q.grad, atol=1e-5)


def test_w_estimate_is_positive_when_the_critic_scores_real_higher():
    f_real, f_fake = torch.tensor([2.0, 3.0]), torch.tensor([-1.0, 0.0])
    for obj in (WGANGPObjective(), WGANClipObjective(), GANObjective()):
        assert obj.w_estimate(f_real, f_fake).item() == pytest.approx(3.0)
    out = WGANClipObjective().critic_loss(f_real, f_fake)
    assert out.loss.item() == pytest.approx(-3.0) and out.w_estimate.item() == pytest.approx(3.0)
    assert WGANClipObjective().generator_loss(f_fake).item() == pytest.approx(0.5)


def test_gan_losses_are_stable_softplus_forms():
    obj = GANObjective()
    f_real, f_fake = torch.tensor([0.0, 100.0]), torch.tensor([0.0, -100.0])
    out = obj.critic_loss(f_real, f_fake)
    assert out.loss.item() == pytest.approx(math.log(2))  # each mean is log(2)/2
    assert torch.isfinite(obj.generator_loss(torch.tensor([-200.0]))), "no log(sigmoid) underflow"
    assert obj.generator_loss(torch.tensor([0.0])).item() == pytest.approx(math.log(2))


def test_clipping_bounds_every_parameter_norm_scales_included():
    critic = DCGANCritic(3, 32, features=8, norm="batch")
    with torch.no_grad():
        for p in critic.parameters():
            p.uniform_(-1, 1)
    params = list(critic.parameters())
    clip_parameters(params, 0.01)
    for name, p in critic.named_parameters():
        assert p.abs().max().item() <= 0.01 + 1e-9, name
    bn = [m for m in critic.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bn and bn[0].weight.abs().max().item() <= 0.01
    assert clip_fraction(params, 0.01).item() > 0.9


# ---------------------------------------------------------------- loss values and signs by hand

def _sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_gan_loss_values_by_hand():
    # D = sigmoid(f). Critic: -mean log D(x) - mean log(1 - D(x~)); generator: -mean log D(x~).
    f_real, f_fake = torch.tensor([1.0, -2.0]), torch.tensor([0.5, -1.0])
    obj = GANObjective()
    expected = (-(math.log(_sigmoid(1.0)) + math.log(_sigmoid(-2.0))) / 2
                - (math.log(1 - _sigmoid(0.5)) + math.log(1 - _sigmoid(-1.0))) / 2)
    out = obj.critic_loss(f_real, f_fake)
    assert out.loss.item() == pytest.approx(expected, rel=1e-6)
    assert out.w_estimate.item() == pytest.approx(-0.5 - (-0.25))  # mean f(real) - mean f(fake)
    assert obj.generator_loss(f_fake).item() == pytest.approx(
        -(math.log(_sigmoid(0.5)) + math.log(_sigmoid(-1.0))) / 2, rel=1e-6)


def test_wgan_gp_loss_value_by_hand():
    # f(x) = 3 x1 + 4 x2: |grad f| = 5 everywhere, GP = (5 - 1)^2 = 16.
    critic = Linear([3.0, 4.0])
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])    # f = 3, 4   -> mean 3.5
    fake = torch.tensor([[0.0, 0.0], [-1.0, 0.0]])   # f = 0, -3  -> mean -1.5
    obj = WGANGPObjective()
    out = obj.critic_loss(critic(real), critic(fake), critic=critic, real=real, fake=fake, gp_lambda=10.0)
    assert out.w_estimate.item() == pytest.approx(5.0)
    assert out.penalty.item() == pytest.approx(16.0, rel=1e-5)
    assert out.loss.item() == pytest.approx(-5.0 + 10.0 * 16.0, rel=1e-5)
    assert obj.generator_loss(critic(fake)).item() == pytest.approx(1.5)
    # a 1-Lipschitz critic with unit gradient pays no penalty: the loss is exactly -W_est
    unit = Linear([0.6, 0.8])
    out = obj.critic_loss(unit(real), unit(fake), critic=unit, real=real, fake=fake, gp_lambda=10.0)
    assert out.penalty.item() == pytest.approx(0.0, abs=1e-10)
    assert out.loss.item() == pytest.approx(-(0.7 - (-0.3)))


@pytest.mark.parametrize("obj", [GANObjective(), WGANClipObjective(), WGANGPObjective()], ids=lambda o: o.kind)
def test_loss_signs(obj):
    """The critic lowers its loss by scoring real higher and fake lower; the generator lowers its
    loss by making the critic score its samples higher (the gradient signs, sample by sample)."""
    f_real = torch.linspace(-3, 3, 7, requires_grad=True)
    f_fake = torch.linspace(-3, 3, 7, requires_grad=True)
    kw = {}
    if obj.uses_penalty:  # the penalty depends on the critic's weights, not on these scores
        kw = dict(critic=Linear([0.6, 0.8]), real=torch.randn(7, 2), fake=torch.randn(7, 2), gp_lambda=10.0)
    obj.critic_loss(f_real, f_fake, **kw).loss.backward()
    assert (f_real.grad < 0).all() and (f_fake.grad > 0).all()
    g_fake = torch.linspace(-3, 3, 7, requires_grad=True)
    obj.generator_loss(g_fake).backward()
    assert (g_fake.grad < 0).all()
    # and the critic loss of a separating critic is below that of a critic that swaps the sets
    hi, lo = torch.full((4,), 2.0), torch.full((4,), -2.0)
    if obj.uses_penalty:
        kw = dict(kw, real=torch.randn(4, 2), fake=torch.randn(4, 2))
    assert obj.critic_loss(hi, lo, **kw).loss.item() < obj.critic_loss(lo, hi, **kw).loss.item()

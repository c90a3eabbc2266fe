import copy
import math

import pytest
import torch
from torch import nn

from engine.models import DCGANCritic, MLPCritic
from engine.models.activations import CriticConv2d, CriticReLU
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


def plain_torch(critic: DCGANCritic) -> DCGANCritic:
    """The same critic (same weights) built from PyTorch's own Conv2d and LeakyReLU."""
    ref = copy.deepcopy(critic)
    layers = []
    for m in ref.net:
        if isinstance(m, CriticConv2d):
            conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=m.bias is not None)
            conv.load_state_dict(m.state_dict())
            m = conv
        elif isinstance(m, CriticReLU):
            m = nn.LeakyReLU(m.slope)
        layers.append(m)
    ref.net = nn.Sequential(*layers)
    return ref


def test_critic_conv_first_and_second_derivatives_are_the_convolutions():
    # numerical first and second derivatives (float64) of the critic convolution, in its input,
    # weight and bias, at the DCGAN shapes (4x4 kernels, stride 2, padding 1) and the last layer's
    conv = CriticConv2d(3, 4, 4, 2, 1).double()
    last = CriticConv2d(4, 1, 4, 1, 0, bias=False).double()
    g = torch.Generator().manual_seed(0)
    for layer, shape in ((conv, (2, 3, 8, 8)), (last, (2, 4, 4, 4))):
        x = torch.randn(shape, dtype=torch.float64, generator=g, requires_grad=True)
        params = [p.detach().clone().requires_grad_(True) for p in layer.parameters()]

        def f(x, *ps, layer=layer):
            names = [n for n, _ in layer.named_parameters()]
            return torch.func.functional_call(layer, dict(zip(names, ps, strict=True)), (x,))

        assert torch.autograd.gradcheck(f, (x, *params))
        assert torch.autograd.gradgradcheck(f, (x, *params))
        assert torch.allclose(f(x, *params), nn.functional.conv2d(x, *params, stride=layer.stride,
                                                                  padding=layer.padding))


@pytest.mark.parametrize("norm, layout", [("layer", torch.contiguous_format), ("none", torch.channels_last)])
def test_the_critic_step_has_pytorchs_gradients(norm, layout):
    # The whole critic loss of a wgan-gp step (W term + lambda * GP, one backward): the DCGAN critic
    # (CriticConv2d, CriticReLU) gives the weights the gradients PyTorch's own layers give.
    torch.manual_seed(0)
    fast = DCGANCritic(1, 32, features=8, norm=norm).to(memory_format=layout)
    ref = plain_torch(fast).to(memory_format=layout)
    g = torch.Generator().manual_seed(2)
    real, fake = (torch.rand(6, 1, 32, 32, generator=g) * 2 - 1 for _ in range(2))
    eps = torch.rand(6, 1, 1, 1, generator=g)
    for c in (fast, ref):
        f = c(torch.cat((real, fake)))
        (f[6:].mean() - f[:6].mean() + 10 * gradient_penalty(c, real, fake, eps=eps)).backward()
    for (name, p), q in zip(fast.named_parameters(), ref.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), name
    # and the gradient the generator step sends back through the critic to the images
    x = fake.clone().requires_grad_(True)
    y = x.detach().clone().requires_grad_(True)
    fast(x).sum().backward()
    ref(y).sum().backward()
    assert torch.allclose(x.grad, y.grad, rtol=1e-4, atol=1e-7)


def test_the_penalty_computes_no_weight_gradient_it_throws_away():
    # autograd.grad(f(x_hat).sum(), x_hat) wants the input gradient only: the critic's convolutions
    # compute no weight gradient there (PyTorch's own layers don't either); the one backward of the
    # loss computes each weight gradient of every pass.
    from torch.utils._python_dispatch import TorchDispatchMode

    class Masks(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.masks = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten.convolution_backward.default:
                self.masks.append(tuple(args[-1]))
            return func(*args, **(kwargs or {}))

    from engine.objectives.wgan_gp import gradient_penalty_and_norms

    critic = DCGANCritic(1, 32, features=4, norm="layer")
    real, fake = torch.rand(4, 1, 32, 32), torch.rand(4, 1, 32, 32)
    with Masks() as first:  # the critic's pass at the interpolates and their input gradient
        gp, _ = gradient_penalty_and_norms(critic, real, fake, eps=torch.rand(4, 1, 1, 1))
    assert len(first.masks) == 4 and all(m[0] and not m[1] for m in first.masks), first.masks
    with Masks() as final:
        gp.backward(inputs=list(critic.parameters()))
    assert sum(m[1] for m in final.masks) >= 4  # every layer's weight gets its gradient there
    assert all(p.grad is not None for p in critic.parameters() if p is not critic.net[-1].bias)
    # outside the penalty an autograd.grad in the input keeps PyTorch's answer for the weights too
    x = torch.rand(2, 1, 32, 32).requires_grad_(True)
    out = critic(x).sum()
    gx, gw = torch.autograd.grad(out, (x, critic.net[0].weight))
    assert gx.shape == x.shape and gw.abs().sum() > 0


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_the_penalty_in_bf16_passes_is_float32_and_close_to_fp32(norm):
    # [train] penalty_precision auto under bf16: the critic's passes at the interpolates in bf16,
    # the gradient, norms and penalty float32, within a percent or two of the float32 penalty
    from engine.objectives.wgan_gp import gradient_penalty_and_norms

    torch.manual_seed(0)
    critic = DCGANCritic(1, 32, features=16, norm=norm)
    g = torch.Generator().manual_seed(3)
    real, fake = (torch.rand(32, 1, 32, 32, generator=g) * 2 - 1 for _ in range(2))
    eps = torch.rand(32, 1, 1, 1, generator=g)
    gp32, n32 = gradient_penalty_and_norms(critic, real, fake, eps=eps)
    gp16, n16 = gradient_penalty_and_norms(critic, real, fake, eps=eps, passes_dtype=torch.bfloat16)
    assert gp16.dtype == n16.dtype == torch.float32 and not torch.equal(n16, n32)  # it did run in bf16
    assert torch.allclose(n16, n32, rtol=0.02)
    assert torch.allclose(gp16, gp32, rtol=0.05)
    # and its gradient, in the critic's weights
    grads = []
    for dt in (None, torch.bfloat16):
        critic.zero_grad()
        gradient_penalty_and_norms(critic, real, fake, eps=eps, passes_dtype=dt)[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in critic.parameters() if p.grad is not None]))
    cos = torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0)
    assert cos > 0.999 and torch.allclose(grads[1].norm(), grads[0].norm(), rtol=0.03)


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

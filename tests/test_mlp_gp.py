"""The hand-derived WGAN-GP critic step (engine/objectives/mlp_gp.py) against autograd."""

import pytest
import torch

from engine import Trainer, apply_overrides, load_preset
from engine.algorithm import AutogradGradients
from engine.models import MLPCritic
from engine.objectives import WGANGPObjective
from engine.objectives.mlp_gp import HandDerivedGradients, MLPGradientPenaltyStep, plain_relu_mlp
from engine.objectives.wgan_gp import draw_eps


def autograd_reference(critic, real, fake, lam, seed):
    critic.zero_grad(set_to_none=True)
    g = torch.Generator().manual_seed(seed)
    f_real, f_fake = critic(real), critic(fake)
    out = WGANGPObjective().critic_loss(f_real, f_fake, critic=critic, real=real, fake=fake, generator=g,
                                        gp_lambda=lam)
    out.loss.backward()
    return out, {n: p.grad.clone() for n, p in critic.named_parameters()}


@pytest.mark.parametrize("shape, layers, lam", [((2,), 3, 0.1), ((2,), 1, 10.0), ((3, 4, 4), 2, 10.0)])
def test_hand_derived_step_gives_autograds_loss_and_gradients(shape, layers, lam):
    torch.manual_seed(0)
    in_dim = int(torch.tensor(shape).prod())
    critic = MLPCritic(in_dim, hidden=48, layers=layers)
    # weights large enough that many units are off: the masks matter
    for p in critic.parameters():
        p.data.mul_(3)
    real, fake = torch.randn(32, *shape), torch.randn(32, *shape) * 0.5 + 0.3
    ref, ref_grads = autograd_reference(critic, real, fake, lam, seed=5)

    step = MLPGradientPenaltyStep(plain_relu_mlp(critic))
    critic.zero_grad(set_to_none=True)
    out = step(real, fake, draw_eps(real, torch.Generator().manual_seed(5)), lam)
    assert out.loss.item() == pytest.approx(ref.loss.item(), rel=1e-5, abs=1e-6)
    assert out.w_estimate.item() == pytest.approx(ref.w_estimate.item(), rel=1e-5, abs=1e-6)
    assert out.penalty.item() == pytest.approx(ref.penalty.item(), rel=1e-5, abs=1e-6)
    for name, p in critic.named_parameters():
        scale = ref_grads[name].abs().max().item() + 1e-6
        assert (p.grad - ref_grads[name]).abs().max().item() <= 1e-5 * scale, name
    # and again, with its buffers reused (the trainer calls it every critic step)
    out2 = step(fake, real, draw_eps(real, torch.Generator().manual_seed(5)), lam)
    assert out2.w_estimate.item() == pytest.approx(-ref.w_estimate.item(), rel=1e-5, abs=1e-6)


def test_only_plain_relu_mlp_critics_take_the_hand_derived_step():
    assert plain_relu_mlp(MLPCritic(2, hidden=8)) is not None
    assert plain_relu_mlp(MLPCritic(2, hidden=8, norm="layer")) is None
    assert plain_relu_mlp(MLPCritic(2, hidden=8, num_classes=3, conditional="concat")) is None
    assert plain_relu_mlp(MLPCritic(2, hidden=8).double()) is None

    def trainer(*sets):
        cfg = apply_overrides(load_preset("toy-wgan-gp"), ["model.hidden=16", *sets])
        return Trainer(cfg, None, device="cpu")

    def hand_derived(t):
        return isinstance(t.algorithm.critic_gradients, HandDerivedGradients)

    assert hand_derived(trainer())
    assert not hand_derived(trainer('objective.kind="wgan-clip"'))
    assert not hand_derived(trainer('model.critic_norm="layer"'))


def test_training_with_the_hand_derived_step_follows_autograd():
    # Same seed, same random draws: the first iterations of a run agree with the autograd path to
    # rounding (over many iterations they drift apart as any change of summation order does).
    cfg = apply_overrides(load_preset("toy-wgan-gp"), ["model.hidden=32", "train.eval_every=0"])
    runs = []
    init = Trainer(cfg, None, device="cpu").critic
    for fast in (True, False):
        t = Trainer(cfg, None, device="cpu")
        if not fast:
            t.algorithm.critic_gradients = AutogradGradients(t.critic, t.objective, t.rng)
        t.run(5)
        runs.append(t)
    a, b = runs
    moved = max((p - q).abs().max().item() for p, q in zip(a.critic.parameters(), init.parameters(), strict=True))
    assert moved > 1e-4  # the comparison below is between trained nets
    for p, q in zip(a.critic.parameters(), b.critic.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-6)
    for p, q in zip(a.generator.parameters(), b.generator.parameters(), strict=True):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-6)


def test_hand_derived_step_of_a_standardised_critic_gives_autograds_loss_and_gradients():
    """Points far from the origin (issue 35 point 4): the critic reads (x - centre) / scale and
    answers scale * h; the hand-derived step on it is autograd's."""
    from engine.models import MLPGenerator
    from engine.models.mlp import set_data_scale

    torch.manual_seed(0)
    critic = MLPCritic(2, hidden=48, layers=2)
    set_data_scale(MLPGenerator(2, (2,), hidden=8, layers=1), critic, (17.0, 15.0), 6.5, wasserstein=True)
    real, fake = torch.randn(32, 2) * 6 + torch.tensor([17.0, 15.0]), torch.randn(32, 2) * 3 + 16
    ref, ref_grads = autograd_reference(critic, real, fake, 10.0, seed=5)
    critic.zero_grad(set_to_none=True)
    grads = HandDerivedGradients(plain_relu_mlp(critic), torch.Generator().manual_seed(5), critic)
    out = grads(real, fake, None, 10.0)
    assert out.w_estimate.item() == pytest.approx(ref.w_estimate.item(), rel=1e-5, abs=1e-6)
    assert out.penalty.item() == pytest.approx(ref.penalty.item(), rel=1e-5, abs=1e-6)
    for name, p in critic.named_parameters():
        scale = ref_grads[name].abs().max().item() + 1e-6
        assert (p.grad - ref_grads[name]).abs().max().item() <= 1e-5 * scale, name

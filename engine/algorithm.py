"""One training iteration, as the papers write it (Arjovsky et al. Algorithm 1, Gulrajani et al.
Algorithm 1; docs/algorithm.md, "WGAN with weight clipping" and "WGAN-GP"): update the critic
``n_critic`` times, then the generator once.

The objective (gan, wgan-clip, wgan-gp, f-gan) supplies the losses. How the critic's gradients
are computed is chosen once, when the run is built (:func:`choose_critic_gradients`): autograd
on the objective's loss, or for WGAN-GP with a plain ReLU MLP critic the same gradients derived
by hand (:mod:`engine.objectives.mlp_gp`). Nothing here waits for the device: the statistics of
an iteration are written into a device row that the metrics recorder reports later.

Mixed precision (:class:`MixedPrecision`, ``[train] precision`` as :func:`engine.device.resolve_performance`
resolves it): the network passes (the critic on real and fake, the generator's forward for the
fakes, the generator step) run under ``torch.autocast``; their outputs are cast to float32 before
any loss. The gradient penalty's interpolates, input gradient, norms and value are float32; the
critic's passes at the interpolates run in float32, or in bfloat16 where ``[train]
penalty_precision`` allows it (:func:`engine.device.resolve_penalty`; never in float16)
(:func:`engine.objectives.wgan_gp.gradient_penalty_and_norms`). fp16 scales each network's loss
with its own ``torch.amp.GradScaler``; a step it skips (inf or NaN gradients, the scale too large)
is the scaler's business, not a NaN of the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from .models import has_batchnorm
from .models.mlp import penalty_scale
from .objectives import Objective, WGANGPObjective
from .objectives.base import CriticOutput
from .objectives.mlp_gp import HandDerivedGradients, plain_relu_mlp
from .objectives.wgan_clip import clip_fraction, clip_parameters
from .objectives.wgan_gp import draw_eps

#: Quantiles of the critic's gradient norm at the interpolates recorded per iteration (wgan-gp):
#: metrics columns gp_grad_q10, gp_grad_q50, gp_grad_q90.
GRAD_QUANTILES = (0.1, 0.5, 0.9)

# (real, fake, labels or None, gp_lambda) -> the critic's loss; writes the critic's .grad
CriticGradients = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None, float], CriticOutput]


class MixedPrecision:
    """The number format of the network passes: ``dtype`` None is float32 (no autocast), else
    ``torch.autocast(device_type, dtype)``. ``scaler``: one ``torch.amp.GradScaler`` per
    optimiser (fp16), :attr:`critic_scaler` and :attr:`generator_scaler`; their state goes into
    checkpoints (:meth:`state_dict`). Weights, gradients and optimiser states stay float32."""

    def __init__(self, dtype: torch.dtype | None = None, device_type: str = "cpu", scaler: bool = False,
                 penalty_dtype: torch.dtype | None = None):
        self.dtype, self.device_type = dtype, device_type
        # the critic's passes at the penalty's interpolates: None = float32 (engine.device.resolve_penalty)
        self.penalty_dtype = penalty_dtype
        self.critic_scaler = torch.amp.GradScaler(device_type) if scaler else None
        self.generator_scaler = torch.amp.GradScaler(device_type) if scaler else None

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    @staticmethod
    def backward(loss: torch.Tensor, scaler: torch.amp.GradScaler | None, inputs=None) -> None:
        """``loss.backward()`` (scaled under fp16), into ``inputs`` alone when given."""
        (loss if scaler is None else scaler.scale(loss)).backward(inputs=inputs)

    @staticmethod
    def step(opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
        """The optimiser step; with a scaler it is skipped when the gradients are not finite,
        and the scale is updated (halved then, doubled after 2000 good steps)."""
        if scaler is None:
            opt.step()
        else:
            scaler.step(opt)
            scaler.update()

    def min_scale(self) -> torch.Tensor:
        """The smaller of the two scalers' scales, on the device (no sync)."""
        scales = [s._scale for s in (self.critic_scaler, self.generator_scaler)
                  if s is not None and s._scale is not None]  # _scale: None until the first scale()
        return torch.stack(scales).min() if scales else torch.tensor(float("inf"))

    def state_dict(self) -> dict | None:
        """The scalers' states (None without them)."""
        if self.critic_scaler is None:
            return None
        return {"critic": self.critic_scaler.state_dict(), "generator": self.generator_scaler.state_dict()}

    def load_state_dict(self, state: dict | None) -> None:
        """Restore the scalers; a checkpoint without them (written in another precision, or before
        mixed precision existed) leaves fresh ones."""
        if self.critic_scaler is None or not state:
            return
        for scaler, key in ((self.critic_scaler, "critic"), (self.generator_scaler, "generator")):
            if state.get(key):
                scaler.load_state_dict(state[key])


FP32 = MixedPrecision()


class AutogradGradients:
    """The textbook way: the critic's outputs, the objective's loss, ``backward()``. Real and
    fake go through the critic in one pass, unless it has batch-norm (which would mix their
    statistics)."""

    def __init__(self, critic: torch.nn.Module, objective: Objective, rng: torch.Generator,
                 amp: MixedPrecision = FP32):
        self.critic, self.objective, self.rng = critic, objective, rng
        self.amp = amp
        self.separate_passes = has_batchnorm(critic)
        # the backward goes into the critic's weights alone: not into the penalty's interpolates
        # (a leaf that wants a gradient for the penalty's own autograd.grad, not from this one)
        self.params = [p for p in critic.parameters() if p.requires_grad]
        # the penalty's interpolation weights (engine.distributed replaces it to draw a slice of a
        # global batch); drawn here, in the stream's order, and handed to the objective
        self.eps_draw: Callable[[torch.Tensor], torch.Tensor] = lambda real: draw_eps(real, self.rng)

    def _f(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.critic(x) if y is None else self.critic(x, y)

    def __call__(self, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None,
                 gp_lambda: float) -> CriticOutput:
        m = real.shape[0]
        with self.amp.autocast():
            if self.separate_passes:
                f_real, f_fake = self._f(real, y), self._f(fake, y)
            else:
                f = self._f(torch.cat((real, fake)), None if y is None else torch.cat((y, y)))
                f_real, f_fake = f[:m], f[m:]
        # the W-estimate and the losses in float32, whatever the passes ran in; the penalty runs
        # its own passes, in float32 or in the run's penalty_dtype (engine.device.resolve_penalty)
        f_real, f_fake = f_real.float(), f_fake.float()
        extra = ({"eps": self.eps_draw(real), "penalty_dtype": self.amp.penalty_dtype}
                 if self.objective.uses_penalty else {})
        out = self.objective.critic_loss(f_real, f_fake, critic=self.critic, real=real, fake=fake,
                                         generator=self.rng, gp_lambda=gp_lambda, labels=y, **extra)
        # ONE backward of the whole loss (-W_est + lambda * GP): under DistributedDataParallel every
        # critic parameter then takes part (the last bias through the W term, even though the
        # penalty gives it no gradient), so DDP needs no find_unused_parameters (engine.distributed)
        self.amp.backward(out.loss, self.amp.critic_scaler, self.params)
        return out


def hand_derived_layers(critic: torch.nn.Module, objective: Objective, conditional: bool) -> list | None:
    """The critic's Linear layers when its WGAN-GP gradients can be derived by hand (unconditional
    plain ReLU MLP critic: the toy presets); None when autograd computes them."""
    if isinstance(objective, WGANGPObjective) and not conditional:
        return plain_relu_mlp(critic)
    return None


def choose_critic_gradients(critic: torch.nn.Module, objective: Objective, conditional: bool,
                            rng: torch.Generator, amp: MixedPrecision = FP32) -> CriticGradients:
    """Hand-derived gradients where they apply (:func:`hand_derived_layers`), autograd everywhere
    else. Same loss, same gradients. The hand-derived step is float32 only: ``amp`` must then be
    float32 (engine.device.resolve_precision makes it so)."""
    layers = hand_derived_layers(critic, objective, conditional)
    if layers:
        if amp.enabled:
            raise ValueError("the hand-derived MLP penalty step computes in float32 only")
        return HandDerivedGradients(layers, rng, critic)
    return AutogradGradients(critic, objective, rng, amp)


def n_critic_for(gen_iter: int, n_critic: int, warmup: bool) -> int:
    """Critic updates of the coming generator iteration; the WGAN reference code's warm-up gives
    100 while ``gen_iter < 25`` and at every 500th."""
    if warmup and (gen_iter < 25 or gen_iter % 500 == 0):
        return 100
    return n_critic


def grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class TrainingStep:
    """The critic update, the generator update and one training iteration of a built run. ``hp``
    (the live values: learning rates are set on the optimisers, ``clip_value``, ``gp_lambda``) is
    read at each call."""

    def __init__(self, generator: torch.nn.Module, critic: torch.nn.Module, opt_generator: torch.optim.Optimizer,
                 opt_critic: torch.optim.Optimizer, objective: Objective, data, rng: torch.Generator, *,
                 batch_size: int, z_dim: int, conditional: bool, clip_before_step: bool,
                 critic_gradients: CriticGradients, amp: MixedPrecision = FP32):
        self.generator, self.critic = generator, critic
        self.amp = amp
        self.opt_generator, self.opt_critic = opt_generator, opt_critic
        self.objective, self.data, self.rng = objective, data, rng
        self.m, self.z_dim, self.conditional = batch_size, z_dim, conditional
        self.clip_before_step = clip_before_step
        self.critic_gradients = critic_gradients
        self.critic_params = list(critic.parameters())
        # The Lipschitz check's quantiles of ||grad f(x_hat)|| (engine.recorder.GRAD_QUANTILES)
        self._quantiles = torch.tensor(GRAD_QUANTILES, device=rng.device)
        # under DistributedDataParallel (engine.distributed) the wrapped modules' own ones
        self.generator_plain = getattr(generator, "module", generator)
        self.critic_plain = getattr(critic, "module", critic)
        # Points trained in standardised coordinates weigh the penalty `scale` times (engine.models.mlp).
        self.penalty_scale: float | None = None

    # the random draws of an iteration, in the stream's order (engine.distributed overrides them)
    def draw_real(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.data.sample(n, self.rng)

    def draw_noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.z_dim, generator=self.rng, device=self.rng.device)

    def draw_labels(self, n: int) -> torch.Tensor:
        return self.data.sample_labels(n, self.rng)

    def critic_update(self, hp: dict, record: bool = False) -> tuple[CriticOutput, torch.Tensor | None]:
        """One critic step on a fresh real batch and a fake batch (no gradient to the generator).
        Returns the objective's output and, if ``record``, the norm of the critic's gradient."""
        clip, c = self.objective.clips_weights, hp["clip_value"]
        real, labels = self.draw_real(self.m)
        # Conditional: the fake batch is generated with the real batch's labels (y), which the
        # critic sees with both halves and the gradient penalty with its interpolates.
        y = labels if self.conditional else None
        z = self.draw_noise(self.m)
        with torch.no_grad(), self.amp.autocast():  # the plain module: no gradient, nothing for DDP to do
            fake = self.generator_plain(z) if y is None else self.generator_plain(z, y)
        fake = fake.float()  # the batch the critic and the penalty see is float32, as the real one
        if clip and self.clip_before_step:  # the reference code's order
            clip_parameters(self.critic_params, c)
        self.opt_critic.zero_grad(set_to_none=True)
        if self.penalty_scale is None:  # once (a resume loads the critic's buffers before the first step)
            self.penalty_scale = penalty_scale(self.critic_plain)
        out = self.critic_gradients(real, fake, y, hp["gp_lambda"] * self.penalty_scale)
        scaler = self.amp.critic_scaler
        if scaler is not None and record:
            scaler.unscale_(self.opt_critic)  # the recorded norm is the true gradient's
        norm = grad_norm(self.critic_params) if record else None
        self.amp.step(self.opt_critic, scaler)
        if clip and not self.clip_before_step:
            clip_parameters(self.critic_params, c)
        return out, norm

    def generator_update(self) -> torch.Tensor:
        """One generator step on ``L_g``; the critic's weights get no gradient. Returns ``L_g``."""
        # The critic without its DDP wrapper: its weights take no gradient here, so there is
        # nothing of it to all-reduce (the generator's DDP wrapper reduces the generator's).
        critic = self.critic_plain
        critic.requires_grad_(False)
        try:
            z = self.draw_noise(self.m)
            with self.amp.autocast():
                if self.conditional:  # labels drawn as the data's are
                    y = self.draw_labels(self.m)
                    f_fake = critic(self.generator(z, y), y)
                else:
                    f_fake = critic(self.generator(z))
            loss = self.objective.generator_loss(f_fake.float())
            self.opt_generator.zero_grad(set_to_none=True)
            self.amp.backward(loss, self.amp.generator_scaler)
            self.amp.step(self.opt_generator, self.amp.generator_scaler)
        finally:
            critic.requires_grad_(True)
        return loss.detach()

    def iteration(self, hp: dict, n_critic: int, stats: torch.Tensor) -> None:
        """One generator iteration. Its statistics go into the device row ``stats`` (the order of
        :data:`engine.recorder.STATS`): the means over its critic steps of the W-estimate, the
        critic loss and the penalty (n_critic batches give a steadier estimate than the last
        one), the generator loss, the clipped share, the critic's gradient norm, the quantiles
        :data:`GRAD_QUANTILES` of ``||grad f(x_hat)||`` over the interpolates of the last critic
        step (wgan-gp; zeros otherwise), a NaN/Inf flag."""
        # ---- (1) Update the critic n_critic times
        w_sum = loss_sum = gp_sum = None
        for t in range(n_critic):
            out, norm = self.critic_update(hp, record=t == n_critic - 1)
            if w_sum is None:
                w_sum, loss_sum, gp_sum = out.w_estimate, out.loss.detach(), out.penalty
            else:
                w_sum, loss_sum, gp_sum = w_sum + out.w_estimate, loss_sum + out.loss.detach(), gp_sum + out.penalty

        # ---- (2) Update the generator
        g_loss = self.generator_update()

        # ---- statistics, on the device (no sync)
        cf = (clip_fraction(self.critic_params, hp["clip_value"]) if self.objective.clips_weights
              else out.w_estimate.new_zeros(()))
        if self.amp.critic_scaler is None:
            nonfinite = (~torch.isfinite(loss_sum) | ~torch.isfinite(g_loss) | ~torch.isfinite(norm)).float()
        else:
            # fp16: gradients that overflow are the scaler's (it skipped that step and lowered the
            # scale), not a NaN of the run; the losses, float32 from the passes, still count, and so
            # does a scale fallen below 1 (skipping on: the gradients are NaN whatever the scale,
            # the run itself has diverged). The skipped step's norm is not a measurement: NaN.
            nonfinite = (~torch.isfinite(loss_sum) | ~torch.isfinite(g_loss)
                         | (self.amp.min_scale() < 1.0)).float()
            norm = torch.where(torch.isfinite(norm), norm, torch.full_like(norm, float("nan")))
        q = (torch.quantile(out.grad_norms.float(), self._quantiles) if out.grad_norms is not None
             else self._quantiles.new_zeros(len(GRAD_QUANTILES)))
        torch.cat((torch.stack((w_sum / n_critic, loss_sum / n_critic, g_loss, gp_sum / n_critic, cf, norm)), q,
                   nonfinite.reshape(1)), out=stats)

"""WGAN-GP (Gulrajani et al. 2017, Algorithm 1)."""

from __future__ import annotations

import torch

from ..models.activations import input_gradient_pass
from .base import CriticOutput, Objective


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
                     labels: torch.Tensor | None = None, eps: torch.Tensor | None = None,
                     passes_dtype: torch.dtype | None = None) -> torch.Tensor:
    """The penalty alone (see :func:`gradient_penalty_and_norms`)."""
    return gradient_penalty_and_norms(critic, real, fake, generator, labels, eps, passes_dtype)[0]


def gradient_penalty_and_norms(critic, real: torch.Tensor, fake: torch.Tensor,
                               generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                               eps: torch.Tensor | None = None, passes_dtype: torch.dtype | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The penalty and the per-sample norms ``||grad f(x_hat_i)||`` (detached) it is made of.

    ``mean_i (||grad_x f(x_hat_i)||_2 - 1)^2`` with ``x_hat_i = eps_i x_i + (1 - eps_i) x~_i``.

    - one eps per sample, broadcast over its features (not one per batch: PyTorch-GAN #20);
    - the norm is over all features of a sample, flattened (not dim=1 of an image: wgan-gp #25);
    - the interpolates, the input gradient, its norms and the penalty are float32; the critic's
      passes at the interpolates (its forward, and the backward that gives the input gradient)
      run in float32 with autocast off, or under autocast in ``passes_dtype`` when given: only
      bfloat16 is ever given (``[train] penalty_precision``, engine.device.resolve_penalty),
      never float16, under which the penalty overflows to NaN (StudioGAN #175);
    - create_graph=True so the penalty's gradient reaches the critic's weights;
    - conditional critics (``labels`` given): ``f(x_hat_i, y_i)`` with the real sample's label
      (the fake of a conditional critic step is made with the same labels); the gradient is
      with respect to x only;
    - the input gradient is taken out of place with ``torch.autograd.grad(..., inputs=x_hat)``: no
      parameter's ``.grad`` is touched (and no DistributedDataParallel hook fires) until the one
      backward of the whole critic loss;
    - ``eps``: the interpolation weights already drawn (default: drawn here from ``generator``).
    """
    real = real.detach().float()
    fake = fake.detach().float()
    if eps is None:
        eps = draw_eps(real, generator)
    x_hat = torch.lerp(fake, real, eps).requires_grad_(True)  # eps * real + (1 - eps) * fake
    kind = real.device.type
    with torch.autocast(device_type=kind, dtype=passes_dtype, enabled=passes_dtype is not None), \
            input_gradient_pass():
        out = critic(x_hat) if labels is None else critic(x_hat, labels)
        # the gradient arrives in x_hat's float32 whatever the passes ran in
        (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)
        norm = grad.flatten(1).norm(2, dim=1)
        return ((norm - 1) ** 2).mean(), norm.detach()


def draw_eps(real: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One interpolation weight per sample, ``U[0, 1]``, shaped ``[m, 1, ...]`` to broadcast over
    the sample's features."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    return torch.rand(shape, device=real.device, generator=generator)


class WGANGPObjective(Objective):
    kind = "wgan-gp"

    def critic_loss(self, f_real, f_fake, *, critic=None, real=None, fake=None, generator=None,
                    gp_lambda: float = 10.0, labels=None, eps=None, penalty_dtype=None) -> CriticOutput:
        w = self.w_estimate(f_real, f_fake)
        gp, norms = gradient_penalty_and_norms(critic, real, fake, generator, labels, eps, penalty_dtype)
        return CriticOutput(-w + gp_lambda * gp, w.detach(), gp.detach(), norms)

    def generator_loss(self, f_fake: torch.Tensor) -> torch.Tensor:
        return -f_fake.mean()

"""WGAN with weight clipping (Arjovsky et al. 2017, Algorithm 1)."""

from __future__ import annotations

import torch

from .base import CriticOutput, Objective


class WGANClipObjective(Objective):
    kind = "wgan-clip"

    def critic_loss(self, f_real, f_fake, **_) -> CriticOutput:
        w = self.w_estimate(f_real, f_fake)
        return CriticOutput(-w, w.detach(), torch.zeros((), device=w.device))

    def generator_loss(self, f_fake: torch.Tensor) -> torch.Tensor:
        return -f_fake.mean()


@torch.no_grad()
def clip_parameters(params: list[torch.Tensor], c: float) -> None:
    """Clip every critic parameter to [-c, c], norm scales and shifts included (known issue #18 of
    the reference code: its batch-norm parameters escaped clipping)."""
    if params:
        torch._foreach_clamp_min_(params, -c)
        torch._foreach_clamp_max_(params, c)


@torch.no_grad()
def clip_fraction(params: list[torch.Tensor], c: float) -> torch.Tensor:
    """Share of critic parameters sitting at the clipping bound (a device scalar, no sync)."""
    at_bound = sum((p.abs() >= c * (1 - 1e-6)).sum() for p in params)
    return at_bound / sum(p.numel() for p in params)

"""The original GAN (Goodfellow et al.) with the non-saturating generator loss.

D = sigmoid(f). Written with softplus: -log D(x) = softplus(-f(x)), -log(1 - D(x)) = softplus(f(x)),
which stays finite where log(sigmoid(.)) underflows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import CriticOutput, Objective


class GANObjective(Objective):
    kind = "gan"

    def critic_loss(self, f_real, f_fake, **_) -> CriticOutput:
        loss = F.softplus(-f_real).mean() + F.softplus(f_fake).mean()
        return CriticOutput(loss, self.w_estimate(f_real, f_fake).detach(), torch.zeros((), device=loss.device))

    def generator_loss(self, f_fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-f_fake).mean()  # -mean log D(g(z))

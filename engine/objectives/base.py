"""The objective interface the trainer calls."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class CriticOutput:
    loss: torch.Tensor          # what the critic minimises
    w_estimate: torch.Tensor    # mean f(real) - mean f(fake), detached
    penalty: torch.Tensor       # gradient penalty before lambda (0 when unused), detached
    # wgan-gp: ||grad_x f(x_hat_i)||_2 of each interpolate, detached (the Lipschitz check); else None
    grad_norms: torch.Tensor | None = None


class Objective:
    kind = ""
    clips_weights = False       # wgan-clip: clip every critic parameter to [-c, c]
    uses_penalty = False        # wgan-gp: needs x_real, x_fake and the critic for the penalty

    def critic_loss(self, f_real: torch.Tensor, f_fake: torch.Tensor, *, critic=None, real=None,
                    fake=None, generator=None, gp_lambda: float = 0.0, labels=None) -> CriticOutput:
        """``labels``: the class labels of a conditional run (those of the real batch, which the
        fake batch was generated with), for objectives that call the critic themselves."""
        raise NotImplementedError

    def generator_loss(self, f_fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def w_estimate(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
        return f_real.mean() - f_fake.mean()

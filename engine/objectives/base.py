"""The objective interface the trainer calls."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..objective_traits import ObjectiveTraits, traits


@dataclass
class CriticOutput:
    loss: torch.Tensor          # what the critic minimises
    w_estimate: torch.Tensor    # mean f(real) - mean f(fake), detached
    penalty: torch.Tensor       # gradient penalty before lambda (0 when unused), detached
    # wgan-gp: ||grad_x f(x_hat_i)||_2 of each interpolate, detached (the Lipschitz check); else None
    grad_norms: torch.Tensor | None = None


class Objective:
    kind = ""

    @property
    def traits(self) -> ObjectiveTraits:
        """What this objective does (:mod:`engine.objective_traits`)."""
        return traits(self.kind)

    @property
    def clips_weights(self) -> bool:
        """Clip every critic parameter to [-c, c] after each critic step."""
        return self.traits.clips_weights

    @property
    def uses_penalty(self) -> bool:
        """The gradient penalty: the loss needs the real and fake batches and the critic."""
        return self.traits.uses_penalty

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

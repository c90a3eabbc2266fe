"""f-GAN (Nowozin, Cseke, Tomioka 2016): variational estimation of an f-divergence.

For a convex ``f`` with ``f(1) = 0`` and its Fenchel conjugate ``f*(t) = sup_u (u t - f(u))``,

    D_f(P || Q) >= sup_T  E_P[T(x)] - E_Q[f*(T(x))]

with the critic's raw output ``V`` mapped into the domain of ``f*`` by an output activation,
``T = g_f(V)`` (Table 2 of the paper). The critic maximises the bound; the generator minimises
it (``minimax``: ``-mean f*(g_f(V(g(z))))``), or, as the paper recommends in practice, maximises
``mean g_f(V(g(z)))`` (``trick``, the non-saturating form; for the GAN divergence it is exactly
the non-saturating GAN loss).

Every composition ``f*(g_f(v))`` is written in closed form so nothing overflows or loses
precision where the naive composition would (``softplus``/``logsigmoid``/``expm1``, never
``log(sigmoid(.))`` or ``log(1 - exp(.))``):

| divergence | f(u) | g_f(v) | f*(t) | f*(g_f(v)) |
|---|---|---|---|---|
| kl | u log u | v | exp(t - 1) | exp(v - 1) |
| reverse-kl | -log u | -exp(-v) | -1 - log(-t) | v - 1 |
| js | -(u+1) log((1+u)/2) + u log u | log 2 - softplus(-v) | -log(2 - exp t) | softplus(v) - log 2 |
| pearson | (u - 1)^2 | v | t^2/4 + t | v^2/4 + v |
| hellinger (squared) | (sqrt u - 1)^2 | 1 - exp(-v) | t / (1 - t) | expm1(v) |

The reported ``w_estimate`` stays ``mean V(real) - mean V(fake)`` (the shared sign convention);
the divergence estimate the critic maximises is ``mean g_f(V(real)) - mean f*(g_f(V(fake)))``,
which the critic loss is minus of.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..config import DIVERGENCES
from .base import CriticOutput, Objective

LOG2 = math.log(2.0)
GENERATOR_LOSSES = ("trick", "minimax")


def activation(div: str, v: torch.Tensor) -> torch.Tensor:
    """``g_f(v)``: the critic's raw output mapped into the domain of ``f*``."""
    if div in ("kl", "pearson"):
        return v
    if div == "reverse-kl":
        return -torch.exp(-v)
    if div == "js":
        return LOG2 - F.softplus(-v)
    if div == "hellinger":
        return -torch.expm1(-v)  # 1 - exp(-v)
    raise ValueError(f"unknown f-divergence {div!r} (allowed: {', '.join(DIVERGENCES)})")


def conjugate(div: str, t: torch.Tensor) -> torch.Tensor:
    """``f*(t)`` on its domain (used by the tests against the Fenchel definition)."""
    if div == "kl":
        return torch.exp(t - 1)
    if div == "reverse-kl":
        return -1 - torch.log(-t)
    if div == "js":
        return -torch.log(2 - torch.exp(t))
    if div == "pearson":
        return t * t / 4 + t
    if div == "hellinger":
        return t / (1 - t)
    raise ValueError(f"unknown f-divergence {div!r} (allowed: {', '.join(DIVERGENCES)})")


def conjugate_of_activation(div: str, v: torch.Tensor) -> torch.Tensor:
    """``f*(g_f(v))`` in closed, numerically stable form (see the module table)."""
    if div == "kl":
        return torch.exp(v - 1)
    if div == "reverse-kl":
        return v - 1
    if div == "js":
        return F.softplus(v) - LOG2
    if div == "pearson":
        return v * v / 4 + v
    if div == "hellinger":
        return torch.expm1(v)
    raise ValueError(f"unknown f-divergence {div!r} (allowed: {', '.join(DIVERGENCES)})")


def generator_f(div: str, u: torch.Tensor) -> torch.Tensor:
    """The convex generator ``f(u)`` of each divergence (``u > 0``), for tests and docs."""
    if div == "kl":
        return u * torch.log(u)
    if div == "reverse-kl":
        return -torch.log(u)
    if div == "js":
        return -(u + 1) * torch.log((1 + u) / 2) + u * torch.log(u)
    if div == "pearson":
        return (u - 1) ** 2
    if div == "hellinger":
        return (torch.sqrt(u) - 1) ** 2
    raise ValueError(f"unknown f-divergence {div!r} (allowed: {', '.join(DIVERGENCES)})")


class FGANObjective(Objective):
    kind = "f-gan"

    def __init__(self, divergence: str = "kl", generator_loss: str = "trick"):
        if divergence not in DIVERGENCES:
            raise ValueError(f"unknown f-divergence {divergence!r} (allowed: {', '.join(DIVERGENCES)})")
        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"unknown f-GAN generator loss {generator_loss!r} "
                             f"(allowed: {', '.join(GENERATOR_LOSSES)})")
        self.divergence = divergence
        self.generator_form = generator_loss

    def divergence_estimate(self, f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
        """``mean g_f(V(real)) - mean f*(g_f(V(fake)))``: the variational lower bound of D_f."""
        return (activation(self.divergence, f_real).mean()
                - conjugate_of_activation(self.divergence, f_fake).mean())

    def critic_loss(self, f_real, f_fake, **_) -> CriticOutput:
        loss = -self.divergence_estimate(f_real, f_fake)
        return CriticOutput(loss, self.w_estimate(f_real, f_fake).detach(), torch.zeros((), device=loss.device))

    def generator_loss(self, f_fake: torch.Tensor) -> torch.Tensor:
        if self.generator_form == "trick":
            return -activation(self.divergence, f_fake).mean()
        return -conjugate_of_activation(self.divergence, f_fake).mean()

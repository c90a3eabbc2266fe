"""Training objectives, one small module each, one interface (:class:`Objective`).

Sign convention (docs/algorithm.md, "Notation and sign convention"): ``w_estimate = mean f(x_real)
- mean f(g(z))`` is reported as is, never negated; the critic minimises ``-w_estimate (+ lambda * GP)``
and the generator minimises ``-mean f(g(z))``.
"""

from __future__ import annotations

from ..objective_traits import OBJECTIVE_TRAITS, ObjectiveTraits, owner_of, traits
from .base import CriticOutput, Objective
from .fgan import DIVERGENCES, FGANObjective
from .gan import GANObjective
from .wgan_clip import WGANClipObjective
from .wgan_gp import WGANGPObjective, gradient_penalty

#: The class of each objective, by the config's [objective] kind.
OBJECTIVE_CLASSES: dict[str, type[Objective]] = {
    "gan": GANObjective,
    "wgan-clip": WGANClipObjective,
    "wgan-gp": WGANGPObjective,
    "f-gan": FGANObjective,
}

__all__ = ["DIVERGENCES", "OBJECTIVE_CLASSES", "OBJECTIVE_TRAITS", "CriticOutput", "FGANObjective", "GANObjective",
           "Objective", "ObjectiveTraits", "WGANClipObjective", "WGANGPObjective", "get_objective",
           "gradient_penalty", "owner_of", "traits"]


def get_objective(kind: str, *, divergence: str = "kl", fgan_generator: str = "trick") -> Objective:
    if kind == "f-gan":
        return FGANObjective(divergence, fgan_generator)
    return OBJECTIVE_CLASSES[kind]()

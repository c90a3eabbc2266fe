"""What each objective can do, in one table: every "does this objective ...?" of the engine and of
the front ends is answered here, never by comparing objective names elsewhere.

It sits below the configuration (which uses it to say which fields a run reads) and imports
nothing; :mod:`engine.objectives` and :mod:`engine` export its names."""

from __future__ import annotations

from dataclasses import dataclass

#: The live parameters every objective reads (``engine.config.LIVE_KEYS`` names).
COMMON_LIVE_KEYS = ("n_critic", "lr_critic", "lr_generator")


@dataclass(frozen=True)
class ObjectiveTraits:
    kind: str                       # the config's [objective] kind
    title: str                      # how people name it
    estimates_w1: bool              # the critic's mean gap estimates the Wasserstein-1 distance
    uses_penalty: bool              # the gradient penalty (needs real and fake batches and the critic)
    clips_weights: bool             # every critic parameter clipped to [-c, c] after each step
    lipschitz_check: bool           # logs the per-sample gradient norms at the interpolates
    regulariser_column: str | None  # the metrics.csv column of its regulariser, if it has one
    live_keys: tuple[str, ...]      # the live parameters it reads
    own_fields: tuple[str, ...]     # the config fields only this objective reads ("section.key")


OBJECTIVE_TRAITS: dict[str, ObjectiveTraits] = {t.kind: t for t in (
    ObjectiveTraits("wgan-gp", "WGAN-GP (gradient penalty)", estimates_w1=True, uses_penalty=True,
                    clips_weights=False, lipschitz_check=True, regulariser_column="gradient_penalty",
                    live_keys=(*COMMON_LIVE_KEYS, "gp_lambda"),
                    own_fields=("objective.gp_lambda", "train.penalty_precision")),
    ObjectiveTraits("wgan-clip", "WGAN (weight clipping)", estimates_w1=True, uses_penalty=False,
                    clips_weights=True, lipschitz_check=False, regulariser_column="clip_fraction",
                    live_keys=(*COMMON_LIVE_KEYS, "clip_value"),
                    own_fields=("objective.clip_value", "objective.clip_before_step")),
    ObjectiveTraits("gan", "GAN (non-saturating)", estimates_w1=False, uses_penalty=False, clips_weights=False,
                    lipschitz_check=False, regulariser_column=None, live_keys=COMMON_LIVE_KEYS, own_fields=()),
    ObjectiveTraits("f-gan", "f-GAN", estimates_w1=False, uses_penalty=False, clips_weights=False,
                    lipschitz_check=False, regulariser_column=None, live_keys=COMMON_LIVE_KEYS,
                    own_fields=("objective.divergence", "objective.fgan_generator")),
)}


def traits(kind: str) -> ObjectiveTraits:
    """The traits of objective ``kind``; KeyError names the objectives there are."""
    try:
        return OBJECTIVE_TRAITS[kind]
    except KeyError:
        raise KeyError(f"unknown objective {kind!r} (objectives: {', '.join(OBJECTIVE_TRAITS)})") from None


def owner_of(field: str) -> ObjectiveTraits | None:
    """The objective that alone reads config field ``field`` ("section.key"), if one does."""
    return next((t for t in OBJECTIVE_TRAITS.values() if field in t.own_fields), None)

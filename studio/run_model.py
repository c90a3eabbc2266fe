"""The current run, without widgets: what every panel shows."""

from __future__ import annotations

from collections.abc import Mapping

from engine import Config


def run_kind(config: Config | None, columns: Mapping[str, list]) -> tuple[str, bool]:
    """(objective, is_toy) of a run; guessed from its metrics.csv columns when no configuration
    could be read (a toy run has the w1_exact column; each objective fills its regulariser)."""
    if config is not None:
        return config.objective.kind, config.is_toy

    def filled(name):
        return any(v == v for v in columns.get(name, ()))  # any non-NaN

    objective = "wgan-clip" if filled("clip_fraction") else "wgan-gp" if filled("gradient_penalty") else "gan"
    return objective, "sliced_w" not in columns

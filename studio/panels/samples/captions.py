"""What both sample views write under their picture: no samples yet, the averaged weights, the
scale of a set of points."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel

NO_SAMPLES = "No samples yet: start a run"
WAITING = "No samples yet: they come with the run's first picture"
AVERAGED_TIP = ("Generated from the moving average of the generator's weights ([model] ema_decay); "
                "training uses the weights themselves")


def scale_text(points: np.ndarray) -> str:
    """"x₁ −1.6 … 1.6, x₂ −1.6 … 1.6": the range the points span, in their own units."""
    if not len(points):
        return ""
    lo, hi = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    return f"x₁ {lo[0]:.3g}…{hi[0]:.3g}, x₂ {lo[1]:.3g}…{hi[1]:.3g}".replace("-", "−")


def mark_averaged(caption: QLabel, averaged: bool) -> None:
    """Say on the caption when the samples come from the averaged generator weights."""
    if averaged:
        caption.setText(caption.text() + " (averaged weights)")
    caption.setToolTip(AVERAGED_TIP if averaged else "")

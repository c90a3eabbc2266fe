"""Small text helpers shared by the command line and the studio."""

from __future__ import annotations

import math


def format_duration(s: float | None, missing: str = "–") -> str:
    """``m:ss`` or ``h:mm:ss``; ``missing`` for None, NaN, infinity or a negative time."""
    if s is None or not math.isfinite(s) or s < 0:
        return missing
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"

"""How the studio writes a value for people: one function, :func:`format_value`, for the form's
fields, the tables and the plots' markers."""

from __future__ import annotations

import math
import numbers


def format_value(v, digits: int | None = None) -> str:
    """``v`` as text: ``digits`` significant digits of a float (None: every digit, the shortest
    text that reads back as the same float), "true"/"false", a list or tuple as its items joined
    by ", ", "–" for a missing value (NaN), "∞" and "−∞", "" for None, anything else as ``str``."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple | list):
        return ", ".join(format_value(float(x), digits) for x in v)
    if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral):
        v = float(v)
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return repr(v) if digits is None else f"{v:.{digits}g}"
    return str(v)

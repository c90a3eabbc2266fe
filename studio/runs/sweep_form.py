"""The New sweep form's words to the sweep file's values (Qt-free).

A searched setting is typed as a list, ``0.001, 0.01, 0.1`` (one of these), or as a range,
``1e-5 .. 1e-3 log`` (random and TPE samplers; ``log``: sampled on a log scale). A fixed setting
is a value. Each value is read as TOML would read it (numbers, ``true``/``false``, quoted
strings), a bare word as a string (``adam``). What the values may be is the engine's to say:
the form writes the file with :func:`engine.sweep.dumps_sweep` and checks it with
:func:`engine.sweep.loads_sweep`, which names the key of any value it refuses.
"""

from __future__ import annotations

import tomllib
from typing import Any

RANGE_MARK = ".."


def toml_value(text: str) -> Any:
    """``text`` as TOML reads a value; a bare word is a string."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def search_value(text: str) -> list | dict:
    """A searched setting's text: a list of values, or a range ``low .. high [log]``."""
    text = text.strip()
    if RANGE_MARK in text:
        low, rest = text.split(RANGE_MARK, 1)
        words = rest.split()
        out: dict[str, Any] = {"low": toml_value(low), "high": toml_value(words[0]) if words else ""}
        if "log" in words[1:]:
            out["log"] = True
        return out
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [toml_value(v) for v in text.split(",") if v.strip()]


def search_text(value: list | dict) -> str:
    """The inverse of :func:`search_value`, for a form filled from a file."""
    if isinstance(value, dict):
        return f"{value.get('low')} .. {value.get('high')}{' log' if value.get('log') else ''}"
    return ", ".join(str(v) for v in value)


def sweep_data(*, base: str, trials: int | None, sampler: str, metric: str, direction: str,
               fixed: dict[str, str], search: dict[str, str]) -> dict:
    """The sweep file's contents from the form's fields (``fixed`` and ``search``: key -> text;
    empty keys are left out)."""
    data: dict[str, Any] = {"base": base, "sampler": sampler, "metric": metric, "direction": direction}
    if trials:
        data["trials"] = int(trials)
    data["set"] = {k.strip(): toml_value(v) for k, v in fixed.items() if k.strip()}
    data["search"] = {k.strip(): search_value(v) for k, v in search.items() if k.strip()}
    return data

"""Runs entry points the way a user's system does and records which loaded first: PyTorch's C
extension (``torch._C``) or anything of Qt (PySide6, shiboken6). Used by tests/test_load_order.py.

    python tests/load_order_probe.py OUT.json STEP [STEP ...] [-- ARGS ...]

A STEP is ``import:MODULE``, ``script:PATH`` (run as ``__main__``, as PyInstaller runs the entry
script and its run-time hooks) or ``call:MODULE:FUNCTION`` (as a console script's wrapper does);
ARGS become ``sys.argv[1:]`` of the scripts and functions. OUT.json gets ``{"order": [...],
"exit": ...}``: the first import of ``torch._C`` and of each top-level Qt package, in order.
"""

from __future__ import annotations

import importlib
import json
import runpy
import sys

WATCHED = ("torch._C", "PySide6", "shiboken6")


class Recorder:
    """A meta-path finder that finds nothing and notes the first request for each watched name."""

    def __init__(self):
        self.order: list[str] = []

    def find_spec(self, name, path=None, target=None):
        key = name if name == "torch._C" else name.split(".", 1)[0]
        if key in WATCHED and key not in self.order:
            self.order.append(key)
        return None


def run_step(step: str, argv: list[str]) -> object:
    kind, _, what = step.partition(":")
    if kind == "import":
        importlib.import_module(what)
        return None
    sys.argv = [what, *argv]
    try:
        if kind == "script":
            runpy.run_path(what, run_name="__main__")
            return None
        module, func = what.split(":")
        return getattr(importlib.import_module(module), func)(argv)
    except SystemExit as e:
        return e.code


def main() -> None:
    out, rest = sys.argv[1], sys.argv[2:]
    steps, argv = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) if "--" in rest else (rest, [])
    recorder = Recorder()
    sys.meta_path.insert(0, recorder)
    code = None
    for step in steps:
        code = run_step(step, argv)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"order": recorder.order, "exit": code}, f)


if __name__ == "__main__":
    main()

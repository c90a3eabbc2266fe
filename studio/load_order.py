"""Which native libraries load first: PyTorch's or Qt's (docs/guide/platforms.md, "Import order").

On Windows, PyTorch >= 2.9 imported after Qt fails to load its DLLs ("[WinError 1114] A dynamic
link library (DLL) initialization routine failed ... c10.dll"): Qt's wheels bring their own copy
of the C++ runtime, loaded first, and PyTorch's libraries then fail to initialise against it.
The cure is to import torch before anything of PySide6 or shiboken6. Elsewhere the order does not
matter, and the studio shows a window before torch is imported (studio/startup.py): a user sees
a window at once instead of after the seconds ``import torch`` takes.

The choice, measured on Linux (docs/figures.md, "Import order (2026-12-06, issue 34)"): importing
torch first delays the first window by the time ``import torch`` takes (0.17 s became 1.30 s on a
shared 2-core machine; the main window came at the same time), so torch comes first on Windows
only, where it is needed.

Every entry point applies the rule before it imports Qt: ``studio/__init__.py`` (so ``wgan-studio``,
``python -m studio.app`` and any ``import studio.x``), and the packaged build's run-time hook
``scripts/pyi_rth_torch_first.py``, which runs before PyInstaller's own PySide6 hook imports
QtCore. The engine's console scripts never import Qt (an import-linter contract). Nothing here
imports Qt; torch only where the rule asks for it.

``WGAN_STUDIO_TORCH_FIRST=1`` applies the Windows rule on any system: the tests use it to check,
here, that every entry point gets the order right (tests/test_load_order.py). It is harmless
(the first window comes after torch is in).
"""

from __future__ import annotations

import os
import sys
import time

#: When the studio's first module was imported (this one, before torch on Windows): the start-up
#: clock of studio.app where the process's own start time cannot be read (no /proc).
IMPORTED_AT = time.monotonic()

FORCE_ENV = "WGAN_STUDIO_TORCH_FIRST"
QT_PREFIXES = ("PySide6", "shiboken6")

# What the last call of load_torch_first_if_needed() did, for the log: see describe().
_state: dict[str, object] = {"rule": None, "qt_was_loaded": False}


def torch_first(platform: str | None = None, environ: dict | None = None) -> bool:
    """Whether torch must be imported before Qt on ``platform`` (a ``sys.platform`` string)."""
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    return platform == "win32" or environ.get(FORCE_ENV) == "1"


def qt_loaded(modules=None) -> list[str]:
    """The modules of PySide6 or shiboken6 already imported."""
    modules = sys.modules if modules is None else modules
    return sorted(name for name in modules if name.split(".", 1)[0] in QT_PREFIXES)


def load_torch_first_if_needed() -> bool:
    """Import torch now when the rule asks for it (True then). Call before any Qt import."""
    if not torch_first():
        _state["rule"] = "window first"
        return False
    _state["rule"] = "torch first" + (" (Windows)" if sys.platform == "win32" else f" ({FORCE_ENV}=1)")
    _state["qt_was_loaded"] = bool(qt_loaded()) and "torch" not in sys.modules
    import torch  # noqa: F401 - loads PyTorch's libraries before Qt's

    return True


def describe() -> str:
    """One line for the log: the rule applied and whether it came in time."""
    if _state["rule"] is None:
        return "import order: not decided (studio.load_order was not applied)"
    late = "; Qt was loaded before the rule ran" if _state["qt_was_loaded"] else ""
    return f"import order: {_state['rule']}{late}"

"""On Windows PyTorch's libraries must load before Qt's (studio.load_order): every entry point is
run here, in a process of its own, with the Windows rule forced (WGAN_STUDIO_TORCH_FIRST=1), and
a finder on sys.meta_path records whether torch._C came before anything of PySide6/shiboken6."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from studio.load_order import FORCE_ENV, qt_loaded, torch_first

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "load_order_probe.py"


def probe(tmp_path: Path, steps: list[str], argv: list[str] = (), force: bool = True) -> dict:
    out = tmp_path / "order.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "WGAN_STUDIO_RUNS": str(tmp_path / "runs")}
    env.pop(FORCE_ENV, None)
    if force:
        env[FORCE_ENV] = "1"
    proc = subprocess.run([sys.executable, str(PROBE), str(out), *steps, "--", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-3000:]
    return {**json.loads(out.read_text("utf-8")), "stderr": proc.stderr}


def torch_came_first(order: list[str]) -> bool:
    qt = [i for i, name in enumerate(order) if name != "torch._C"]
    return "torch._C" in order and all(order.index("torch._C") < i for i in qt)


def test_the_rule_puts_torch_first_on_windows_only():
    assert torch_first("win32", {}) and torch_first("win32", {FORCE_ENV: "0"})
    assert not torch_first("linux", {}) and not torch_first("darwin", {})
    assert torch_first("linux", {FORCE_ENV: "1"}) and torch_first("darwin", {FORCE_ENV: "1"})
    assert qt_loaded({"PySide6.QtCore": None, "shiboken6": None, "torch": None}) == ["PySide6.QtCore", "shiboken6"]


@pytest.mark.posix_only("on Windows torch after Qt may fail to load at all: the failure the rule prevents")
def test_the_probe_sees_a_wrong_order(tmp_path):
    """Qt first, then torch, as a careless entry point would: the check must fail."""
    seen = probe(tmp_path, ["import:PySide6.QtCore", "import:torch"], force=False)
    assert seen["order"][0] == "PySide6" and "torch._C" in seen["order"]
    assert not torch_came_first(seen["order"])


def test_wgan_studio_loads_torch_before_qt_under_the_windows_rule(tmp_path):
    """``wgan-studio`` (studio.app:main, as the console script calls it) up to its main window."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert scripts["wgan-studio"] == "studio.app:main"
    seen = probe(tmp_path, ["call:studio.app:main"], ["--quit-after-shown"])
    assert seen["exit"] == 0, seen["stderr"][-3000:]
    assert torch_came_first(seen["order"]), seen["order"]
    assert "PySide6" in seen["order"]  # the window was really made
    if sys.platform != "linux":  # the log is in the user's own folder there (docs/guide/install.md)
        return
    log = (tmp_path / "data" / "WGAN Studio" / "WGAN Studio" / "logs" / "studio.log").read_text("utf-8")
    assert f"import order: torch first ({FORCE_ENV}=1)" in log and "Qt was loaded" not in log


def test_frozen_entry_loads_torch_before_qt_under_the_windows_rule(tmp_path):
    """The packaged build runs our run-time hook, then PyInstaller's PySide6 hook (which imports
    QtCore), then scripts/studio_entry.py: the same order here."""
    spec = (ROOT / "studio.spec").read_text("utf-8")
    assert 'runtime_hooks=[str(ROOT / "scripts" / "pyi_rth_torch_first.py")]' in spec
    assert "scripts\" / \"studio_entry.py\"" in spec
    seen = probe(tmp_path, ["script:scripts/pyi_rth_torch_first.py", "import:PySide6.QtCore",
                            "script:scripts/studio_entry.py"], ["--version"])
    assert seen["exit"] == 0, seen["stderr"][-3000:]
    assert torch_came_first(seen["order"]), seen["order"]


def test_console_scripts_never_load_qt(tmp_path):
    """The engine's commands (every [project.scripts] entry but wgan-studio) import no Qt at all,
    so torch is first whatever the system (the rule forced changes nothing for them)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    engine = sorted(target for name, target in scripts.items() if name != "wgan-studio")
    assert "engine.cli:train_main" in engine and all(t.startswith("engine.cli:") for t in engine)
    seen = probe(tmp_path, [f"call:{t}" for t in engine], ["--help"])
    assert seen["order"] == ["torch._C"], seen["order"]

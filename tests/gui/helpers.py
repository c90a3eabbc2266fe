"""Helpers of the studio's GUI tests (the tiny config and the wait are tests/helpers.py's)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import zlib
from pathlib import Path

from engine import Config, Trainer
from tests.helpers import DIVERGING, EXPLODE, tiny_config, wait_until


def use(window, cfg: Config) -> None:
    window.config_panel.set_config(cfg)
    assert window.config_panel.error is None, window.config_panel.error


def wait_state(qtbot, window, *states, timeout: float = 60.0) -> None:
    wait_until(lambda: window.run_state in states, timeout, qtbot=qtbot, what=f"run state in {states}")


def start_live(qtbot, window, cfg: Config | None = None) -> None:
    """Start ``cfg`` (default: the tiny live configuration) in the window and wait until it runs."""
    use(window, cfg if cfg is not None else tiny_config(live=True))
    window.start()
    wait_state(qtbot, window, "running")


def pause(qtbot, window) -> None:
    window.toggle_pause()
    wait_state(qtbot, window, "paused")


def stop(qtbot, window) -> None:
    """Stop the run and wait until the window has handled its end."""
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)


def diverge_run(qtbot, window) -> None:
    """Train to a checkpoint, then set learning rates that make the losses NaN within an
    iteration; returns once the banner is up and the rolled-back run is paused."""
    use(window, tiny_config(live=True, train__checkpoint_every=5, **DIVERGING))
    window.start()
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= 6, timeout=60_000)
    pause(qtbot, window)
    for key, value in EXPLODE.items():
        assert window.request_edit(key, value)
    window.toggle_pause()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=60_000)
    wait_state(qtbot, window, "paused")


_STOPPED_RUNS: dict[str, Path] = {}  # name -> the run trained once this session; tests get copies
atexit.register(lambda: [shutil.rmtree(p.parent, ignore_errors=True) for p in _STOPPED_RUNS.values()])


def stopped_run(folder, name: str = "old-run"):
    """A run trained headlessly to 6 of 9 iterations (checkpoints at 3 and 6, one live edit), as if
    the user had stopped it, in ``folder/runs/name``.

    Each name is trained once per test session (with a seed of its own, so that two runs differ)
    and copied for every test that asks: the tests may damage or continue their copy."""
    if name not in _STOPPED_RUNS:
        cfg = tiny_config(live=True, train__iterations=9, train__checkpoint_every=3, train__sample_every=3,
                          train__eval_every=3, train__seed=zlib.crc32(name.encode()) % 10_000)
        original = Path(tempfile.mkdtemp(prefix="wgan-stopped-")) / name
        trainer = Trainer(cfg, original)
        trainer.request_edit(n_critic=3)
        trainer.run(iterations=6)
        _STOPPED_RUNS[name] = original
    run = Path(folder) / "runs" / name
    shutil.copytree(_STOPPED_RUNS[name], run)  # a run folder is the contract: it holds no absolute path
    return run

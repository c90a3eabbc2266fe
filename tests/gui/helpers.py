"""Helpers of the studio's GUI tests (the tiny config and the wait are tests/helpers.py's)."""

from __future__ import annotations

from engine import Config, Trainer
from tests.helpers import tiny_config, wait_until


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
    use(window, tiny_config(live=True, train__checkpoint_every=5))
    window.start()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.gen_iter >= 6, timeout=60_000)
    pause(qtbot, window)
    for key, value in (("lr_critic", 1e6), ("lr_generator", 1e6), ("gp_lambda", 1e4)):
        assert window.request_edit(key, value)
    window.toggle_pause()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=60_000)
    wait_state(qtbot, window, "paused")


def stopped_run(folder, name: str = "old-run"):
    """A run trained headlessly to 6 of 9 iterations (checkpoints at 3 and 6, one live edit), as if
    the user had stopped it."""
    cfg = tiny_config(live=True, train__iterations=9, train__checkpoint_every=3, train__sample_every=3,
                      train__eval_every=3)
    run = folder / "runs" / name
    trainer = Trainer(cfg, run)
    trainer.request_edit(n_critic=3)
    trainer.run(iterations=6)
    return run

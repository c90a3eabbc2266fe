"""Helpers of the studio's GUI tests (the tiny config and the wait are tests/helpers.py's)."""

from __future__ import annotations

from engine import Config, Trainer
from tests.helpers import tiny_config, wait_until


def use(window, cfg: Config) -> None:
    window.config_panel.set_config(cfg)
    assert window.config_panel.error is None, window.config_panel.error


def wait_state(qtbot, window, *states, timeout: float = 60.0) -> None:
    wait_until(lambda: window.run_state in states, timeout, qtbot=qtbot, what=f"run state in {states}")


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

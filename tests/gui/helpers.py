"""Helpers of the studio's GUI tests."""

from __future__ import annotations

from engine import Config, Trainer, load_preset


def tiny(preset: str = "toy-wgan-gp", **overrides) -> Config:
    """A preset shrunk to train in milliseconds per iteration (2 shared CPU cores)."""
    cfg = load_preset(preset)
    cfg.model.hidden = 32
    cfg.model.layers = 2
    cfg.model.features = 8
    cfg.model.z_dim = min(cfg.model.z_dim, 16)
    cfg.train.batch_size = 32
    cfg.train.iterations = 100_000       # "forever": tests stop the run themselves
    cfg.train.checkpoint_every = 0
    cfg.train.sample_every = 0
    cfg.train.eval_every = 0
    cfg.train.sample_count = 16
    cfg.train.device = "cpu"
    for dotted, value in overrides.items():
        sec, key = dotted.split("__", 1)
        setattr(getattr(cfg, sec), key, value)
    return cfg




def use(window, cfg: Config) -> None:
    window.config_panel.set_config(cfg)
    assert window.config_panel.error is None, window.config_panel.error


def wait_state(qtbot, window, *states, timeout=30_000) -> None:
    qtbot.waitUntil(lambda: window.run_state in states, timeout=timeout)


def stopped_run(folder, name: str = "old-run"):
    """A run trained headlessly to 6 of 9 iterations (checkpoints at 3 and 6, one live edit), as if
    the user had stopped it."""
    cfg = tiny(train__iterations=9, train__checkpoint_every=3, train__sample_every=3, train__eval_every=3)
    run = folder / "runs" / name
    trainer = Trainer(cfg, run)
    trainer.request_edit(n_critic=3)
    trainer.run(iterations=6)
    return run

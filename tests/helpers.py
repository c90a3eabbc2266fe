"""Small configurations that train in a fraction of a second, for tests."""

from __future__ import annotations

from engine import Config, load_preset


def tiny_config(preset: str = "toy-wgan-gp", **overrides) -> Config:
    """A preset shrunk to a few hundred parameters and a few iterations."""
    cfg = load_preset(preset)
    cfg.model.hidden = 32
    cfg.model.features = 8
    cfg.train.batch_size = 32
    cfg.train.iterations = 20
    cfg.train.checkpoint_every = 10
    cfg.train.sample_every = 10
    cfg.train.eval_every = 10
    cfg.train.sample_count = 16
    cfg.train.device = "cpu"
    for dotted, value in overrides.items():
        sec, key = dotted.split("__", 1)
        setattr(getattr(cfg, sec), key, value)
    return cfg

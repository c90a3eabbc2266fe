"""Data sets: 2-D toy mixtures, Example 1's parallel lines, your own 2-D points and image sets.

:func:`make_data` turns a config's ``[data]`` section into a :class:`DataSource` that draws
batches *on the training device* from a ``torch.Generator`` (so batches are reproducible and
their RNG state can be checkpointed). No NumPy round trip per batch.
"""

from __future__ import annotations

import torch

from ..config import IMAGE_DATASETS, TOY_DATASETS, Config, ConfigError
from .base import DataError, DataSource
from .toy import ToyData

__all__ = ["DataError", "DataSource", "ToyData", "make_data"]


def make_data(cfg: Config, device: torch.device | str = "cpu") -> DataSource:
    name = cfg.data.name
    if name == "points":
        from .points import load_points
        path = cfg.resolved_data_path()
        if path is None:
            raise DataError("data set 'points' needs a path: set [data] path to a .csv, .tsv, .txt or .npy file")
        points = load_points(path)
        if cfg.model.conditional != "none" and points.modes is None:
            raise DataError(f"{path}: conditional training needs a mode column (x, y, mode); the file has x, y")
        return ToyData(name, device=device, points=points)
    if name in TOY_DATASETS:
        return ToyData(name, device=device, theta=cfg.data.theta)
    if name in IMAGE_DATASETS:
        from .images import ImageData, load_images
        images, labels = load_images(cfg)
        return ImageData(name, images, labels, device=device, pin_memory=cfg.train.pin_memory)
    raise ConfigError("unknown data set", key="[data] name", value=name)  # pragma: no cover

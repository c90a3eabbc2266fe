"""Scoring after the fact (``wgan-eval``): a checkpoint against its data set with every measure that
fits the data (:func:`score_checkpoint`), or two sets of images against each other
(:func:`score_sets`). The measures and their names are the run's own (:mod:`engine.evaluation`,
:mod:`engine.measures`); docs/guide/quality.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .evaluation import RealReference, quality_metrics
from .measures import FeatureSpace, measure_labels


def _to_unit(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 127.5 - 1.0


def score_checkpoint(checkpoint: str | Path, n: int = 1000, seed: int = 0, progress=None) -> dict:
    """Measure ``n`` samples of a checkpoint's generator against ``n`` real images (points) of its
    data set: {"checkpoint", "gen_iter", "samples", "measures": {column: value}, "labels":
    {column: name}}. Raises CheckpointError, ConfigError, DataError, InceptionWeightsError."""
    from .data import make_data
    from .data.images import load_images
    from .fitted_features import features_for
    from .inception import inception_for
    from .inference import load_model
    from .rundir import checkpoint_config_source

    model = load_model(checkpoint)
    cfg = model.config
    cfg.source = cfg.source or checkpoint_config_source(model.path)
    g = torch.Generator().manual_seed(seed)
    classes = list(range(model.num_classes)) if model.num_classes else None
    per = -(-n // len(classes)) if classes else n
    fake = model.sample(per, seed, classes).astype(np.float64 if cfg.is_toy else np.float32)[:n]
    if cfg.is_toy:
        data = make_data(cfg)
        centres = (data.centres.cpu().numpy(), data.std) if getattr(data, "centres", None) is not None else None
        real = data.sample(n, g)[0].cpu().numpy().astype(np.float64)
        res = quality_metrics(fake, real, True, centres)
        space = inc = None
    else:
        images, _ = load_images(cfg)
        real = _to_unit(images[torch.randperm(len(images), generator=g)[:n].numpy()])
        net = features_for(cfg, progress=progress, background=False)
        inception = inception_for(cfg)
        digits = cfg.data.name == "digits" and net == "digits"
        res = quality_metrics(fake, real, False, None, digits, net, RealReference(net),
                              RealReference(inception) if inception is not None else None)
        space = _space(net, min(len(fake), len(real)))
        inc = inception.space(min(len(fake), len(real))) if inception is not None else None
    return {"checkpoint": str(model.path), "gen_iter": model.gen_iter, "samples": int(min(len(fake), len(real))),
            "measures": res, "labels": measure_labels(res, space, inc, int(min(len(fake), len(real))))}


def _space(net, samples: int) -> FeatureSpace:
    from .evaluation import feature_space
    return feature_space(net, samples)


def load_image_set(path: str | Path, size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Images in [-1, 1] from an image folder or an .npz (with its labels, if any); ``size``: the
    folder's images are resized to it (default 32; an .npz keeps its own)."""
    from .data import DataError
    from .data.images.folder import load_folder
    from .data.images.npz import load_npz
    p = Path(path)
    if p.is_dir():
        return _to_unit(load_folder(p, size or 32, 0)), None
    if p.suffix.lower() in (".npz", ".npy"):
        images, labels = load_npz(p)
        return _to_unit(images), labels
    raise DataError(f"{p}: not an image folder or an .npz file")


def score_sets(real_path: str | Path, fake_path: str | Path, n: int | None = None, seed: int = 0) -> dict:
    """Measure the images of ``fake_path`` against those of ``real_path`` (folders or .npz): sliced
    W, and FD and KID in a classifier trained on the real set when it has labels (cached), else in
    random features (a weak measure)."""
    from .data import DataError
    from .fitted_features import FittedFeatures
    real, labels = load_image_set(real_path)
    fake, _ = load_image_set(fake_path, real.shape[-1])
    if real.shape[1:] != fake.shape[1:]:
        raise DataError(f"{fake_path}: images of shape {fake.shape[1:]}, but {real_path} has {real.shape[1:]}")
    net = "random"
    if labels is not None and len(np.unique(labels)) > 1:  # trained on the whole real set (cached)
        raw = np.clip(np.round((real + 1) * 127.5), 0, 255).astype(np.uint8)
        net = FittedFeatures(raw, labels, background=False)
    g = np.random.default_rng(seed)
    if n is not None:
        real, fake = (a[g.permutation(len(a))[:n]] for a in (real, fake))
    res = quality_metrics(fake, real, False, None, False, net, RealReference(net))
    samples = int(min(len(fake), len(real)))
    return {"real": str(real_path), "fake": str(fake_path), "samples": samples, "measures": res,
            "labels": measure_labels(res, _space(net, samples), None, samples)}

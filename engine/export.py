"""Exports: the sample picture of a checkpoint or a running generator, a PNG whose text metadata
(config, iteration, seed, weights, classes) is enough to reproduce it, for ``wgan-sample`` and the
studio alike; metrics as CSV. Nothing here overwrites a file: callers ask first."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from . import __version__
from .checkpoint import load_checkpoint
from .config import Config, config_from_dict, dumps_config
from .inference import generate, load_model
from .io import replace_file
from .render import grid_image, save_png, toy_image


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2``, ``stem-3``... if taken (a safe default name)."""
    p = folder / f"{stem}{suffix}"
    k = 2
    while p.exists():
        p = folder / f"{stem}-{k}{suffix}"
        k += 1
    return p


def weights_label(averaged: bool) -> str:
    """The ``weights`` PNG metadata of an export: which generator weights drew it."""
    return "moving average" if averaged else "as trained"


def render_samples(samples: np.ndarray, *, nrow: int, size: int, toy_payload: dict | None = None,
                   label: str = "") -> Image.Image:
    """The picture of ``samples``: ``size`` pixels wide (toy view: ``size`` x ``size``)."""
    if samples.ndim == 2:  # toy points: draw them over the critic field of the latest payload
        payload = dict(toy_payload or {"extent": _extent(samples)})
        payload["fake"] = samples
        payload["label"] = label
        return toy_image(payload, size=size)
    img = grid_image(samples, nrow=nrow, scale=1)
    height = max(1, round(img.height * size / img.width))
    return img.resize((size, height), Image.Resampling.NEAREST)


def _extent(points: np.ndarray) -> tuple[float, float, float, float]:
    lo, hi = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    m = float(np.max(np.abs(np.concatenate([lo, hi])))) * 1.1 or 1.0
    return (-m, m, -m, m)


def grid_metadata(config: Config, gen_iter: int, seed: int, count: int, source: str, classes=None,
                  averaged: bool | None = None) -> dict[str, str]:
    """Enough to reproduce the picture: the full config (TOML), the generator iteration, the
    noise seed, what it was drawn from, which weights (``averaged`` None: those the run shows,
    the moving average when ``[model] ema_decay`` > 0) and (conditional runs) the classes."""
    if averaged is None:
        averaged = config.model.ema_decay > 0
    meta = {"Software": f"WGAN Studio {__version__}", "gen_iter": str(gen_iter), "seed": str(seed),
            "count": str(count), "source": source, "config": dumps_config(config),
            "weights": weights_label(averaged)}
    if classes is not None:
        meta["classes"] = ",".join(str(int(c)) for c in classes)
    return meta


def write_grid(path: str | Path, samples: np.ndarray, *, config: Config, gen_iter: int, seed: int, nrow: int,
               size: int, source: str, toy_payload: dict | None = None, classes=None,
               averaged: bool | None = None) -> Path:
    """``classes``: a conditional run's samples, ``len(samples) / len(classes)`` per class, class
    after class: one grid row per class (toy sets: points coloured by class)."""
    label = f"{config.data.name}  iteration {gen_iter}  seed {seed}"
    if classes is not None:
        per_class = len(samples) // max(1, len(classes))
        nrow = per_class
        if samples.ndim == 2:
            toy_payload = dict(toy_payload or {"extent": _extent(samples)},
                               labels=np.repeat(np.asarray(classes), per_class))
        label += f"  classes {','.join(map(str, classes))}"
    img = render_samples(samples, nrow=nrow, size=size, toy_payload=toy_payload, label=label)
    return save_png(img, path, grid_metadata(config, gen_iter, seed, len(samples), source, classes, averaged))


def checkpoint_classes(path: str | Path) -> int:
    """Number of classes of a conditional run's checkpoint (0: not conditional or unreadable)."""
    try:
        return int(load_checkpoint(path).get("num_classes", 0) or 0)
    except Exception:  # noqa: BLE001 - the export itself reports a damaged checkpoint
        return 0


def sample_checkpoint(path: str | Path, count: int, seed: int, classes=None, raw: bool = False) -> dict:
    """Samples from a saved checkpoint or a run folder's latest (may run in a background thread).
    Toy checkpoints are rebuilt as a Trainer so the picture has the critic's field and the real
    points too. Conditional runs: ``count`` per class of ``classes`` (default all); the result's
    "classes" says which (None for an unconditional run). ``raw``: the weights the optimiser left
    instead of their moving average. Raises CheckpointError, ValueError for bad classes."""
    from .trainer import Trainer

    path = Path(path)
    state = load_checkpoint(path)
    if path.is_dir():
        path = path / "checkpoints" / "latest.pt"
    cfg = config_from_dict(state["config"])
    k = int(state.get("num_classes", 0) or 0)
    if classes is not None and not k:
        raise ValueError("classes chosen, but this run is not conditional")
    if k and classes is None:
        classes = list(range(k))
    if cfg.is_toy:
        trainer = Trainer.from_checkpoint(path)
        payload = trainer.make_samples(write=False)
        averaged = trainer.averaged and not raw
        samples = generate(trainer.sampler if averaged else trainer.generator, count, cfg.model.z_dim, seed,
                           classes=classes)
        return {"samples": samples, "config": trainer.config, "gen_iter": trainer.gen_iter, "toy_payload": payload,
                "classes": classes, "averaged": averaged, "path": path}
    # Image checkpoints: only the generator is needed, not the data set.
    model = load_model(path, raw=raw)
    return {"samples": model.sample(count, seed, classes), "config": model.config, "gen_iter": model.gen_iter,
            "toy_payload": None, "classes": classes, "averaged": model.averaged, "path": path}


def write_checkpoint_samples(checkpoint: str | Path, path: str | Path, count: int, seed: int, *, classes=None,
                             nrow: int = 8, size: int = 512, raw: bool = False) -> Path:
    """The sample picture of a checkpoint (see :func:`sample_checkpoint`) written to ``path``."""
    res = sample_checkpoint(checkpoint, count, seed, classes, raw)
    return write_grid(path, res["samples"], config=res["config"], gen_iter=res["gen_iter"], seed=seed, nrow=nrow,
                      size=size, source=str(res["path"]), toy_payload=res["toy_payload"], classes=res["classes"],
                      averaged=res["averaged"])


def copy_metrics_csv(src: Path, dest: str | Path) -> Path:
    """Copy a run's metrics.csv without a row the trainer may be half-way through appending."""
    text = Path(src).read_text("utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    tmp = Path(dest).with_suffix(".csv.part")
    tmp.write_text(text, "utf-8")
    replace_file(tmp, dest)  # over an existing file too, on Windows as well
    return Path(dest)


def write_columns_csv(cols: dict[str, np.ndarray], dest: str | Path) -> Path:
    names = list(cols)
    n = len(cols[names[0]]) if names else 0
    lines = [",".join(names)]
    for i in range(n):
        lines.append(",".join("" if not math.isfinite(float(cols[k][i])) else f"{float(cols[k][i]):.9g}"
                              for k in names))
    Path(dest).write_text("\n".join(lines) + "\n", "utf-8")
    return Path(dest)

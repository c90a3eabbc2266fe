"""Use a saved checkpoint without its data set: rebuild the networks and draw samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_checkpoint
from .config import Config, ConfigError, config_from_dict
from .models import build_models
from .sampling import frozen_bn_forward


@dataclass
class LoadedModel:
    config: Config
    generator: torch.nn.Module
    critic: torch.nn.Module
    gen_iter: int
    sample_shape: tuple[int, ...]
    path: Path
    num_classes: int = 0        # > 0: a conditional run, ``g(z, y)`` for y in 0 .. num_classes - 1
    averaged: bool = False      # ``generator`` holds the moving average of the weights ([model] ema_decay)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, classes=None) -> np.ndarray:
        """``n`` samples; conditional runs: ``n`` per class of ``classes`` (default all), class
        after class (see :func:`generate`)."""
        return generate(self.generator, n, self.config.model.z_dim, seed, classes=classes)


def parse_classes(text: str | list[str] | None, num_classes: int) -> list[int] | None:
    """Classes to sample from ``"3,7"``, ``"0-4"``, ``"all"`` (or a list of such strings, as
    repeated ``--label`` options give): a sorted list without repeats; ``None`` for all. Raises
    ValueError with a message for the user."""
    items = [text] if isinstance(text, str) else list(text or [])
    if num_classes <= 0:
        if items:
            raise ValueError("this run is not conditional (trained without labels): it has no classes to choose")
        return None
    out: set[int] = set()
    for item in items:
        for part in str(item).replace(" ", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if part.lower() == "all":
                return None
            try:
                lo, _, hi = part.partition("-") if "-" in part[1:] else (part, "", part)
                a, b = int(lo), int(hi)
            except ValueError:
                raise ValueError(f"{part!r} is not a class number (use e.g. 3, 3,7 or 0-4)") from None
            for k in (a, b):
                if not 0 <= k < num_classes:
                    raise ValueError(f"class {k} is out of range: this run has classes 0 to {num_classes - 1}")
            out.update(range(min(a, b), max(a, b) + 1))
    return sorted(out) if out else None


@torch.no_grad()
def generate(generator: torch.nn.Module, n: int, z_dim: int, seed: int, chunk: int = 1024, classes=None
             ) -> np.ndarray:
    """``n`` samples from noise drawn on the CPU with ``seed`` (the same on every device).

    A conditional generator (``generator.num_classes > 0``) gives ``n`` samples for each class of
    ``classes`` (default: all), class after class, the same ``n`` noise vectors in every class; a
    class's samples do not depend on which other classes are drawn with it."""
    device = next(generator.parameters()).device
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
    k = int(getattr(generator, "num_classes", 0) or 0)
    if not k:
        if classes is not None:
            raise ValueError("classes given for a generator that is not conditional")
        out = [frozen_bn_forward(generator, part.to(device)).float().contiguous().cpu() for part in z.split(chunk)]
        return torch.cat(out).numpy()
    classes = list(range(k)) if classes is None else [int(c) for c in classes]
    if any(not 0 <= c < k for c in classes):
        raise ValueError(f"classes must lie in 0 .. {k - 1}")
    # class by class: a batch-norm generator (training mode, see frozen_bn_forward) normalises
    # over its batch, so one class's samples never depend on the other classes drawn
    out = [frozen_bn_forward(generator, zp.to(device), torch.full((len(zp),), c, dtype=torch.int64, device=device))
           .float().contiguous().cpu() for c in classes for zp in z.split(chunk)]
    return torch.cat(out).numpy()


def load_model(path: str | Path, device: str | torch.device = "cpu", raw: bool = False) -> LoadedModel:
    """Load the generator and critic from a checkpoint file or a run folder (its latest.pt).

    A run trained with ``[model] ema_decay`` > 0 samples from the moving average of the
    generator's weights, as its own samples and metrics did; ``raw=True`` loads the weights the
    optimiser left instead."""
    path = Path(path)
    state = load_checkpoint(path)
    if path.is_dir():
        path = path / "checkpoints" / "latest.pt"
    try:
        cfg = config_from_dict(state["config"])
    except ConfigError as e:
        raise CheckpointError(f"{path}: the configuration stored in the checkpoint is invalid: {e}") from None
    shape = tuple(int(s) for s in state.get("sample_shape", ()))
    if not shape:
        if cfg.is_toy:
            shape = (2,)
        else:
            raise CheckpointError(f"{path}: the checkpoint does not record the sample shape")
    num_classes = int(state.get("num_classes", 0) or 0)
    if cfg.model.conditional != "none" and num_classes <= 0:
        raise CheckpointError(f"{path}: a conditional run, but the checkpoint does not record its number of classes")
    generator, critic = build_models(cfg, shape, num_classes)
    try:
        averaged = not raw and state.get("generator_ema") is not None
        generator.load_state_dict(state["generator_ema" if averaged else "generator"])
        critic.load_state_dict(state["critic"])
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path}: the weights do not fit the stored configuration: "
                              f"{str(e).splitlines()[0]}") from None
    generator.to(device).train()
    critic.to(device).train()
    return LoadedModel(cfg, generator, critic, int(state["gen_iter"]), shape, path,
                       num_classes if cfg.model.conditional != "none" else 0, averaged)

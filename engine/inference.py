"""Use a saved checkpoint without its data set: rebuild the networks and draw samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_checkpoint
from .config import Config, ConfigError, config_from_dict, dumps_config
from .models import build_models
from .trainer import _frozen_bn_forward


@dataclass
class LoadedModel:
    config: Config
    generator: torch.nn.Module
    critic: torch.nn.Module
    gen_iter: int
    sample_shape: tuple[int, ...]
    path: Path

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        return generate(self.generator, n, self.config.model.z_dim, seed)

    def metadata(self, seed: int) -> dict[str, str]:
        """PNG text metadata for an export: enough to reproduce the picture."""
        return {"Software": "WGAN Studio", "gen_iter": str(self.gen_iter), "seed": str(seed),
                "checkpoint": str(self.path), "config": dumps_config(self.config)}


@torch.no_grad()
def generate(generator: torch.nn.Module, n: int, z_dim: int, seed: int, chunk: int = 1024) -> np.ndarray:
    """``n`` samples from noise drawn on the CPU with ``seed`` (the same on every device)."""
    device = next(generator.parameters()).device
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
    out = [_frozen_bn_forward(generator, part.to(device)).float().cpu() for part in z.split(chunk)]
    return torch.cat(out).numpy()


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load the generator and critic from a checkpoint file or a run folder (its latest.pt)."""
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
    generator, critic = build_models(cfg, shape)
    try:
        generator.load_state_dict(state["generator"])
        critic.load_state_dict(state["critic"])
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path}: the weights do not fit the stored configuration: "
                              f"{str(e).splitlines()[0]}") from None
    generator.to(device).train()
    critic.to(device).train()
    return LoadedModel(cfg, generator, critic, int(state["gen_iter"]), shape, path)

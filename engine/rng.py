"""Every random number generator a run draws from, captured into a checkpoint and restored from
it: what makes a resumed run continue exactly as if it had never stopped."""

from __future__ import annotations

import random

import numpy as np
import torch


def capture_rng(trainer_rng: torch.Generator) -> dict:
    """The states of the trainer's device stream, torch's, CUDA's, NumPy's and Python's, as
    tensors and plain values (a checkpoint is loaded with ``weights_only=True``)."""
    np_state = np.random.get_state()
    return {
        "trainer": trainer_rng.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
    }


def restore_rng(state: dict, trainer_rng: torch.Generator) -> None:
    """Put back what :func:`capture_rng` captured (each part only if present)."""
    if "trainer" in state:
        trainer_rng.set_state(state["trainer"].to(torch.uint8).cpu())
    if "torch" in state:
        torch.set_rng_state(state["torch"].to(torch.uint8).cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.to(torch.uint8).cpu() for s in state["cuda"]])
    if "numpy" in state:
        n = state["numpy"]
        np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), int(n["pos"]),
                             int(n["has_gauss"]), float(n["cached"])))
    if "python" in state:
        v, internal, g = state["python"]
        random.setstate((v, tuple(internal), g))


def seed_everything(seed: int) -> None:
    """Seed the global generators model initialisation draws from."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)

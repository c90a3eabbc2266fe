"""Checkpoints: a plain dict of state_dicts, counters, RNG states, config, fixed noise and the
edit log, written atomically and read back with ``torch.load(weights_only=True)`` so a file can
never run code."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from .io import atomic_open

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "config", "gen_iter", "generator", "critic", "opt_generator", "opt_critic")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used. The message names the file and what is wrong."""


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        torch.save(state, fh)
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    path = Path(path)
    if path.is_dir():
        cand = path / "checkpoints" / "latest.pt"
        if not cand.is_file():
            raise CheckpointError(f"{path}: no checkpoints/latest.pt in this folder (is it a run folder?)")
        path = cand
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is damaged or foreign
            raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt: not a PyTorch "
                                  f"checkpoint archive, {path.stat().st_size} bytes)")
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e).splitlines()[0] if str(e) else "unsupported content"
        raise CheckpointError(f"{path}: refused: the file holds more than tensors and plain values "
                              f"(loaded with weights_only=True): {msg}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt): "
                              f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if not isinstance(state, dict) or not all(k in state for k in REQUIRED_KEYS):
        missing = [k for k in REQUIRED_KEYS if not isinstance(state, dict) or k not in state]
        raise CheckpointError(f"{path}: not a WGAN Studio checkpoint (missing {', '.join(missing)})")
    if state["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {state['format_version']!r} is not supported "
                              f"(this version reads format {FORMAT_VERSION})")
    return state

"""Device choice: ``auto`` picks cuda, then mps, then cpu."""

from __future__ import annotations

import torch

from .config import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA is not available on this machine", key="[train] device", value=name,
                          allowed="'auto', 'cpu'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("Apple MPS is not available on this machine", key="[train] device", value=name,
                          allowed="'auto', 'cpu'")
    return torch.device(name)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type

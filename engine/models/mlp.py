"""Fully connected nets: the toy-set nets of the WGAN-GP reference (3 x 512, ReLU) and the WGAN
paper's MLP generator experiment (4 x 512, no batch-norm)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .activations import CriticReLU


def _norm1d(kind: str, width: int) -> nn.Module | None:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return None


def _stack(in_dim: int, hidden: int, layers: int, norm: str, act=nn.ReLU) -> list[nn.Module]:
    mods: list[nn.Module] = []
    width = in_dim
    for _ in range(layers):
        mods.append(nn.Linear(width, hidden))
        n = _norm1d(norm, hidden)
        if n is not None:
            mods.append(n)
        mods.append(act())
        width = hidden
    return mods


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int = 2, out_shape: tuple[int, ...] = (2,), hidden: int = 512, layers: int = 3,
                 norm: str = "none", tanh: bool = False):
        super().__init__()
        self.z_dim = z_dim
        self.out_shape = tuple(out_shape)
        out_dim = int(math.prod(out_shape))
        mods = _stack(z_dim, hidden, layers, norm) + [nn.Linear(hidden, out_dim)]
        if tanh:  # images live in [-1, 1]
            mods.append(nn.Tanh())
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPCritic(nn.Module):
    def __init__(self, in_dim: int = 2, hidden: int = 512, layers: int = 3, norm: str = "none"):
        super().__init__()
        # CriticReLU: same values as ReLU, cheaper double backward for the gradient penalty.
        self.net = nn.Sequential(*_stack(in_dim, hidden, layers, norm, CriticReLU), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)  # f(x): one real number per sample

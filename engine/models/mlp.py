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


def label_dim(num_classes: int) -> int:
    """Width of a learned label embedding (generator input, 'concat' critic input)."""
    return min(num_classes, 64)


class MLPGenerator(nn.Module):
    """``g(z)``, or ``g(z, y)`` with ``num_classes > 0``: a learned embedding of the label y is
    concatenated to z (conditional GAN, Mirza & Osindero 2014)."""

    def __init__(self, z_dim: int = 2, out_shape: tuple[int, ...] = (2,), hidden: int = 512, layers: int = 3,
                 norm: str = "none", tanh: bool = False, num_classes: int = 0):
        super().__init__()
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.out_shape = tuple(out_shape)
        out_dim = int(math.prod(out_shape))
        e = label_dim(num_classes) if num_classes else 0
        if num_classes:
            self.embed = nn.Embedding(num_classes, e)
        mods = _stack(z_dim + e, hidden, layers, norm) + [nn.Linear(hidden, out_dim)]
        if tanh:  # images live in [-1, 1]
            mods.append(nn.Tanh())
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat((z, self.embed(y)), 1)
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPCritic(nn.Module):
    """``f(x)``, or ``f(x, y)`` with ``num_classes > 0``: 'concat' feeds a learned label embedding
    next to x; 'projection' adds ``<embed(y), phi(x)>`` to ``psi(phi(x))`` (Miyato & Koyama 2018),
    with phi the hidden stack and psi the last linear layer."""

    def __init__(self, in_dim: int = 2, hidden: int = 512, layers: int = 3, norm: str = "none",
                 num_classes: int = 0, conditional: str = "concat"):
        super().__init__()
        self.num_classes = num_classes
        self.conditional = conditional if num_classes else "none"
        e = label_dim(num_classes) if self.conditional == "concat" else 0
        if self.conditional == "concat":
            self.embed = nn.Embedding(num_classes, e)
        elif self.conditional == "projection":
            # zeros: the critic starts as the unconditional one; the class term is learned
            self.embed = nn.Embedding(num_classes, hidden)
            nn.init.zeros_(self.embed.weight)
        # CriticReLU: same values as ReLU, cheaper double backward for the gradient penalty.
        self.net = nn.Sequential(*_stack(in_dim + e, hidden, layers, norm, CriticReLU), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if self.conditional == "concat":
            return self.net(torch.cat((x, self.embed(y)), 1)).squeeze(1)
        if self.conditional == "projection":
            h = self.net[:-1](x)  # phi(x)
            return self.net[-1](h).squeeze(1) + (self.embed(y) * h).sum(1)
        return self.net(x).squeeze(1)  # f(x): one real number per sample

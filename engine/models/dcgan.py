"""DCGAN generator and critic (Radford et al.), for 32 or 64 pixel images, as used by the WGAN
reference code (``models/dcgan.py``) and the WGAN-GP paper (layer-norm critic)."""

from __future__ import annotations

import torch
from torch import nn

from .activations import CriticConv2d, CriticReLU
from .mlp import label_dim


def _norm2d(kind: str, ch: int) -> nn.Module | None:
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "layer":
        # Layer norm over (C, H, W) of each sample: GroupNorm with one group.
        return nn.GroupNorm(1, ch)
    return None


class DCGANGenerator(nn.Module):
    """``g(z)``, or ``g(z, y)`` with ``num_classes > 0``: a learned label embedding is
    concatenated to z before the first (transposed) convolution."""

    def __init__(self, z_dim: int = 100, channels: int = 3, size: int = 64, features: int = 64,
                 norm: str = "batch", num_classes: int = 0):
        super().__init__()
        if size not in (32, 64):
            raise ValueError("DCGAN generator: size must be 32 or 64")
        self.z_dim = z_dim
        self.num_classes = num_classes
        e = label_dim(num_classes) if num_classes else 0
        if num_classes:
            self.embed = nn.Embedding(num_classes, e)
        ups = 3 if size == 32 else 4  # 4 -> 32 takes three doublings, 4 -> 64 four
        width = features * 2 ** (ups - 1)
        mods: list[nn.Module] = [nn.ConvTranspose2d(z_dim + e, width, 4, 1, 0, bias=norm != "batch")]
        # state size: width x 4 x 4
        for _ in range(ups - 1):
            if norm == "batch":
                mods.append(nn.BatchNorm2d(width))
            mods += [nn.ReLU(True), nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=norm != "batch")]
            width //= 2  # state size: width x (2 * previous)
        if norm == "batch":
            mods.append(nn.BatchNorm2d(width))
        mods += [nn.ReLU(True), nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        # state size: channels x size x size
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat((z.flatten(1), self.embed(y)), 1)
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANCritic(nn.Module):
    """``f(x)``, or ``f(x, y)`` with ``num_classes > 0``: 'concat' appends the label embedding as
    constant extra input channels; 'projection' adds ``<embed(y), phi(x)>`` to ``psi(phi(x))``
    (Miyato & Koyama 2018), phi(x) being the flattened last feature map and psi the last conv."""

    def __init__(self, channels: int = 3, size: int = 64, features: int = 64, norm: str = "none",
                 num_classes: int = 0, conditional: str = "concat"):
        super().__init__()
        if size not in (32, 64):
            raise ValueError("DCGAN critic: size must be 32 or 64")
        self.num_classes = num_classes
        self.conditional = conditional if num_classes else "none"
        e = label_dim(num_classes) if self.conditional == "concat" else 0
        if e:
            self.embed = nn.Embedding(num_classes, e)
        downs = 3 if size == 32 else 4
        width = features
        # CriticReLU(0.2) = LeakyReLU(0.2) with a cheaper double backward (gradient penalty).
        mods: list[nn.Module] = [CriticConv2d(channels + e, width, 4, 2, 1), CriticReLU(0.2)]
        # state size: features x size/2 x size/2 (no norm on the first layer, as in DCGAN)
        for _ in range(downs - 1):
            mods.append(CriticConv2d(width, width * 2, 4, 2, 1, bias=norm == "none"))
            n = _norm2d(norm, width * 2)
            if n is not None:
                mods.append(n)
            mods.append(CriticReLU(0.2))
            width *= 2
        # state size: width x 4 x 4
        mods.append(CriticConv2d(width, 1, 4, 1, 0))
        self.net = nn.Sequential(*mods)
        if self.conditional == "projection":
            # zeros: the critic starts as the unconditional one; the class term is learned
            self.embed = nn.Embedding(num_classes, width * 16)
            nn.init.zeros_(self.embed.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditional == "concat":
            n, _, h, w = x.shape
            x = torch.cat((x, self.embed(y)[:, :, None, None].expand(n, -1, h, w)), 1)
        elif self.conditional == "projection":
            phi = self.net[:-1](x)
            return self.net[-1](phi).view(x.shape[0]) + (self.embed(y) * phi.flatten(1)).sum(1)
        return self.net(x).view(x.shape[0])  # f(x): one real number per sample, no sigmoid

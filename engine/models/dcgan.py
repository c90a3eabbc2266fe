"""DCGAN generator and critic (Radford et al.), for 32 or 64 pixel images, as used by the WGAN
reference code (``models/dcgan.py``) and the WGAN-GP paper (layer-norm critic)."""

from __future__ import annotations

import torch
from torch import nn

from .activations import CriticReLU


def _norm2d(kind: str, ch: int) -> nn.Module | None:
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "layer":
        # Layer norm over (C, H, W) of each sample: GroupNorm with one group.
        return nn.GroupNorm(1, ch)
    return None


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, channels: int = 3, size: int = 64, features: int = 64,
                 norm: str = "batch"):
        super().__init__()
        if size not in (32, 64):
            raise ValueError("DCGAN generator: size must be 32 or 64")
        self.z_dim = z_dim
        ups = 3 if size == 32 else 4  # 4 -> 32 takes three doublings, 4 -> 64 four
        width = features * 2 ** (ups - 1)
        mods: list[nn.Module] = [nn.ConvTranspose2d(z_dim, width, 4, 1, 0, bias=norm != "batch")]
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

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANCritic(nn.Module):
    def __init__(self, channels: int = 3, size: int = 64, features: int = 64, norm: str = "none"):
        super().__init__()
        if size not in (32, 64):
            raise ValueError("DCGAN critic: size must be 32 or 64")
        downs = 3 if size == 32 else 4
        width = features
        # CriticReLU(0.2) = LeakyReLU(0.2) with a cheaper double backward (gradient penalty).
        mods: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), CriticReLU(0.2)]
        # state size: features x size/2 x size/2 (no norm on the first layer, as in DCGAN)
        for _ in range(downs - 1):
            mods.append(nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none"))
            n = _norm2d(norm, width * 2)
            if n is not None:
                mods.append(n)
            mods.append(CriticReLU(0.2))
            width *= 2
        # state size: width x 4 x 4
        mods.append(nn.Conv2d(width, 1, 4, 1, 0))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])  # f(x): one real number per sample, no sigmoid

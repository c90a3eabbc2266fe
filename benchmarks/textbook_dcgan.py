"""The textbook DCGAN WGAN-GP loop that the image benchmarks measure the engine against.

Used by ``benchmarks/dcgan_throughput.py`` (DCGAN-32, the digits preset, on the CPU) and
``benchmarks/gpu.py`` (DCGAN-64, on a GPU). Not part of the product.

It is the WGAN-GP pseudo-code (Gulrajani et al. Algorithm 1; docs/algorithm.md, "WGAN-GP") written the way
tutorials write it, on the same networks as the engine's DCGAN presets: a transposed-conv
generator with batch norm, a conv critic with layer norm (GroupNorm with one group) or none,
LeakyReLU(0.2), no sigmoid; in float32 and NCHW; a batch indexed from the float images kept on
the device already scaled to [-1, 1] (the kindest data path it could have, so the ratio is about
the training step); separate critic passes for the real, fake and interpolated batches, three
backward calls, and ``.item()`` after every step (the per-step sync tutorials do). Adam with the
given learning rates and betas (foreach Adam, PyTorch's default).
"""

from __future__ import annotations

import torch
from torch import nn

DOUBLINGS = {32: 3, 64: 4}  # image size -> stride-2 layers after the 4 x 4 start


def dcgan_nets(z_dim: int, channels: int, features: int, size: int = 32,
               critic_norm: str = "layer") -> tuple[nn.Module, nn.Module]:
    """DCGAN at 32 x 32 (widths f, 2f, 4f) or 64 x 64 (f .. 8f), as tutorials write it."""
    if size not in DOUBLINGS:
        raise ValueError(f"textbook DCGAN: image size {size} is not one of {sorted(DOUBLINGS)}")
    widths = [features * 2 ** k for k in range(DOUBLINGS[size])]  # f, 2f, 4f (, 8f)
    g: list[nn.Module] = [nn.ConvTranspose2d(z_dim, widths[-1], 4, 1, 0, bias=False),
                          nn.BatchNorm2d(widths[-1]), nn.ReLU(True)]
    for w_in, w_out in zip(widths[:0:-1], widths[-2::-1], strict=True):
        g += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
    g += [nn.ConvTranspose2d(widths[0], channels, 4, 2, 1), nn.Tanh()]

    def norm(c: int) -> nn.Module:
        return nn.GroupNorm(1, c) if critic_norm == "layer" else nn.Identity()

    d: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
    for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
        d += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=critic_norm == "none"), norm(w_out), nn.LeakyReLU(0.2)]
    d += [nn.Conv2d(widths[-1], 1, 4, 1, 0), nn.Flatten()]
    return nn.Sequential(*g), nn.Sequential(*d)


class TextbookWGANGP:
    """The loop, on uint8 images (N, C, H, W); ``run(n)`` trains n generator iterations."""

    def __init__(self, images: torch.Tensor, device: torch.device, *, z_dim: int, features: int,
                 batch: int, n_critic: int = 5, lam: float = 10.0, lr_critic: float = 1e-4,
                 lr_generator: float = 1e-4, betas: tuple[float, float] = (0.0, 0.9),
                 critic_norm: str = "layer", seed: int = 0):
        torch.manual_seed(seed)
        self.device, self.z_dim, self.m, self.n_critic, self.lam = device, z_dim, batch, n_critic, lam
        self.images = images.to(device).float().div_(127.5).sub_(1.0)
        G, D = dcgan_nets(z_dim, images.shape[1], features, images.shape[-1], critic_norm)
        self.G, self.D = G.to(device), D.to(device)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr_critic, betas=tuple(betas))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr_generator, betas=tuple(betas))
        self.log: list[float] = []

    @classmethod
    def from_config(cls, cfg, images: torch.Tensor, device: torch.device, seed: int = 0) -> TextbookWGANGP:
        """The loop with an engine configuration's networks, batch, objective and optimiser."""
        o = cfg.optimiser
        return cls(images, device, z_dim=cfg.model.z_dim, features=cfg.model.features,
                   batch=cfg.train.batch_size, n_critic=cfg.objective.n_critic, lam=cfg.objective.gp_lambda,
                   lr_critic=o.lr_critic, lr_generator=o.lr_generator, betas=tuple(o.betas),
                   critic_norm=cfg.model.critic_norm, seed=seed)

    def run(self, iters: int) -> None:
        G, D, m, dev, lam = self.G, self.D, self.m, self.device, self.lam
        for _ in range(iters):
            for _ in range(self.n_critic):
                real = self.images[torch.randint(0, len(self.images), (m,), device=dev)]
                z = torch.randn(m, self.z_dim, 1, 1, device=dev)
                with torch.no_grad():
                    fake = G(z)
                self.opt_d.zero_grad()
                d_real = D(real).mean()
                d_fake = D(fake).mean()
                eps = torch.rand(m, 1, 1, 1, device=dev)
                x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
                grad = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0]
                gp = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
                (-d_real).backward()
                d_fake.backward()
                (lam * gp).backward()
                self.opt_d.step()
                self.log.append((d_real - d_fake).item())  # the per-step sync tutorials do
            z = torch.randn(m, self.z_dim, 1, 1, device=dev)
            self.opt_g.zero_grad()
            g_loss = -D(G(z)).mean()
            g_loss.backward()
            self.opt_g.step()
            self.log.append(g_loss.item())

"""Generators and critics, built from a config by :func:`build_models`.

The critic has no sigmoid: one real output per sample (``f`` in docs/algorithm.md, "Notation and
sign convention"). The GAN objective applies ``softplus``/``logsigmoid`` to that output itself.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import Config
from .dcgan import DCGANCritic, DCGANGenerator
from .mlp import MLPCritic, MLPGenerator

__all__ = ["DCGANCritic", "DCGANGenerator", "MLPCritic", "MLPGenerator", "build_models", "has_batchnorm"]


def build_models(cfg: Config, sample_shape: tuple[int, ...], num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """Return ``(generator, critic)`` for samples of ``sample_shape`` (``(2,)`` or ``(C, H, W)``).
    With ``[model] conditional`` other than "none", both take the label: ``g(z, y)``, ``f(x, y)``
    for ``y`` in ``0 .. num_classes - 1``."""
    m = cfg.model
    k = num_classes if m.conditional != "none" else 0
    if m.conditional != "none" and k <= 0:
        raise ValueError("a conditional model needs num_classes > 0")
    cond = m.conditional if k else "none"
    if m.arch == "mlp":
        out_dim = int(math.prod(sample_shape))
        image = len(sample_shape) == 3
        g = MLPGenerator(m.z_dim, sample_shape, hidden=m.hidden, layers=m.layers,
                         norm=m.generator_norm, tanh=image, num_classes=k)
        f = MLPCritic(out_dim, hidden=m.hidden, layers=m.layers, norm=m.critic_norm, num_classes=k,
                      conditional=cond, points=not image)
    else:
        c, h, _ = sample_shape
        g = DCGANGenerator(m.z_dim, c, h, features=m.features, norm=m.generator_norm, num_classes=k)
        f = DCGANCritic(c, h, features=m.features, norm=m.critic_norm, num_classes=k, conditional=cond)
    if m.init in ("normal", "mixed"):
        for net in (g, f):
            reference_init(net)
    if m.init == "mixed":
        default_init_after_input(f)
    return g, f


@torch.no_grad()
def reference_init(module: nn.Module) -> None:
    """DCGAN's ``weights_init``, which the PyTorch port of the WGAN-GP toy code (caogang/wgan-gp
    gan_toy.py) also applies to its MLPs: weights ~ N(0, 0.02), biases 0; norm scales ~ N(1, 0.02),
    shifts 0. (The original TensorFlow gan_toy.py draws He-uniform weights instead.)"""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


@torch.no_grad()
def default_init_after_input(module: nn.Module) -> None:
    """PyTorch's default initialisation (weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)))
    for every linear or convolution layer but the first, which keeps what it has.

    The ``mixed`` init (toy-wgan-gp): the generator and the critic's input layer as DCGAN's
    N(0, 0.02), the critic's deeper layers as PyTorch's default, whose small random biases let a
    critic that started homogeneous in x learn the modes' angles soon after their radius, so its
    W-estimate follows W1 (docs/algorithm.md, "Defaults"; docs/figures.md has the measurements)."""
    layers = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    for layer in layers[1:]:
        layer.reset_parameters()


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(mod, nn.modules.batchnorm._BatchNorm) for mod in model.modules())

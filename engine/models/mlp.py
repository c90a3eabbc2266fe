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


# Points at any scale (issue 35 point 4): an MLP on 2-D points of a file trains in standardised
# coordinates, u = (x - centre) / scale, one scale for both coordinates (so distances keep their
# shape). The generator's output is mapped back, x = centre + scale * g(z), and the critic reads
# f(x) = out_scale * h((x - centre) / scale). For the Wasserstein objectives out_scale = scale:
# grad_x f = grad_u h, so the Lipschitz constraint and the W-estimate hold in the file's units, as
# exact W1 is measured, and with the penalty weighed `scale` times (engine.algorithm, TrainingStep)
# the loss is `scale` times the loss of the same points at unit scale: the same training under
# Adam or RMSprop. For the other objectives out_scale = 1 (f is a logit). The centre and scales
# are buffers: they go with every checkpoint, so resume, sampling and exports give points in the
# file's units. Identity (0, 1, 1) everywhere else.
SCALE_BUFFERS = ("data_centre", "data_scale", "data_out_scale")


def _register_scale(module: nn.Module, dim: int, critic: bool) -> None:
    module.register_buffer("data_centre", torch.zeros(dim))
    module.register_buffer("data_scale", torch.ones(()))
    if critic:
        module.register_buffer("data_out_scale", torch.ones(()))
    module.register_load_state_dict_pre_hook(_identity_scale_if_missing)


def _identity_scale_if_missing(module, state_dict, prefix, *_args) -> None:
    """A checkpoint written before the buffers existed was trained in the file's units: identity."""
    for name in SCALE_BUFFERS:
        if hasattr(module, name) and prefix + name not in state_dict:
            state_dict[prefix + name] = (torch.zeros_like if name == "data_centre" else torch.ones_like)(
                getattr(module, name))


def set_data_scale(generator: nn.Module, critic: nn.Module, centre, scale: float, wasserstein: bool) -> None:
    """Train ``generator`` and ``critic`` (MLPs on 2-D points) in standardised coordinates;
    ``wasserstein``: the critic's value is in the file's units (a Wasserstein objective)."""
    for net in (generator, critic):
        net.data_centre.copy_(torch.as_tensor(centre, dtype=net.data_centre.dtype))
        net.data_scale.fill_(float(scale))
    critic.data_out_scale.fill_(float(scale) if wasserstein else 1.0)


def penalty_scale(critic: nn.Module) -> float:
    """How much more the gradient penalty weighs for ``critic`` (its ``data_out_scale``; 1 for none)."""
    critic = getattr(critic, "module", critic)
    out = getattr(critic, "data_out_scale", None)
    return 1.0 if out is None else float(out)


def data_scale(net: nn.Module) -> tuple[list[float], float] | None:
    """The (centre, scale) ``net`` trains in, or None for the identity (or a net without them)."""
    net = getattr(net, "module", net)  # DistributedDataParallel
    centre, scale = getattr(net, "data_centre", None), getattr(net, "data_scale", None)
    if centre is None or scale is None:
        return None
    c, s = [float(v) for v in centre.detach().cpu()], float(scale)
    return None if s == 1.0 and not any(c) else (c, s)


def describe_data_scale(net: nn.Module) -> str | None:
    """The standardisation ``net`` trains in, in words (the start event's), or None for none."""
    scale = data_scale(net)
    if scale is None:
        return None
    (cx, cy, *_), s = scale
    return (f"the networks train in standardised coordinates (x - ({cx:.4g}, {cy:.4g})) / {s:.4g}; samples, "
            "W1 and exports are in the file's units")


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
        self.points = not tanh  # 2-D points: the output is mapped to the data's units
        _register_scale(self, out_dim, critic=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat((z, self.embed(y)), 1)
        out = self.net(z)
        if self.points:
            out = torch.addcmul(self.data_centre, out, self.data_scale)  # centre + scale * g(z)
        return out.view(z.shape[0], *self.out_shape)


class MLPCritic(nn.Module):
    """``f(x)``, or ``f(x, y)`` with ``num_classes > 0``: 'concat' feeds a learned label embedding
    next to x; 'projection' adds ``<embed(y), phi(x)>`` to ``psi(phi(x))`` (Miyato & Koyama 2018),
    with phi the hidden stack and psi the last linear layer."""

    def __init__(self, in_dim: int = 2, hidden: int = 512, layers: int = 3, norm: str = "none",
                 num_classes: int = 0, conditional: str = "concat", points: bool = True):
        super().__init__()
        self.points = points  # 2-D points: read in standardised coordinates (images: as they are)
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
        _register_scale(self, in_dim, critic=True)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if not self.points:
            return self.h(x, y)
        return self.data_out_scale * self.h((x - self.data_centre) / self.data_scale, y)  # see SCALE_BUFFERS

    def h(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The network on (standardised) inputs ``[N, in_dim]``: one real number per sample."""
        if self.conditional == "concat":
            return self.net(torch.cat((x, self.embed(y)), 1)).squeeze(1)
        if self.conditional == "projection":
            h = self.net[:-1](x)  # phi(x)
            return self.net[-1](h).squeeze(1) + (self.embed(y) * h).sum(1)
        return self.net(x).squeeze(1)

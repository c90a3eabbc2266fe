"""Samples and pictures of a training run: generating without leaving a trace in batch-norm
statistics, the labelled fixed noise of a conditional run, the critic's field over the toy plane,
and the sample payload that observers receive."""

from __future__ import annotations

import math

import numpy as np
import torch

FIELD_RES = 64              # critic heat map resolution (toy view)
ARROW_RES = 16              # critic gradient arrows per side (toy view)
MAX_GRID_CLASSES = 20       # conditional image runs: at most this many class rows in the sample grid


def looking_forward(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Forward in training mode without updating batch-norm running statistics, so that looking
    at samples never changes the run (momentum 0 keeps the running averages as they are).
    Differentiable (the critic's gradient arrows); :func:`frozen_bn_forward` is its no-grad form.
    ``y``: class labels for a conditional net."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        return model(x) if y is None else model(x, y)
    finally:
        with torch.no_grad():
            for m, (mom, tracked) in zip(bns, saved, strict=True):
                m.momentum = mom
                if tracked is not None:  # the batch counter too: looking leaves no trace
                    m.num_batches_tracked.copy_(tracked)


frozen_bn_forward = torch.no_grad()(looking_forward)


@torch.no_grad()
def forward_in_chunks(generator: torch.nn.Module, noise: torch.Tensor, labels: torch.Tensor | None,
                      chunk: int = 250) -> torch.Tensor:
    """``g(noise[, labels])`` a chunk at a time, leaving batch-norm statistics as they are; in
    PyTorch's default layout (a channels-last generator's images are NCHW again)."""
    if labels is None:
        return torch.cat([frozen_bn_forward(generator, z) for z in noise.split(chunk)]).contiguous()
    return torch.cat([frozen_bn_forward(generator, z, y)
                      for z, y in zip(noise.split(chunk), labels.split(chunk), strict=True)]).contiguous()


def class_rows(noise: torch.Tensor, num_classes: int, max_rows: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Labelled fixed noise for a conditional run: one row per class (classes ``0 .. rows-1``,
    ``rows = min(num_classes, max_rows)``), the same noise in every row (a column shows one z
    across the classes). Returns ``(z, labels, per_class)``, ``per_class = len(noise) // rows``."""
    rows = min(num_classes, max_rows or num_classes, len(noise))
    per_class = max(1, len(noise) // rows)
    z = noise[:per_class].repeat(rows, 1)
    labels = torch.arange(rows, device=noise.device).repeat_interleave(per_class)
    return z, labels, per_class


def critic_field(critic: torch.nn.Module, extent, res: int = FIELD_RES, arrows: int = ARROW_RES):
    """The critic's value on a ``res x res`` grid over ``extent`` (row 0 = bottom) and its
    gradient at ``arrows x arrows`` points: the picture that explains WGAN (the generator's
    samples are pushed along this gradient). ``arrows = 0``: no arrows (empty arrays). Neither
    pass changes the critic (batch-norm statistics are left as they are).

    A conditional critic is shown averaged over the classes, ``mean_y f(x, y)``; with more than 8
    classes the grid is made coarser so the cost stays that of 8 classes."""
    k = int(getattr(critic, "num_classes", 0) or 0)
    if k:
        res = min(res, max(8, int(res * math.sqrt(8 / k))))
    device = next(critic.parameters()).device
    x0, x1, y0, y1 = extent
    xs = torch.linspace(x0, x1, res, device=device)
    ys = torch.linspace(y0, y1, res, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack((gx.reshape(-1), gy.reshape(-1)), 1)

    def f(p):
        if not k:
            return looking_forward(critic, p)
        y = torch.arange(k, device=device).repeat_interleave(len(p))
        return looking_forward(critic, p.repeat(k, 1), y).view(k, len(p)).mean(0)

    with torch.no_grad():
        field = f(pts).view(res, res).float()
    if arrows <= 0:
        empty = np.zeros((0, 2), np.float32)
        return field.cpu().numpy(), empty, empty.copy()
    ay, ax = torch.meshgrid(torch.linspace(y0, y1, arrows, device=device),
                            torch.linspace(x0, x1, arrows, device=device), indexing="ij")
    apts = torch.stack((ax.reshape(-1), ay.reshape(-1)), 1).requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(f(apts).sum(), apts)
    return field.cpu().numpy(), apts.detach().cpu().numpy(), g.cpu().numpy()


def sample_payload(sampler: torch.nn.Module, critic: torch.nn.Module, noise: torch.Tensor,
                   labels: torch.Tensor | None, data, *, gen_iter: int, averaged: bool, num_classes: int,
                   display_real: torch.Tensor | None, title: str, field_res: int = FIELD_RES,
                   arrows: bool = True) -> dict:
    """The picture of ``sampler`` on the fixed ``noise``: generated points or images, and on toy
    sets the real points ``display_real`` and the critic's value on a ``field_res`` x ``field_res``
    grid with its gradient arrows (none unless ``arrows``)."""
    fake = frozen_bn_forward(sampler, noise, labels).float().contiguous()  # NCHW from a channels-last net too
    payload: dict = {"kind": "toy" if data.kind == "toy" else "image", "gen_iter": gen_iter, "averaged": averaged}
    if labels is not None:
        # one row per class: the row's class is labels[row * nrow]
        lab = labels.cpu().numpy()
        payload.update(labels=lab, nrow=int((lab == lab[0]).sum()), num_classes=num_classes)
    if data.kind == "toy":
        extent = data.extent
        field, arrow_pos, arrow_grad = critic_field(critic, extent, field_res, ARROW_RES if arrows else 0)
        payload.update(fake=fake.cpu().numpy(), real=display_real.float().cpu().numpy(), field=field,
                       extent=extent, arrow_pos=arrow_pos, arrow_grad=arrow_grad, label=title)
    else:
        payload["images"] = fake.cpu().numpy()
    return payload

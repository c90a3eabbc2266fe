"""A moving average of a network's weights, for sampling (Yazici et al. 2019, "The unusual
effectiveness of averaging in GAN training").

GAN training with Adam circles around a good generator rather than settling on it; the average
of the recent weights sits closer to the centre than any single iterate. Training never sees the
average: the critic trains against the current generator and the generator's gradient comes
from the current weights, so the algorithm is unchanged (docs/algorithm.md, "Defaults").
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """``model`` holds ``average <- average + (1 - b_t) * (weights - average)`` of ``source``,
    ``b_t = min(decay, (1 + t) / (10 + t))`` at update ``t`` (TensorFlow's ExponentialMovingAverage
    with ``num_updates``: the average forgets its random start within the first few hundred
    iterations instead of dragging it along for 1 / (1 - decay) of them). Buffers (batch-norm
    running statistics) are copied, not averaged. One fused in-place pass over the weights per
    update, on the weights' device; no host sync."""

    def __init__(self, source: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must lie in (0, 1), got {decay}")
        self.decay = float(decay)
        self.source = source
        self.model = copy.deepcopy(source).requires_grad_(False)
        self._src = [p.detach() for p in source.parameters()]
        self._dst = [p.detach() for p in self.model.parameters()]
        self._src_buf = list(source.buffers())
        self._dst_buf = list(self.model.buffers())

    def rate(self, step: int) -> float:
        """``1 - b_t``: how far the average moves towards the weights at update ``step``."""
        return 1.0 - min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        torch._foreach_lerp_(self._dst, self._src, self.rate(step))
        for d, s in zip(self._dst_buf, self._src_buf, strict=True):
            d.copy_(s)

    @torch.no_grad()
    def reset(self) -> None:
        """Start the average at the current weights (a checkpoint written without one)."""
        for d, s in zip(self._dst + self._dst_buf, self._src + self._src_buf, strict=True):
            d.copy_(s)

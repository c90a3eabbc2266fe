"""Activations for critics whose input gradient is itself differentiated (the gradient penalty).

PyTorch's derivative of ``threshold_backward`` (the ReLU backward) with respect to the forward
activation is ``zeros_like(grad)``: a real tensor of zeros that autograd then pushes back
through the whole forward graph of ``x_hat`` during the penalty's double backward, costing two
matmuls per layer that only ever multiply zeros. The second derivative of a (leaky) ReLU is
0 almost everywhere, so these functions save the 0/1 (or slope) mask as a constant and let the
backward depend on the incoming gradient alone: the same values and the same gradients, without
the dead work.
"""

from __future__ import annotations

import torch
from torch import nn


class _MaskedLeakyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.slope = slope
        ctx.save_for_backward(x)
        return torch.relu(x) if slope == 0.0 else torch.nn.functional.leaky_relu(x, slope)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        x = x.detach()  # the mask is a constant: the backward is differentiable in grad only
        if ctx.slope == 0.0:
            return torch.ops.aten.threshold_backward(grad, x, 0), None
        return torch.ops.aten.leaky_relu_backward(grad, x, ctx.slope, False), None


class CriticReLU(nn.Module):
    """ReLU (``slope = 0``) or LeakyReLU whose backward is cheap to differentiate again."""

    def __init__(self, slope: float = 0.0):
        super().__init__()
        self.slope = float(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _MaskedLeakyReLU.apply(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"

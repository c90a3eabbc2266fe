"""Layers for critics whose input gradient is itself differentiated (the gradient penalty).

Activations.
PyTorch's derivative of ``threshold_backward`` (the ReLU backward) with respect to the forward
activation is ``zeros_like(grad)``: a real tensor of zeros that autograd then pushes back
through the whole forward graph of ``x_hat`` during the penalty's double backward, costing two
matmuls per layer that only ever multiply zeros. The second derivative of a (leaky) ReLU is
0 almost everywhere, so these functions save the 0/1 (or slope) mask as a constant and let the
backward depend on the incoming gradient alone: the same values and the same gradients, without
the dead work.

Convolutions. PyTorch's double backward of a convolution (``_convolution_double_backward``)
computes the weight gradient of the penalty by convolving batch-and-channel-transposed copies of
its tensors: on the CPU each layer pays a full copy of its input and a convolution oneDNN runs at
a poor shape (10 ms of copies per digits-preset iteration, ~4% of it). :class:`CriticConv2d`
gives the same convolution a backward made of the primitives that compute a convolution's own
gradients (``aten::convolution_backward`` for the input and the weight, ``conv2d`` for the output
gradient) and computes only the gradients the running backward will use (a penalty's first
backward wants the input gradient alone: the weight gradients are not computed there).
"""

from __future__ import annotations

import contextlib
import threading

import torch
import torch.nn.functional as F
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


# ------------------------------------------------------------------------------- convolutions
_penalty = threading.local()


@contextlib.contextmanager
def input_gradient_pass():
    """Critic passes built inside are first differentiated with respect to their input alone
    (the penalty's ``autograd.grad(f(x_hat).sum(), x_hat, create_graph=True)``): there the
    convolutions skip their weight gradients, which ``autograd.grad`` would throw away."""
    before = getattr(_penalty, "on", False)
    _penalty.on = True
    try:
        yield
    finally:
        _penalty.on = before


def _wanted(ctx, leaf_default: list[bool]) -> list[bool]:
    """For each input of a custom Function's node: will the running backward use its gradient?
    (What PyTorch's own nodes ask with ``task_should_compute_output``: an input that requires a
    gradient may still not be wanted, e.g. the weights in ``autograd.grad(..., inputs=x)``.)
    PyTorch cannot answer for a leaf during ``autograd.grad()``: ``leaf_default`` then. The node
    has an edge per tensor input (None and other arguments have none): the tensors come first in
    these Functions' arguments, an absent bias last among them (False)."""
    out = []
    edges = ctx.next_functions[:len(leaf_default)]
    for (fn, _), default in zip(edges, leaf_default[:len(edges)], strict=True):
        if fn is None:
            out.append(False)
            continue
        try:
            out.append(bool(torch._C._will_engine_execute_node(fn)))
        except RuntimeError:  # a leaf inside autograd.grad()
            out.append(default)
    return out + [False] * (len(leaf_default) - len(out))


def _conv_grads(gy, x, w, stride, padding, mask, bias_sizes=None):
    """``(gx, gw, gb)`` of ``conv2d(x, w, b, stride, padding)`` for the output gradient ``gy``,
    each computed only where ``mask`` says (dilation 1, one group)."""
    return torch.ops.aten.convolution_backward(gy, x, w, bias_sizes, stride, padding, [1, 1], False, [0, 0], 1,
                                               mask)


class _ConvBackward(torch.autograd.Function):
    """``(gx, gw, gb)`` of ``y = conv2d(x, w, b)`` for the output gradient ``gy``, and their own
    backward: the three are linear in ``gy``, ``gx`` is linear in ``w`` and ``gw`` in ``x``."""

    @staticmethod
    def forward(ctx, gy, x, w, stride, padding, mask):
        ctx.set_materialize_grads(False)  # a gradient nobody sent is None, not a tensor of zeros
        ctx.save_for_backward(gy, x, w)
        ctx.stride, ctx.padding = stride, padding
        return _conv_grads(gy, x, w, stride, padding, mask, [w.shape[0]] if mask[2] else None)

    @staticmethod
    def backward(ctx, ggx, ggw, ggb):
        gy, x, w = ctx.saved_tensors
        s, p = ctx.stride, ctx.padding
        want_gy, want_x, want_w = _wanted(ctx, [True, True, True])
        d_gy = d_x = d_w = None
        if want_gy:
            terms = [F.conv2d(ggx, w, None, s, p)] if ggx is not None else []
            if ggw is not None:
                terms.append(F.conv2d(x, ggw, None, s, p))
            if ggb is not None:
                terms.append(ggb.view(1, -1, 1, 1).expand_as(gy))
            d_gy = sum(terms[1:], terms[0]) if terms else None
        if want_x and ggw is not None:  # gw = corr(x, gy): its gradient in x is gy convolved back with ggw
            d_x = _conv_grads(gy, x, ggw, s, p, [True, False, False])[0]
        if want_w and ggx is not None:  # gx = conv_transpose(gy, w): its gradient in w is corr(ggx, gy)
            d_w = _conv_grads(gy, ggx, w, s, p, [False, True, False])[1]
        return d_gy, d_x, d_w, None, None, None


class _Conv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride, padding):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.padding, ctx.bias = stride, padding, b is not None
        ctx.input_only = getattr(_penalty, "on", False)
        return F.conv2d(x, w, b, stride, padding)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        want = _wanted(ctx, [True, not ctx.input_only, not ctx.input_only])
        mask = [want[0], want[1], ctx.bias and want[2]]
        if not any(mask):
            return None, None, None, None, None
        gx, gw, gb = _ConvBackward.apply(gy, x, w, ctx.stride, ctx.padding, mask)
        return gx, gw, gb, None, None


class CriticConv2d(nn.Conv2d):
    """``nn.Conv2d`` (no groups, no dilation, zero padding) whose double backward is made of
    convolution primitives (see the module's docstring): the same values and gradients.

    Under autocast the passes run in the autocast dtype, as ``nn.Conv2d``'s do (the inputs are
    cast here, since a custom Function's saved tensors must be the ones it computed with)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.groups != 1 or self.dilation != (1, 1) or self.padding_mode != "zeros" or isinstance(self.padding, str):
            raise ValueError("CriticConv2d: groups 1, dilation 1 and numeric zero padding only")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.weight, self.bias
        kind = x.device.type
        cast = torch.is_autocast_enabled(kind)
        if cast:
            dt = torch.get_autocast_dtype(kind)
            x, w = x.to(dt), w.to(dt)
            b = b.to(dt) if b is not None else None
        with torch.autocast(kind, enabled=False) if cast else contextlib.nullcontext():
            return _Conv.apply(x, w, b, list(self.stride), list(self.padding))

"""The WGAN-GP critic step of a plain ReLU MLP critic, with its gradients derived by hand.

Same loss, same gradients as autograd on :func:`wgan_gp.gradient_penalty` (``tests/test_mlp_gp.py``
compares them), but in about a quarter fewer operations: on the toy preset the critic step is
nearly all 512 x 512 matmuls, and what autograd adds around them (its graph, one small kernel per
node, two gradient paths summed into every weight, the penalty's double backward as a separate
pass) is a sizeable share of it (docs/figures.md, "Engine speed"). Here:

- one forward pass over ``[real; fake; x_hat]`` (3m rows);
- one backward sweep of ``d f / d(layer input)`` over all 3m rows: for the real and fake rows it is
  the loss gradient (times -1/m or +1/m), for the x_hat rows it gives ``g = grad_x f(x_hat)``;
- one sweep of the penalty's adjoint through the transposed chain (the second-order term);
- each weight gradient as ONE matmul over 3m rows: loss rows and penalty rows side by side.

Notation, per hidden layer l = 1..L (PyTorch's ``Linear``: ``z_l = a_{l-1} W_l^T + b_l``,
``a_l = relu(z_l)``, ``D_l = [z_l > 0]``), output ``f = a_L w^T + c``:

- sweep:   ``e_L = D_L * w``,  ``e_{l-1} = (e_l W_l) * D_{l-1}``,  ``g = e_1 W_1``;
- penalty: ``GP = mean_H (|g| - 1)^2``,  ``q_0 = dGP/dg = 2/m (|g| - 1) g / |g|``;
  the masks are constant almost everywhere (ReLU'' = 0), so ``dGP/dW_l = e_l^T q_{l-1}`` with
  ``q_l = (q_{l-1} W_l^T) * D_l``, ``dGP/dw = sum_H q_L`` and no penalty gradient for the biases;
- loss rows: ``dL/dW_l = sum_r s_r e_{l,r}^T a_{l-1,r}`` (s = -1/m real, +1/m fake),
  ``dL/db_l = sum_r s_r e_{l,r}``, ``dL/dw = sum_r s_r a_{L,r}``, ``dL/dc = 0``.

A critic of 2-D points reads standardised coordinates (:mod:`engine.models.mlp`): ``f(x) = s h(u)``,
``u = (x - centre) / s``; the step runs on ``u``, the W rows weigh ``s`` times more and the
penalty is the same (``grad_x f = grad_u h``).

Only for the critic it can serve: :func:`plain_relu_mlp` says which (unconditional MLP critic,
no normalisation, ReLU, fp32); every other critic goes through autograd as before.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import CriticOutput
from .wgan_gp import draw_eps


def plain_relu_mlp(critic: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers of ``critic`` if it is ``Linear, ReLU, ..., Linear, ReLU, Linear(., 1)``
    (an unconditional :class:`~engine.models.mlp.MLPCritic` without normalisation) in fp32;
    ``None`` otherwise."""
    from ..models.activations import CriticReLU
    from ..models.mlp import MLPCritic

    if not isinstance(critic, MLPCritic) or critic.conditional != "none":
        return None
    mods = list(critic.net)
    if len(mods) < 3 or len(mods) % 2 == 0:
        return None
    linears = mods[0::2]
    acts = mods[1::2]
    if not all(isinstance(m, nn.Linear) and m.bias is not None for m in linears):
        return None
    if not all(isinstance(a, (nn.ReLU, CriticReLU)) and getattr(a, "slope", 0.0) == 0.0 for a in acts):
        return None
    if linears[-1].out_features != 1 or any(p.dtype != torch.float32 for p in critic.parameters()):
        return None
    return linears


class MLPGradientPenaltyStep:
    """The critic step for one critic (see the module's docstring). Its large tensors (activations,
    sweeps, weight gradients) live in buffers reused from step to step: fresh megabyte-sized
    tensors come from the operating system page by page (hundreds of page faults a step)."""

    def __init__(self, layers: list[nn.Linear]):
        self.layers = layers
        self._buf: dict[str, torch.Tensor] = {}

    def _get(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        b = self._buf.get(name)
        if b is None or b.shape != shape or b.device != like.device or b.dtype != like.dtype:
            b = self._buf[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return b

    @torch.no_grad()
    def __call__(self, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor, gp_lambda: float,
                 standardise: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None) -> CriticOutput:
        """Loss ``mean f(fake) - mean f(real) + lambda * GP`` and its gradient, written to each
        parameter's ``.grad`` (a buffer of this object: ``zero_grad(set_to_none=True)`` before
        the next step is what the trainer does anyway). ``eps``: one interpolation weight per
        sample, shape ``[m, 1, ...]``, as drawn for the penalty;
        ``x_hat = eps * real + (1 - eps) * fake``; ``standardise``: the critic's (centre, scale, out_scale)."""
        m = real.shape[0]
        real = real.flatten(1).float()
        fake = fake.flatten(1).float()
        s = 1.0
        if standardise is not None:
            centre, scale, s = standardise
            real, fake = (real - centre) / scale, (fake - centre) / scale
        rows = 3 * m
        hidden, out = self.layers[:-1], self.layers[-1]
        n_hidden = len(hidden)
        tb = torch.ops.aten.threshold_backward.grad_input

        # ---- forward over [real; fake; x_hat]; acts[l] = a_l (acts[0] = the input)
        x = self._get("a0", (rows, real.shape[1]), real)
        x[:m] = real
        x[m:2 * m] = fake
        torch.lerp(fake, real, eps.reshape(m, 1), out=x[2 * m:])
        acts = [x]
        for l, lin in enumerate(hidden, start=1):
            a = self._get(f"a{l}", (rows, lin.out_features), x)
            torch.addmm(lin.bias, acts[-1], lin.weight.t(), out=a).clamp_min_(0)
            acts.append(a)
        f = torch.addmm(out.bias, acts[-1], out.weight.t()).squeeze(1)
        w_est = (f[:m].mean() - f[m:2 * m].mean()) * s

        # ---- backward sweep of df/d(input of each layer) over all rows; es[l] = e_l (l = 1..L)
        es: list[torch.Tensor] = [x] * (n_hidden + 1)  # es[0] unused
        for l in range(n_hidden, 0, -1):
            e = self._get(f"e{l}", (rows, hidden[l - 1].out_features), x)
            if l == n_hidden:
                tb(out.weight.expand(rows, -1), acts[l], 0, grad_input=e)
            else:
                torch.mm(es[l + 1], hidden[l].weight, out=e)
                tb(e, acts[l], 0, grad_input=e)
            es[l] = e
        g = es[1][2 * m:] @ hidden[0].weight  # grad_x f(x_hat), one row per sample
        norm = g.norm(2, dim=1)
        gp = (norm - 1).square().mean()

        # ---- gradients. Row weights: -1/m (real), +1/m (fake), lambda (x_hat: the penalty's rows).
        scale = self._get("scale", (rows, 1), x)
        scale[:m] = -s / m
        scale[m:2 * m] = s / m
        scale[2 * m:] = gp_lambda
        # q_0 = dGP/dg; |g| = 0 gives 0, as autograd's norm backward does
        q = g * (torch.where(norm > 0, (norm - 1) / norm, torch.zeros_like(norm)) * (2.0 / m)).unsqueeze(1)
        for l, lin in enumerate(hidden, start=1):
            q_next = q @ lin.weight.t()                 # dGP/de_l (the penalty's adjoint), before acts[l-1] changes
            a = acts[l - 1]
            a[2 * m:] = q                               # x_hat rows: the penalty's factor replaces a_{l-1}
            e = es[l].mul_(scale)
            gw = self._get(f"gw{l}", lin.weight.shape, x)
            if lin.in_features < 16:  # a thin input (the 2-D toy points): e^T a is ~7x slower than (a^T e)^T
                lin.weight.grad = gw.copy_((a.t() @ e).t())
            else:
                lin.weight.grad = torch.mm(e.t(), a, out=gw)
            lin.bias.grad = torch.sum(e[:2 * m], 0, out=self._get(f"gb{l}", lin.bias.shape, x))
            q = tb(q_next, acts[l][2 * m:], 0, grad_input=q_next)
        a_last = acts[n_hidden]
        a_last[2 * m:] = q
        out.weight.grad = torch.mm(scale.t(), a_last, out=self._get("gw_out", out.weight.shape, x))
        out.bias.grad = self._get("gb_out", out.bias.shape, x).zero_()
        return CriticOutput(-w_est + gp_lambda * gp, w_est, gp, norm)


class HandDerivedGradients:
    """The WGAN-GP critic's gradients by :class:`MLPGradientPenaltyStep`: interchangeable with
    :class:`engine.algorithm.AutogradGradients` for the critics :func:`plain_relu_mlp` accepts."""

    def __init__(self, layers: list[nn.Linear], rng: torch.Generator, critic: nn.Module | None = None):
        self.step = MLPGradientPenaltyStep(layers)
        self.rng = rng
        self.critic = critic  # its standardisation buffers, read at each step (a resume loads them)
        self.eps_draw = lambda real: draw_eps(real, self.rng)  # replaceable, as AutogradGradients'
        self.after = None  # called with the step's output once .grad is written (engine.distributed all-reduces)

    def __call__(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
                 gp_lambda: float) -> CriticOutput:
        eps = self.eps_draw(real)  # the same draw, in the same order, as gradient_penalty's
        c = self.critic
        standardise = (c.data_centre, c.data_scale, c.data_out_scale) if c is not None and c.points else None
        out = self.step(real, fake, eps, gp_lambda, standardise)
        if self.after is not None:
            self.after(out)
        return out

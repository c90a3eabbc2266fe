"""Engine vs the textbook WGAN-GP loop on the toy setting, in one process.

    python benchmarks/toy_throughput.py [--iters 60] [--repeats 3] [--device cpu]

Prints generator iterations per second of both loops, their ratio, the floating-point work of
one generator iteration (counted analytically, with the arithmetic), the FLOP rate it gives and
the machine's dense matmul rate measured here. Targets (issue 3): engine >= 1.2x the textbook
loop and >= 75% of the matmul rate. A benchmark, not a test.

The textbook loop is the WGAN-GP pseudo-code (docs/algorithm.md, "WGAN-GP") written the way tutorials and the
reference ``gan_toy.py`` write it: NumPy batches, separate real/fake critic passes, the stock
ReLU, three backward calls, ``.item()`` after every critic step, and the critic's weight
gradients computed (and thrown away) in the generator step.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Trainer, load_preset  # noqa: E402


# ----------------------------------------------------------------------------- the textbook loop
def textbook_nets(hidden=512, z_dim=2):
    def mlp(i, o):
        return nn.Sequential(nn.Linear(i, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                             nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, o))
    return mlp(z_dim, 2), mlp(2, 1)


def eight_gaussians_numpy(rng, m):
    s = 1 / math.sqrt(2)
    centres = 2 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)])
    x = centres[rng.integers(0, 8, m)] + 0.02 * rng.standard_normal((m, 2))
    return (x / 1.414).astype(np.float32)


def textbook_loop(iters, device, m=256, n_critic=5, lam=0.1, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    G, D = textbook_nets()
    G.to(device)
    D.to(device)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.9))
    log = []
    for _ in range(iters):
        for _ in range(n_critic):
            real = torch.from_numpy(eight_gaussians_numpy(rng, m)).to(device)
            z = torch.randn(m, 2, device=device)
            with torch.no_grad():
                fake = G(z)
            opt_d.zero_grad()
            d_real = D(real).mean()
            d_fake = D(fake).mean()
            eps = torch.rand(m, 1, device=device)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0]
            gp = ((grad.norm(2, dim=1) - 1) ** 2).mean()
            (-d_real).backward()
            d_fake.backward()
            (lam * gp).backward()
            opt_d.step()
            log.append((d_real - d_fake).item())  # the per-step sync tutorials do
        z = torch.randn(m, 2, device=device)
        opt_g.zero_grad()
        g_loss = -D(G(z)).mean()
        g_loss.backward()
        opt_g.step()
        log.append(g_loss.item())
    return log


# ----------------------------------------------------------------------------- the engine
def engine_trainer(device):
    cfg = load_preset("toy-wgan-gp")
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0  # the loop alone
    return Trainer(cfg, None, device=device)


def time_it(fn, iters, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn(iters)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return iters / best


# ----------------------------------------------------------------------------- FLOPs
def linear_flops(batch, dims):
    """2 * B * sum(in * out) over the layers: one forward pass of an MLP."""
    return 2 * batch * sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=False))


def analytic_flops(m=256, h=512, z=2, n_critic=5):
    """Matmul work one generator iteration needs (biases and elementwise work ignored)."""
    Fc = linear_flops(m, [2, h, h, h, 1])      # critic forward on m samples
    Fg = linear_flops(m, [z, h, h, h, 2])      # generator forward on m samples
    critic_step = (Fg                            # fake = g(z), no autograd
                   + 2 * Fc                      # f(real), f(fake)
                   + Fc                          # f(x_hat)
                   + Fc                          # grad of f wrt x_hat (input gradients)
                   + 2 * 2 * Fc                  # backward of f(real), f(fake): weight + input grads
                   + 2 * Fc)                     # double backward of the penalty: weights + chain
    gen_step = Fg + Fc + Fc + 2 * Fg             # g(z), f(g(z)), input grads through f, backward of g
    total = n_critic * critic_step + gen_step
    text = (f"Fc = 2*m*(2*{h} + 2*{h}*{h} + {h}*1) = {Fc / 1e6:.1f} MFLOP (critic forward, m={m}); "
            f"Fg = {Fg / 1e6:.1f} MFLOP (generator forward)\n"
            f"  critic step = Fg + 2Fc (real, fake) + Fc (x_hat) + Fc (grad wrt x_hat) + 4Fc (backward real/fake)"
            f" + 2Fc (penalty double backward) = Fg + 10Fc = {critic_step / 1e9:.3f} GFLOP\n"
            f"  generator step = Fg + Fc + Fc (input grads of f) + 2Fg (backward of g) = {gen_step / 1e9:.3f} GFLOP\n"
            f"  one generator iteration = {n_critic} * critic step + generator step = {total / 1e9:.3f} GFLOP")
    return total, text


def matmul_rate(device, m=256, h=512, seconds=2.0):
    """Dense fp32 matmul rate at the loop's own shapes ([m, h] @ [h, h] and its transposes)."""
    a = torch.randn(m, h, device=device)
    w = torch.randn(h, h, device=device)
    g = torch.randn(m, h, device=device)
    ops = [lambda: a @ w, lambda: g @ w.t(), lambda: g.t() @ a]  # forward, input grad, weight grad
    for op in ops:
        op()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for op in ops:
            op()
        n += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 3 * n * 2 * m * h * h / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    device = torch.device(args.device)

    trainer = engine_trainer(device)
    textbook_loop(3, device)  # warm-up both
    trainer.run(3)
    tb = time_it(lambda n: textbook_loop(n, device), args.iters, args.repeats)
    en = time_it(lambda n: trainer.run(trainer.gen_iter + n), args.iters, args.repeats)
    flops, text = analytic_flops()
    peak = matmul_rate(device)
    res = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                   f"torch {torch.__version__}, device {device}",
        "textbook_its": tb, "engine_its": en, "ratio": en / tb,
        "gflop_per_iter": flops / 1e9, "engine_gflops": en * flops / 1e9, "textbook_gflops": tb * flops / 1e9,
        "matmul_gflops": peak / 1e9, "engine_share_of_matmul": en * flops / peak,
        "textbook_share_of_matmul": tb * flops / peak,
    }
    print(f"machine: {res['machine']}")
    print(f"textbook loop : {tb:7.2f} generator it/s  ({res['textbook_gflops']:.1f} GFLOP/s, "
          f"{100 * res['textbook_share_of_matmul']:.0f}% of matmul rate)")
    print(f"engine        : {en:7.2f} generator it/s  ({res['engine_gflops']:.1f} GFLOP/s, "
          f"{100 * res['engine_share_of_matmul']:.0f}% of matmul rate)")
    print(f"ratio engine / textbook: {res['ratio']:.2f}x   (target >= 1.2x)")
    print(f"work per generator iteration (analytic, matmuls only):\n  {text}")
    print(f"dense matmul rate measured here: {peak / 1e9:.1f} GFLOP/s   "
          f"(engine reaches {100 * res['engine_share_of_matmul']:.0f}%, target >= 75%)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()

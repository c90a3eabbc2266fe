"""Engine vs the textbook DCGAN WGAN-GP loop on the digits preset, in one process.

    python benchmarks/dcgan_throughput.py [--preset digits-wgan-gp] [--iters 12] [--pairs 4]
                                          [--set train.precision=fp32 ...]

Prints generator iterations per second of both loops, run as interleaved pairs (textbook, engine,
textbook, engine, ...) so a load that comes and goes hits both alike, and the median of the
per-pair ratios engine / textbook (issue 22 asks for >= 1.3x, as on the toy path). A benchmark,
not a test.

The textbook loop is ALGORITHM.md's WGAN-GP pseudo-code (Gulrajani et al. Algorithm 1) written
the way tutorials write it, on the SAME networks as the preset (DCGAN-32: a transposed-conv
generator with batch norm, a conv critic with layer norm, widths from the preset), in float32
and NCHW: a batch indexed from the float images kept in memory, separate passes for the real,
fake and interpolated batches, the stock LeakyReLU, three backward calls, ``.item()`` after
every critic step. Adam with the preset's learning rates and betas; foreach Adam (PyTorch's
default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Trainer, load_preset  # noqa: E402
from engine.config import apply_overrides  # noqa: E402
from engine.data import make_data  # noqa: E402


# ----------------------------------------------------------------------------- the textbook loop
def textbook_nets(z_dim, channels, features, critic_norm="layer"):
    """DCGAN-32 as tutorials write it (three doublings 4 -> 32)."""
    f = features
    g = nn.Sequential(
        nn.ConvTranspose2d(z_dim, 4 * f, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * f), nn.ReLU(True),
        nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.ReLU(True),
        nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(True),
        nn.ConvTranspose2d(f, channels, 4, 2, 1), nn.Tanh())

    def norm(c):
        return nn.GroupNorm(1, c) if critic_norm == "layer" else nn.Identity()
    d = nn.Sequential(
        nn.Conv2d(channels, f, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(f, 2 * f, 4, 2, 1, bias=critic_norm == "none"), norm(2 * f), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * f, 4 * f, 4, 2, 1, bias=critic_norm == "none"), norm(4 * f), nn.LeakyReLU(0.2),
        nn.Conv2d(4 * f, 1, 4, 1, 0), nn.Flatten())
    return g, d


class Textbook:
    def __init__(self, cfg, device, seed=0):
        torch.manual_seed(seed)
        data = make_data(cfg, torch.device("cpu"))
        self.images = (data.images.float() / 127.5 - 1).to(device)
        self.device, self.cfg = device, cfg
        m = cfg.model
        self.G, self.D = textbook_nets(m.z_dim, self.images.shape[1], m.features, m.critic_norm)
        self.G.to(device)
        self.D.to(device)
        o = cfg.optimiser
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=o.lr_critic, betas=tuple(o.betas))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=o.lr_generator, betas=tuple(o.betas))
        self.log = []

    def run(self, iters):
        m, z_dim = self.cfg.train.batch_size, self.cfg.model.z_dim
        n_critic, lam, dev = self.cfg.objective.n_critic, self.cfg.objective.gp_lambda, self.device
        G, D = self.G, self.D
        for _ in range(iters):
            for _ in range(n_critic):
                real = self.images[torch.randint(0, len(self.images), (m,), device=dev)]
                z = torch.randn(m, z_dim, 1, 1, device=dev)
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
            z = torch.randn(m, z_dim, 1, 1, device=dev)
            self.opt_g.zero_grad()
            g_loss = -D(G(z)).mean()
            g_loss.backward()
            self.opt_g.step()
            self.log.append(g_loss.item())


# ----------------------------------------------------------------------------- the engine
def engine_trainer(cfg, device):
    cfg = cfg.copy()
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0  # the loop alone
    return Trainer(cfg, None, device=device)


def timed(fn, iters, device):
    t = time.perf_counter()
    fn(iters)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return iters / (time.perf_counter() - t)


def measure(cfg, device, iters, pairs, warmup=3):
    textbook = Textbook(cfg, device)
    trainer = engine_trainer(cfg, device)
    textbook.run(warmup)
    trainer.run(warmup)
    rows = []
    for _ in range(pairs):
        tb = timed(textbook.run, iters, device)
        en = timed(lambda n: trainer.run(trainer.gen_iter + n), iters, device)
        rows.append((tb, en))
    ratios = [en / tb for tb, en in rows]
    return {
        "textbook_its": statistics.median(tb for tb, _ in rows),
        "engine_its": statistics.median(en for _, en in rows),
        "pair_ratios": [round(r, 3) for r in ratios],
        "ratio_median": statistics.median(ratios),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="digits-wgan-gp")
    ap.add_argument("--iters", type=int, default=12, help="generator iterations per timed run")
    ap.add_argument("--pairs", type=int, default=4, help="interleaved (textbook, engine) pairs")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override one of the preset's values for the engine (repeatable)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    cfg = load_preset(args.preset)
    cfg = apply_overrides(cfg, args.set)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    res = measure(cfg, device, args.iters, args.pairs)
    res.update(preset=args.preset, overrides=args.set, load_average_start=load,
               machine=f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                       f"torch {torch.__version__}, device {device}")
    print(f"machine: {res['machine']}  (1-minute load average {load:.1f} at the start)")
    print(f"preset {args.preset} {' '.join(args.set)}")
    print(f"textbook loop : {res['textbook_its']:6.2f} generator it/s (median of {args.pairs})")
    print(f"engine        : {res['engine_its']:6.2f} generator it/s")
    print(f"ratio engine / textbook: {res['ratio_median']:.2f}x median of pairs {res['pair_ratios']}"
          "   (target >= 1.3x)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()

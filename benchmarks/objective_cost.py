"""What the gradient penalty costs: time per generator iteration of WGAN-GP vs weight clipping
on the same nets, batch and n_critic, in one process.

    python benchmarks/objective_cost.py [--iters 30] [--repeats 3] [--json out.json]

Two settings: the toy preset (MLP 3x512, batch 256, n_critic 5) and the digits preset (DCGAN 32x32,
its batch and n_critic). Only the objective differs; evaluation, samples and checkpoints are off.
Runs alternate (GP, clip, GP, clip, ...) so load from other processes hits both; the best counts.
Published figure for comparison: Gulrajani et al. report WGAN-GP about 1.9x the cost of clipping
per generator iteration (their CIFAR-10 DCGAN setting, on a GPU). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Trainer, load_preset  # noqa: E402


def trainer(preset: str, kind: str, device: str) -> Trainer:
    cfg = load_preset(preset)
    cfg.objective.kind = kind
    # Same nets, optimiser, batch and n_critic for both (clipping with Adam draws a warning: here
    # that is deliberate, only the objective's own cost is compared).
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0
    cfg.train.device = device
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Trainer(cfg, None)


def seconds_per_iter(t: Trainer, iters: int) -> float:
    t0 = time.perf_counter()
    t.run(t.gen_iter + iters)
    if t.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / iters


def measure(preset: str, iters: int, repeats: int, device: str) -> dict:
    gp, clip = trainer(preset, "wgan-gp", device), trainer(preset, "wgan-clip", device)
    for t in (gp, clip):
        t.run(2)  # warm-up
    best = {"wgan-gp": float("inf"), "wgan-clip": float("inf")}
    for _ in range(repeats):
        best["wgan-gp"] = min(best["wgan-gp"], seconds_per_iter(gp, iters))
        best["wgan-clip"] = min(best["wgan-clip"], seconds_per_iter(clip, iters))
    return {"preset": preset, "gp_ms": 1000 * best["wgan-gp"], "clip_ms": 1000 * best["wgan-clip"],
            "ratio": best["wgan-gp"] / best["wgan-clip"], "batch": gp.config.train.batch_size,
            "n_critic": gp.config.objective.n_critic}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--presets", nargs="+", default=["toy-wgan-gp", "digits-wgan-gp"])
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    machine = (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
               f"torch {torch.__version__}, device {args.device}")
    rows = [measure(p, args.iters, args.repeats, args.device) for p in args.presets]
    print(f"machine: {machine}")
    for r in rows:
        print(f"{r['preset']:>16}: GP {r['gp_ms']:7.1f} ms / generator iteration, clipping {r['clip_ms']:7.1f} ms "
              f"-> GP costs {r['ratio']:.2f}x  (batch {r['batch']}, n_critic {r['n_critic']}; published: ~1.9x)")
    out = {"machine": machine, "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()

"""Engine vs the textbook DCGAN WGAN-GP loop on the digits preset, in one process.

    python benchmarks/dcgan_throughput.py [--preset digits-wgan-gp] [--iters 12] [--pairs 4]
                                          [--set train.precision=fp32 ...]

Prints generator iterations per second of both loops, run as interleaved pairs (textbook, engine,
textbook, engine, ...) so a load that comes and goes hits both alike, and the median of the
per-pair ratios engine / textbook (issue 22 asks for >= 1.3x, as on the toy path). A benchmark,
not a test.

The textbook loop (``benchmarks/textbook_dcgan.py``, shared with ``benchmarks/gpu.py``) is
the WGAN-GP pseudo-code (docs/algorithm.md, "WGAN-GP") written the way tutorials write it, on
the SAME networks as the preset (DCGAN-32, widths and critic norm from the preset), with the preset's batch,
n_critic, lambda and Adam settings, in float32 and NCHW.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.textbook_dcgan import TextbookWGANGP  # noqa: E402
from engine import Trainer, load_preset  # noqa: E402
from engine.config import apply_overrides  # noqa: E402
from engine.data import make_data  # noqa: E402


# ----------------------------------------------------------------------------- the textbook loop
def textbook(cfg, device) -> TextbookWGANGP:
    """The loop on the preset's networks and images (benchmarks/textbook_dcgan.py)."""
    data = make_data(cfg, torch.device("cpu"))
    return TextbookWGANGP.from_config(cfg, data.images, device)


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


def warm_up(run_iters, seconds: float, device) -> None:
    """Run iterations for ``seconds`` of wall time (at least 3): oneDNN's kernels are chosen and
    cached, the allocator holds its blocks, and the engine's thread tuner (engine.threads) has
    made its first trial, which starts FIRST_S into a run: the pairs then measure the steady state
    of both loops. (benchmarks/time_to_result.py measures a run from its first second.)"""
    t, n = time.perf_counter(), 0
    while n < 3 or time.perf_counter() - t < seconds:
        run_iters(1)
        n += 1
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(cfg, device, iters, pairs, warmup_s=6.0):
    loop = textbook(cfg, device)
    trainer = engine_trainer(cfg, device)
    warm_up(loop.run, warmup_s, device)
    warm_up(lambda n: trainer.run(trainer.gen_iter + n), warmup_s, device)
    rows = []
    for _ in range(pairs):
        tb = timed(loop.run, iters, device)
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
    ap.add_argument("--warmup-s", type=float, default=6.0,
                    help="seconds each loop runs before the pairs (the steady state is measured)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override one of the preset's values for the engine (repeatable)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    cfg = load_preset(args.preset)
    cfg = apply_overrides(cfg, args.set)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    res = measure(cfg, device, args.iters, args.pairs, args.warmup_s)
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

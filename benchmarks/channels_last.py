"""Channels-last against NCHW on the CPU, in fp32 and bf16: the figures behind ``[train]
channels_last = "auto"`` on the CPU (engine.device.CPU_CHANNELS_LAST).

    python benchmarks/channels_last.py [--iters 1] [--repeats 5] [--threads N] [--device cpu]

The digits preset's DCGAN-32 critic and generator (batch 64, WGAN-GP, n_critic 5, the penalty in
fp32), trained by the engine itself (no evaluation, samples or checkpoints), in four trainers
of one process: precision fp32 and bf16, each with the layout NCHW and channels-last. The
repeats are interleaved (each repeat times every trainer once, in a rotating order), so a
machine that gets busier or quieter meanwhile touches all four alike. Prints the median
generator iterations per second of each and the channels-last / NCHW ratio per precision.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Trainer, load_preset  # noqa: E402

THREADS = 0  # --threads


def trainer(precision: str, layout: str, device: torch.device) -> Trainer:
    cfg = load_preset("digits-wgan-gp")
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0  # the loop alone
    cfg.train.precision, cfg.train.channels_last = precision, layout
    cfg.train.threads = THREADS or torch.get_num_threads()  # no thread-count trials in a timing
    cfg.data.holdout = 0.0
    return Trainer(cfg, None, device=device)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=1, help="generator iterations per timing")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    global THREADS
    THREADS = args.threads
    if THREADS:
        torch.set_num_threads(THREADS)
    combos = [(p, lay) for p in ("fp32", "bf16") for lay in ("off", "on")]
    trainers = {c: trainer(*c, device) for c in combos}
    for t in trainers.values():  # warm-up: first-call allocations, oneDNN primitive caches
        t.run(t.gen_iter + 1)
    rates: dict[tuple[str, str], list[float]] = {c: [] for c in combos}
    for r in range(args.repeats):
        order = combos[r % len(combos):] + combos[:r % len(combos)]
        for c in order:
            t = trainers[c]
            t0 = time.perf_counter()
            t.run(t.gen_iter + args.iters)
            if device.type == "cuda":
                torch.cuda.synchronize()
            rates[c].append(args.iters / (time.perf_counter() - t0))
    med = {c: statistics.median(v) for c, v in rates.items()}
    res = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                      f"torch {torch.__version__}, device {device}",
           "its": {f"{p}/{'channels_last' if lay == 'on' else 'nchw'}": med[(p, lay)] for p, lay in combos},
           "runs": {f"{p}/{lay}": rates[(p, lay)] for p, lay in combos},
           "ratio": {p: med[(p, "on")] / med[(p, "off")] for p in ("fp32", "bf16")}}
    print(f"machine: {res['machine']}; {args.repeats} interleaved repeats of {args.iters} generator iterations")
    for p in ("fp32", "bf16"):
        print(f"{p}: NCHW {med[(p, 'off')]:.3f} it/s, channels-last {med[(p, 'on')]:.3f} it/s, "
              f"ratio {res['ratio'][p]:.3f}  (runs NCHW {', '.join(f'{x:.3f}' for x in rates[(p, 'off')])}; "
              f"channels-last {', '.join(f'{x:.3f}' for x in rates[(p, 'on')])})")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()

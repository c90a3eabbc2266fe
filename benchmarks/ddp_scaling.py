"""Data-parallel scaling on this machine: 1 and 2 processes (torchrun, gloo on the CPU) training the
digits preset (DCGAN WGAN-GP, global batch 64, n_critic 5).

    python benchmarks/ddp_scaling.py [--iters 12] [--warmup 3] [--preset digits-wgan-gp] [--json OUT]

For each setting: generator iterations per second (the global batch, so it/s compare directly),
the bytes all-reduced per generator iteration (DDP's gradient all-reduce of the critic at each of
its n_critic steps and of the generator once, the metrics and control messages), and the
communication time per iteration: the same all-reduces timed alone in the same process group
(DDP overlaps them with the backward pass, so this is an upper bound of what they add). Settings:
1 process x 2 threads (the machine's whole CPU, what wgan-train does), 1 process x 1 thread, and
2 processes x 1 thread. Prints the ratios. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def worker(args) -> None:
    import torch
    import torch.distributed as dist

    from engine import load_preset
    from engine.distributed import MESSAGE_LEN, distributed_trainer, init_from_env
    from engine.recorder import STATS

    torch.set_num_threads(args.threads)
    ctx = init_from_env("cpu")
    cfg = load_preset(args.preset)
    cfg.train.device, cfg.train.threads = "cpu", args.threads
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0
    cfg.train.iterations = args.warmup + args.iters
    import warnings
    warnings.simplefilter("ignore", UserWarning)
    t = distributed_trainer(cfg, None, dist_ctx=ctx, report_interval_s=3600.0)
    n_critic = int(t.hp["n_critic"])
    for _ in range(args.warmup):
        t.serve_requests()
        t.step()
    t.flush(wait=True)
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        t.serve_requests()
        t.step()
    t.flush(wait=True)  # the report-time all-reduce of the rows
    dist.barrier()
    elapsed = time.perf_counter() - t0

    # what travels per generator iteration
    crit = sum(p.numel() for p in t.critic.parameters())
    gen = sum(p.numel() for p in t.generator.parameters())
    bufs = sum(b.numel() for b in t.generator.buffers() if b.dtype.is_floating_point)
    stats_row = len(STATS)
    grad_bytes = 4 * (n_critic * crit + gen)
    other_bytes = 4 * bufs + 8 * MESSAGE_LEN + 4 * stats_row  # BN buffers broadcast, control, metrics row
    # the same collectives alone, in this group
    comm_s = 0.0
    if ctx.world_size > 1:
        fc, fg = torch.zeros(crit), torch.zeros(gen)
        msg = torch.zeros(MESSAGE_LEN, dtype=torch.float64)
        reps = 20
        for _ in range(3):
            dist.all_reduce(fc)
        dist.barrier()
        s = time.perf_counter()
        for _ in range(reps):
            for _ in range(n_critic):
                dist.all_reduce(fc)
            dist.all_reduce(fg)
            dist.broadcast(msg, 0)
        comm_s = (time.perf_counter() - s) / reps
    if ctx.is_main:
        print("RESULT " + json.dumps({
            "processes": ctx.world_size, "threads": args.threads, "its_per_sec": args.iters / elapsed,
            "ms_per_iter": 1000 * elapsed / args.iters, "comm_ms_per_iter": 1000 * comm_s,
            "grad_bytes_per_iter": grad_bytes, "other_bytes_per_iter": other_bytes,
            "critic_params": crit, "generator_params": gen, "n_critic": n_critic,
            "batch_per_process": cfg.train.batch_size // ctx.world_size}), flush=True)
    dist.destroy_process_group()


def run(n: int, threads: int, args) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(n),
           str(Path(__file__).resolve()), "--worker", "--threads", str(threads), "--iters", str(args.iters),
           "--warmup", str(args.warmup), "--preset", args.preset]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""))
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"{n} x {threads}: no result (exit {p.returncode})\n{p.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--preset", default="digits-wgan-gp")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = [run(1, 2, args), run(1, 1, args), run(2, 1, args)]
    print(f"{args.preset}, {args.iters} timed generator iterations after {args.warmup}; load average {load:.2f}")
    print(f"{'setting':<22} {'it/s':>7} {'ms/it':>8} {'comm ms/it':>11} {'bytes/it':>12}")
    for r in rows:
        name = f"{r['processes']} proc x {r['threads']} thr"
        print(f"{name:<22} {r['its_per_sec']:7.3f} {r['ms_per_iter']:8.1f} {r['comm_ms_per_iter']:11.2f} "
              f"{r['grad_bytes_per_iter'] + (r['other_bytes_per_iter'] if r['processes'] > 1 else 0):12,d}")
    two, one2, one1 = rows[2], rows[0], rows[1]
    ratios = {"2x1 / 1x2": two["its_per_sec"] / one2["its_per_sec"],
              "2x1 / 1x1": two["its_per_sec"] / one1["its_per_sec"],
              "comm share of a 2-process iteration": two["comm_ms_per_iter"] / two["ms_per_iter"]}
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratios": ratios, "load_before": load}, indent=1))


if __name__ == "__main__":
    main()

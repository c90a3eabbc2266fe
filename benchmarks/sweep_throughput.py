"""Trials per hour: the same 4 toy trials as a sweep with automatic workers (``wgan-sweep``: whole
processes side by side, each with its share of the cores) against one after another with all
the cores each (``wgan-train`` with ``train.threads`` = the cores), in one process.

    python benchmarks/sweep_throughput.py [--iters 50] [--busy] [--json F]

Small networks use several threads poorly, so whole processes in parallel should win: target
(issue 31) >= 1.3x on 2 cores. ``--busy``: one CPU-bound process beside both (benchmarks/busy.py).
Both sides start a process per trial (Python, PyTorch), as a user's runs do. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.busy import busy_processes  # noqa: E402
from engine.procs import machine_cores, thread_env, wgan_train_argv  # noqa: E402
from engine.sweep import sweep_command  # noqa: E402

CLIPS = (0.005, 0.01, 0.02, 0.04)   # the 4 trials: the toy WGAN (clipping) preset with 4 clip values


def settings(iters: int) -> dict:
    return {"train.iterations": iters, "train.eval_every": iters, "train.checkpoint_every": iters,
            "train.sample_every": 0, "train.device": "cpu"}


def sweep_side(tmp: Path, iters: int) -> float:
    sets = "\n".join(f'"{k}" = {json.dumps(v)}' for k, v in settings(iters).items())
    path = tmp / "sweep.toml"
    path.write_text(f'base = "toy-wgan-clip"\nsampler = "grid"\nmetric = "w1_exact"\n[set]\n{sets}\n'
                    f'[search]\n"objective.clip_value" = {list(CLIPS)}\n')
    t0 = time.perf_counter()
    r = subprocess.run(sweep_command(path, tmp / "sweep"), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"wgan-sweep failed: {r.stderr[-2000:]}")
    print("  " + next(line for line in r.stderr.splitlines() if line.startswith("sweep ")), flush=True)
    return wall


def sequential_side(tmp: Path, iters: int, cores: int) -> float:
    t0 = time.perf_counter()
    for i, clip in enumerate(CLIPS):
        sets = [a for k, v in {**settings(iters), "train.threads": cores, "objective.clip_value": clip}.items()
                for a in ("--set", f"{k}={json.dumps(v)}")]
        r = subprocess.run(wgan_train_argv("--preset", "toy-wgan-clip", "--out", tmp / f"seq{i}", "--quiet", *sets),
                           capture_output=True, text=True, env=thread_env(cores))
        if r.returncode != 0:
            raise SystemExit(f"wgan-train failed: {r.stderr[-2000:]}")
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=50, help="generator iterations per trial")
    ap.add_argument("--busy", action="store_true", help="one busy process beside both sides")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    cores = machine_cores()
    print(f"4 toy trials (toy-wgan-clip, {args.iters} iterations), {cores} cores, "
          f"{'one busy process beside' if args.busy else 'quiet'}", flush=True)
    with busy_processes(1 if args.busy else 0, settle_s=1.0), tempfile.TemporaryDirectory(prefix="swt-") as tmp:
        seq = sequential_side(Path(tmp), args.iters, cores)
        print(f"  one after another, {cores} threads each: {seq:.1f} s", flush=True)
        swp = sweep_side(Path(tmp), args.iters)
        print(f"  sweep, automatic workers: {swp:.1f} s", flush=True)
    per_hour = {"sequential": 4 * 3600 / seq, "sweep": 4 * 3600 / swp}
    ratio = seq / swp
    print(f"trials/hour: one after another {per_hour['sequential']:.0f}, sweep {per_hour['sweep']:.0f}; "
          f"sweep / one after another = {ratio:.2f}x (target >= 1.3x on 2 cores)")
    if args.json:
        Path(args.json).write_text(json.dumps({"cores": cores, "busy": args.busy, "iters": args.iters,
                                               "seconds": {"sequential": seq, "sweep": swp},
                                               "trials_per_hour": per_hour, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What following and steering a run through its folder costs the trainer, in one process.

    python benchmarks/follow_overhead.py [--iters 300] [--repeats 3] [--preset toy-wgan-gp]

Three ways to train the same run (toy preset on the CPU, written to a run folder), interleaved
``--repeats`` times, generator iterations per second of each:

- ``alone``: the trainer as it always runs (it looks for requests at most 5 times a second and
  rewrites its heartbeat once a second);
- ``followed``: the same while another process follows the folder as the studio does (a
  RunFollower polling every 0.25 s);
- ``every-iteration``: the request folder is looked at every iteration instead, and a request
  (an edit that changes nothing) arrives every 50 iterations.

Prints each median and the ratios to ``alone`` (target: >= 0.98). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Trainer, load_preset  # noqa: E402
from engine.requests import POLL_S, write_request  # noqa: E402

FOLLOWER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from engine.follow import RunFollower
    f = RunFollower(sys.argv[1])
    while True:
        f.poll()
        time.sleep(0.25)
""")


def run_once(mode: str, preset: str, iters: int, folder: Path) -> float:
    cfg = load_preset(preset)
    cfg.train.device = "cpu"
    cfg.train.iterations = iters
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0
    t = Trainer(cfg, folder, request_poll_s=0.0 if mode == "every-iteration" else POLL_S)
    follower = None
    if mode == "followed":
        follower = subprocess.Popen([sys.executable, "-c", FOLLOWER, str(folder),
                                     str(Path(__file__).resolve().parents[1])])
    for _ in range(5):  # warm-up, not timed
        t.step()
    t0, n0 = time.perf_counter(), t.gen_iter
    try:
        while t.gen_iter < iters:
            if mode == "every-iteration" and t.gen_iter % 50 == 0:
                write_request(folder, "set", key="n_critic", value=t.hp["n_critic"], by="benchmark")
            t.serve_requests()
            t.step()
    finally:
        if follower is not None:
            follower.kill()
            follower.wait()
    return (t.gen_iter - n0) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--preset", default="toy-wgan-gp")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    modes = ("alone", "followed", "every-iteration")
    rates: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for m in modes:
                rates[m].append(run_once(m, args.preset, args.iters, Path(tmp) / f"{m}-{r}"))
                print(f"  {m} #{r}: {rates[m][-1]:.2f} it/s", file=sys.stderr)
    med = {m: statistics.median(v) for m, v in rates.items()}
    out = {"preset": args.preset, "iters": args.iters, "repeats": args.repeats, "its_per_sec": med,
           "ratio_followed": med["followed"] / med["alone"],
           "ratio_every_iteration": med["every-iteration"] / med["alone"]}
    if args.json:
        print(json.dumps(out))
    else:
        for m in modes:
            print(f"{m:>16}: {med[m]:.2f} it/s (median of {args.repeats})")
        print(f"followed / alone: {out['ratio_followed']:.3f}   every-iteration / alone: "
              f"{out['ratio_every_iteration']:.3f}   (target >= 0.98)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

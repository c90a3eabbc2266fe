"""Seconds from Start to a recognisable result, as a user on a laptop CPU would wait for it.

    python benchmarks/time_to_result.py [--what digits toy] [--digits-seeds 0 1 2]
                                        [--toy-seeds 0 1 2 3] [--busy] [--max-s 300] [--json F]

- ``digits``: the digits preset (``digits-wgan-gp``) until an evaluation's Fréchet distance in
  the digit classifier's features (metrics column ``frechet_distance``) is at or below
  :data:`DIGITS_RECOGNISABLE_FD` (the grids at and around that value are in
  ``docs/digits-threshold.png``; docs/guide/quality.md says why that value);
- ``toy``: the default preset (``toy-wgan-gp``) until an evaluation's exact W1 is <= 0.10;
- ``mnist``: ``mnist-wgan-gp`` on the MNIST-format folder ``--mnist-path`` (the one
  ``benchmarks/make_mnist_like.py`` makes) until the Fréchet distance in the features of the
  classifier trained on that set is at or below :data:`MNIST_RECOGNISABLE_FD` (the grids around
  it: ``--what mnist --pictures docs/mnist-threshold.png``). Its first evaluation's time is
  printed too: the preset promises one within the first minute.

Each run is what pressing Start does: the preset as shipped (data loading, model building,
evaluations, samples and checkpoints written to a fresh run folder), timed from before the
trainer is built to the iteration whose evaluation first meets the threshold (the time of that
iteration, not of the moment its evaluation finished off the training thread). ``--busy``
starts one CPU-bound process beside each run (a pure Python loop, as a laptop's browser tab or
build would be) and stops it after. A run that has not met its threshold by ``--max-s`` is
reported as ``> max-s``. A benchmark, not a test.

To measure an older version ("before"), run this file with that version first on PYTHONPATH:
``PYTHONPATH=/path/to/old/checkout python benchmarks/time_to_result.py`` (the presets are
read from that checkout's ``resources/``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

if "engine" not in sys.modules and not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
else:  # the engine from PYTHONPATH (an older checkout); benchmarks.busy from here
    sys.path.append(str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import engine  # noqa: E402
from benchmarks.busy import busy_processes  # noqa: E402
from engine import Trainer, load_preset  # noqa: E402

# The digits preset's "recognisable as digits" threshold on the Fréchet distance in the digit
# classifier's features (1,000 generated vs 1,000 real images); docs/guide/quality.md shows
# the grids at and around it (docs/digits-threshold.png) and says why.
DIGITS_RECOGNISABLE_FD = 20.0
# The MNIST preset's images are measured in the features of a classifier trained on the set itself
# (engine.fitted_features): another space, with its own scale. On the set make_mnist_like.py
# writes, most of a grid reads as digits at or below 45 (docs/mnist-threshold.png shows the grids
# around it). A threshold for that set only: another MNIST-format set trains another classifier.
MNIST_RECOGNISABLE_FD = 45.0
TOY_W1 = 0.10

TASKS = {
    # what: (preset, metrics column, threshold)
    "digits": ("digits-wgan-gp", "frechet_distance", DIGITS_RECOGNISABLE_FD),
    "toy": ("toy-wgan-gp", "w1_exact", TOY_W1),
    "mnist": ("mnist-wgan-gp", "frechet_distance", MNIST_RECOGNISABLE_FD),
}
MNIST_PATH: str | None = None   # --mnist-path: the folder of IDX files the mnist task trains on


class Watch:
    """Observer: stops the run at the first evaluation meeting the threshold, or at max_s."""

    def __init__(self, column, threshold, t0, max_s):
        self.column, self.threshold, self.t0, self.max_s = column, threshold, t0, max_s
        self.trainer = None
        self.t_first_iter = None
        self.hit = None          # (gen_iter, seconds from Start)
        self.values = []         # (gen_iter, seconds from Start, value) at each evaluation

    def on_metrics(self, cols):
        if self.t_first_iter is None and len(cols["gen_iter"]):
            # seconds from Start to the training clock's zero (wall_time_s counts from the first step)
            self.t_first_iter = time.perf_counter() - self.t0 - float(cols["wall_time_s"][-1])
        vals = cols.get(self.column)
        if vals is not None:
            for it, wt, v in zip(cols["gen_iter"], cols["wall_time_s"], vals, strict=True):
                if math.isfinite(v):
                    s = self.t_first_iter + float(wt)
                    self.values.append((int(it), round(s, 2), float(v)))
                    if self.hit is None and v <= self.threshold:
                        self.hit = (int(it), s)
        if self.hit is not None or time.perf_counter() - self.t0 > self.max_s:
            self.trainer.stop()


def task_config(what: str, seed: int):
    """The task's preset as shipped, with ``seed`` (and, for ``mnist``, the ``--mnist-path`` folder)."""
    cfg = load_preset(TASKS[what][0])
    cfg.train.seed = seed
    if what == "mnist":
        if MNIST_PATH is None:
            raise SystemExit("--what mnist needs --mnist-path (benchmarks/make_mnist_like.py makes one)")
        cfg.data.path = MNIST_PATH
    return cfg


def one_run(what: str, seed: int, max_s: float, busy: bool, eval_every: int | None = None) -> dict:
    _, column, threshold = TASKS[what]
    with busy_processes(1 if busy else 0, settle_s=1.0), tempfile.TemporaryDirectory(prefix="ttr-") as tmp:
        t0 = time.perf_counter()
        cfg = task_config(what, seed)
        if eval_every:  # an older preset evaluated less often; compare at the same resolution
            cfg.train.eval_every = cfg.train.sample_every = eval_every
        watch = Watch(column, threshold, t0, max_s)
        trainer = Trainer(cfg, Path(tmp) / "run", observers=[watch])
        watch.trainer = trainer
        trainer.run()
        total = time.perf_counter() - t0
        iters = trainer.gen_iter
    res = {"what": what, "seed": seed, "busy": busy, "threshold": threshold, "column": column,
           "iterations_run": iters, "run_s": round(total, 1), "its_per_s": round(iters / total, 2),
           "evaluations": watch.values}
    if watch.hit is not None:
        res.update(reached=True, at_iter=watch.hit[0], seconds=round(watch.hit[1], 1))
    else:
        res.update(reached=False, at_iter=None, seconds=None)
    return res


def threshold_pictures(out: Path, what: str = "digits", seed: int = 0, max_s: float = 900.0) -> Path:
    """docs/digits-threshold.png (or docs/mnist-threshold.png): the preset's sample grids at the
    evaluations around the threshold (the first above twice it, the last above it, the first at
    or below it, and the first at or below half of it), each labelled with its iteration and
    Fréchet distance."""
    from PIL import Image, ImageDraw

    _, column, threshold = TASKS[what]
    with tempfile.TemporaryDirectory(prefix="ttr-pic-") as tmp:
        cfg = task_config(what, seed)
        if what == "digits":  # finer than the preset's, for the pictures (MNIST's: one every 50 already)
            cfg.train.sample_every = cfg.train.eval_every = 10
        watch = Watch(column, threshold / 2, time.perf_counter(), max_s)
        trainer = Trainer(cfg, Path(tmp) / "run", observers=[watch])
        watch.trainer = trainer
        trainer.run()
        evals = watch.values
        above2 = [e for e in evals if e[2] > 2 * threshold]
        above = [e for e in evals if e[2] > threshold]
        at = [e for e in evals if e[2] <= threshold]
        half = [e for e in evals if e[2] <= threshold / 2]
        picks = sorted(set(above2[-1:] + above[-1:] + at[:1] + half[:1]))
        tiles = []
        for it, _secs, value in picks:
            img = Image.open(trainer.run_dir.sample_path(it)).convert("RGB")
            img = img.resize((320, 320 * img.height // img.width), Image.NEAREST)
            tile = Image.new("RGB", (img.width, img.height + 44), "white")
            tile.paste(img, (0, 44))
            d = ImageDraw.Draw(tile)
            mark = "at or below" if value <= threshold else "above"
            d.text((6, 4), f"iteration {it}", fill="black")
            d.text((6, 22), f"FD {value:.1f}: {mark} {threshold:g}", fill="black")
            tiles.append(tile)
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 8 * (len(tiles) + 1),
                              max(t.height for t in tiles) + 16), "white")
    x = 8
    for t in tiles:
        sheet.paste(t, (x, 8))
        x += t.width + 8
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"wrote {out}: " + ", ".join(f"iteration {i} FD {v:.1f}" for i, _, v in picks), flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--what", nargs="+", default=["digits", "toy"], choices=sorted(TASKS))
    ap.add_argument("--digits-seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--toy-seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--mnist-seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--mnist-path", help="an MNIST-format folder for --what mnist")
    ap.add_argument("--busy", action="store_true", help="one busy process beside each run")
    ap.add_argument("--max-s", type=float, default=300.0, help="give up on a run after this many seconds")
    ap.add_argument("--eval-every", type=int, help="evaluate every N iterations instead of the preset's "
                    "(for a 'before' version whose preset evaluated less often than the one compared)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--pictures", metavar="PNG", help="only write the threshold pictures (docs/digits-threshold.png)")
    args = ap.parse_args(argv)
    global MNIST_PATH
    MNIST_PATH = args.mnist_path
    if args.pictures:
        what = "mnist" if "mnist" in args.what else "digits"
        threshold_pictures(Path(args.pictures), what)
        return None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"engine from {Path(engine.__file__).parent}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}; 1-minute load average {load:.1f}; "
          f"{'one busy process beside each run' if args.busy else 'quiet'}", flush=True)
    out = {"engine": str(Path(engine.__file__).parent), "busy": args.busy, "eval_every": args.eval_every,
           "load_average_start": load, "max_s": args.max_s, "runs": []}
    for what in args.what:
        seeds = {"digits": args.digits_seeds, "mnist": args.mnist_seeds}.get(what, args.toy_seeds)
        for seed in seeds:
            r = one_run(what, seed, args.max_s, args.busy, args.eval_every)
            out["runs"].append(r)
            when = f"{r['seconds']:6.1f} s at iteration {r['at_iter']}" if r["reached"] else f"> {args.max_s:.0f} s"
            first = (f"first evaluation {r['evaluations'][0][1]:.1f} s at iteration {r['evaluations'][0][0]}; "
                     if r["evaluations"] else "no evaluation; ")
            print(f"{what:6s} seed {seed}: {first}{r['column']} <= {r['threshold']:g} {when} "
                  f"({r['iterations_run']} iterations, {r['its_per_s']} it/s over the run)", flush=True)
        secs = [r["seconds"] for r in out["runs"] if r["what"] == what]
        got = [s for s in secs if s is not None]
        summary = (f"median {statistics.median(got):.1f} s, max {max(got):.1f} s" if len(got) == len(secs)
                   else f"{len(got)}/{len(secs)} reached within {args.max_s:.0f} s")
        out[f"{what}_summary"] = summary
        print(f"{what}: {summary}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()

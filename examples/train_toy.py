"""Train a toy run from Python: WGAN-GP on 8 Gaussians, printing its quality as it goes.

    python examples/train_toy.py                       # 300 iterations of toy-wgan-gp into runs/example-toy-...
    python examples/train_toy.py --iters 1500          # the preset's full length (about two minutes on a CPU)
    python examples/train_toy.py --tiny --out /tmp/t   # a few seconds: small networks, 30 iterations

What it uses of the engine: ``engine.load_preset`` (a configuration), ``engine.apply_overrides``
(``--set``-style changes), ``engine.Trainer(config, run_dir).run()`` (the run, written into a run
folder as ``wgan-train`` writes it) and an observer, a plain object whose ``on_event`` and
``on_metrics`` the trainer calls on its thread. The run folder can then be opened in the studio
(``wgan-studio RUN``), sampled (``examples/sample_checkpoint.py RUN``) or continued
(``wgan-train --resume RUN --iters N``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import engine

MODES = {"8gaussians": 8, "25gaussians": 25}


def modes_text(covered, data_name: str) -> str:
    total = MODES.get(data_name)
    return f", modes covered {int(covered)}" + (f" of {total}" if total else "") if math.isfinite(covered) else ""


class PrintEvaluations:
    """Prints the run's start and each evaluation (every ``[train] eval_every`` iterations)."""

    def __init__(self, data_name: str):
        self.data_name = data_name

    def on_event(self, event: dict) -> None:
        if event.get("type") == "start":
            print(f"started on {event.get('device')}: {event.get('total')} iterations", flush=True)

    def on_metrics(self, columns: dict) -> None:
        w1 = columns.get("w1_exact", [])
        modes = columns.get("modes_covered", [math.nan] * len(w1))
        for i, value in enumerate(w1):
            if math.isfinite(value):  # an evaluation row (the others leave the column empty)
                print(f"iteration {int(columns['gen_iter'][i]):5d}: W-estimate {columns['w_estimate'][i]:7.4f}, "
                      f"exact W1 {value:.4f}{modes_text(modes[i], self.data_name)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="toy-wgan-gp", help="a toy preset (default toy-wgan-gp)")
    ap.add_argument("--iters", type=int, default=300, help="generator iterations (default 300)")
    ap.add_argument("--out", type=Path, help="the run folder (default runs/example-toy-DATE-TIME)")
    ap.add_argument("--tiny", action="store_true", help="a few seconds' run: 30 iterations of small networks")
    args = ap.parse_args(argv)

    config = engine.load_preset(args.preset)
    preset_iterations = config.train.iterations
    if not config.is_toy:
        ap.error(f"{args.preset} is not a toy preset (this example prints exact W1 and modes)")
    changes = [f"train.iterations={30 if args.tiny else args.iters}"]
    if args.tiny:  # small networks, an evaluation and a checkpoint every 10 iterations
        changes += ["model.hidden=64", "train.eval_every=10", "train.checkpoint_every=10", "train.sample_every=10"]
    config = engine.apply_overrides(config, changes)

    out = args.out or Path("runs") / f"example-toy-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        print(f"{out}: exists and is not empty; choose another --out", file=sys.stderr)
        return 2

    print(f"{args.preset}: {config.objective.kind} on {config.data.name}, "
          f"MLP {config.model.layers}x{config.model.hidden}, batch {config.train.batch_size}, "
          f"{config.train.iterations} iterations -> {out}", flush=True)
    trainer = engine.Trainer(config, out, observers=[PrintEvaluations(config.data.name)])
    summary = trainer.run()

    last = summary.get("last_eval") or {}
    print(f"finished {summary['gen_iter']} iterations in {summary['elapsed_s']:.1f} s "
          f"({summary['its_per_sec']} it/s on {summary['device']})")
    if "w1_exact" in last:
        share = last.get("high_quality_share", math.nan)
        print(f"last evaluation: exact W1 {last['w1_exact']:.4f}"
              f"{modes_text(last.get('modes_covered', math.nan), config.data.name)}"
              + (f", high-quality share {share:.2f}" if math.isfinite(share) else ""))
    corr = summary.get("w_estimate_vs_quality")
    if corr and corr.get("spearman") is not None:
        print(f"W-estimate vs exact W1 over {corr['evaluations']} evaluations: Spearman {corr['spearman']:.2f}")
    if summary["gen_iter"] < preset_iterations:
        print(f"(the preset trains {preset_iterations} iterations: --iters {preset_iterations} for its full run, "
              f"or continue this one: wgan-train --resume {out} --iters {preset_iterations})")
    print(f"run folder: {out} (metrics.csv, events.jsonl, samples/, checkpoints/latest.pt)")
    print(f"next: python examples/sample_checkpoint.py {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``wgan-eval``: score a checkpoint against its data set with every measure that fits the data,
or two sets of images against each other (docs/guide/quality.md)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .common import error


def eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wgan-eval", description="Score a run's generator against its data set, or "
                                "two sets of images (folders or .npz) against each other.")
    p.add_argument("run", nargs="?", metavar="RUN_DIR", help="a run folder (its latest checkpoint by default)")
    p.add_argument("--best", action="store_true", help="score the run folder's checkpoints/best.pt")
    p.add_argument("--checkpoint", metavar="PATH", help="score this checkpoint file")
    p.add_argument("--real", metavar="A", help="with --fake: the real images (an image folder or an .npz)")
    p.add_argument("--fake", metavar="B", help="with --real: the generated images (an image folder or an .npz)")
    p.add_argument("-n", type=int, default=1000, help="samples a side (default 1000; --real/--fake: all if larger)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and the real images drawn (default 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _source(args) -> str | None | tuple[str]:
    """The checkpoint to score, or an error message as a 1-tuple."""
    from ..rundir import RunDir
    if args.checkpoint:
        if args.best:
            return ("--best and --checkpoint: give one of them",)
        return args.checkpoint
    run = Path(args.run)
    if not run.is_dir():
        return (f"{run}: no such run folder (give a run folder, or --checkpoint PATH)",)
    if args.best:
        best = RunDir(run).best_checkpoint
        if not best.is_file():
            return (f"{run}: no checkpoints/best.pt yet: it is written at the first evaluation ([train] eval_every) "
                    "that gives a finite quality measure",)
        return str(best)
    return str(run)


def _problem(args) -> str | None:
    sets = args.real is not None or args.fake is not None
    if sets and (args.real is None or args.fake is None):
        return "--real and --fake go together: give both"
    if sets and (args.run or args.best or args.checkpoint):
        return "give a run (RUN_DIR, --best, --checkpoint) or --real A --fake B, not both"
    if not sets and not args.run and not args.checkpoint:
        return "give a run folder (RUN_DIR [--best]), --checkpoint PATH, or --real A --fake B"
    if args.n < 2:
        return f"-n {args.n}: at least 2 samples a side"
    return None


def _print(result: dict) -> None:
    head = (f"{result['checkpoint']} (iteration {result['gen_iter']})" if "checkpoint" in result
            else f"{result['fake']} against {result['real']}")
    print(head)
    labels = result["labels"]
    for col, v in result["measures"].items():
        if col.endswith("_std"):
            continue
        text = "nan" if not math.isfinite(v) else f"{v:.5g}"
        std = result["measures"].get(f"{col}_std")
        if std is not None and math.isfinite(std):
            text += f" ± {std:.2g}"
        print(f"  {labels.get(col, col)}: {text}")


def eval_main(argv: list[str] | None = None) -> int:
    from ..checkpoint import CheckpointError
    from ..config import ConfigError
    from ..data import DataError
    from ..inception import InceptionWeightsError
    from ..scoring import score_checkpoint, score_sets

    args = eval_parser().parse_args(argv)
    problem = _problem(args)
    if problem:
        return error(problem)
    try:
        if args.real is not None:
            result = score_sets(args.real, args.fake, args.n, args.seed)
        else:
            src = _source(args)
            if isinstance(src, tuple):
                return error(src[0])
            result = score_checkpoint(src, args.n, args.seed)
    except (CheckpointError, ConfigError, DataError, InceptionWeightsError, FileNotFoundError) as e:
        return error(str(e))
    if args.json:  # NaN (non-finite samples) is null in JSON
        result["measures"] = {k: (float(v) if math.isfinite(v) else None) for k, v in result["measures"].items()}
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0

"""``wgan-sample``: draw samples from a checkpoint (or a run folder's latest or best) into a PNG
(an image grid or a toy scatter) or an .npy array."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..checkpoint import CheckpointError, load_checkpoint
from ..config import ConfigError
from ..data import DataError
from .common import error

MAX_SAMPLES = 1_000_000


def sample_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wgan-sample",
                                description="Draw samples from a checkpoint (or a run folder's latest).")
    p.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("-n", type=int, default=None,
                   help="number of samples (default 64); for a conditional run, samples per class (default 8)")
    p.add_argument("--label", action="append", default=[], metavar="K",
                   help="conditional runs: sample only class K (repeatable, or a list: --label 3,7 or 0-4); "
                        "default all classes, one row per class")
    p.add_argument("--out", required=True, help="FILE.png (grid or toy scatter) or FILE.npy (the array)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--nrow", type=int, help="images per row in a PNG grid (default: about sqrt(n))")
    p.add_argument("--size", type=int, default=512, help="width of a PNG in pixels (default 512; toy: square)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--raw", action="store_true",
                   help="runs with [model] ema_decay > 0: sample the weights the optimiser left instead of "
                        "their moving average (which the run's own samples and metrics show)")
    p.add_argument("--best", action="store_true",
                   help="sample the run folder's best checkpoint (checkpoints/best.pt: the evaluation with the "
                        "lowest exact W1 on 2-D sets, Fréchet distance on images) instead of its latest")
    return p


def sample_main(argv: list[str] | None = None) -> int:
    from ..export import sample_checkpoint

    args = sample_parser().parse_args(argv)
    n_given = args.n is not None
    args.n = 64 if args.n is None else args.n
    out = Path(args.out)
    problem = _argument_problem(args, out) or (_use_best_checkpoint(args) if args.best else None)
    if problem is not None:
        return error(problem)
    try:
        num_classes = int(load_checkpoint(args.source).get("num_classes", 0) or 0)
    except CheckpointError as e:
        return error(str(e))
    classes = _classes(args, num_classes)
    if isinstance(classes, str):
        return error(classes)
    per_class = None
    if num_classes:
        per_class = args.n if n_given else 8
        args.n = per_class * len(classes)
        if args.n > MAX_SAMPLES:
            return error(f"-n {per_class} per class x {len(classes)} classes: more than {MAX_SAMPLES} samples")
    try:
        res = sample_checkpoint(args.source, per_class or args.n, args.seed, classes, raw=args.raw)
    except (CheckpointError, ConfigError, DataError) as e:
        return error(str(e))
    try:
        _write(out, res, args)
    except OSError as e:
        return error(f"{out}: cannot write ({e.strerror or e}); nothing was written")
    what = f"{args.n} samples" if not per_class else \
        f"{args.n} samples ({per_class} per class, one row per class: {', '.join(map(str, classes))})"
    print(f"wrote {what} from iteration {res['gen_iter']} to {out}", file=sys.stderr)
    return 0


def _argument_problem(args, out: Path) -> str | None:
    if out.suffix.lower() not in (".png", ".npy"):
        return f"--out {out}: the file must end in .png or .npy"
    if not 1 <= args.n <= MAX_SAMPLES:
        return f"-n {args.n}: must be between 1 and {MAX_SAMPLES}"
    if args.nrow is not None and args.nrow < 1:
        return f"--nrow {args.nrow}: must be at least 1"
    if not 16 <= args.size <= 8192:
        return f"--size {args.size}: must be between 16 and 8192"
    if out.exists() and not args.force:
        return f"{out}: exists; use --force to overwrite"
    if not out.parent.is_dir():
        return f"{out.parent}: no such folder"
    return None


def _use_best_checkpoint(args) -> str | None:
    """``--best``: sample the run folder's checkpoints/best.pt (``args.source`` becomes it)."""
    from ..rundir import RunDir
    src = Path(args.source)
    if not src.is_dir():
        return f"--best {src}: give a run folder (--best samples its checkpoints/best.pt)"
    best = RunDir(src).best_checkpoint
    if not best.is_file():
        return (f"{src}: no checkpoints/best.pt yet: it is written at the first evaluation "
                "([train] eval_every) that gives a finite quality measure")
    args.source = str(best)
    return None


def _classes(args, num_classes: int) -> list[int] | None | str:
    """The classes to sample (all of a conditional run's by default; None for an unconditional
    run), or what is wrong with ``--label``."""
    from ..inference import parse_classes
    try:
        classes = parse_classes(args.label, num_classes)
    except ValueError as e:
        return f"--label {','.join(args.label)}: {e}"
    if num_classes and classes is None:
        return list(range(num_classes))
    return classes


def _write(out: Path, res: dict, args) -> None:
    x = res["samples"]
    if out.suffix.lower() == ".npy":
        from ..io import atomic_open
        with atomic_open(out, "wb") as fh:
            np.save(fh, x)
        return
    from ..export import write_grid
    write_grid(out, x, config=res["config"], gen_iter=res["gen_iter"], seed=args.seed,
               nrow=args.nrow or int(np.ceil(np.sqrt(args.n))), size=args.size, source=str(res["path"]),
               toy_payload=res["toy_payload"], classes=res["classes"], averaged=res["averaged"])

"""``wgan-export``: write a trained generator as one file plain PyTorch (or an ONNX runtime) loads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..checkpoint import CheckpointError
from .common import error


def export_parser() -> argparse.ArgumentParser:
    from ..generator_export import FORMATS
    p = argparse.ArgumentParser(
        prog="wgan-export",
        description="Write a trained generator as one file that plain PyTorch loads (no WGAN Studio needed): "
                    "g(z) (conditional runs: g(z, y)) returns samples in data space.")
    p.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="torchscript (torch.jit.load), exported-program (torch.export.load) or onnx (any ONNX "
                        "runtime; writing it needs pip install 'wgan-studio[onnx]')")
    p.add_argument("--out", required=True, type=Path, help="the file to write (.pt, .pt2, .onnx)")
    p.add_argument("--raw", action="store_true",
                   help="runs with [model] ema_decay > 0: export the weights the optimiser left instead of "
                        "their moving average")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return p


def export_main(argv: list[str] | None = None) -> int:
    from ..generator_export import export_generator
    from ..inference import load_model

    args = export_parser().parse_args(argv)
    out: Path = args.out
    if out.exists() and not args.force:
        return error(f"{out}: exists; use --force to overwrite")
    if not out.parent.is_dir():
        return error(f"{out.parent}: no such folder")
    try:
        model = load_model(args.source, raw=args.raw)
    except CheckpointError as e:
        return error(str(e))
    try:
        meta = export_generator(model, out, args.format)
    except OSError as e:
        return error(f"{out}: cannot write ({e.strerror or e}); nothing was written")
    except RuntimeError as e:  # a missing optional package
        return error(str(e))
    ins = ", ".join(f"{k} {v['shape']}" for k, v in meta["inputs"].items())
    print(f"wrote {args.format} generator of iteration {model.gen_iter} ({meta['weights']} weights) to {out}: "
          f"{ins} -> {meta['output']['shape']}", file=sys.stderr)
    return 0

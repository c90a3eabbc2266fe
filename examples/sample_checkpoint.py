"""Sample from a trained run without its data set: load a checkpoint, draw samples, save them.

    python examples/sample_checkpoint.py RUN_DIR                 # the run's checkpoints/latest.pt
    python examples/sample_checkpoint.py RUN_DIR/checkpoints/best.pt -n 1000 --seed 3 --out-dir /tmp/s

What it uses of the engine: ``engine.load_model`` (the generator and critic rebuilt from the
configuration stored in the checkpoint; the moving average of the generator's weights when the
run kept one), ``LoadedModel.sample`` (samples in data space from noise drawn with a seed, the
same on every device) and ``engine.export.write_checkpoint_samples`` (the picture ``wgan-sample``
draws, with the configuration, iteration and seed in its PNG metadata).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import engine
from engine.export import write_checkpoint_samples


def describe(samples: np.ndarray) -> str:
    if samples.ndim == 2:  # 2-D points
        lo, hi = samples.min(axis=0), samples.max(axis=0)
        return (f"{len(samples)} points, mean ({samples[:, 0].mean():.3f}, {samples[:, 1].mean():.3f}), "
                f"x1 in [{lo[0]:.2f}, {hi[0]:.2f}], x2 in [{lo[1]:.2f}, {hi[1]:.2f}]")
    n, c, h, w = samples.shape
    return f"{n} images of {c} x {h} x {w}, values in [{samples.min():.2f}, {samples.max():.2f}] (data space: [-1, 1])"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="a run folder or a checkpoint file (.pt)")
    ap.add_argument("-n", type=int, default=256, help="samples to draw (conditional runs: per class; default 256)")
    ap.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    ap.add_argument("--out-dir", type=Path, default=Path("."), help="where samples.npy and samples.png go (default .)")
    args = ap.parse_args(argv)

    try:
        model = engine.load_model(args.source)
    except engine.CheckpointError as e:
        print(f"cannot load: {e}", file=sys.stderr)
        return 2
    cfg = model.config
    weights = "the moving average of the generator's weights" if model.averaged else "the generator's weights"
    print(f"{model.path}: generator iteration {model.gen_iter}, {cfg.objective.kind} on {cfg.data.name}, "
          f"samples of shape {model.sample_shape}, {weights}")
    if model.conditional:
        print(f"conditional: {model.num_classes} classes, {args.n} samples of each")

    samples = model.sample(args.n, seed=args.seed)  # the same seed gives the same samples
    print(describe(samples))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    npy = args.out_dir / "samples.npy"
    np.save(npy, samples)
    png = write_checkpoint_samples(model.path, args.out_dir / "samples.png", min(args.n, 64), args.seed)
    print(f"wrote {npy} (the array) and {png} (the picture)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

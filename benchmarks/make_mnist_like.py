"""An MNIST-format training set made offline from the bundled 8x8 digits: 60,000 28x28 images,
each a digit upsampled with a random shift, rotation, scale and stroke width, written as
``train-images-idx3-ubyte.gz`` and ``train-labels-idx1-ubyte.gz`` (what ``[data] name = "mnist"``
reads). Not MNIST (no download here), but the same format, size and count: what the
``mnist-wgan-gp`` preset's time to a first result is measured on (benchmarks/time_to_result.py
``--what mnist``, benchmarks/RESULTS.md).

    python benchmarks/make_mnist_like.py OUT_FOLDER [--count 60000] [--seed 0]
"""

from __future__ import annotations

import argparse
import gzip
import math
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
SIZE = 28


def augmented(images: np.ndarray, labels: np.ndarray, count: int, seed: int, chunk: int = 4096):
    """``count`` uint8 images ``[count, 28, 28]`` and their labels, drawn from ``images`` (uint8
    ``[N, 8, 8]``) with replacement, each moved by a random affine map and stroke width."""
    g = torch.Generator().manual_seed(seed)
    src = torch.from_numpy(images).float().div(255).unsqueeze(1)            # [N, 1, 8, 8]
    src = F.interpolate(src, size=(20, 20), mode="bilinear", align_corners=False)
    src = F.pad(src, (4, 4, 4, 4))                                           # MNIST's 20x20 in 28x28
    out_x, out_y = [], []
    for start in range(0, count, chunk):
        m = min(chunk, count - start)
        idx = torch.randint(len(src), (m,), generator=g)
        angle = (torch.rand(m, generator=g) * 2 - 1) * math.radians(15)
        scale = 0.85 + torch.rand(m, generator=g) * 0.3
        shift = (torch.rand(m, 2, generator=g) * 2 - 1) * (3 / 14)            # up to 3 pixels
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, (m, 1, SIZE, SIZE), align_corners=False)
        x = F.grid_sample(src[idx], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        # stroke width: a third thickened (max over 2x2), a third thinned (min), a third as drawn
        kind = torch.randint(3, (m,), generator=g)
        thick = F.max_pool2d(F.pad(x, (0, 1, 0, 1)), 2, stride=1)
        thin = -F.max_pool2d(F.pad(-x, (0, 1, 0, 1)), 2, stride=1)
        x = torch.where((kind == 1)[:, None, None, None], thick, torch.where((kind == 2)[:, None, None, None], thin, x))
        x = (x * 1.3).clamp(0, 1)                                              # MNIST's saturated strokes
        out_x.append((x[:, 0] * 255).round().to(torch.uint8).numpy())
        out_y.append(labels[idx.numpy()])
    return np.concatenate(out_x), np.concatenate(out_y).astype(np.uint8)


def write_idx(folder: Path, images: np.ndarray, labels: np.ndarray) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(images)
    img_path, lab_path = folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz"
    with gzip.open(img_path, "wb") as fh:
        fh.write(struct.pack(">IIII", 0x00000803, n, SIZE, SIZE) + images.tobytes())
    with gzip.open(lab_path, "wb") as fh:
        fh.write(struct.pack(">II", 0x00000801, n) + labels.tobytes())
    return img_path, lab_path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    with np.load(ROOT / "resources" / "digits.npz") as z:
        images, labels = z["images"], z["labels"]
    x, y = augmented(images, labels, args.count, args.seed)
    paths = write_idx(args.out, x, y)
    print(f"{len(x):,} images {SIZE}x{SIZE} -> {paths[0]} and {paths[1].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

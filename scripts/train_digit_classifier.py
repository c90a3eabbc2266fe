"""Rebuild resources/digit_classifier.npz, the classifier behind the digits' mode coverage.

    .venv/bin/python scripts/train_digit_classifier.py [--seed 0] [--out resources/digit_classifier.npz]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

root = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(root))

from engine import digits_classifier as dc  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", type=Path, default=root / "resources" / dc.WEIGHTS)
    args = ap.parse_args()
    t0 = time.perf_counter()
    model, acc = dc.train(args.seed, args.epochs)
    dc.save(model, args.out, acc)
    print(f"held-out accuracy {acc:.4f} (20% of the digits, all resized views); "
          f"{time.perf_counter() - t0:.0f} s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

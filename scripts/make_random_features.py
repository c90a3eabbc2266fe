"""Rebuild resources/random_features.npz, the fixed random network behind the image quality
measure on non-digit data (engine.image_quality).

    .venv/bin/python scripts/make_random_features.py [--seed 0] [--out resources/random_features.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(root))

from engine import image_quality as iq  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=root / "resources" / iq.RANDOM_FEATURES)
    args = ap.parse_args()
    iq.save_random_features(iq.make_random_features(args.seed), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Quality of a toy preset over several seeds: final exact W1, modes covered, high-quality share and
the Spearman correlation between the logged W-estimate and exact W1 over the run's evaluations
(``spearman``; what summary.json reports) and over those at the preset's checkpoints
(``at checkpoints``, the WGAN paper's "across checkpoints"; the same when eval_every = checkpoint_every;
docs/algorithm.md, "Quality measures").

    python benchmarks/toy_quality.py --preset toy-wgan-gp --seeds 0 1 2 3 [--set key=value ...] [--jobs 4]

Each seed runs in its own process (``--jobs`` at a time). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _nan_if_none(v) -> float:
    return float("nan") if v is None else float(v)


def one(preset: str, seed: int, overrides: list[str], device: str, iters: int | None) -> dict:
    import torch
    torch.set_num_threads(1)
    from engine import Trainer, apply_overrides, load_preset, read_metrics
    from engine.metrics import spearman
    cfg = apply_overrides(load_preset(preset), overrides + [f"train.seed={seed}", f'train.device="{device}"'])
    every = cfg.train.checkpoint_every
    cfg.train.checkpoint_every = 0
    cfg.train.sample_every = 0
    with tempfile.TemporaryDirectory() as d:
        t = Trainer(cfg, Path(d) / "run", report_interval_s=1.0)
        summary = t.run(iters)  # its Spearman over every evaluation is what summary.json reports
        m = read_metrics(Path(d) / "run" / "metrics.csv")
    w1 = np.array(m["w1_exact"])
    ok = np.isfinite(w1)
    at_ckpt = ok & (np.array(m["gen_iter"]) % every == 0) if every else ok
    return {"seed": seed, "w1": float(w1[ok][-1]), "modes": int(np.array(m["modes_covered"])[ok][-1]),
            "hq": float(np.array(m["high_quality_share"])[ok][-1]),
            "spearman": _nan_if_none((summary.get("w_estimate_vs_quality") or {}).get("spearman")),
            "spearman_ckpt": spearman(np.array(m["w_estimate"])[at_ckpt], w1[at_ckpt]),
            "its": t.gen_iter / t.elapsed_s, "w1_curve": [round(v, 4) for v in w1[ok]],
            "w1_iters": [int(v) for v in np.array(m["gen_iter"])[ok]],
            "modes_curve": [int(v) for v in np.array(m["modes_covered"])[ok]]}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="toy-wgan-gp")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--iters", type=int)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    with ProcessPoolExecutor(args.jobs) as ex:
        res = list(ex.map(one, *zip(*[(args.preset, s, args.overrides, args.device, args.iters)
                                      for s in args.seeds], strict=True)))
    print(f"preset {args.preset} {' '.join(args.overrides)} device {args.device}")
    for r in res:
        print(f"  seed {r['seed']:3d}: W1 {r['w1']:.4f}  modes {r['modes']}  high-quality {r['hq']:.2f}  "
              f"spearman {r['spearman']:.2f} (at checkpoints {r['spearman_ckpt']:.2f})  ({r['its']:.1f} it/s)  "
              f"modes over run {r['modes_curve'][-6:]}")
    w1 = np.array([r["w1"] for r in res])
    print(f"  W1 mean {w1.mean():.4f} max {w1.max():.4f}; all 8 modes in {sum(r['modes'] == 8 for r in res)}"
          f"/{len(res)}; spearman min {min(r['spearman'] for r in res):.2f} "
          f"(at checkpoints {min(r['spearman_ckpt'] for r in res):.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

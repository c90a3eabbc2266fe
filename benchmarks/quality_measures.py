"""How the image quality measures behave, and what KID costs (issue 33; docs/guide/quality.md).

    python benchmarks/quality_measures.py [--iterations 100 200 400] [--repeats 5] [--json F]

Prints, in the digit classifier's features (the bundled digits, two disjoint sets of 800 real
images as "real" and "generated"):

1. the Fréchet distance and KID (mean ± std over 100 subsets) of real digits under Gaussian
   noise, Gaussian blur and a centred blackout at four strengths each (the FID-on-MNIST literature's
   checks: each measure should rise with each);
2. FD and KID of the two real halves (the floor);
3. FD and KID of the digits preset (``digits-wgan-gp``, seed 0, on the CPU) at the given generator
   iterations, from its own evaluations (metrics.csv; 1,000 generated against 1,000 real images);
4. the cost of one evaluation of a digits run's batch (1,000 x 1,000 images: sliced W, FD, KID,
   class coverage, confident share) with KID and without it: the median of ``--repeats`` timings
   of each, and their ratio, measured in the same process.

A benchmark, not a test: its figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from engine import Trainer, read_metrics  # noqa: E402
from engine.config import load_preset  # noqa: E402
from engine.data.images import load_images  # noqa: E402
from engine.evaluation import RealReference, quality_metrics  # noqa: E402
from engine.image_quality import feature_stats, features, frechet_distance, kid  # noqa: E402


def gaussian_noise(x, s):
    return x + s * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))


def gaussian_blur(x, s):
    r = torch.arange(-6, 7, dtype=torch.float32)
    k = torch.exp(-r ** 2 / (2 * s * s))
    k = k / k.sum()
    return F.conv2d(F.pad(x, (6, 6, 6, 6), mode="replicate"), (k[:, None] * k[None, :])[None, None])


def blackout(x, s):
    y = x.clone()
    lo = (y.shape[-1] - s) // 2
    y[..., lo:lo + s, lo:lo + s] = -1.0
    return y


CORRUPTIONS = {"Gaussian noise (std)": (gaussian_noise, (0.2, 0.4, 0.6, 0.8)),
               "Gaussian blur (sigma, px)": (gaussian_blur, (1.5, 2.0, 3.0, 4.0)),
               "blackout (square side, px)": (blackout, (4, 8, 12, 16))}


def halves():
    imgs, _ = load_images(load_preset("digits-wgan-gp"))
    x = torch.from_numpy(imgs.astype(np.float32) / 127.5 - 1.0)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    return x[perm[:800]], x[perm[800:1600]]


def curves(a, b) -> dict:
    fa = features(a.numpy(), "digits")
    ref = feature_stats(fa)

    def measure(x):
        f = features(x.clamp(-1, 1).numpy(), "digits")
        k, k_std = kid(f, fa)
        return {"fd": frechet_distance(feature_stats(f), ref), "kid": k, "kid_std": k_std}

    out = {"halves": measure(b)}
    for name, (corrupt, strengths) in CORRUPTIONS.items():
        out[name] = [dict(strength=s, **measure(corrupt(b, s))) for s in strengths]
    return out


def preset_run(iterations: list[int]) -> list[dict]:
    cfg = load_preset("digits-wgan-gp")
    cfg.train.iterations, cfg.train.eval_every = max(iterations), 100
    cfg.train.device, cfg.train.seed = "cpu", 0
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(cfg, Path(tmp) / "run").run()
        m = {k: np.asarray(v) for k, v in read_metrics(Path(tmp) / "run" / "metrics.csv").items()}
    rows = []
    for it in iterations:
        i = int(np.flatnonzero(m["gen_iter"] == it)[0])
        rows.append({"gen_iter": it, "fd": float(m["frechet_distance"][i]), "kid": float(m["kid"][i]),
                     "kid_std": float(m["kid_std"][i])})
    return rows


def eval_cost(repeats: int) -> dict:
    """One evaluation of a digits batch, with KID, and its KID part alone (the same process,
    alternated): without KID is the evaluation less that part."""
    imgs, _ = load_images(load_preset("digits-wgan-gp"))
    x = imgs.astype(np.float32) / 127.5 - 1.0
    g = np.random.default_rng(0)
    real, fake = x[g.integers(0, len(x), 1000)], np.clip(x[g.integers(0, len(x), 1000)] + 0.3, -1, 1)
    ref = RealReference("digits")
    ref.of(real)  # the run computes the real batch's features once
    with_kid, without = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        quality_metrics(fake, real, False, None, True, "digits", ref)
        with_kid.append(time.perf_counter() - t)
        f = features(fake, "digits")
        t = time.perf_counter()
        kid(f, ref.feats)  # the KID part of the evaluation above: without KID is the rest
        without.append(with_kid[-1] - (time.perf_counter() - t))
    w, wo = statistics.median(with_kid), statistics.median(without)
    return {"with_kid_s": w, "without_kid_s": wo, "ratio": w / wo}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, nargs="+", default=[100, 200, 400])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    a, b = halves()
    res = {"curves": curves(a, b)}
    print("Digit classifier features (128-d); 800 real digits against 800 others, corrupted")
    h = res["curves"]["halves"]
    print(f"  two real halves: FD {h['fd']:.3g}, KID {h['kid']:.3g} ± {h['kid_std']:.2g}")
    for name in CORRUPTIONS:
        cells = ", ".join(f"{r['strength']:g}: FD {r['fd']:.3g} KID {r['kid']:.3g} ± {r['kid_std']:.2g}"
                          for r in res["curves"][name])
        print(f"  {name}: {cells}")
    res["cost"] = eval_cost(args.repeats)
    c = res["cost"]
    print(f"One evaluation (1,000 x 1,000 digits): {c['with_kid_s'] * 1000:.0f} ms with KID, "
          f"{c['without_kid_s'] * 1000:.0f} ms without: ratio {c['ratio']:.2f}")
    res["preset"] = preset_run(args.iterations)
    print("digits-wgan-gp, seed 0, CPU (its evaluations: 1,000 generated vs 1,000 real)")
    for r in res["preset"]:
        print(f"  iteration {r['gen_iter']}: FD {r['fd']:.3g}, KID {r['kid']:.3g} ± {r['kid_std']:.2g}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

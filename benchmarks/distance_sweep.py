"""The Example 1 picture as a table: a critic trained between P_0 and P_theta for theta in
[-2, 2], for each objective, beside the closed forms (W = |theta|, JS = log 2).

    python benchmarks/distance_sweep.py [--count 17] [--steps 600] [--json out.json]

Expected (the paper's section 2): the GP estimate on the |theta| line (within a few percent; the
penalty's own bias is |theta| / (2 lambda), see engine/distance.py), the clipped critic's estimate
proportional to |theta| with a small slope K, the GAN's JS estimate flat at log 2 with a
gradient near 0. A benchmark, not a test (tests/test_distance.py checks three thetas).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import distance as lab  # noqa: E402


def _cell(row: dict, key: str, fmt: str) -> str:
    v = row.get(key)
    return format(v, fmt) if v is not None else "-"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=17)
    ap.add_argument("--steps", type=int, default=lab.LabSettings().steps)
    ap.add_argument("--objectives", nargs="+", default=list(lab.LAB_OBJECTIVES))
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    thetas = lab.default_thetas(args.count, 2.0)
    t0 = time.perf_counter()
    by_obj = {}
    for obj in args.objectives:
        by_obj[obj] = lab.sweep(thetas, lab.LabSettings(objective=obj, steps=args.steps))
        print(f"  {obj}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(f"{'theta':>6} | {'W=|θ|':>6} | {'GP est':>7} | {'clip est':>9} | {'JS':>6} | {'GAN JS est':>10} | "
          f"{'dGP/dθ':>7} | {'dJS/dθ':>7}")
    rows = []
    for i, th in enumerate(thetas):
        get = {o: by_obj[o][i] for o in by_obj}
        row = {"theta": th, "w_exact": abs(th), "js": lab.closed_forms(th)["js"]}
        for o, r in get.items():
            row[f"{o}_estimate"] = r["estimate"]
            row[f"{o}_grad"] = r["grad_theta"]
        rows.append(row)
        print(f"{th:6.2f} | {abs(th):6.3f} | {_cell(row, 'wgan-gp_estimate', '7.3f'):>7} | "
              f"{_cell(row, 'wgan-clip_estimate', '9.5f'):>9} | {row['js']:6.3f} | "
              f"{_cell(row, 'gan_estimate', '10.4f'):>10} | {_cell(row, 'wgan-gp_grad', '7.3f'):>7} | "
              f"{_cell(row, 'gan_grad', '7.4f'):>7}")
    summary = {}
    if "wgan-gp" in by_obj:
        nz = [r for r in by_obj["wgan-gp"] if r["theta"] != 0]
        summary["gp_slope"] = lab.fit_slope(nz)
        summary["gp_max_rel_error"] = max(abs(r["estimate"] - abs(r["theta"])) / abs(r["theta"]) for r in nz)
    if "wgan-clip" in by_obj:
        summary["clip_slope_K"] = lab.fit_slope([r for r in by_obj["wgan-clip"] if r["theta"] != 0])
    if "gan" in by_obj:
        nz = [r for r in by_obj["gan"] if r["theta"] != 0]
        summary["gan_js_max_dev_from_log2"] = max(abs(r["estimate"] - math.log(2)) for r in nz)
        summary["gan_max_abs_grad"] = max(abs(r["grad_theta"]) for r in nz)
    summary["seconds"] = time.perf_counter() - t0
    for k, v in summary.items():
        print(f"{k}: {v:.4g}")
    out = {"thetas": thetas, "rows": rows, "summary": summary, "steps": args.steps}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()

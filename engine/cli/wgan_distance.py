"""``wgan-distance``: Example 1 of the WGAN paper from the command line: train a critic between
two parallel segments and print its estimate beside the closed forms (one theta or a sweep)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..config import ConfigError
from ..objective_traits import traits
from .common import error, fmt_time


def theta_list(text: str) -> list[float]:
    """``-2:2:17`` (start:stop:count) or ``0.5,1,2``."""
    from ..distance import even_thetas
    try:
        if ":" in text:
            a, b, n = text.split(":")
            lo, hi, k = float(a), float(b), int(n)
            if k < 1:
                raise ValueError
            return even_thetas(lo, hi, k)
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give START:STOP:COUNT (e.g. -2:2:17) or a comma list "
                                         "(e.g. 0.5,1,2)") from None


def distance_parser() -> argparse.ArgumentParser:
    from ..distance import LAB_OBJECTIVES, LabSettings
    d = LabSettings()
    p = argparse.ArgumentParser(
        prog="wgan-distance",
        description="Example 1 of the WGAN paper: train a critic between P_0 and P_theta (two parallel "
                    "segments) and report its estimate beside the closed forms W = |theta|, JS = log 2, "
                    "KL = inf, TV = 1.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--theta", type=float, default=1.0, help="offset of the second segment (default 1)")
    what.add_argument("--sweep", type=theta_list, nargs="?", const=theta_list("-2:2:17"), metavar="THETAS",
                      help="estimate at many thetas: START:STOP:COUNT or a comma list (default -2:2:17; "
                           "write a negative start as --sweep=-1:1:5)")
    p.add_argument("--objective", choices=LAB_OBJECTIVES, default=d.objective,
                   help="critic objective (default wgan-gp)")
    p.add_argument("--steps", type=int, default=d.steps, help=f"critic steps per theta (default {d.steps})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"points per segment and step (default {d.batch})")
    p.add_argument("--hidden", type=int, default=d.hidden, help=f"critic width (default {d.hidden})")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3; 5e-5 for wgan-clip)")
    p.add_argument("--gp-lambda", type=float, default=d.gp_lambda, help=f"lambda (default {d.gp_lambda:g})")
    p.add_argument("--clip-value", type=float, default=d.clip_value, help=f"c (default {d.clip_value:g})")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (a list of them for --sweep) on stdout; KL = inf is written "
                        "as Infinity, which Python's json module reads back as inf")
    p.add_argument("--out", type=Path, help="also write the sweep table to this .csv or .json file")
    return p


def distance_main(argv: list[str] | None = None) -> int:
    from .. import distance as lab
    from ..device import pick_device

    args = distance_parser().parse_args(argv)
    try:
        settings = lab.LabSettings(objective=args.objective, steps=args.steps, batch=args.batch, hidden=args.hidden,
                                   lr=args.lr, gp_lambda=args.gp_lambda, clip_value=args.clip_value,
                                   seed=args.seed)
        device = pick_device(args.device)
    except (ValueError, ConfigError) as e:
        return error(str(e))
    if args.out is not None and args.out.suffix.lower() not in (".csv", ".json"):
        return error(f"--out {args.out}: allowed suffixes are .csv and .json")
    thetas = args.sweep if args.sweep is not None else [args.theta]
    line = ProgressLine(sys.stderr)
    try:
        results = lab.run_plan(thetas, [settings], device=device, on_result=line.clear, on_progress=line.show)
    except KeyboardInterrupt:
        return error("interrupted")
    rows = [{k: r[k] for k in lab.CSV_KEYS if k in r} for r in results]
    if args.json:
        print(json.dumps(rows[0] if args.sweep is None else rows, indent=None if args.sweep is None else 1))
    else:
        print_table(rows, args.objective)
    if args.out is not None:
        return write_rows(rows, args.out)
    return 0


class ProgressLine:
    """The sweep's progress on ``stream``: a live line on a terminal, a line per estimate otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def show(self, p: dict) -> None:
        k, total, el = p["done_steps"], p["total_steps"], p["elapsed_s"]
        eta = el / k * (total - k) if k else None
        line = (f"theta {p['theta']:+.3f} ({p['index'] + 1}/{p['count']})  critic step {p['step']}/{p['steps']}  "
                f"W-est {p['w_running']:.4f}  elapsed {fmt_time(el)}  ETA {fmt_time(eta)}")
        if self.tty:
            print("\r" + line.ljust(100), end="", file=self.stream, flush=True)
        elif p["step"] == p["steps"]:
            print(line, file=self.stream, flush=True)

    def clear(self, result: dict) -> None:
        if self.tty:
            print("\r" + " " * 100 + "\r", end="", file=self.stream, flush=True)


def print_table(rows: list[dict], objective: str) -> None:
    """The estimates beside the closed forms; for a sweep of a W-estimating critic, its slope."""
    from ..distance import fit_slope
    t = traits(objective)
    name = "W estimate" if t.estimates_w1 else "JS estimate"
    print(f"{'theta':>7}  {name:>12}  {'d/dtheta':>9}  {'W=|theta|':>9}  {'JS':>7}  {'KL':>5}  {'TV':>4}")
    for r in rows:
        print(f"{r['theta']:7.3f}  {r['estimate']:12.4f}  {r['grad_theta']:9.4f}  {r['w_exact']:9.4f}  "
              f"{r['js']:7.4f}  {r['kl']:5.3g}  {r['tv']:4.3g}")
    if len(rows) > 1 and t.estimates_w1:
        meaning = "K, the clipped critic's Lipschitz constant" if t.clips_weights else "1 = the exact W"
        print(f"slope of the estimate against |theta|: {fit_slope(rows):.4f} ({meaning})")


def write_rows(rows: list[dict], out: Path) -> int:
    """The table as .csv or .json; the exit status."""
    from ..distance import results_csv
    from ..io import atomic_open
    try:
        with atomic_open(out, "w") as fh:
            if out.suffix.lower() == ".json":
                json.dump(rows, fh, indent=1)
            else:
                fh.write(results_csv(rows))
    except OSError as e:
        return error(f"{out}: cannot write ({e.strerror or e}); nothing was written")
    print(f"wrote {len(rows)} rows to {out}", file=sys.stderr)
    return 0

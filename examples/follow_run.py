"""Follow a run folder while another process trains into it (or read one that has ended).

    wgan-train --preset toy-wgan-gp --out runs/gp &      # a run, anywhere
    python examples/follow_run.py runs/gp                # its evaluations, events and pictures as they come

It prints what the run adds to its folder (new evaluations, events such as edits and pauses,
the newest sample picture, the run's state) until the run ends, stops responding or --timeout
passes, then a summary of the folder. It only reads: following costs the run nothing.

What it uses of the engine: ``engine.follow.RunFollower`` (``poll()`` returns what was added since
the last look: metrics rows, events, the newest picture, the heartbeat, the state) and
``engine.run_report.inspect_run`` (everything a folder holds, what is damaged, which checkpoint
a continuation would start from), ``engine.continuation`` (whether and how it continues: the rule
``wgan-train --resume`` and the studio apply) and ``engine.RunState`` (the words for a run's state).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from engine import RunState
from engine.continuation import plan_continuation, resume_wanted
from engine.follow import RunFollower
from engine.run_report import inspect_run

QUALITY = (("w1_exact", "exact W1"), ("sliced_w", "sliced W"), ("frechet_distance", "Fréchet distance"))


def evaluation_lines(rows: dict[str, list[float]]) -> list[str]:
    """One line per evaluation row among the new ``rows`` (the other rows leave these columns empty)."""
    out = []
    for i, it in enumerate(rows.get("gen_iter", [])):
        measures = [f"{label} {rows[col][i]:.4g}" for col, label in QUALITY
                    if col in rows and math.isfinite(rows[col][i])]
        if measures:
            out.append(f"iteration {int(it)}: W-estimate {rows['w_estimate'][i]:.4f}, " + ", ".join(measures))
    return out


def event_line(ev: dict) -> str:
    kind, it = ev.get("type"), ev.get("gen_iter")
    detail = {"edit": lambda: f"{ev.get('key')} {ev.get('old')} -> {ev.get('new')}",
              "error": lambda: ev.get("message", ""),
              "critic_overfitting": lambda: ev.get("message", ""),
              "request": lambda: f"{ev.get('action')} {ev.get('outcome')}" + (f": {ev['reason']}"
                                                                              if ev.get("reason") else ""),
              "start": lambda: f"on {ev.get('device')}, {ev.get('total')} iterations",
              "best": lambda: f"{ev.get('measure')} {ev.get('value', math.nan):.4g}: checkpoints/best.pt"}.get(
                  kind, lambda: "")()
    return f"event at iteration {it}: {kind} {detail}".rstrip()


def follow(path: Path, timeout_s: float, poll_s: float) -> RunState | None:
    """Print what the run adds until it ends; returns its last state."""
    follower = RunFollower(path)
    deadline = time.monotonic() + timeout_s
    state, rows_seen = None, 0
    while True:
        up = follower.poll()
        if up.reset:
            print("metrics.csv was rewritten (the run was continued from a checkpoint): reading it again")
        rows_seen += len(up.rows.get("gen_iter", []))
        for line in evaluation_lines(up.rows):
            print(line)
        for ev in up.events:
            print(event_line(ev))
        if up.sample is not None:
            print(f"new picture: {up.sample.relative_to(path)}")
        now = RunState.parse(up.state)  # the one vocabulary of run states
        if now != state:
            state = now
            print(f"state: {state} ({rows_seen} iterations read so far)")
        if state is not None and (state.ended or state == RunState.NOT_RESPONDING):
            return state
        if time.monotonic() > deadline:
            print(f"stopped following after {timeout_s:g} s; the run goes on")
            return state
        sys.stdout.flush()
        time.sleep(poll_s)


def summarise(path: Path) -> None:
    report = inspect_run(path)
    cfg = report.config
    if cfg is not None:
        print(f"{path}: {cfg.objective.kind} on {cfg.data.name}, {report.last_iter} of {cfg.train.iterations} "
              f"iterations, {len(report.events)} events")
    # the one rule both front ends apply (wgan-train --resume, the studio's Continue run), asked
    # whether the run continues with its own configuration as it is
    plan = plan_continuation(report, resume_wanted(report))
    print(("can continue: " if plan.possible else "as it is: ") + plan.message)
    for problem in report.problems:
        print(f"damaged: {problem}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="the run folder (it may not exist yet: the run may be starting)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="stop following after S seconds (default 3600)")
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between looks (default 0.5)")
    args = ap.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    while not args.run.is_dir():
        if time.monotonic() > deadline:
            print(f"{args.run}: no such folder", file=sys.stderr)
            return 2
        time.sleep(args.poll)
    print(f"following {args.run}", flush=True)
    state = follow(args.run, max(0.0, deadline - time.monotonic()), args.poll)
    summarise(args.run)
    return 0 if state is not None and state.ended else 1


if __name__ == "__main__":
    sys.exit(main())

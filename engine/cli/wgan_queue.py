"""``wgan-queue RUNS_DIR``: run the queue of a runs folder headless (the studio's "Add to queue"
writes it; docs/guide/sweeps.md): queued runs start as ``wgan-train`` processes as slots free."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .common import error, on_main_thread


def queue_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wgan-queue",
        description="Run the queue of a runs folder (RUNS_DIR/queue.json) headless: each queued run trains as its "
                    "own wgan-train process when a slot frees. Ctrl+C stops the runs (each writes its checkpoint) "
                    "and puts them back at the front of the queue.")
    p.add_argument("runs_dir", metavar="RUNS_DIR", help="the runs folder whose queue to run")
    p.add_argument("--slots", type=int, metavar="N",
                   help="runs at once (default: as many as the cores fit, from each run's thread needs)")
    p.add_argument("--watch", action="store_true", help="keep waiting for new entries when the queue is empty")
    p.add_argument("--add", metavar="CONFIG", action="append", default=[],
                   help="first add a run of CONFIG (a .toml file or a preset name) to the queue (repeatable)")
    p.add_argument("--list", action="store_true", help="list the queue and exit")
    return p


def queue_main(argv: list[str] | None = None) -> int:
    from ..config import ConfigError
    from ..queue import QueueError, RunQueue
    from ..queue_runner import QueueRunner, runner_info

    args = queue_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.slots is not None and args.slots < 1:
        return error(f"--slots {args.slots}: expected a whole number >= 1")
    root = Path(args.runs_dir)
    if root.exists() and not root.is_dir():
        return error(f"{root}: not a folder")
    queue = RunQueue(root)
    try:
        for config in args.add:
            e = queue.add(config)
            print(f"queued {e.name}", file=sys.stderr)
        if args.list:
            return print_queue(queue)
    except (ConfigError, QueueError) as e:
        return error(str(e))
    runner = QueueRunner(root, slots=args.slots)
    if not runner.acquire():
        who = runner_info(root) or {}
        return error(f"the queue of {root} is already run by {who.get('by', 'another process')} (pid {who.get('pid')} "
                     f"on {who.get('host')})")
    old = signal.signal(signal.SIGTERM, _sigterm) if on_main_thread() else None
    try:
        runner.run(watch=args.watch, on_event=say)
    except KeyboardInterrupt:
        print("stopping the runs (each writes its checkpoint); they continue when the queue runs again",
              file=sys.stderr)
        runner.stop_all()
        return 130
    finally:
        runner.release()
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    return print_queue(queue)


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def say(ev) -> None:
    text = f"{ev.kind}: {ev.entry.name}"
    if ev.message:
        text += f" ({ev.message})"
    print(text, file=sys.stderr, flush=True)


def print_queue(queue) -> int:
    for e in queue.entries():
        print(f"{e.state:<8} {e.name}  {e.run_path}" + (f"  {e.message}" if e.message else ""))
    return 0

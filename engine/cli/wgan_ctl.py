"""``wgan-ctl``: steer a run through its folder (pause, resume, step, stop, set a live parameter)
or say where it is (status), wherever it trains."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..config import live_value, parse_override
from ..follow import RunFollower, describe_state, heartbeat_age
from ..remote import RemoteError, TerminalPrompter, is_remote, open_remote_run
from ..requests import MAX_AGE_S, REQUESTS_DIR, write_request
from ..runfiles import ConnectionLost, LocalFiles, RunFiles
from ..status import RunState, RunStatus
from .common import error


def ctl_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wgan-ctl",
        description="Steer a run through its folder, wherever it trains: the trainer applies the request at its "
                    "next iteration (or refuses it) and records the outcome in events.jsonl. Whoever can write to "
                    "a run folder can steer its run.")
    p.add_argument("run", metavar="RUN_DIR",
                   help="the run folder: a path, or ssh://[user@]host[:port]/path on another machine "
                        "(OpenSSH's config, keys and known_hosts apply; docs/guide/remote.md)")
    p.add_argument("action", choices=("pause", "resume", "step", "stop", "set", "status"))
    p.add_argument("arg", nargs="?", metavar="KEY=VALUE | N",
                   help="set: a live parameter (clip_value, lr_critic, lr_generator, n_critic, gp_lambda); "
                        "step: how many iterations (default 1)")
    p.add_argument("--wait", type=float, default=30.0, metavar="S",
                   help="wait up to S seconds for the outcome and print it (default 30; 0: do not wait)")
    return p


def ctl_main(argv: list[str] | None = None) -> int:
    args = ctl_parser().parse_args(argv)
    try:
        files = open_run_files(args.run)
    except (RemoteError, NotADirectoryError) as e:
        return error(str(e))
    try:
        return steer(args, files)
    except ConnectionLost as e:
        return error(f"{e}; run the command again (a request already written is applied once)")
    finally:
        files.close()


def open_run_files(where: str) -> RunFiles:
    """The run folder ``where`` names (``ssh://...``: over SSH, asking on the terminal); refused
    when it is not a run folder."""
    if is_remote(where):
        return open_remote_run(where, TerminalPrompter())
    run = Path(where)
    if not (run / "config.toml").is_file() and not (run / "events.jsonl").is_file():
        raise NotADirectoryError(f"{run}: not a run folder (no config.toml or events.jsonl)")
    return LocalFiles(run)


def steer(args, files: RunFiles) -> int:
    """The action of ``args`` on the run in ``files`` (local or remote: the same code)."""
    follower = RunFollower(files, rows=False)  # the state and the events, not the metrics' history
    state, silent_s = current_state(follower)
    if args.action == "status":
        print(status_line(files, follower, state, silent_s))
        return 0
    try:
        fields = request_fields(args)
    except ValueError as e:  # ConfigError included: the key, the value and what is allowed
        return error(str(e))
    if state.ended:
        print(f"refused: {files} is {state}; a {state} run takes no requests (continue it with "
              f"{continue_command(files, state)}, then steer it)")
        return 1
    try:
        req = write_request(files, args.action, by="wgan-ctl", **fields)
    except ValueError as e:
        return error(str(e))
    print(f"requested: {args.action} {args.arg or ''}".rstrip() + f" (request {req['id']})", file=sys.stderr)
    if state == RunState.NOT_RESPONDING:
        print(f"note: the run is {describe_state(state, silent_s)}; the request is applied if it answers within "
              f"{MAX_AGE_S / 60:.0f} minutes (a run continued with wgan-train --resume takes no earlier requests)",
              file=sys.stderr)
        return 0
    return wait_for_outcome(follower, req, files, args.wait)


def current_state(follower: RunFollower) -> tuple[RunState, float]:
    """The run's state and how long it has been silent. One look at the folder: a heartbeat older
    than the follower's limit means the run stopped responding (killed, or its machine lost)."""
    up = follower.poll()
    age = heartbeat_age(follower.files)
    if up.state.active and age is not None and age > follower.silent_s:
        return RunState.NOT_RESPONDING, age
    return up.state, up.silent_s


def status_line(run: RunFiles, follower: RunFollower, state: RunState, silent_s: float) -> str:
    """``RUN: training; iteration 1234 of 5000, 9.80 it/s`` (the speed only while it trains)."""
    status: RunStatus = follower.run_status
    where = f"iteration {status.gen_iter} of {status.total}" if follower.status is not None else "iteration ? of ?"
    if state == RunState.RUNNING and status.its_per_sec:
        where += f", {status.its_per_sec:.2f} it/s"
    return f"{run}: {describe_state(state, silent_s)}; {where}"


def request_fields(args) -> dict:
    """The request's own fields (``set``: key and value; ``step``: n); ValueError for bad ones."""
    if args.action == "set":
        if not args.arg or "=" not in args.arg:
            raise ValueError("set needs KEY=VALUE, e.g. set lr_critic=2e-4")
        key, _, text = args.arg.partition("=")
        _, value = parse_override(f"x.{key.strip()}={text}")
        live_value(key.strip(), value)  # ConfigError: not live, or out of range
        return {"key": key.strip(), "value": value}
    if args.action == "step":
        return {"n": int(args.arg) if args.arg else 1}
    if args.arg:
        raise ValueError(f"{args.action} takes no argument")
    return {}


def continue_command(run: RunFiles, state: RunState) -> str:
    """How an ended run is continued from the command line (a remote one: on its machine)."""
    if run.remote:
        where = f"on {run.loc.host}: "
        run = run.loc.path
        return f"{where}{continue_command(LocalFiles(run), state)}"
    if state == RunState.FINISHED:
        return f"wgan-train --resume {run} --iters N (N above the iterations it has done)"
    return f"wgan-train --resume {run}"


def wait_for_outcome(follower: RunFollower, req: dict, run: RunFiles, wait_s: float) -> int:
    """Print the trainer's answer to ``req``: 0 applied (or no answer in time), 1 refused."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for ev in follower.poll().events:
            if ev.get("type") == "request" and ev.get("id") == req["id"]:
                if ev.get("outcome") == "applied":
                    print(f"applied at iteration {ev.get('gen_iter')}")
                    return 0
                print(f"refused: {ev.get('reason')}")
                return 1
        time.sleep(0.5 if run.remote else 0.1)
    if wait_s > 0:
        print(f"no answer within {wait_s:g} s; the request stays in {run}/{REQUESTS_DIR} for the trainer",
              file=sys.stderr)
    return 0

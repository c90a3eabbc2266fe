"""``wgan-train ... --nproc-per-node N``: check what can be checked here, then start torchrun
(``torch.distributed.run``) on :data:`engine.distributed.ENTRY_MODULE` with the other arguments,
and turn a Ctrl+C into a stop request in the run folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..config import ConfigError
from ..data import DataError
from .common import error

#: The launcher's own flags (each takes a value), which the processes do not get.
DIST_FLAGS = ("--nproc-per-node", "--nnodes", "--node-rank", "--rdzv-endpoint", "--rdzv-id")


def without_dist_flags(argv: list[str]) -> list[str]:
    """``argv`` less the launcher's own flags (what each process gets)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in DIST_FLAGS:
            skip = "=" not in a
            continue
        out.append(a)
    return out


def launch(args, argv: list[str], new_run_config) -> int:
    """Start the job; its exit status. ``new_run_config(args)``: the configuration a new run
    trains with (checked here for the number of processes before torchrun starts)."""
    from ..distributed import platform_refusal

    problem = _check(args, new_run_config) or platform_refusal()  # the user's own mistakes first
    if problem is not None:
        return error(problem)
    cmd = _torchrun_command(args, argv)
    if isinstance(cmd, str):
        return error(cmd)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # this engine, whatever the working folder
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    # torchrun in a session of its own: a Ctrl+C here becomes a stop request in the run folder (the
    # run's own channel: every process stops at the same iteration and rank 0 writes a checkpoint);
    # a second one ends the job at once (SIGTERM, which torchrun passes on).
    kw = {"start_new_session": True} if os.name == "posix" else {}
    job = subprocess.Popen(cmd, env=env, **kw)
    return _wait(job, Path(args.resume or args.out))


def _check(args, new_run_config) -> str | None:
    """What is wrong with the arguments, before any process starts."""
    from ..distributed import check_config

    if args.nproc_per_node < 1:
        return f"--nproc-per-node {args.nproc_per_node}: must be at least 1"
    if args.list_presets:
        return "--list-presets takes no --nproc-per-node"
    if args.resume:
        return None
    if not args.out:
        return "--out RUN_DIR is required (the folder the run is written to)"
    try:
        cfg = new_run_config(args)
        nnodes = int(str(args.nnodes).split(":")[-1])
        import torch
        cuda = cfg.train.device in ("cuda", "auto") and torch.cuda.is_available()
        check_config(cfg, args.nproc_per_node * nnodes, "cuda" if cuda else "cpu")
    except (ConfigError, DataError, ValueError) as e:
        return str(e)
    return None


def _torchrun_command(args, argv: list[str]) -> list[str] | str:
    """torchrun's command line, or what is wrong with the rendezvous flags."""
    from ..distributed import ENTRY_MODULE

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(args.nproc_per_node),
           "--nnodes", str(args.nnodes), "--node-rank", str(args.node_rank)]
    if args.rdzv_endpoint:
        cmd += ["--rdzv-backend", "c10d", "--rdzv-endpoint", args.rdzv_endpoint, "--rdzv-id", args.rdzv_id]
    elif str(args.nnodes) != "1":
        return "--nnodes > 1 needs --rdzv-endpoint HOST:PORT (where the machines meet)"
    else:
        cmd += ["--standalone"]
    return [*cmd, "-m", ENTRY_MODULE, *without_dist_flags(argv)]


def _wait(job: subprocess.Popen, folder: Path) -> int:
    """The job's exit status. The first Ctrl+C asks the run to stop (through its folder), the second
    ends the job."""
    asked = False
    while True:
        try:
            return job.wait()
        except KeyboardInterrupt:
            if asked or not (folder / "status.json").exists():
                print("\naborting: the last checkpoint is intact", file=sys.stderr)
                job.send_signal(signal.SIGTERM)
                continue
            from ..requests import write_request
            write_request(folder, "stop", by="wgan-train (Ctrl+C)")
            print("\nstopping after this iteration (Ctrl+C again to abort)...", file=sys.stderr)
            asked = True

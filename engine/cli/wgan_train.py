"""``wgan-train``: train a run headless and write its folder, or continue one (``--resume``);
``--nproc-per-node N`` trains it with several processes (:mod:`engine.cli.torchrun_launch`)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from ..checkpoint import CheckpointError
from ..config import (
    DEFAULT_PRESET,
    LIVE_KEYS,
    SCHEMA,
    Config,
    ConfigError,
    apply_overrides,
    coerce_value,
    list_presets,
    load_config,
    load_preset,
)
from ..data import DataError
from ..objective_traits import traits
from ..status import RunState
from ..trainer import Trainer, TrainingError
from .common import EXIT_USAGE, error, fmt_time, on_main_thread
from .terminal_progress import TerminalProgress
from .torchrun_launch import launch

#: The flags that set one configuration value each: (flag, attribute of the parsed arguments, key).
VALUE_FLAGS = (("--iters", "iters", "train.iterations"), ("--seed", "seed", "train.seed"))


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wgan-train",
        description="Train a (Wasserstein) GAN headless and write a run folder "
                    "(config.toml, metrics.csv, events.jsonl, samples/, checkpoints/, summary.json).")
    p.add_argument("config", nargs="?", help="configuration file (.toml); default: the preset")
    p.add_argument("--preset", help=f"start from a bundled preset (default {DEFAULT_PRESET}; see --list-presets)")
    p.add_argument("--out", help="run folder to create (required unless --resume)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped or crashed run in its folder")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one configuration value (repeatable), e.g. --set objective.clip_value=0.02")
    p.add_argument("--iters", type=int, help="generator iterations in all (overrides train.iterations)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="overrides train.device")
    p.add_argument("--seed", type=int, help="overrides train.seed")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard event files in RUN/tensorboard (train.tensorboard = true; needs "
                        "pip install 'wgan-studio[tensorboard]')")
    p.add_argument("--list-presets", action="store_true", help="list the bundled presets and exit")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    d = p.add_argument_group("several processes (distributed data-parallel, started with torchrun)")
    d.add_argument("--nproc-per-node", type=int, metavar="N",
                   help="train this run with N processes on this machine (torchrun; nccl on CUDA, gloo on the CPU); "
                        "[train] batch_size stays the global batch, split evenly")
    d.add_argument("--nnodes", default="1", metavar="K", help="machines taking part (torchrun --nnodes; default 1)")
    d.add_argument("--node-rank", type=int, default=0, metavar="R", help="this machine's rank (torchrun --node-rank)")
    d.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                   help="where the machines meet (torchrun's c10d rendezvous; needed with --nnodes > 1)")
    d.add_argument("--rdzv-id", default="wgan", metavar="ID", help="the job's rendezvous id (default wgan)")
    return p


def train_main(argv: list[str] | None = None, *, distributed: bool = False) -> int:
    """``wgan-train``. ``distributed``: this is one process of a torchrun job (engine.cli_dist)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = train_parser().parse_args(argv)
    if args.nproc_per_node is not None and not distributed:
        return launch(args, argv, new_run_config)
    main = not distributed or os.environ.get("RANK", "0") == "0"  # the process that talks to the user
    if not main:
        args.quiet = True
    if args.list_presets:
        return print_presets()
    trainer = build_trainer(args, distributed=distributed, main=main)
    if isinstance(trainer, int):
        return trainer
    progress = None if args.quiet else TerminalProgress()
    if progress is not None:
        trainer.observers.append(progress)
    try:
        with ctrl_c_stops(trainer, distributed=distributed, main=main):
            summary = trainer.run()
    except TrainingError as e:
        _close(progress)
        return error(f"{e} (run folder: {trainer.run_dir.path})")
    except KeyboardInterrupt:
        _close(progress)
        print(f"aborted; the last checkpoint in {trainer.run_dir.path / 'checkpoints'} is intact", file=sys.stderr)
        return 130
    _close(progress)
    if main:
        print_closing_lines(trainer, summary)
    return 0


# ----------------------------------------------------------------------------- the steps

def print_presets() -> int:
    presets = list_presets()
    width = max(map(len, presets))
    for name, desc in presets.items():
        default = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name:<{width}}  {desc}{default}")
    return 0


def build_trainer(args, *, distributed: bool, main: bool) -> Trainer | int:
    """The trainer of a new run (``--out``) or of the run it continues (``--resume``), or the exit
    status of a refusal (said on stderr by the main process)."""
    try:
        if args.resume:
            return continue_run_in(args, distributed=distributed, main=main)
        return start_new_run(args, distributed=distributed)
    except (ConfigError, DataError, CheckpointError) as e:
        return error(str(e)) if main else EXIT_USAGE


def check_value_flags(args) -> None:
    """ConfigError naming the flag for a bad ``--iters`` or ``--seed`` (not a ``--set`` error)."""
    for flag, attr, dotted in VALUE_FLAGS:
        value = getattr(args, attr)
        if value is None:
            continue
        try:
            coerce_value(SCHEMA[dotted], value)
        except ConfigError as e:
            raise ConfigError(e.problem, key=f"{flag} {value}", allowed=e.allowed) from None


def new_run_config(args) -> Config:
    """The configuration of a new run: CONFIG or the preset, then ``--set``, then the flags."""
    check_value_flags(args)
    if args.config and args.preset:
        raise ConfigError("give either a CONFIG file or --preset, not both")
    cfg = load_config(args.config) if args.config else load_preset(args.preset or DEFAULT_PRESET)
    overrides = list(args.overrides)
    if args.iters is not None:
        overrides.append(f"train.iterations={args.iters}")
    if args.device is not None:
        overrides.append(f'train.device="{args.device}"')
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.tensorboard:
        overrides.append("train.tensorboard=true")
    return apply_overrides(cfg, overrides) if overrides else cfg


def start_new_run(args, *, distributed: bool) -> Trainer | int:
    if not args.out:
        return error("--out RUN_DIR is required (the folder the run is written to)")
    cfg = new_run_config(args)
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        return error(f"{out}: exists and is not an empty folder; choose a new --out "
                     f"(or continue it with --resume {out})")
    if distributed:
        return new_distributed_trainer(cfg, out)
    return Trainer(cfg, out, on_nonfinite="raise")


def new_distributed_trainer(cfg: Config, out: Path) -> Trainer:
    """This process's trainer of a new run trained by a torchrun job."""
    import torch

    from ..distributed import check_config, distributed_trainer, init_from_env
    dev = cfg.train.device
    cuda = dev in ("cuda", "auto") and torch.cuda.is_available()
    check_config(cfg, int(os.environ.get("WORLD_SIZE", "1")), "cuda" if cuda else "cpu")
    return distributed_trainer(cfg, out, on_nonfinite="raise", dist_ctx=init_from_env(dev))


def continue_run_in(args, *, distributed: bool, main: bool) -> Trainer | int:
    """``--resume``: the trainer that continues the run (engine.continuation decides whether and
    how), or the exit status of a refusal."""
    from ..continuation import continue_run, plan_continuation, resume_wanted
    from ..run_report import inspect_run, is_run_folder

    if args.config or args.preset or args.out:
        return error("--resume continues a run with its own configuration; only --iters, --device and "
                     "--set of the live parameters (" + ", ".join(f"{s}.{k}" for s, k in LIVE_KEYS.values())
                     + ") may be given with it")
    check_value_flags(args)
    if not is_run_folder(args.resume):
        return error(f"{args.resume}: not a run folder (no config.toml, metrics.csv, events.jsonl or checkpoint)")
    report = inspect_run(args.resume)
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.tensorboard:
        overrides.append("train.tensorboard=true")
    plan = plan_continuation(report, resume_wanted(report, iterations=args.iters, device=args.device,
                                                   overrides=overrides))
    if not plan.possible:
        return error(plan.message) if main else EXIT_USAGE
    if distributed:
        trainer = resume_distributed_trainer(plan, args.device)
    else:
        trainer = continue_run(plan, on_nonfinite="raise")
    if main and (not args.quiet or trainer.resumed_from.uses_fallback):
        print(trainer.resumed_from.describe(), file=sys.stderr)
    if main and trainer.resume_note:
        print(trainer.resume_note, file=sys.stderr)
    return trainer


def resume_distributed_trainer(plan, device: str | None) -> Trainer:
    """This process's trainer of a run a torchrun job continues."""
    from ..continuation import continue_run
    from ..distributed import init_from_env, resume_distributed
    ctx = init_from_env(plan.device or device or "auto")
    return continue_run(plan, resume=lambda d, **kw: resume_distributed(d, dist_ctx=ctx, **kw),
                        on_nonfinite="raise", device=ctx.device)


@contextlib.contextmanager
def ctrl_c_stops(trainer: Trainer, *, distributed: bool, main: bool):
    """While the run trains: Ctrl+C stops it at the next iteration boundary and writes a
    checkpoint; twice: abort (KeyboardInterrupt). Under torchrun a Ctrl+C reaches each process
    twice (from the terminal, then passed on by torchrun): a second one within 3 s is the same
    Ctrl+C."""
    asked = []

    def on_sigint(signum, frame):
        if distributed and asked:
            if time.monotonic() - asked[0] > 3.0:
                raise KeyboardInterrupt
            return
        if trainer.control.stop_requested:
            raise KeyboardInterrupt
        if main:
            print("\nstopping after this iteration (Ctrl+C again to abort)...", file=sys.stderr)
        asked.append(time.monotonic())
        trainer.stop()

    old = signal.signal(signal.SIGINT, on_sigint) if on_main_thread() else None
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


def _close(progress: TerminalProgress | None) -> None:
    if progress is not None:
        progress.close()


def print_closing_lines(trainer: Trainer, summary: dict) -> None:
    """How the run ended, its last quality measures, and (W-estimating objectives) how well the
    W-estimate followed them."""
    status = trainer.status()
    state = RunState.FINISHED if status.state == RunState.FINISHED else RunState.STOPPED
    print(f"{state} at iteration {status.gen_iter} in {fmt_time(summary['elapsed_s'])}"
          f"{quality_text(summary.get('last_eval') or {})}; run folder: {trainer.run_dir.path}", file=sys.stderr)
    corr = summary.get("w_estimate_vs_quality")
    if corr and traits(trainer.config.objective.kind).estimates_w1 and corr["spearman"] is not None:
        name = {"w1_exact": "exact W1", "sliced_w": "sliced W"}[corr["measure"]]
        print(f"W-estimate vs {name} over the {corr['evaluations']} evaluations: Spearman rank correlation "
              f"{corr['spearman']:.2f} (1 = they fall together)", file=sys.stderr)


def quality_text(ev: dict) -> str:
    """The last evaluation's measures, as the closing line lists them (each after ", ")."""
    extra = f", exact W1 {ev['w1_exact']:.4f}" if "w1_exact" in ev else ""
    if "modes_covered" in ev:
        extra += f", modes covered {ev['modes_covered']}"
    if "sliced_w" in ev:
        extra += f", sliced W {ev['sliced_w']:.4f}"
    if np.isfinite(ev.get("frechet_distance", np.nan)):
        extra += f", Fréchet distance {ev['frechet_distance']:.4g}"
    if np.isfinite(ev.get("kid", np.nan)):
        extra += f", KID {ev['kid']:.4g} ± {ev.get('kid_std', np.nan):.2g}"
    if np.isfinite(ev.get("inception_fid", np.nan)):
        extra += f", FID {ev['inception_fid']:.4g}"
    if "classes_hit" in ev:
        extra += f", digit classes hit {ev['classes_hit']}/10 (KL to uniform {ev['class_kl']:.3f})"
    if np.isfinite(ev.get("confident_share", np.nan)):
        extra += f", confidently classified {ev['confident_share']:.0%}"
    return extra

"""Headless command line: ``wgan-train`` and ``wgan-sample``. Thin over the engine's API.

Bad input (config, data, checkpoint) prints one clear message and exits with status 2, never
a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, load_checkpoint
from .config import (
    DEFAULT_PRESET,
    LIVE_KEYS,
    ConfigError,
    apply_overrides,
    list_presets,
    load_config,
    load_preset,
    parse_override,
)
from .data import DataError
from .text import format_duration
from .trainer import Trainer, TrainingError

EXIT_USAGE = 2


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_USAGE


def _fmt_time(s: float) -> str:
    return format_duration(s, "--:--")


def _start_detail(ev: dict) -> str:
    """The start line: the device, how the run uses it (precision and its reason...), warnings."""
    text = f"on {ev.get('device', '?')}"
    if ev.get("performance"):
        text += f": {ev['performance']}"
    if ev.get("warnings"):
        text += "; " + "; ".join(ev["warnings"])
    return text


class Progress:
    """Progress on stderr: one live line on a terminal, plain periodic lines otherwise."""

    def __init__(self, trainer: Trainer, stream=None, interval_s: float | None = None):
        self.trainer = trainer
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (0.2 if self.tty else 10.0)
        self._last = -math.inf  # the first report prints at once, whatever the uptime
        self._last_iter = -1
        self._w1 = float("nan")

    def line(self) -> str:
        t = self.trainer
        k, total = t.gen_iter, t.total_iters
        rate = t.its_per_sec
        eta = (total - k) / rate if rate > 0 else float("nan")
        w = t.last_metrics.get("w_estimate", float("nan"))
        parts = [f"it {k}/{total}", f"{rate:.2f} it/s", f"elapsed {_fmt_time(t.elapsed)}",
                 f"ETA {_fmt_time(eta)}", f"W_est {w:.4f}"]
        if np.isfinite(self._w1):
            parts.append(f"W1 {self._w1:.4f}")
        if self.tty:
            width = 20
            done = int(width * k / max(total, 1))
            parts.insert(1, "[" + "=" * done + "-" * (width - done) + "]")
        return "  ".join(parts)

    def on_metrics(self, cols) -> None:
        w1 = cols.get("w1_exact")
        if w1 is not None and np.isfinite(w1).any():
            self._w1 = float(w1[np.isfinite(w1)][-1])
        now = time.monotonic()
        final = self.trainer.gen_iter >= self.trainer.total_iters
        if now - self._last < self.interval_s and not final:
            return
        if final and self._last_iter == self.trainer.gen_iter:
            return
        self._last, self._last_iter = now, self.trainer.gen_iter
        if self.tty:
            self.stream.write("\r\033[K" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def on_event(self, ev) -> None:
        kind = ev.get("type")
        if kind in ("edit", "pause", "resume", "error", "critic_overfitting", "start", "resume_run"):
            if self.tty:
                self.stream.write("\r\033[K")
            detail = {"edit": lambda: f"{ev['key']} {ev['old']} -> {ev['new']}",
                      "error": lambda: ev.get("message", ""),
                      "critic_overfitting": lambda: ev.get("message", ""),
                      "start": lambda: _start_detail(ev),
                      "resume_run": lambda: _start_detail(ev)}.get(kind, lambda: "")()
            self.stream.write(f"[it {ev.get('gen_iter')}] {kind} {detail}".rstrip() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ============================================================================ wgan-train

def _train_parser() -> argparse.ArgumentParser:
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


_DIST_FLAGS = {"--nproc-per-node": True, "--nnodes": True, "--node-rank": True, "--rdzv-endpoint": True,
               "--rdzv-id": True}


def _without_dist_flags(argv: list[str]) -> list[str]:
    """``argv`` less the launcher's own flags (what each process gets)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in _DIST_FLAGS:
            skip = "=" not in a
            continue
        out.append(a)
    return out


def _launch(args, argv: list[str]) -> int:
    """``wgan-train ... --nproc-per-node N``: check what can be checked here, then start torchrun
    (``torch.distributed.run``) on :data:`engine.distributed.ENTRY_MODULE` with the other arguments."""
    import subprocess

    from .distributed import ENTRY_MODULE, check_config

    if args.nproc_per_node < 1:
        return _err(f"--nproc-per-node {args.nproc_per_node}: must be at least 1")
    if args.list_presets:
        return _err("--list-presets takes no --nproc-per-node")
    try:
        if not args.resume:
            if not args.out:
                return _err("--out RUN_DIR is required (the folder the run is written to)")
            cfg = load_config(args.config) if args.config else load_preset(args.preset or DEFAULT_PRESET)
            if args.overrides:
                cfg = apply_overrides(cfg, list(args.overrides))
            nnodes = int(str(args.nnodes).split(":")[-1])
            dev = args.device or cfg.train.device
            import torch
            cuda = dev in ("cuda", "auto") and torch.cuda.is_available()
            check_config(cfg, args.nproc_per_node * nnodes, "cuda" if cuda else "cpu")
    except (ConfigError, DataError, ValueError) as e:
        return _err(str(e))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(args.nproc_per_node),
           "--nnodes", str(args.nnodes), "--node-rank", str(args.node_rank)]
    if args.rdzv_endpoint:
        cmd += ["--rdzv-backend", "c10d", "--rdzv-endpoint", args.rdzv_endpoint, "--rdzv-id", args.rdzv_id]
    elif str(args.nnodes) != "1":
        return _err("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (where the machines meet)")
    else:
        cmd += ["--standalone"]
    cmd += ["-m", ENTRY_MODULE, *_without_dist_flags(argv)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)  # this engine, whatever the working folder
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    # torchrun in a session of its own: a Ctrl+C here becomes a stop request in the run folder (the
    # run's own channel: every process stops at the same iteration and rank 0 writes a checkpoint);
    # a second one ends the job at once (SIGTERM, which torchrun passes on).
    kw = {"start_new_session": True} if os.name == "posix" else {}
    job = subprocess.Popen(cmd, env=env, **kw)
    folder = args.resume or args.out
    asked = False
    while True:
        try:
            return job.wait()
        except KeyboardInterrupt:
            if asked or not (Path(folder) / "status.json").exists():
                print("\naborting: the last checkpoint is intact", file=sys.stderr)
                job.send_signal(signal.SIGTERM)
                continue
            from .requests import write_request
            write_request(folder, "stop", by="wgan-train (Ctrl+C)")
            print("\nstopping after this iteration (Ctrl+C again to abort)...", file=sys.stderr)
            asked = True


def train_main(argv: list[str] | None = None, *, distributed: bool = False) -> int:
    """``wgan-train``. ``distributed``: this is one process of a torchrun job (engine.cli_dist)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _train_parser().parse_args(argv)
    if args.nproc_per_node is not None and not distributed:
        return _launch(args, argv)
    main = True
    if distributed:

        main = os.environ.get("RANK", "0") == "0"
        if not main:
            args.quiet = True
    if args.list_presets:
        presets = list_presets()
        width = max(map(len, presets))
        for name, desc in presets.items():
            default = " (default)" if name == DEFAULT_PRESET else ""
            print(f"{name:<{width}}  {desc}{default}")
        return 0
    try:
        if args.resume:
            if args.config or args.preset or args.out:
                return _err("--resume continues a run with its own configuration; only --iters, --device and "
                            "--set of the live parameters (" + ", ".join(f"{s}.{k}" for s, k in LIVE_KEYS.values())
                            + ") may be given with it")
            trainer = _continue(args, distributed, main)
            if isinstance(trainer, int):
                return trainer
        else:
            if not args.out:
                return _err("--out RUN_DIR is required (the folder the run is written to)")
            if args.config and args.preset:
                return _err("give either a CONFIG file or --preset, not both")
            cfg = load_config(args.config) if args.config else load_preset(args.preset or DEFAULT_PRESET)
            overrides = list(args.overrides)
            if args.iters is not None:
                overrides.append(f"train.iterations={args.iters}")
            if args.device is not None:
                overrides.append(f"train.device={args.device!r}".replace("'", '"'))
            if args.seed is not None:
                overrides.append(f"train.seed={args.seed}")
            if args.tensorboard:
                overrides.append("train.tensorboard=true")
            if overrides:
                cfg = apply_overrides(cfg, overrides)
            out = Path(args.out)
            if out.exists() and (not out.is_dir() or any(out.iterdir())):
                return _err(f"{out}: exists and is not an empty folder; choose a new --out "
                            f"(or continue it with --resume {out})")
            if distributed:
                import torch

                from .distributed import check_config, distributed_trainer, init_from_env
                dev = cfg.train.device
                cuda = dev in ("cuda", "auto") and torch.cuda.is_available()
                check_config(cfg, int(os.environ.get("WORLD_SIZE", "1")), "cuda" if cuda else "cpu")
                trainer = distributed_trainer(cfg, out, on_nonfinite="raise", dist_ctx=init_from_env(dev))
            else:
                trainer = Trainer(cfg, out, on_nonfinite="raise")
    except (ConfigError, DataError, CheckpointError) as e:
        return _err(str(e)) if main else EXIT_USAGE

    progress = None if args.quiet else Progress(trainer)
    if progress is not None:
        trainer.observers.append(progress)

    # Ctrl+C: stop at the next iteration boundary and write a checkpoint; twice: abort. Under
    # torchrun a Ctrl+C reaches each process twice (from the terminal, then passed on by torchrun):
    # a second one within 3 s is the same Ctrl+C.
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

    old = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
    try:
        summary = trainer.run()
    except TrainingError as e:
        if progress:
            progress.close()
        return _err(f"{e} (run folder: {trainer.run_dir.path})")
    except KeyboardInterrupt:
        if progress:
            progress.close()
        print(f"aborted; the last checkpoint in {trainer.run_dir.path / 'checkpoints'} is intact", file=sys.stderr)
        return 130
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    if progress:
        progress.close()
    ev = summary.get("last_eval") or {}
    extra = f", exact W1 {ev['w1_exact']:.4f}" if "w1_exact" in ev else ""
    if "modes_covered" in ev:
        extra += f", modes covered {ev['modes_covered']}"
    if "sliced_w" in ev:
        extra += f", sliced W {ev['sliced_w']:.4f}"
    if np.isfinite(ev.get("frechet_distance", np.nan)):
        extra += f", Fréchet distance {ev['frechet_distance']:.4g}"
    if "classes_hit" in ev:
        extra += f", digit classes hit {ev['classes_hit']}/10 (KL to uniform {ev['class_kl']:.3f})"
    if np.isfinite(ev.get("confident_share", np.nan)):
        extra += f", confidently classified {ev['confident_share']:.0%}"
    if not main:
        return 0
    state = "finished" if trainer.state == "finished" else "stopped"
    print(f"{state} at iteration {trainer.gen_iter} in {_fmt_time(summary['elapsed_s'])}{extra}; "
          f"run folder: {trainer.run_dir.path}", file=sys.stderr)
    corr = summary.get("w_estimate_vs_quality")
    if corr and trainer.config.objective.kind.startswith("wgan") and corr["spearman"] is not None:
        name = {"w1_exact": "exact W1", "sliced_w": "sliced W"}[corr["measure"]]
        print(f"W-estimate vs {name} over the {corr['evaluations']} evaluations: Spearman rank correlation "
              f"{corr['spearman']:.2f} (1 = they fall together)", file=sys.stderr)
    return 0


def _continue(args, distributed: bool, main: bool):
    """``--resume``: the trainer that continues the run (engine.continuation decides whether and
    how), or the exit status of a refusal."""
    from .continuation import continue_run, plan_continuation, resume_wanted
    from .runfolder import inspect_run, is_run_folder

    if not is_run_folder(args.resume):
        return _err(f"{args.resume}: not a run folder (no config.toml, metrics.csv, events.jsonl or checkpoint)")
    report = inspect_run(args.resume)
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.tensorboard:
        overrides.append("train.tensorboard=true")
    plan = plan_continuation(report, resume_wanted(report, iterations=args.iters, device=args.device,
                                                   overrides=overrides))
    if not plan.possible:
        return _err(plan.message) if main else EXIT_USAGE
    if distributed:
        from .distributed import init_from_env, resume_distributed
        ctx = init_from_env(plan.device or args.device or "auto")
        trainer = continue_run(plan, resume=lambda d, **kw: resume_distributed(d, dist_ctx=ctx, **kw),
                               on_nonfinite="raise", device=ctx.device)
    else:
        trainer = continue_run(plan, on_nonfinite="raise")
    if main and (not args.quiet or trainer.resumed_from.uses_fallback):
        print(trainer.resumed_from.describe(), file=sys.stderr)
    if main and getattr(trainer, "resume_note", None):
        print(trainer.resume_note, file=sys.stderr)
    return trainer


def _device(name):
    from .device import pick_device
    return pick_device(name)


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


# ============================================================================ wgan-sample

def _sample_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wgan-sample",
                                description="Draw samples from a checkpoint (or a run folder's latest).")
    p.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("-n", type=int, default=None,
                   help="number of samples (default 64); for a conditional run, samples per class (default 8)")
    p.add_argument("--label", action="append", default=[], metavar="K",
                   help="conditional runs: sample only class K (repeatable, or a list: --label 3,7 or 0-4); "
                        "default all classes, one row per class")
    p.add_argument("--out", required=True, help="FILE.png (grid or toy scatter) or FILE.npy (the array)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--nrow", type=int, help="images per row in a PNG grid (default: about sqrt(n))")
    p.add_argument("--size", type=int, default=512, help="width of a PNG in pixels (default 512; toy: square)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--raw", action="store_true",
                   help="runs with [model] ema_decay > 0: sample the weights the optimiser left instead of "
                        "their moving average (which the run's own samples and metrics show)")
    p.add_argument("--best", action="store_true",
                   help="sample the run folder's best checkpoint (checkpoints/best.pt: the evaluation with the "
                        "lowest exact W1 on 2-D sets, Fréchet distance on images) instead of its latest")
    return p


def sample_main(argv: list[str] | None = None) -> int:
    from .export import sample_checkpoint, write_grid
    from .inference import parse_classes

    args = _sample_parser().parse_args(argv)
    n_given = args.n is not None
    args.n = 64 if args.n is None else args.n
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npy"):
        return _err(f"--out {out}: the file must end in .png or .npy")
    if not 1 <= args.n <= 1_000_000:
        return _err(f"-n {args.n}: must be between 1 and 1000000")
    if args.nrow is not None and args.nrow < 1:
        return _err(f"--nrow {args.nrow}: must be at least 1")
    if not 16 <= args.size <= 8192:
        return _err(f"--size {args.size}: must be between 16 and 8192")
    if out.exists() and not args.force:
        return _err(f"{out}: exists; use --force to overwrite")
    if not out.parent.is_dir():
        return _err(f"{out.parent}: no such folder")
    if args.best:
        from .rundir import RunDir
        src = Path(args.source)
        if not src.is_dir():
            return _err(f"--best {src}: give a run folder (--best samples its checkpoints/best.pt)")
        best = RunDir(src).best_checkpoint
        if not best.is_file():
            return _err(f"{src}: no checkpoints/best.pt yet: it is written at the first evaluation "
                        "([train] eval_every) that gives a finite quality measure")
        args.source = str(best)
    try:
        num_classes = int(load_checkpoint(args.source).get("num_classes", 0) or 0)
        classes = parse_classes(args.label, num_classes)
    except CheckpointError as e:
        return _err(str(e))
    except ValueError as e:
        return _err(f"--label {','.join(args.label)}: {e}")
    per_class = None
    if num_classes:
        classes = classes if classes is not None else list(range(num_classes))
        per_class = args.n if n_given else 8
        args.n = per_class * len(classes)
        if args.n > 1_000_000:
            return _err(f"-n {per_class} per class x {len(classes)} classes: more than 1000000 samples")
    try:
        res = sample_checkpoint(args.source, per_class or args.n, args.seed, classes, raw=args.raw)
    except (CheckpointError, ConfigError, DataError) as e:
        return _err(str(e))
    x = res["samples"]
    try:
        if out.suffix.lower() == ".npy":
            from .io import atomic_open
            with atomic_open(out, "wb") as fh:
                np.save(fh, x)
        else:
            write_grid(out, x, config=res["config"], gen_iter=res["gen_iter"], seed=args.seed,
                       nrow=args.nrow or int(np.ceil(np.sqrt(args.n))), size=args.size, source=str(res["path"]),
                       toy_payload=res["toy_payload"], classes=res["classes"], averaged=res["averaged"])
    except OSError as e:
        return _err(f"{out}: cannot write ({e.strerror or e}); nothing was written")
    what = f"{args.n} samples" if not per_class else \
        f"{args.n} samples ({per_class} per class, one row per class: {', '.join(map(str, classes))})"
    print(f"wrote {what} from iteration {res['gen_iter']} to {out}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- wgan-distance
def _theta_list(text: str) -> list[float]:
    """``-2:2:17`` (start:stop:count) or ``0.5,1,2``."""
    from .distance import even_thetas
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


def _distance_parser() -> argparse.ArgumentParser:
    from .distance import OBJECTIVES, LabSettings
    d = LabSettings()
    p = argparse.ArgumentParser(
        prog="wgan-distance",
        description="Example 1 of the WGAN paper: train a critic between P_0 and P_theta (two parallel "
                    "segments) and report its estimate beside the closed forms W = |theta|, JS = log 2, "
                    "KL = inf, TV = 1.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--theta", type=float, default=1.0, help="offset of the second segment (default 1)")
    what.add_argument("--sweep", type=_theta_list, nargs="?", const=_theta_list("-2:2:17"), metavar="THETAS",
                      help="estimate at many thetas: START:STOP:COUNT or a comma list (default -2:2:17; "
                           "write a negative start as --sweep=-1:1:5)")
    p.add_argument("--objective", choices=OBJECTIVES, default=d.objective, help="critic objective (default wgan-gp)")
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
    import json

    from . import distance as lab

    args = _distance_parser().parse_args(argv)
    try:
        settings = lab.LabSettings(objective=args.objective, steps=args.steps, batch=args.batch, hidden=args.hidden,
                                   lr=args.lr, gp_lambda=args.gp_lambda, clip_value=args.clip_value,
                                   seed=args.seed)
        device = _device(args.device)
    except (ValueError, ConfigError) as e:
        return _err(str(e))
    if args.out is not None and args.out.suffix.lower() not in (".csv", ".json"):
        return _err(f"--out {args.out}: allowed suffixes are .csv and .json")
    thetas = args.sweep if args.sweep is not None else [args.theta]
    tty = bool(getattr(sys.stderr, "isatty", lambda: False)())

    def progress(p):
        k, total, el = p["done_steps"], p["total_steps"], p["elapsed_s"]
        eta = el / k * (total - k) if k else float("nan")
        line = (f"theta {p['theta']:+.3f} ({p['index'] + 1}/{p['count']})  critic step {p['step']}/{p['steps']}  "
                f"W-est {p['w_running']:.4f}  elapsed {_fmt_time(el)}  ETA {_fmt_time(eta)}")
        if tty:
            print("\r" + line.ljust(100), end="", file=sys.stderr, flush=True)
        elif p["step"] == p["steps"]:
            print(line, file=sys.stderr, flush=True)

    def on_result(r):
        if tty:
            print("\r" + " " * 100 + "\r", end="", file=sys.stderr, flush=True)

    try:
        results = lab.run_plan(thetas, [settings], device=device, on_result=on_result, on_progress=progress)
    except KeyboardInterrupt:
        return _err("interrupted")
    rows = [{k: r[k] for k in lab.CSV_KEYS if k in r} for r in results]
    if args.json:
        print(json.dumps(rows[0] if args.sweep is None else rows, indent=None if args.sweep is None else 1))
    else:
        name = {"gan": "JS estimate"}.get(args.objective, "W estimate")
        print(f"{'theta':>7}  {name:>12}  {'d/dtheta':>9}  {'W=|theta|':>9}  {'JS':>7}  {'KL':>5}  {'TV':>4}")
        for r in rows:
            print(f"{r['theta']:7.3f}  {r['estimate']:12.4f}  {r['grad_theta']:9.4f}  {r['w_exact']:9.4f}  "
                  f"{r['js']:7.4f}  {r['kl']:5.3g}  {r['tv']:4.3g}")
        if len(rows) > 1 and args.objective != "gan":
            meaning = "1 = the exact W" if args.objective == "wgan-gp" else "K, the clipped critic's Lipschitz constant"
            print(f"slope of the estimate against |theta|: {lab.fit_slope(rows):.4f} ({meaning})")
    if args.out is not None:
        from .io import atomic_open
        try:
            with atomic_open(args.out, "w") as fh:
                if args.out.suffix.lower() == ".json":
                    json.dump(rows, fh, indent=1)
                else:
                    fh.write(lab.results_csv(rows))
        except OSError as e:
            return _err(f"{args.out}: cannot write ({e.strerror or e}); nothing was written")
        print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- wgan-export
def _export_parser() -> argparse.ArgumentParser:
    from .generator_export import FORMATS
    p = argparse.ArgumentParser(
        prog="wgan-export",
        description="Write a trained generator as one file that plain PyTorch loads (no WGAN Studio needed): "
                    "g(z) (conditional runs: g(z, y)) returns samples in data space.")
    p.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="torchscript (torch.jit.load), exported-program (torch.export.load) or onnx (any ONNX "
                        "runtime; writing it needs pip install 'wgan-studio[onnx]')")
    p.add_argument("--out", required=True, type=Path, help="the file to write (.pt, .pt2, .onnx)")
    p.add_argument("--raw", action="store_true",
                   help="runs with [model] ema_decay > 0: export the weights the optimiser left instead of "
                        "their moving average")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return p


def export_main(argv: list[str] | None = None) -> int:
    from .generator_export import export_generator
    from .inference import load_model

    args = _export_parser().parse_args(argv)
    out: Path = args.out
    if out.exists() and not args.force:
        return _err(f"{out}: exists; use --force to overwrite")
    if not out.parent.is_dir():
        return _err(f"{out.parent}: no such folder")
    try:
        model = load_model(args.source, raw=args.raw)
    except CheckpointError as e:
        return _err(str(e))
    try:
        meta = export_generator(model, out, args.format)
    except OSError as e:
        return _err(f"{out}: cannot write ({e.strerror or e}); nothing was written")
    except RuntimeError as e:  # a missing optional package
        return _err(str(e))
    ins = ", ".join(f"{k} {v['shape']}" for k, v in meta["inputs"].items())
    print(f"wrote {args.format} generator of iteration {model.gen_iter} ({meta['weights']} weights) to {out}: "
          f"{ins} -> {meta['output']['shape']}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- wgan-ctl
def _ctl_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wgan-ctl",
        description="Steer a run through its folder, wherever it trains: the trainer applies the request at its "
                    "next iteration (or refuses it) and records the outcome in events.jsonl. Whoever can write to "
                    "a run folder can steer its run.")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("action", choices=("pause", "resume", "step", "stop", "set", "status"))
    p.add_argument("arg", nargs="?", metavar="KEY=VALUE | N",
                   help="set: a live parameter (clip_value, lr_critic, lr_generator, n_critic, gp_lambda); "
                        "step: how many iterations (default 1)")
    p.add_argument("--wait", type=float, default=30.0, metavar="S",
                   help="wait up to S seconds for the outcome and print it (default 30; 0: do not wait)")
    return p


def ctl_main(argv: list[str] | None = None) -> int:
    import time as _time

    from .follow import RunFollower, describe_state
    from .requests import write_request

    args = _ctl_parser().parse_args(argv)
    run = Path(args.run)
    if not (run / "config.toml").is_file() and not (run / "events.jsonl").is_file():
        return _err(f"{run}: not a run folder (no config.toml or events.jsonl)")
    follower = RunFollower(run)
    up = follower.poll()
    if args.action == "status":
        st = follower.status or {}
        print(f"{run}: {describe_state(up.state, up.silent_s)}; iteration {st.get('gen_iter', '?')} of "
              f"{st.get('total', '?')}" + (f", {st['its_per_sec']:.2f} it/s" if st.get("its_per_sec") else ""))
        return 0
    fields: dict = {}
    try:
        if args.action == "set":
            if not args.arg or "=" not in args.arg:
                return _err("set needs KEY=VALUE, e.g. set lr_critic=2e-4")
            key, _, text = args.arg.partition("=")
            _, value = parse_override(f"x.{key.strip()}={text}")
            fields = {"key": key.strip(), "value": value}
        elif args.action == "step":
            fields = {"n": int(args.arg) if args.arg else 1}
        elif args.arg:
            return _err(f"{args.action} takes no argument")
        req = write_request(run, args.action, by="wgan-ctl", **fields)
    except ValueError as e:  # ConfigError included: the key, the value and what is allowed
        return _err(str(e))
    print(f"requested: {args.action} {args.arg or ''}".rstrip() + f" (request {req['id']})", file=sys.stderr)
    if up.state in ("finished", "stopped", "failed", "not responding"):
        print(f"note: the run is {describe_state(up.state, up.silent_s)}; the request waits for it to be continued",
              file=sys.stderr)
        return 0
    deadline = _time.monotonic() + args.wait
    while _time.monotonic() < deadline:
        for ev in follower.poll().events:
            if ev.get("type") == "request" and ev.get("id") == req["id"]:
                if ev.get("outcome") == "applied":
                    print(f"applied at iteration {ev.get('gen_iter')}")
                    return 0
                print(f"refused: {ev.get('reason')}")
                return 1
        _time.sleep(0.1)
    if args.wait > 0:
        print(f"no answer within {args.wait:g} s; the request stays in {run / 'requests'} for the trainer",
              file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(train_main())

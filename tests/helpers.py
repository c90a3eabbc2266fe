"""What the engine's and the studio's tests share: a tiny configuration, a wait on a condition,
and clocks that tests control.

Nothing here asserts a wall time: a loaded or slow machine only makes the waits longer, and the
timeouts are generous upper bounds, not expectations."""

from __future__ import annotations

import itertools
import time

import torch

from engine import Config, load_preset

LIVE_ITERATIONS = 100_000  # "until stopped": runs the test stops itself

# A run that diverges the way users' runs do: f-GAN's KL conjugate exp(t - 1) overflows float32 once
# the critic's output passes about 89. It trains calmly at its preset learning rates (tiny_config's
# overrides ``DIVERGING``) and its losses turn non-finite within an iteration or two of ``EXPLODE``,
# the largest learning rates a user may set (Nowozin et al. note the KL objective's instability).
DIVERGING = {"objective__kind": "f-gan", "objective__divergence": "kl"}
EXPLODE = {"lr_critic": 1.0, "lr_generator": 1.0}


def tiny_config(preset: str = "toy-wgan-gp", *, live: bool = False, **overrides) -> Config:
    """A preset shrunk to train in milliseconds per iteration on 2 shared CPU cores.

    By default 20 iterations with a checkpoint, samples and an evaluation every 10. With
    ``live=True`` (the studio's tests) the run goes on until the test stops it and does no
    periodic work. ``overrides`` are ``section__key=value``, applied last."""
    cfg = load_preset(preset)
    cfg.model.hidden = 32
    cfg.model.layers = 2
    cfg.model.features = 8
    cfg.model.z_dim = min(cfg.model.z_dim, 16)
    cfg.train.batch_size = 32
    cfg.train.sample_count = 16
    cfg.train.device = "cpu"
    # A fixed thread count: runs compared bit for bit must not meet a thread-count trial of the
    # automatic setting (tests/test_threads.py and one trainer test cover that one).
    cfg.train.threads = torch.get_num_threads()
    if live:
        cfg.train.iterations = LIVE_ITERATIONS
        cfg.train.checkpoint_every = cfg.train.sample_every = cfg.train.eval_every = 0
    else:
        cfg.train.iterations = 20
        cfg.train.checkpoint_every = cfg.train.sample_every = cfg.train.eval_every = 10
    for dotted, value in overrides.items():
        sec, key = dotted.split("__", 1)
        setattr(getattr(cfg, sec), key, value)
    return cfg


def wait_until(cond, timeout: float = 60.0, *, qtbot=None, proc=None, what: str = "") -> None:
    """Wait until ``cond()`` is true; fail after ``timeout`` seconds (an upper bound for a slow,
    loaded machine, never an expectation).

    ``qtbot``: keep Qt's event loop running meanwhile (GUI tests). ``proc``: a subprocess that must
    stay alive while we wait; its exit fails at once with its stderr."""
    if qtbot is not None:
        qtbot.waitUntil(cond, timeout=int(timeout * 1000))
        return
    end = time.monotonic() + timeout
    for_what = f" for {what}" if what else ""
    while not cond():
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr is not None else ""
            raise AssertionError(f"the process exited (code {proc.returncode}) while waiting{for_what}: {err}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting{for_what}")
        time.sleep(0.005)


def start_wgan_train(out, *extra: str):
    """``wgan-train`` in a process of its own, on a tiny toy run that goes on until stopped,
    writing the run folder ``out`` (extra arguments go last, e.g. ``--set`` overrides)."""
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "wgan-train"
    return subprocess.Popen([str(exe), "--preset", "toy-wgan-gp", "--out", str(out), "--iters", "100000", "--quiet",
                             "--set", "model.hidden=16", "--set", "train.batch_size=16", "--set", "train.eval_every=0",
                             "--set", "train.sample_every=0", "--set", "train.checkpoint_every=50", "--device", "cpu",
                             *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def train_tiny_digits(out, preset: str, sample_count: int) -> int:
    """``wgan-train`` in this process: 2 iterations of the digits preset ``preset`` with 4-feature
    networks and no evaluation, writing the run folder ``out``; returns its exit code."""
    from engine.cli import train_main

    return train_main(["--preset", preset, "--out", str(out), "--iters", "2", "--quiet",
                       "--set", "model.features=4", "--set", "train.batch_size=8", "--set", "train.eval_every=0",
                       "--set", f"train.sample_count={sample_count}"])


class ManualClock:
    """A clock that moves only when the test says so (``advance``), from an arbitrary start: code
    must never assume a clock starts at 0 (``time.monotonic()`` counts from boot)."""

    def __init__(self, start: float = 12_345.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TickingClock:
    """A clock that moves by ``step`` seconds at every reading: each timed piece of work takes
    exactly ``step`` per reading, however busy the machine. Safe to read from several threads."""

    def __init__(self, step: float, start: float = 12_345.0):
        self.step, self.start = step, start
        self._n = itertools.count()

    def __call__(self) -> float:
        return self.start + next(self._n) * self.step


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux: read from /proc)."""
    from pathlib import Path

    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def rank_of(pid: int) -> int | None:
    """The RANK a torchrun worker was started with (Linux: its environment in /proc)."""
    from pathlib import Path

    try:
        env = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for kv in env:
        if kv.startswith(b"RANK="):
            return int(kv[5:])
    return None

"""How many processes train a run, and what that changes: the trainer's strategy.

A :class:`~engine.trainer.Trainer` is given a strategy (``Trainer(..., strategy=...)``) and asks
it at the few points where training in several processes differs from training in one
(:class:`Strategy` lists them). The default, :class:`SingleProcess`, changes nothing. The other
one is :class:`engine.distributed.DataParallel`: DDP around the step's networks, rank 0 writing the
folder, report-time reduction of the metrics, requests broadcast at each boundary, every rank's
RNG in checkpoints, rank 0 choosing the resume checkpoint, the machine's cores shared out. One
strategy serves one trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import torch

from .config import Config
from .run_report import ResumePoint, prepare_resume
from .rundir import RunDir


class Strategy(Protocol):
    """What a trainer asks its strategy (called on the training thread unless said otherwise)."""

    leads: bool                    # this process writes the folder, evaluates, samples, beats the heart
    device: torch.device | None    # the device this process trains on (None: the configuration's)
    wakes_while_paused: bool       # a paused loop comes back to the boundary every POLL_S without a channel
    resume_note: str | None        # how the run continued from its checkpoint, when the user should know

    def check(self, config: Config) -> list[str]:
        """Refuse (ConfigError) what it cannot train, return warnings; before anything is built."""

    def folder(self, path: str | Path | None) -> RunDir | None:
        """The run folder as this process sees it."""

    def choose_resume(self, run_dir: str | Path) -> ResumePoint:
        """The checkpoint a resumed run continues from."""

    def attach(self, trainer) -> None:
        """Adapt the built run (the training step, the data, the recorder); once, at the end of
        the trainer's construction."""

    def request_target(self, control):
        """Where the trainer's thread-safe requests go (pause, resume, stop, request_step,
        request_samples, request_edit); any thread."""

    def serve(self, channel) -> None:
        """At every boundary and while paused: take the requests (``channel``: the folder's, or None)."""

    def report_rule(self, trainer) -> Callable[[], bool]:
        """The function the step asks whether to report at this iteration."""

    def thread_share(self) -> int | None:
        """The CPU thread count this process takes instead of tuning one, or None."""

    def before_checkpoint(self, trainer) -> None:
        """Before every checkpoint, in every process (whether it writes or not)."""

    def checkpoint_state(self, gen_iter: int) -> dict:
        """A checkpoint's keys besides the one-process state."""

    def load_state(self, trainer, state: dict) -> None:
        """After the one-process state of a checkpoint is restored: restore the strategy's own."""

    def on_start(self, trainer) -> None:
        """When the run (or a resumed part of it) starts."""


class SingleProcess:
    """One process trains the run (the default strategy): it writes the folder and takes the
    requests itself."""

    leads = True
    device: torch.device | None = None
    wakes_while_paused = False
    resume_note: str | None = None

    def check(self, config: Config) -> list[str]:
        return []

    def folder(self, path: str | Path | None) -> RunDir | None:
        return RunDir(path) if path is not None else None

    def choose_resume(self, run_dir: str | Path) -> ResumePoint:
        """:func:`engine.run_report.prepare_resume` (latest.pt, or the newest numbered checkpoint
        that loads when latest.pt is damaged)."""
        return prepare_resume(run_dir)

    def attach(self, trainer) -> None:
        pass

    def request_target(self, control):
        return control

    def serve(self, channel) -> None:
        if channel is not None:
            channel.serve()

    def report_rule(self, trainer) -> Callable[[], bool]:
        return trainer.report_time

    def thread_share(self) -> int | None:
        return None

    def before_checkpoint(self, trainer) -> None:
        pass

    def checkpoint_state(self, gen_iter: int) -> dict:
        return {}

    def load_state(self, trainer, state: dict) -> None:
        pass

    def on_start(self, trainer) -> None:
        pass

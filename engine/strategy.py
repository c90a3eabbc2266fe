"""How many processes train a run, and what that changes: the trainer's strategy.

A :class:`~engine.trainer.Trainer` is given a strategy (``Trainer(..., strategy=...)``); it asks
it at the few points where training in several processes differs from training in one. The
default, :class:`SingleProcess`, changes nothing. The data-parallel strategy
(:class:`engine.distributed.DataParallel`) is the other one: DDP around the step's networks, rank 0
writing the folder, report-time reduction of the metrics, requests broadcast at the boundary,
every rank's RNG in checkpoints.

The interface (every method is called by the trainer; one strategy serves one trainer):

- ``leads``: this process writes the run folder, evaluates, makes samples and beats the heart.
- ``device``: the device this process trains on (None: the configuration's).
- ``wakes_while_paused``: a paused loop comes back to the boundary every ``POLL_S`` even without a
  request channel (to hear the other processes).
- ``resume_note``: how the run continued from its checkpoint, when the user should know (or None).
- ``check(config)``: refuses what it cannot train (ConfigError), returns warnings; before building.
- ``folder(path)``: the run folder as this process sees it (a :class:`~engine.rundir.RunDir`, or None).
- ``choose_resume(run_dir)``: the checkpoint a resumed run continues from (a ResumePoint).
- ``attach(trainer)``: adapt the built run (the training step, the data, the recorder).
- ``request_target(control)``: where the thread-safe requests (pause, stop, edits...) go.
- ``serve(channel)``: at every boundary and while paused: take the requests (``channel`` may be None).
- ``report_rule(trainer)``: the function the step asks whether to report now.
- ``thread_share()``: the CPU thread count this process takes instead of tuning one (or None).
- ``before_checkpoint(trainer)``, ``checkpoint_state(gen_iter)``, ``load_state(trainer, state)``:
  what a checkpoint holds besides the one-process state, and restoring it.
- ``on_start(trainer)``: when the run (or a resumed part of it) starts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from .config import Config
from .rundir import RunDir
from .runfolder import ResumePoint, prepare_resume


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
        """:func:`engine.runfolder.prepare_resume` (latest.pt, or the newest numbered checkpoint
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

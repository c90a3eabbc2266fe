"""The window's run control: starting (or continuing) a run, starting a job of N processes,
pausing, stepping, stopping and steering the current run, answering a NaN rollback, and
stopping every run the studio owns when the window closes.

:class:`RunController` only decides what the runs are told: every run lives in the model
(:class:`studio.run_model.RunModel`, its :class:`studio.runs.Runs`), which the panels redraw
from. One run trained by this studio at a time; runs followed (another process's) do not count.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine import Config, ConfigError, RunDir
from engine import export as ex
from engine.continuation import Continuation, plan_continuation
from engine.status import RunState
from engine.text import format_duration
from studio import dialogs
from studio.panels.banner import lowered
from studio.panels.config_panel import ConfigPanel
from studio.run_model import RunModel
from studio.runs import OPENED, Run
from studio.sources import LocalSource, ProcessSource
from studio.window_services import WindowServices
from studio.worker import TrainingWorker

log = logging.getLogger(__name__)


def plan_for(run: Run, cfg: Config | None) -> Continuation | None:
    """Whether Start continues ``run`` with the form's configuration ``cfg`` (engine.continuation's
    one rule): only an opened run folder can be continued; None for any other run."""
    if run.kind != OPENED or run.report is None or cfg is None or run.active:
        return None
    return plan_continuation(run.report, cfg)


class RunController(QObject):
    """``run_finished(state)``: a run of the model ended (its final state)."""

    run_finished = Signal(str)

    def __init__(self, model: RunModel, form: ConfigPanel, services: WindowServices, *, run_name: Callable[[], str],
                 choose_nproc: Callable[[], int], show_edit_error: Callable[[str], None],
                 live_samples_s: float = 1.0, parent: QObject | None = None):
        super().__init__(parent)
        self.model, self.form, self.ui = model, form, services
        self.run_name = run_name              # the next run's folder name (after the preset or file)
        self.choose_nproc = choose_nproc      # Start with N local processes: how many (0: cancelled)
        self.show_edit_error = show_edit_error
        self.live_samples_s = live_samples_s
        self.error_box = None
        self.close_timeout_s = 120.0          # then ask whether to keep waiting for a run to stop
        # The temporary folders of multi-process jobs (their config and torchrun's output), by run
        # folder: removed when the job ends well, or when the window closes (issue 35 point 17).
        self.job_folders: dict[Path, Path] = {}
        model.runs.listen(self._on_runs)

    # ------------------------------------------------------------------ the plan of the form
    def refresh_plan(self) -> None:
        """The current run's continuation plan for what the form holds now."""
        run = self.model.current
        run.continuation = plan_for(run, self.form.config())

    # ------------------------------------------------------------------ starting
    def refuse_start(self) -> str | None:
        """Why Start does nothing now (None: it starts)."""
        busy = self.model.runs.training_here()
        if busy is not None:
            return f"{busy.name} is training: one run at a time (stop it first)"
        if self.model.is_active():
            return "this run is in progress"
        if self.form.config() is None:
            return self.form.error
        return None

    def start(self) -> bool:
        why = self.refuse_start()
        if why is not None:
            self.ui.message(f"Cannot start: {why}", 8000)
            if self.form.config() is None and self.form.error_key:
                self.form.focus_field(self.form.error_key)
            return False
        cfg = self.form.config()
        run = self.model.current
        plan = plan_for(run, cfg)
        if plan is not None and plan.possible:
            # The rows past the checkpoint are not part of the continued run (the engine drops
            # them from metrics.csv too).
            run.keep_until(plan.from_iter)
            worker = TrainingWorker(plan=plan, live_samples_s=self.live_samples_s)
            self.model.start(LocalSource(worker), cfg, run.key, continued=True)
            self.model.add_note(f"— {plan.message}")
        else:
            path = self.new_run_dir()
            worker = TrainingWorker(cfg, path, live_samples_s=self.live_samples_s)
            self.model.start(LocalSource(worker), cfg, path)
            self.model.add_note(f"— new run {path.name}")
        return True

    def new_run_dir(self) -> Path:
        return ex.unique_path(self.ui.settings.runs_dir, f"{time.strftime('%Y%m%d-%H%M%S')}-{self.run_name()}", "")

    def start_processes(self, n: int | None = None) -> bool:
        """Run > Start with N local processes: the configuration as a new run trained by ``n``
        processes (``wgan-train --nproc-per-node n``, a child process: torchrun and its ranks),
        shown by following its run folder (:class:`studio.sources.ProcessSource`) with the same
        controls. ``n`` None: ask."""
        why = self.refuse_start()
        if why is not None:
            self.ui.message(f"Cannot start: {why}", 8000)
            return False
        import sys
        if getattr(sys, "frozen", False):
            self.ui.warn("Cannot start local processes", "The packaged studio has no Python interpreter to start "
                         "torchrun with: start the job from a terminal (wgan-train CONFIG --out RUN --nproc-per-node "
                         "N) and open its run folder here (File > Open run folder).")
            return False
        n = n if n is not None else self.choose_nproc()
        cfg = self.form.config()
        if not n or not self._check_processes(cfg, n):
            return False
        import tempfile

        from engine.config import save_config

        path = self.new_run_dir()
        job = Path(tempfile.mkdtemp(prefix="wgan-job-"))
        save_config(cfg, job / "config.toml")
        self.job_folders[path] = job
        self.model.start(ProcessSource(path, job / "config.toml", n, log_path=job / "job.log"), cfg, path)
        self.model.add_note(f"— new run {path.name} with {n} local processes (torchrun); shown by following its "
                            f"folder (the job's own output: {job / 'job.log'})")
        self.ui.remember(path)
        return True

    def _check_processes(self, cfg: Config, n: int) -> bool:
        import torch

        from engine.distributed import check_config, platform_refusal

        if (refusal := platform_refusal()) is not None:
            self.ui.warn(f"Cannot start {n} processes", refusal[0].upper() + refusal[1:] + ".")
            return False
        cuda = cfg.train.device in ("cuda", "auto") and torch.cuda.is_available()
        try:
            check_config(cfg, n, "cuda" if cuda else "cpu")
        except ConfigError as e:
            self.ui.warn(f"Cannot start {n} processes", str(e))
            return False
        return True

    # ------------------------------------------------------------------ controlling the current run
    def _controls(self):
        """The current run's source when it is in progress and can be steered, else None."""
        run = self.model.current
        return run.source if run.active and getattr(run.source, "can_steer", False) else None

    def toggle_pause(self) -> None:
        source, state = self._controls(), self.model.state
        if source is None:
            return
        if state == RunState.PAUSED:
            source.resume()
        elif state in (RunState.RUNNING, RunState.STARTING):
            source.pause()

    def step(self) -> None:
        source = self._controls()
        if source is not None and self.model.state == RunState.PAUSED:
            source.step(1)

    def stop(self) -> None:
        run = self.model.current
        if run.active and run.source is not None:
            run.source.stop()
            run.set_state(RunState.STOPPING)

    def request_edit(self, key: str, value) -> bool:
        source = self._controls()
        if source is None:
            return False
        try:
            source.request_edit(**{key: value})
        except (ConfigError, RuntimeError) as e:
            self.show_edit_error(str(e))
            return False
        return True

    # ------------------------------------------------------------------ NaN / Inf
    def lower_lrs_and_resume(self) -> bool:
        """The banner's first choice: α_D and α_G × 0.1 as live edits (logged in events.jsonl and
        marked on the plots like any Steer edit), then resume."""
        run = self.model.current
        if self._controls() is None:
            return False
        for key in ("lr_critic", "lr_generator"):
            if not self.request_edit(key, lowered(float(run.live_values[key]))):
                return False
        run.dismiss_rollback()
        run.source.resume()
        return True

    def resume_after_rollback(self) -> bool:
        run = self.model.current
        if self._controls() is None:
            return False
        run.dismiss_rollback()
        run.source.resume()
        return True

    # ------------------------------------------------------------------ what the runs show
    def sync_live_view(self, samples_shown: bool, arrows: bool) -> None:
        """Tell the runs in progress what the window shows: live pictures cost training time (a
        critic field on the training thread), so only the current run makes them, none while the
        Samples tab is hidden or the window is minimised, and the gradient arrows only while their
        box is ticked."""
        current = self.model.current
        for run in self.model.runs.active():
            if run.source is not None:
                run.source.set_live_view(samples_shown and run is current, arrows and run is current)

    # ------------------------------------------------------------------ what the runs report
    def _on_runs(self, run: Run | None, change: str, *args) -> None:
        if change == "ready" and run.key is not None and run.location is None:
            self.ui.remember(run.key)  # File > Open recent finds the run to continue it later
        elif change == "failed":
            self._on_failed(run, *args)
        elif change == "ended":
            self.release_job_folder(run)
            self.run_finished.emit(str(run.state))

    def release_job_folder(self, run: Run) -> None:
        """A local job's temporary folder (its config and job.log) goes once the job has ended
        cleanly; a failed job's, or one still running, stays to be read (its log says why)."""
        job = self.job_folders.get(run.key) if run.key is not None else None
        if job is None:
            return
        source = run.source
        if run.state == RunState.FAILED or (isinstance(source, ProcessSource) and not source.ended_cleanly):
            log.error("%s: the job did not end cleanly; its output stays in %s", run.name, job)
            return
        del self.job_folders[run.key]
        shutil.rmtree(job, ignore_errors=True)

    def _on_failed(self, run: Run, message: str, details: str) -> None:
        """A run's exception: say what happened, keep the window usable (the engine has already
        recorded the error and kept the last checkpoint)."""
        ckpt = RunDir(run.key).latest_checkpoint if run.key is not None else None
        self.error_box = dialogs.error_box(self.ui.parent, message, details,
                                           ckpt if ckpt is not None and ckpt.is_file() else None)
        run.add_note(f"error: {message}")

    # ------------------------------------------------------------------ closing
    def runs_to_stop(self) -> list[Run]:
        """The runs in progress that this studio owns (closing stops them)."""
        return [r for r in self.model.runs.active() if r.owns]

    def stop_everything(self, pump, no_confirm: bool) -> None:
        """Stop every run the studio owns (each finishes its iteration and writes its checkpoint,
        and a checkpoint being written is finished: the thread is never cut short), while
        ``pump()`` keeps the window painting; stop following the others (they go on in their own
        process)."""
        owned = self.runs_to_stop()
        for run in owned:
            run.set_state(RunState.STOPPING)
        for run in owned:
            self._wait_for(run, pump, no_confirm)
        for run in self.model.runs.active():
            if not run.owns and run.source is not None:
                run.source.stop_and_wait(5.0)
        for key in list(self.job_folders):
            if (run := self.model.runs.find(key)) is not None:
                self.release_job_folder(run)
            else:  # no run shows it any more: nobody will read it
                shutil.rmtree(self.job_folders.pop(key), ignore_errors=True)

    def _wait_for(self, run: Run, pump, no_confirm: bool) -> None:
        waited = self.close_timeout_s
        ok = run.source.stop_and_wait(self.close_timeout_s, pump)
        # A slow disk (a big checkpoint on a network drive): the user decides how long to wait.
        while not ok and not no_confirm and self.ui.ask(
                "Still writing the checkpoint?",
                f"{run.name} has not stopped after {format_duration(waited)}: it is probably still writing its "
                "checkpoint. Keep waiting?\n\nNo quits anyway; the last complete checkpoint is kept "
                "(checkpoints are written to a temporary file and renamed when complete)."):
            ok = run.source.stop_and_wait(self.close_timeout_s, pump)
            waited += self.close_timeout_s
        if not ok:
            log.error("%s did not stop within %.0f s", run.name, waited)

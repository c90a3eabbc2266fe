"""Run control of the main window: loading a configuration, opening a run folder, starting,
continuing, pausing, stepping, stopping and steering a run, and the NaN / Inf rollback.

Every change of run goes through the window's :class:`studio.run_model.RunModel` (``self.model``),
which the panels redraw from; this mixin only decides what the model is told. It expects the
window's widgets (config_panel, banner, preset_combo, tabs, samples) and helpers (_warn,
_remember, _run_task, _update_actions).
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent

from engine import Config, ConfigError, RunDir, load_config, load_preset
from engine import export as ex
from engine.data import DataError
from engine.data.points import load_points
from engine.follow import is_live
from engine.runfolder import RunReport, inspect_run, is_run_folder, use_as_latest
from studio import dialogs
from studio.panels.banner import QUANTITIES, lowered
from studio.run_model import RunModel
from studio.sources import FolderSource, LocalSource, ProcessSource, png_payload
from studio.worker import TrainingWorker

log = logging.getLogger(__name__)

FINAL_STATE = {"finish": "finished", "stop": "stopped", "error": "failed"}


class RunControl:
    """Mixed into :class:`studio.main_window.MainWindow`."""

    model: RunModel

    def _init_run_control(self) -> None:
        self.run_report: RunReport | None = None     # what open_run could read of the opened run
        self._opened_config: dict = {}
        self._nonfinite_values: dict | None = None    # the first non-finite statistics seen (banner)
        m = self.model
        m.run_changed.connect(self._on_run_changed)
        m.metrics_appended.connect(self._watch_nonfinite)
        m.event_added.connect(self._on_event)
        m.state_changed.connect(self._on_state_changed)
        m.ready.connect(self._on_ready)
        m.failed.connect(self._on_failed)
        m.ended.connect(self._on_ended)

    # ------------------------------------------------------------------ what the model holds
    @property
    def run_state(self) -> str:
        return self.model.state

    @property
    def run_path(self) -> Path | None:
        return self.model.path

    @property
    def opened_run(self) -> Path | None:
        return self.model.path if self.model.opened else None

    @property
    def trainer(self):
        return self.model.trainer

    @property
    def worker(self):
        return self.model.worker

    def is_active(self) -> bool:
        """True from Start until the window has handled the end of the run (the thread's
        ``finished``, queued after every signal the run sent), so the state shown is final."""
        return self.model.is_active()

    def _on_state_changed(self, _state: str) -> None:
        self._update_actions()
        self._update_status()

    def _on_run_changed(self) -> None:
        self._nonfinite_values = None
        if not self.model.opened:
            self.run_report = None
        self._sync_live_view()
        self._update_actions()

    # ------------------------------------------------------------------ configurations
    def load_preset(self, name: str) -> bool:
        if self.is_active() or not self._show_config(name, None, load_preset, "Cannot load preset"):
            return False
        self.settings.last_preset = name
        return True

    def open_config(self, path: str | Path) -> bool:
        if self._refuse_while_active():
            return False
        path = Path(path)
        if not self._show_config(None, path, load_config, "Cannot open configuration"):
            return False
        self._remember(path)
        return True

    def _show_config(self, preset: str | None, path: Path | None, load, title: str) -> bool:
        """Load preset ``preset`` or the file ``path`` with ``load``, show it in the form and make it
        the next run's (between runs); a configuration that does not load is named under ``title``."""
        try:
            cfg = load(preset if preset is not None else path)
        except ConfigError as e:
            self._warn(title, str(e))
            return False
        self._set_config_origin(preset, path)
        self.config_panel.set_config(cfg)
        self.model.clear(cfg)
        return True

    def _set_config_origin(self, preset: str | None = None, path: Path | None = None) -> None:
        """Where the form's configuration came from: a preset (chosen in the toolbar), a file, or
        neither (a run folder's)."""
        self.preset_name, self.config_path = preset, path
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset) if preset is not None else -1)

    def _refuse_while_active(self) -> bool:
        if self.is_active():
            self._warn("A run is in progress", "Stop the run before opening another configuration or run.")
        return self.is_active()

    def open_path(self, path: str | Path) -> bool:
        if self._refuse_while_active():
            return False
        path = Path(path)
        if path.is_dir():
            return self.open_run(path)
        return self.open_config(path)

    def _on_config_changed(self) -> None:
        cfg = self.config_panel.config()
        if cfg is not None:
            self.model.preview_config(cfg)  # between runs only: the values the next run starts with
        self._update_actions()

    # ------------------------------------------------------------------ your own points
    def _points_config(self, path: Path) -> Config:
        """The form's configuration on the points at ``path`` (a toy one: the toy-wgan-gp preset
        when the form holds an image run or an invalid one)."""
        cfg = self.config_panel.config()
        if cfg is None or not cfg.is_toy or cfg.model.conditional != "none":
            cfg = load_preset("toy-wgan-gp")
        cfg.data.name, cfg.data.path = "points", str(Path(path).resolve())
        cfg.description = f"Your own 2-D points: {Path(path).name}"
        return cfg

    def _show_points_config(self, cfg: Config) -> None:
        self._set_config_origin()
        self.config_panel.set_config(cfg)
        self.model.clear(cfg)
        self.tabs.setCurrentWidget(self.samples)

    def open_points(self, path: str | Path) -> bool:
        """File > Open points: the next run trains on the points of ``path`` (shown at their scale
        until it starts); a file that does not load is named with its line and what is wrong."""
        if self._refuse_while_active():
            return False
        path = Path(path)
        try:
            points = load_points(path)
        except DataError as e:
            self._warn("Cannot open points", str(e))
            return False
        self.samples.toy.set_draw_mode(False)
        self._show_points_config(self._points_config(path))
        self.samples.toy.preview_points(points.points, path.name)
        centres = points.centres()
        modes = f", {len(centres[0])} modes" if centres is not None else ""
        self.model.add_note(f"— points {path}: {len(points.points)} points{modes}. Start (Ctrl+Enter) trains on "
                            "them; the run folder keeps a copy (data/).")
        return True

    def train_on_drawing(self) -> bool:
        """"Train on drawing": save the drawing as CSV (in the runs folder's drawings/) and start a
        run on it; the run folder keeps its own copy."""
        toy = self.samples.toy
        if self.is_active():
            self.statusBar().showMessage("A run is in progress: stop it before training on the drawing.", 6000)
            return False
        if len(toy.drawing) < 2:
            self.statusBar().showMessage("Draw at least 2 points first.", 6000)
            return False
        folder = self.settings.runs_dir / "drawings"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = ex.unique_path(folder, "drawing", ".csv")
            toy.drawing.save(path)
        except OSError as e:
            self._warn("Cannot save the drawing", f"{folder}: {e.strerror or e}")
            return False
        toy.set_draw_mode(False)
        self._show_points_config(self._points_config(path))
        return self.start()

    # ------------------------------------------------------------------ opening a run folder
    def open_run(self, path: str | Path) -> bool:
        """Show a run folder: its curves, markers, log and latest samples, ready to continue
        (Start reads "Continue run") when one of its checkpoints loads. Damaged or missing files
        are named in one message, and whatever is still readable is shown."""
        if self._refuse_while_active():
            return False
        rd = RunDir(path)
        if is_live(rd.path):
            return self.follow_run(rd.path)
        if not is_run_folder(rd.path):
            self._warn("Not a run folder", f"{path}: no config.toml, metrics.csv, events.jsonl or checkpoint in "
                       "this folder.")
            return False
        rep = inspect_run(rd.path)
        cfg = rep.config
        self._set_config_origin()
        self.run_report = rep
        self._opened_config = cfg.to_dict() if cfg is not None else {}
        if cfg is not None:
            self.config_panel.set_config(cfg)
        final = next((e["type"] for e in reversed(rep.events) if e.get("type") in FINAL_STATE), None)
        self.model.show_run(rd.path, cfg, rep.columns, rep.events, FINAL_STATE.get(final, "stopped"))
        self._remember(rd.path)
        self._load_run_samples(rd)
        resumable, hint = self._resume_hint(self.config_panel.config())
        if resumable:
            hint = (f"Continue run (Ctrl+Enter) goes on from generator iteration {rep.checkpoint_iter} "
                    f"({rep.rel(rep.checkpoint)}).")
        total = f" of {cfg.train.iterations}" if cfg is not None else ""
        self.model.add_note(f"— opened {rd.path.name} at generator iteration {rep.last_iter}{total}. {hint}")
        if rep.damaged:
            self.damage_box = dialogs.damage_box(self, rep)
            for p in rep.problems:
                self.model.add_note(f"damaged: {p}")
            log.warning("damaged run folder %s: %s", rep.path, "; ".join(rep.problems))
        return True

    def follow_run(self, path: Path) -> bool:
        """Show a run that another process is training (a terminal, a server, a torchrun job), live,
        with the same controls: they travel as request files in its folder."""
        rep = inspect_run(path)
        cfg = rep.config
        if cfg is None:
            self._warn("Cannot follow the run", f"{path}: its configuration cannot be read: "
                       + "; ".join(rep.problems))
            return False
        self._set_config_origin()
        self.run_report = rep
        self.config_panel.set_config(cfg)
        self.model.start(FolderSource(path), cfg, path)
        self.model.add_note(f"— following {path.name}, trained by another process: pause, step, stop and the live "
                            "edits reach it through its folder (requests/), and it goes on when this window closes.")
        self._remember(path)
        self._update_actions()
        return True

    def _load_run_samples(self, rd: RunDir) -> None:
        """The opened run's latest samples, rebuilt from its checkpoint in the background (or its
        newest PNG); dropped if another run is shown by the time they are ready."""
        generation = self.model.generation
        ckpt = self.run_report.checkpoint if self.run_report is not None else None
        if ckpt is None:
            self._show_latest_png(rd, generation)
            return

        def load():
            from engine import Trainer
            return Trainer.from_checkpoint(ckpt).make_samples(write=False)

        def failed(message, _details):
            if generation == self.model.generation:
                self.model.add_note(f"cannot rebuild samples from {ckpt.name}: {message}")
                self._show_latest_png(rd, generation)

        self._run_task(load, lambda payload: self.model.set_samples(payload, generation), failed)

    def _show_latest_png(self, rd: RunDir, generation: int) -> None:
        pngs = sorted(rd.samples.glob("iter_*.png"))
        if not pngs:
            return
        from PIL import UnidentifiedImageError
        try:
            payload = png_payload(pngs[-1])
        except (OSError, ValueError, UnidentifiedImageError) as e:
            self.model.add_note(f"cannot show {pngs[-1].name}: {e}")
            return
        self.model.set_samples(payload, generation)

    def _resume_hint(self, cfg: Config | None) -> tuple[bool, str]:
        """Whether Start continues the opened run, and why (or why not) in one sentence.

        It does when a checkpoint of the run loads and only the number of iterations changed
        (or nothing), and there are iterations left to train."""
        rep = self.run_report
        if self.opened_run is None or rep is None or self.is_active():
            return False, ""
        name = self.opened_run.name
        if rep.checkpoint is None:
            return False, f"{name} cannot be continued (no checkpoint of it loads): Start begins a new run."
        if cfg is None:
            return False, ""
        a, b = cfg.to_dict(), copy.deepcopy(self._opened_config)
        a["train"].pop("iterations")
        b.get("train", {}).pop("iterations", None)
        if a != b:
            return False, (f"The configuration differs from {name}'s (only train.iterations may change to continue "
                           "it): Start begins a new run.")
        if cfg.train.iterations <= rep.checkpoint_iter:
            return False, (f"{name} has done its {rep.checkpoint_iter} iterations: raise train.iterations to "
                           "continue it; Start now begins a new run.")
        return True, (f"Resume run: continue {name} from generator iteration {rep.checkpoint_iter} "
                      f"({rep.rel(rep.checkpoint)}) up to {cfg.train.iterations}, in the same folder.")

    def _prepare_resume(self) -> bool:
        """Before continuing the opened run: put a fallback checkpoint in place of a damaged or
        missing latest.pt, and drop plotted rows past the checkpoint (the engine drops them from
        metrics.csv too: they are not part of the continued run)."""
        rep = self.run_report
        rd = RunDir(self.opened_run)
        if rep.uses_fallback:
            try:
                aside = use_as_latest(rd, rep.checkpoint)
            except OSError as e:
                self._warn("Cannot continue the run", f"{rd.latest_checkpoint}: {e.strerror or e}")
                return False
            kept = f"; the damaged latest.pt is kept as {rep.rel(aside)}" if aside is not None else ""
            self.model.add_note(f"continuing from {rep.rel(rep.checkpoint)}{kept}")
        self.model.keep_until(rep.checkpoint_iter)
        return True

    # ------------------------------------------------------------------ starting and controlling
    def new_run_dir(self, cfg: Config) -> Path:
        points = Path(cfg.data.path).stem if cfg.data.name == "points" and cfg.data.path else None
        name = self.preset_name or (self.config_path.stem if self.config_path else points or "custom")
        return ex.unique_path(self.settings.runs_dir, f"{time.strftime('%Y%m%d-%H%M%S')}-{name}", "")

    def start(self) -> bool:
        if self.is_active():
            return False
        cfg = self.config_panel.config()
        if cfg is None:
            self.statusBar().showMessage(f"Cannot start: {self.config_panel.error}", 8000)
            if self.config_panel.error_key:
                self.config_panel.focus_field(self.config_panel.error_key)
            return False
        if self._resume_hint(cfg)[0]:
            if not self._prepare_resume():
                return False
            path, since = self.opened_run, self.run_report.checkpoint_iter
            worker = TrainingWorker(resume_dir=path, iterations=cfg.train.iterations,
                                    live_samples_s=self.live_samples_s)
            self.model.start(LocalSource(worker), cfg, path, continued=True)
            self.model.add_note(f"— continuing {path.name} from generator iteration {since} up to "
                                f"{cfg.train.iterations} iterations")
        else:
            path = self.new_run_dir(cfg)
            worker = TrainingWorker(cfg, path, live_samples_s=self.live_samples_s)
            self.model.start(LocalSource(worker), cfg, path)
            self.model.add_note(f"— new run {path.name}")
        return True

    def start_processes(self, n: int | None = None) -> bool:
        """Run > Start with N local processes: the configuration as a new run trained by ``n``
        processes (``wgan-train --nproc-per-node n``, a child process: torchrun and its ranks),
        shown by following its run folder (:class:`studio.sources.ProcessSource`) with the same
        controls. ``n`` None: ask (``nproc_handler``)."""
        if self.is_active():
            return False
        cfg = self.config_panel.config()
        if cfg is None:
            self.statusBar().showMessage(f"Cannot start: {self.config_panel.error}", 8000)
            return False
        import sys
        if getattr(sys, "frozen", False):
            self._warn("Cannot start local processes", "The packaged studio has no Python interpreter to start "
                       "torchrun with: start the job from a terminal (wgan-train CONFIG --out RUN --nproc-per-node N) "
                       "and open its run folder here (File > Open run folder).")
            return False
        if n is None:
            n = self.nproc_handler()
            if not n:
                return False
        import tempfile

        import torch

        from engine.config import save_config
        from engine.distributed import check_config

        cuda = cfg.train.device in ("cuda", "auto") and torch.cuda.is_available()
        try:
            check_config(cfg, n, "cuda" if cuda else "cpu")
        except ConfigError as e:
            self._warn(f"Cannot start {n} processes", str(e))
            return False
        path = self.new_run_dir(cfg)
        job = Path(tempfile.mkdtemp(prefix="wgan-job-"))
        save_config(cfg, job / "config.toml")
        self.model.start(ProcessSource(path, job / "config.toml", n, log_path=job / "job.log"), cfg, path)
        self.model.add_note(f"— new run {path.name} with {n} local processes (torchrun); shown by following its "
                            f"folder (the job's own output: {job / 'job.log'})")
        self._remember(path)
        self._update_actions()
        return True

    def _sync_live_view(self) -> None:
        """Tell the run what the window shows: live pictures cost training time (a critic field on
        the training thread), so none while the Samples tab is hidden or the window is minimised,
        and the gradient arrows only while their box is ticked."""
        source = self.model.source
        if source is not None:
            source.set_live_view(self.tabs.currentWidget() is self.samples and not self.isMinimized(),
                                 self.samples.toy.show_arrows.isChecked())

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self._sync_live_view()

    def _on_ready(self) -> None:
        self._update_actions()
        if self.run_path is not None:
            self._remember(self.run_path)  # File > Open recent finds the run to continue it later

    def _on_event(self, ev: dict) -> None:
        kind = ev.get("type")
        if kind == "nonfinite":
            self._on_nonfinite(ev)
        elif kind == "resume":
            self.banner.hide()  # resumed from the toolbar (Space) after a rollback: the choice is made

    def _on_failed(self, message: str, details: str) -> None:
        """A run's exception: say what happened, keep the window usable (the engine has already
        recorded the error and kept the last checkpoint)."""
        ckpt = RunDir(self.run_path).latest_checkpoint if self.run_path else None
        self.error_box = dialogs.error_box(self, message, details, ckpt if ckpt is not None and ckpt.is_file()
                                           else None)
        self.model.add_note(f"error: {message}")

    def _on_ended(self) -> None:
        self.banner.set_run_active(False)
        self._update_actions()
        self._update_status()
        self.run_finished.emit(self.run_state)

    def toggle_pause(self) -> None:
        if not self.is_active():
            return
        if self.run_state == "paused":
            self.model.source.resume()
        elif self.run_state in ("running", "starting"):
            self.model.source.pause()

    def step(self) -> None:
        if self.is_active() and self.run_state == "paused":
            self.model.source.step(1)

    def stop(self) -> None:
        if self.is_active():
            self.model.source.stop()
            self.model.set_state("stopping")

    def request_edit(self, key: str, value) -> bool:
        if not self.is_active() or not self.model.source.can_steer:
            return False
        try:
            self.model.source.request_edit(**{key: value})
        except (ConfigError, RuntimeError) as e:
            self.steer.show_error(str(e))
            return False
        return True

    # ------------------------------------------------------------------ NaN / Inf
    def _watch_nonfinite(self, cols: dict) -> None:
        """Remember the first non-finite statistics of the run (which quantities, what value):
        the engine's "nonfinite" event only says where, and the batch with the bad row always
        arrives before it."""
        if self._nonfinite_values is not None:
            return
        uses_penalty = self.model.objective == "wgan-gp"
        names = [k for k in QUANTITIES if k in cols and (k != "gradient_penalty" or uses_penalty)]
        bad = None
        for k in names:
            b = ~np.isfinite(np.asarray(cols[k], dtype=np.float64))
            bad = b if bad is None else bad | b
        if bad is None or not bad.any():
            return
        i = int(np.argmax(bad))
        values = {k: float(cols[k][i]) for k in names if not np.isfinite(cols[k][i])}
        self._nonfinite_values = {"gen_iter": int(cols["gen_iter"][i]), "values": values}

    def _on_nonfinite(self, ev: dict) -> None:
        """The engine rolled the run back to its last good checkpoint and paused it: say so in the
        banner, drop the rolled-back rows from the curves, show the restored live values."""
        seen, self._nonfinite_values = self._nonfinite_values, None
        values = seen["values"] if seen is not None and seen["gen_iter"] == ev.get("first_bad") else None
        self.model.refresh_live_values()
        hp = self.model.live_values
        lr_critic = float(ev.get("lr_critic", hp.get("lr_critic", 0.0)))
        lr_generator = float(ev.get("lr_generator", hp.get("lr_generator", 0.0)))
        self.banner.show_nonfinite(ev, values, lr_critic, lr_generator)
        self.model.keep_until(int(ev.get("rolled_back_to", ev.get("gen_iter", 0))))

    def lower_lrs_and_resume(self) -> bool:
        """The banner's first choice: α_D and α_G × 0.1 as live edits (logged in events.jsonl and
        marked on the plots like any Steer edit), then resume."""
        if self.trainer is None or not self.is_active():
            return False
        hp = self.trainer.hp
        for key in ("lr_critic", "lr_generator"):
            if not self.request_edit(key, lowered(float(hp[key]))):
                return False
        self.banner.hide()
        self.model.source.resume()
        return True

    def resume_after_rollback(self) -> bool:
        if not self.is_active():
            return False
        self.banner.hide()
        self.model.source.resume()
        return True

"""What the window shows next: a preset, a configuration file, your own points or drawing, a run
folder (opened as it is on disk, or followed while another process trains it).

Each becomes the current run of the model (:class:`studio.run_model.RunModel`); a run in
progress is never let go by it: it goes on, listed, and the user can switch back to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from engine import Config, ConfigError, RunDir, load_config, load_preset
from engine import export as ex
from engine.continuation import continuation_config
from engine.data import DataError
from engine.data.points import load_points
from engine.follow import is_live
from engine.run_report import inspect_run, is_run_folder
from engine.status import RunState
from studio import dialogs
from studio.panels.samples import ToyView
from studio.run_model import RunModel
from studio.runs import FOLDER, PROCESS, Run
from studio.sources import FolderSource, png_payload
from studio.window_services import WindowServices
from studio.worker import checkpoint_samples

log = logging.getLogger(__name__)

# The event that ended a run -> the state it ended in.
FINAL_STATE = {"finish": RunState.FINISHED, "stop": RunState.STOPPED, "error": RunState.FAILED}


def form_config(run: Run) -> Config | None:
    """The configuration the form shows for ``run``: an opened folder's with the live values it
    would continue with (its checkpoint's, edits included), else the run's own."""
    if run.report is not None and run.report.checkpoint is not None:
        return continuation_config(run.report) or run.config
    return run.config


class RunOpener:
    """Opening things. ``set_origin(preset, path)``: tell the window where the form's
    configuration came from; ``start()``: Start (train on a drawing); ``show_samples()``: bring
    the Samples tab forward."""

    def __init__(self, model: RunModel, services: WindowServices, toy: ToyView, *,
                 set_origin: Callable[[str | None, Path | None], None], start: Callable[[], bool],
                 show_samples: Callable[[], None], form_config_now: Callable[[], Config | None]):
        self.model, self.ui, self.toy = model, services, toy
        self.set_origin, self.start, self.show_samples = set_origin, start, show_samples
        self.form_config_now = form_config_now
        self.damage_box = None

    # ------------------------------------------------------------------ configurations
    def load_preset(self, name: str) -> bool:
        if not self._show_config(name, None, load_preset, "Cannot load preset"):
            return False
        self.ui.settings.last_preset = name
        return True

    def open_config(self, path: str | Path) -> bool:
        path = Path(path)
        if not self._show_config(None, path, load_config, "Cannot open configuration"):
            return False
        self.ui.remember(path)
        return True

    def _show_config(self, preset: str | None, path: Path | None, load, title: str) -> bool:
        """Load preset ``preset`` or the file ``path`` with ``load`` and make it the next run's; a
        configuration that does not load is named under ``title``."""
        try:
            cfg = load(preset if preset is not None else path)
        except ConfigError as e:
            self.ui.warn(title, str(e))
            return False
        self.set_origin(preset, path)
        self.model.clear(cfg)
        return True

    def open_path(self, path: str | Path) -> bool:
        path = Path(path)
        return self.open_run(path) if path.is_dir() else self.open_config(path)

    # ------------------------------------------------------------------ your own points
    def _points_config(self, path: Path) -> Config:
        """The form's configuration on the points at ``path`` (a toy one: the toy-wgan-gp preset
        when the form holds an image run or an invalid one)."""
        cfg = self.form_config_now()
        if cfg is None or not cfg.is_toy or cfg.model.conditional != "none":
            cfg = load_preset("toy-wgan-gp")
        cfg.data.name, cfg.data.path = "points", str(Path(path).resolve())
        cfg.description = f"Your own 2-D points: {Path(path).name}"
        return cfg

    def _show_points_config(self, cfg: Config) -> None:
        self.set_origin(None, None)
        self.model.clear(cfg)
        self.show_samples()

    def open_points(self, path: str | Path) -> bool:
        """File > Open points: the next run trains on the points of ``path`` (shown at their scale
        until it starts); a file that does not load is named with its line and what is wrong."""
        path = Path(path)
        try:
            points = load_points(path)
        except DataError as e:
            self.ui.warn("Cannot open points", str(e))
            return False
        self.toy.set_draw_mode(False)
        self._show_points_config(self._points_config(path))
        self.toy.preview_points(points.points, path.name)
        centres = points.centres()
        modes = f", {len(centres[0])} modes" if centres is not None else ""
        self.model.add_note(f"— points {path}: {len(points.points)} points{modes}. Start (Ctrl+Enter) trains on "
                            "them; the run folder keeps a copy (data/).")
        return True

    def train_on_drawing(self) -> bool:
        """"Train on drawing": save the drawing as CSV (in the runs folder's drawings/) and start a
        run on it; the run folder keeps its own copy."""
        toy = self.toy
        if self.model.runs.training_here() is not None:
            self.ui.message("A run is training: stop it before training on the drawing.", 6000)
            return False
        if len(toy.drawing) < 2:
            self.ui.message("Draw at least 2 points first.", 6000)
            return False
        folder = self.ui.settings.runs_dir / "drawings"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = ex.unique_path(folder, "drawing", ".csv")
            toy.drawing.save(path)
        except OSError as e:
            self.ui.warn("Cannot save the drawing", f"{folder}: {e.strerror or e}")
            return False
        toy.set_draw_mode(False)
        self._show_points_config(self._points_config(path))
        return self.start()

    # ------------------------------------------------------------------ run folders
    def _switch_to_held(self, path: Path) -> bool:
        """A run of ``path`` in progress is already held: show it (never a second copy)."""
        held = self.model.runs.find(path)
        if held is None or not held.active:
            return False
        self.model.switch_to(held)
        return True

    def open_run(self, path: str | Path) -> bool:
        """Show a run folder: its curves, markers, log and latest samples, ready to continue
        (Start reads "Continue run") when one of its checkpoints loads. Damaged or missing files
        are named in one message, and whatever is still readable is shown. A folder another
        process is training is followed instead."""
        rd = RunDir(path)
        if self._switch_to_held(rd.path):
            return True
        if is_live(rd.path):
            return self.follow_run(rd.path)
        if not is_run_folder(rd.path):
            self.ui.warn("Not a run folder", f"{path}: no config.toml, metrics.csv, events.jsonl or checkpoint in "
                         "this folder.")
            return False
        rep = inspect_run(rd.path)
        final = next((e["type"] for e in reversed(rep.events) if e.get("type") in FINAL_STATE), None)
        self.set_origin(None, None)
        run = self.model.runs.show(Run.opened(rep, FINAL_STATE.get(final, RunState.STOPPED)))
        self.ui.remember(rd.path)
        self._load_samples(run, rd)
        total = f" of {rep.config.train.iterations}" if rep.config is not None else ""
        hint = run.continuation.message if run.continuation is not None else ""
        if run.continuation is not None and run.continuation.possible:
            hint = (f"Continue run (Ctrl+Enter) goes on from generator iteration {rep.checkpoint_iter} "
                    f"({rep.rel(rep.checkpoint)}).")
        run.add_note(f"— opened {rd.path.name} at generator iteration {rep.last_iter}{total}. {hint}".rstrip())
        if rep.damaged:
            self.damage_box = dialogs.damage_box(self.ui.parent, rep)
            for p in rep.problems:
                run.add_note(f"damaged: {p}")
            log.warning("damaged run folder %s: %s", rep.path, "; ".join(rep.problems))
        return True

    def reopen_ended(self) -> bool:
        """The current run, followed (another process trains it), has stopped or finished: show
        its folder as File > Open would, so that Start offers "Continue run" when
        engine.continuation's one rule allows it (issue 35 point 14)."""
        run = self.model.current
        if (run.kind not in (FOLDER, PROCESS) or run.active or run.key is None
                or run.state not in (RunState.STOPPED, RunState.FINISHED) or is_live(run.key)):
            return False
        return self.open_run(run.key)

    def follow_run(self, path: Path) -> bool:
        """Show a run that another process is training (a terminal, a server, a torchrun job), live,
        with the same controls: they travel as request files in its folder."""
        if self._switch_to_held(Path(path)):
            return True
        rep = inspect_run(path)
        cfg = rep.config
        if cfg is None:
            self.ui.warn("Cannot follow the run", f"{path}: its configuration cannot be read: "
                         + "; ".join(rep.problems))
            return False
        self.set_origin(None, None)
        run = self.model.start(FolderSource(path), cfg, path)
        run.add_note(f"— following {Path(path).name}, trained by another process: pause, step, stop and the live "
                     "edits reach it through its folder (requests/), and it goes on when this window closes.")
        self.ui.remember(Path(path))
        return True

    def _load_samples(self, run: Run, rd: RunDir) -> None:
        """The opened run's latest samples, rebuilt from its checkpoint in the background (or its
        newest PNG). They go to that run: shown only while it is the current one."""
        ckpt = run.report.checkpoint if run.report is not None else None
        if ckpt is None:
            self._show_latest_png(run, rd)
            return

        def failed(message, _details):
            run.add_note(f"cannot rebuild samples from {ckpt.name}: {message}")
            self._show_latest_png(run, rd)

        self.ui.tasks.run_task(lambda: checkpoint_samples(ckpt), run.set_samples, failed)

    def _show_latest_png(self, run: Run, rd: RunDir) -> None:
        pngs = sorted(rd.samples.glob("iter_*.png"))
        if not pngs:
            return
        from PIL import UnidentifiedImageError
        try:
            payload = png_payload(pngs[-1])
        except (OSError, ValueError, UnidentifiedImageError) as e:
            run.add_note(f"cannot show {pngs[-1].name}: {e}")
            return
        run.set_samples(payload)

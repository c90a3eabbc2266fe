"""The window's exports: the sample grid (from the generator of the run trained here, or from
any checkpoint), the metrics as CSV, the plots as PNG or SVG. Sampling and writing run in
background threads; the window hears back through ``export_finished`` / ``export_failed``.

:class:`ExportController` reads the current run from the model (:class:`studio.run_model.
RunModel`): a run trained here hands out a copy of its generator as a future (the worker's
``snapshot_generator``, made at an iteration boundary); an opened run is sampled from its
checkpoint.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QFileDialog

from engine import Config, RunDir
from engine import export as ex
from engine.inference import generate
from studio.export import ExportGridDialog
from studio.run_model import RunModel
from studio.runs import LOCAL, Run
from studio.window_services import WindowServices


def _best_description(run: Run) -> str | None:
    """"iteration N, w1_exact 0.08" of the run's best checkpoint (None: it has none)."""
    if run.key is None or not RunDir(run.key).best_checkpoint.is_file():
        return None
    ev = next((e for e in reversed(run.events) if e.get("type") == "best"), None)
    if ev is None:
        return "checkpoints/best.pt"
    value = ev.get("value")
    value = f"{value:.4g}" if isinstance(value, float | int) else str(value)
    return f"iteration {ev.get('gen_iter', '?')}, {ev.get('measure', '?')} {value}"


def _opened_checkpoint(run: Run) -> Path | None:
    ckpt = run.report.checkpoint if run.report is not None else None
    return ckpt if ckpt is not None and ckpt.is_file() else None


class ExportController(QObject):
    export_finished = Signal(str)        # path written
    export_failed = Signal(str)          # message

    def __init__(self, model: RunModel, services: WindowServices, *, plots, default_dir,
                 form_config, parent: QObject | None = None):
        super().__init__(parent)
        self.model, self.ui, self.plots = model, services, plots
        self.default_dir = default_dir        # () -> Path: where a file dialog starts
        self.form_config = form_config        # () -> Config | None
        self.export_dialog = None             # the open export dialog (Export grid…), if any

    # ------------------------------------------------------------------ sample grids
    def _folder(self) -> Path:
        key = self.model.path
        return key if key is not None and key.is_dir() else self.default_dir()

    def num_classes(self) -> int:
        """Classes of the current run when it is conditional (0 otherwise): the export dialog then
        offers a class picker."""
        run = self.model.current
        if run.kind == LOCAL:
            return run.num_classes
        ckpt = _opened_checkpoint(run)
        return ex.checkpoint_classes(ckpt) if ckpt is not None else 0

    def best_checkpoint(self) -> Path | None:
        """The current run's checkpoints/best.pt, if it has one."""
        key = self.model.path
        best = RunDir(key).best_checkpoint if key is not None else None
        return best if best is not None and best.is_file() else None

    def export_grid_dialog(self) -> None:
        """Export grid… : during a run the generator is copied first, and the file proposed is named
        after the iteration of that copy, which is what Save writes however long the dialog stays
        open (issue 18, point 1)."""
        run = self.model.current
        if run.kind != LOCAL and _opened_checkpoint(run) is None:
            self.ui.warn("Nothing to export", "Start a run or open one first.")
            return
        if run.kind != LOCAL:
            self._open_export_dialog(None)
            return
        toy_payload = run.samples if run.is_toy else None
        self.ui.message("Copying the generator for the export…", 3000)
        self._with_snapshot(run, lambda snap: self._open_export_dialog((snap[0], snap[1], toy_payload)))

    def _with_snapshot(self, run: Run, then) -> None:
        """Copy ``run``'s generator (at the next iteration boundary), then ``then((generator,
        iteration))`` in the GUI thread; a failed copy is reported as a failed export."""

        def have_snapshot(fut: Future):
            try:
                snap = fut.result()
            except Exception as e:  # noqa: BLE001 - shown to the user
                self._export_error(f"{type(e).__name__}: {e}", "")
                return
            then(snap)

        self.ui.tasks.when_done(run.source.snapshot_generator(), have_snapshot)

    def _open_export_dialog(self, snapshot) -> None:
        """The export dialog (window-modal, not blocking: ``export_dialog`` while it is open).
        ``snapshot``: (generator copy, its iteration, toy picture payload) of a live run, or None."""
        it = snapshot[1] if snapshot is not None else self.model.last_iter()
        default = ex.unique_path(self._folder(), f"samples-iter{it:07d}", ".png")
        dlg = ExportGridDialog(self.ui.parent, default, is_toy=self.model.is_toy, num_classes=self.num_classes(),
                               best=_best_description(self.model.current))
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_dialog = dlg
        dlg.accepted.connect(lambda: self.export_grid(**dlg.values(), snapshot=snapshot))
        dlg.finished.connect(lambda _r: setattr(self, "export_dialog", None))
        dlg.open()

    def export_grid(self, path: str | Path, count: int = 64, nrow: int = 8, seed: int = 0, size: int = 512,
                    classes: list[int] | None = None, snapshot=None, from_best: bool = False) -> bool:
        """Write a grid of ``count`` fresh samples (noise seed ``seed``) from the current
        generator, ``size`` pixels wide. Conditional runs: ``count`` per class of ``classes``
        (default all), one row per class. Asynchronous: emits export_finished / export_failed.
        ``snapshot``: (generator, iteration, toy payload) taken earlier (the export dialog's), written
        instead of a fresh copy of the running generator. ``from_best``: sample the run's
        checkpoints/best.pt instead."""
        path = Path(path)
        if not self.ui.confirm_overwrite(path):
            return False
        kw = {"count": count, "nrow": nrow, "seed": seed, "size": size, "confirmed": True, "classes": classes}
        run = self.model.current
        if from_best:
            best = self.best_checkpoint()
            if best is None:
                self._export_error("this run has no best checkpoint yet (checkpoints/best.pt is written at the first "
                                   "evaluation)", "")
                return False
            return self.export_checkpoint_grid(best, path, **kw)
        if run.kind != LOCAL and snapshot is None:
            ckpt = _opened_checkpoint(run)
            if ckpt is not None:
                return self.export_checkpoint_grid(ckpt, path, **kw)
            self.export_failed.emit("nothing to export: start a run or open one")
            return False
        k = self.num_classes()
        if classes is not None and not k:
            self._export_error("classes chosen, but this run is not conditional", "")
            return False
        chosen = (list(range(k)) if classes is None else list(classes)) if k else None
        toy_payload = snapshot[2] if snapshot is not None else (run.samples if run.is_toy else None)
        cfg, source = run.config, str(run.key or "")

        def write(snap):
            generator, gen_iter = snap[:2]
            samples = generate(generator, count, cfg.model.z_dim, seed, classes=chosen)
            return ex.write_grid(path, samples, config=cfg, gen_iter=gen_iter, seed=seed, nrow=nrow, size=size,
                                 source=source, toy_payload=toy_payload, classes=chosen)

        def write_in_background(snap):
            self.ui.tasks.run_task(lambda: write(snap), self._export_done, self._export_error)

        self.ui.message(f"Exporting {path.name}…", 3000)
        if snapshot is not None:
            write_in_background(snapshot)
        else:
            self._with_snapshot(run, write_in_background)
        return True

    def export_checkpoint_dialog(self) -> None:
        key = self.model.path
        start = RunDir(key).checkpoints if key is not None else self.ui.settings.runs_dir
        path, _ = QFileDialog.getOpenFileName(self.ui.parent, "Checkpoint", str(start), "Checkpoints (*.pt)")
        if not path:
            return
        dlg = ExportGridDialog(self.ui.parent, ex.unique_path(Path(path).parent, Path(path).stem + "-samples", ".png"),
                               is_toy=(self.form_config() or Config()).is_toy,
                               title="Export sample grid from checkpoint", num_classes=ex.checkpoint_classes(path))
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.export_checkpoint_grid(path, **dlg.values())

    def export_checkpoint_grid(self, checkpoint: str | Path, path: str | Path, count: int = 64, nrow: int = 8,
                               seed: int = 0, size: int = 512, confirmed: bool = False,
                               classes: list[int] | None = None) -> bool:
        path = Path(path)
        if not confirmed and not self.ui.confirm_overwrite(path):
            return False

        def work():
            return ex.write_checkpoint_samples(checkpoint, path, count, seed, classes=classes, nrow=nrow, size=size)

        self.ui.tasks.run_task(work, self._export_done, self._export_error)
        return True

    def _export_done(self, path) -> None:
        self.ui.message(f"Exported {path}", 5000)
        self.model.add_note(f"exported {path}")
        self.export_finished.emit(str(path))

    def _export_error(self, message: str, details: str) -> None:
        self.ui.warn("Export failed", message)
        self.export_failed.emit(message)

    # ------------------------------------------------------------------ metrics and plots
    def _export_file(self, path: str | Path, write, catch: type[Exception], why) -> bool:
        """Write ``path`` with ``write(path)`` in the GUI thread, once the user agrees to replace an
        existing file; an exception of type ``catch`` is shown as ``path: why(exception)``."""
        path = Path(path)
        if not self.ui.confirm_overwrite(path):
            return False
        try:
            write(path)
        except catch as e:
            self.ui.warn("Export failed", f"{path}: {why(e)}")
            return False
        self._export_done(path)
        return True

    def export_metrics(self, path: str | Path) -> bool:
        def write(path: Path) -> None:
            key = self.model.path
            src = RunDir(key).metrics_path if key is not None else None
            if src is not None and src.is_file():
                ex.copy_metrics_csv(src, path)
            else:
                ex.write_columns_csv(self.model.columns(), path)

        return self._export_file(path, write, OSError, lambda e: e.strerror or e)

    def _ask_path(self, title: str, name: str, ext: str, filters: str) -> tuple[str, str]:
        folder = self.model.path or self.default_dir()
        return QFileDialog.getSaveFileName(self.ui.parent, title, str(ex.unique_path(folder, name, ext)), filters,
                                           options=QFileDialog.Option.DontConfirmOverwrite)

    def export_metrics_dialog(self) -> None:
        path, _ = self._ask_path("Export metrics", "metrics-export", ".csv", "CSV (*.csv)")
        if path:
            self.export_metrics(path)

    def export_plots(self, path: str | Path) -> bool:
        # pyqtgraph's exporters raise plain Exceptions
        return self._export_file(path, lambda p: self.plots.export(str(p)), Exception, str)

    def export_plots_dialog(self) -> None:
        path, flt = self._ask_path("Export plots", "plots", ".png", "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            if not path.lower().endswith((".png", ".svg")):
                path += ".svg" if "svg" in flt.lower() else ".png"
            self.export_plots(path)

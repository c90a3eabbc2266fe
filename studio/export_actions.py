"""Exports of the main window: the sample grid (from the running generator or any checkpoint),
the metrics as CSV, the plots as PNG or SVG. Sampling and writing run in background threads; the
window hears back through ``export_finished`` / ``export_failed``.

A mixin of :class:`studio.main_window.MainWindow`: it reads the current run from ``self.model``
and uses the window's helpers (confirm_overwrite, _warn, _run_task, _when_done, _default_dir).
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog

from engine import Config, RunDir
from engine import export as ex
from engine.inference import generate
from studio.export_grid_dialog import ExportGridDialog


class ExportActions:
    """Mixed into :class:`studio.main_window.MainWindow`."""

    def _export_defaults(self, it: int | None = None) -> tuple[Path, bool]:
        folder = self.run_path if self.run_path is not None and self.run_path.is_dir() else self._default_dir()
        if it is None:
            it = self.trainer.gen_iter if self.trainer is not None else self.model.last_iter()
        return ex.unique_path(folder, f"samples-iter{it:07d}", ".png"), self.model.is_toy

    def export_grid_dialog(self) -> None:
        """Export grid… : during a run the generator is copied first, and the file proposed is named
        after the iteration of that copy, which is what Save writes however long the dialog stays
        open (issue 18, point 1)."""
        if self.trainer is None and self.opened_run is None:
            self._warn("Nothing to export", "Start a run or open one first.")
            return
        if self.trainer is None:
            self._open_export_dialog(None)
            return
        toy_payload = self.model.samples if self.trainer.is_toy else None
        self.statusBar().showMessage("Copying the generator for the export…", 3000)
        self._with_snapshot(self.worker, lambda snap: self._open_export_dialog((snap[0], snap[1], toy_payload)))

    def _with_snapshot(self, worker, then) -> None:
        """Copy ``worker``'s generator (at the next iteration boundary), then ``then((generator,
        iteration))`` in the GUI thread; a failed copy is reported as a failed export."""

        def have_snapshot(fut: Future):
            try:
                snap = fut.result()
            except Exception as e:  # noqa: BLE001 - shown to the user
                self._export_error(f"{type(e).__name__}: {e}", "")
                return
            then(snap)

        self._when_done(worker.snapshot_generator(), have_snapshot)

    def _open_export_dialog(self, snapshot) -> None:
        """The export dialog (window-modal, not blocking: ``self.export_dialog`` while it is open).
        ``snapshot``: (generator copy, its iteration, toy picture payload) of a live run, or None."""
        default, is_toy = self._export_defaults(snapshot[1] if snapshot is not None else None)
        dlg = ExportGridDialog(self, default, is_toy=is_toy, num_classes=self.export_num_classes(),
                               best=self._best_description())
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_dialog = dlg
        dlg.accepted.connect(lambda: self.export_grid(**dlg.values(), snapshot=snapshot))
        dlg.finished.connect(lambda _r: setattr(self, "export_dialog", None))
        dlg.open()

    def best_checkpoint(self) -> Path | None:
        """The current run's checkpoints/best.pt, if it has one."""
        if self.run_path is None:
            return None
        best = RunDir(self.run_path).best_checkpoint
        return best if best.is_file() else None

    def _best_description(self) -> str | None:
        """"iteration N, w1_exact 0.08" of the run's best checkpoint (None: it has none)."""
        if self.best_checkpoint() is None:
            return None
        ev = next((e for e in reversed(self.model.events) if e.get("type") == "best"), None)
        if ev is None:
            return "checkpoints/best.pt"
        value = ev.get("value")
        value = f"{value:.4g}" if isinstance(value, float | int) else str(value)
        return f"iteration {ev.get('gen_iter', '?')}, {ev.get('measure', '?')} {value}"

    def export_num_classes(self) -> int:
        """Classes of the current or opened run when it is conditional (0 otherwise): the export
        dialog then offers a class picker."""
        if self.trainer is not None:
            return int(getattr(self.trainer, "num_classes", 0))
        ckpt = self.run_report.checkpoint if self.run_report is not None else None
        return ex.checkpoint_classes(ckpt) if ckpt is not None and ckpt.is_file() else 0

    def export_grid(self, path: str | Path, count: int = 64, nrow: int = 8, seed: int = 0, size: int = 512,
                    classes: list[int] | None = None, snapshot=None, from_best: bool = False) -> bool:
        """Write a grid of ``count`` fresh samples (noise seed ``seed``) from the current
        generator, ``size`` pixels wide. Conditional runs: ``count`` per class of ``classes``
        (default all), one row per class. Asynchronous: emits export_finished / export_failed.
        ``snapshot``: (generator, iteration, toy payload) taken earlier (the export dialog's), written
        instead of a fresh copy of the running generator. ``from_best``: sample the run's
        checkpoints/best.pt instead."""
        path = Path(path)
        if not self.confirm_overwrite(path):
            return False
        if from_best:
            best = self.best_checkpoint()
            if best is None:
                self._export_error("this run has no best checkpoint yet (checkpoints/best.pt is written at the first "
                                   "evaluation)", "")
                return False
            return self.export_checkpoint_grid(best, path, count=count, nrow=nrow, seed=seed, size=size,
                                               confirmed=True, classes=classes)
        if self.trainer is None and snapshot is None:
            ckpt = self.run_report.checkpoint if self.run_report is not None else None
            if self.opened_run is not None and ckpt is not None and ckpt.is_file():
                return self.export_checkpoint_grid(ckpt, path, count=count, nrow=nrow, seed=seed, size=size,
                                                   confirmed=True, classes=classes)
            self.export_failed.emit("nothing to export: start a run or open one")
            return False
        trainer, worker = self.trainer, self.worker
        toy_payload = self.model.samples if trainer is not None and trainer.is_toy else None
        cfg = self.model.config if trainer is None else trainer.config
        if snapshot is not None:
            toy_payload = snapshot[2]

        k = self.export_num_classes()
        if classes is not None and not k:
            self._export_error("classes chosen, but this run is not conditional", "")
            return False
        chosen = (list(range(k)) if classes is None else list(classes)) if k else None

        def write(snapshot):
            generator, gen_iter = snapshot
            samples = generate(generator, count, cfg.model.z_dim, seed, classes=chosen)
            return ex.write_grid(path, samples, config=cfg, gen_iter=gen_iter, seed=seed, nrow=nrow, size=size,
                                 source=str(self.run_path or ""), toy_payload=toy_payload, classes=chosen)

        def write_in_background(snap):
            self._run_task(lambda: write(snap), self._export_done, self._export_error)

        self.statusBar().showMessage(f"Exporting {path.name}…", 3000)
        if snapshot is not None:
            write_in_background(snapshot[:2])
        else:
            self._with_snapshot(worker, write_in_background)
        return True

    def export_checkpoint_dialog(self) -> None:
        start = RunDir(self.run_path).checkpoints if self.run_path else self.settings.runs_dir
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", str(start), "Checkpoints (*.pt)")
        if not path:
            return
        dlg = ExportGridDialog(self, ex.unique_path(Path(path).parent, Path(path).stem + "-samples", ".png"),
                                  is_toy=(self.config_panel.config() or Config()).is_toy,
                                  title="Export sample grid from checkpoint",
                                  num_classes=ex.checkpoint_classes(path))
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.export_checkpoint_grid(path, **dlg.values())

    def export_checkpoint_grid(self, checkpoint: str | Path, path: str | Path, count: int = 64, nrow: int = 8,
                               seed: int = 0, size: int = 512, confirmed: bool = False,
                               classes: list[int] | None = None) -> bool:
        path = Path(path)
        if not confirmed and not self.confirm_overwrite(path):
            return False

        def work():
            return ex.write_checkpoint_samples(checkpoint, path, count, seed, classes=classes, nrow=nrow, size=size)

        self._run_task(work, self._export_done, self._export_error)
        return True

    def _export_done(self, path) -> None:
        self.statusBar().showMessage(f"Exported {path}", 5000)
        self.model.add_note(f"exported {path}")
        self.export_finished.emit(str(path))

    def _export_error(self, message: str, details: str) -> None:
        self._warn("Export failed", message)
        self.export_failed.emit(message)

    def _export_file(self, path: str | Path, write, catch: type[Exception], why) -> bool:
        """Write ``path`` with ``write(path)`` in the GUI thread, once the user agrees to replace an
        existing file; an exception of type ``catch`` is shown as ``path: why(exception)``."""
        path = Path(path)
        if not self.confirm_overwrite(path):
            return False
        try:
            write(path)
        except catch as e:
            self._warn("Export failed", f"{path}: {why(e)}")
            return False
        self._export_done(path)
        return True

    def export_metrics(self, path: str | Path) -> bool:
        def write(path: Path) -> None:
            src = RunDir(self.run_path).metrics_path if self.run_path else None
            if src is not None and src.is_file():
                ex.copy_metrics_csv(src, path)
            else:
                ex.write_columns_csv(self.model.columns(), path)

        return self._export_file(path, write, OSError, lambda e: e.strerror or e)

    def export_metrics_dialog(self) -> None:
        folder = self.run_path or self._default_dir()
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", str(ex.unique_path(folder, "metrics-export",
                                              ".csv")), "CSV (*.csv)", options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.export_metrics(path)

    def export_plots(self, path: str | Path) -> bool:
        # pyqtgraph's exporters raise plain Exceptions
        return self._export_file(path, lambda p: self.plots.export_plots(str(p)), Exception, str)

    def export_plots_dialog(self) -> None:
        folder = self.run_path or self._default_dir()
        path, flt = QFileDialog.getSaveFileName(self, "Export plots", str(ex.unique_path(folder, "plots", ".png")),
                                                "PNG image (*.png);;SVG drawing (*.svg)",
                                                options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            if not path.lower().endswith((".png", ".svg")):
                path += ".svg" if "svg" in flt.lower() else ".png"
            self.export_plots(path)

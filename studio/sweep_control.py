"""Run > New sweep: the form (:class:`studio.sweep_dialog.SweepDialog`) writes the sweep file,
and ``wgan-sweep FILE --out DIR`` trains it as a process of its own (it goes on when the window
closes, like any run trained elsewhere; run the same command again to continue a sweep that was
killed). Its trials are listed by the Runs view (a sweep folder in a watched folder), and its
scatter (:class:`studio.sweep_scatter.SweepScatter`) shows each trial's parameter against its
metric."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog

from engine.sweep import sweep_command
from studio.runs_view import RunsView
from studio.sweep_dialog import SweepDialog
from studio.sweep_scatter import SweepScatter
from studio.window_services import WindowServices

log = logging.getLogger(__name__)


class SweepController:
    """``open_path(run folder)`` opens a trial in the window, ``compare(paths)`` overlays trials;
    ``base()``: the preset the form starts from."""

    def __init__(self, view: RunsView, services: WindowServices, *, open_path: Callable, compare: Callable,
                 base: Callable[[], str | None]):
        self.view, self.ui, self.open_path, self.compare, self.base = view, services, open_path, compare, base
        self.dialog_handler = lambda dialog: dialog.exec() == QDialog.DialogCode.Accepted   # tests fill it in
        self.processes: list[subprocess.Popen] = []
        self.scatters: dict[Path, SweepScatter] = {}
        view.scatter_requested.connect(self.show_scatter)

    def new_sweep(self) -> bool:
        dialog = SweepDialog(self.ui.settings.runs_dir, self.ui.parent, base=self.base())
        self.dialog = dialog
        if not self.dialog_handler(dialog):
            return False
        return self.launch(dialog.sweep_file, dialog.out, dialog.workers)

    def launch(self, sweep_file: Path, out: Path, workers: int | None = None) -> bool:
        """``wgan-sweep`` in the background; its output goes to ``out``.log beside the folder."""
        out = Path(out)
        log_path = out.with_name(out.name + ".log")
        kw = {"start_new_session": True} if sys.platform != "win32" else {}
        try:
            with open(log_path, "ab") as fh:
                proc = subprocess.Popen(sweep_command(sweep_file, out, workers=workers), stdin=subprocess.DEVNULL,
                                        stdout=fh, stderr=subprocess.STDOUT, **kw)
        except OSError as e:
            self.ui.warn("Cannot start the sweep", f"{sweep_file}: {e.strerror or e}")
            return False
        self.processes.append(proc)
        runs_dir = Path(self.ui.settings.runs_dir).resolve()
        if out.resolve().parent != runs_dir:
            self.view.add_folder(out)
        self.view.scan.rescan()
        self.ui.message(f"Sweep started: its trials appear in the Runs view as they start ({out}; log "
                        f"{log_path.name}).",
                        10_000)
        log.info("sweep %s started: pid %s", out, proc.pid)
        return True

    def show_scatter(self, folder: str | Path) -> SweepScatter:
        folder = Path(folder)
        scatter = self.scatters.get(folder)
        if scatter is None:
            scatter = self.scatters[folder] = SweepScatter(folder, self.ui.parent)
            scatter.open_requested.connect(self.open_path)
            scatter.compare_requested.connect(self.compare)
        if scatter.isVisible():
            scatter.raise_()
        else:
            scatter.show()
        return scatter

    def close(self) -> None:
        for scatter in self.scatters.values():
            scatter.timer.stop()
            scatter.close()

"""The distance lab: Example 1 of the WGAN paper (section 2), measured live
(docs/algorithm.md, "Example 1: parallel lines").

``P_0 = (0, Z)`` and ``P_theta = (theta, Z)`` with ``Z ~ U[0, 1]`` are two parallel segments.
The panel sweeps theta, trains a fresh critic at each value with each chosen objective
(:mod:`engine.distance`, in a worker thread: :mod:`studio.distance_worker`) and draws the
paper's picture as the results arrive (:mod:`.theta_plots`), with a table of every result
(:mod:`.table`) under it; the form (:mod:`.form`) sets the sweep. Nothing is hard-coded: every
number drawn comes from the engine.

Hosting (the main window): ``panel = DistancesPanel(parent)``, then
``tabs.addTab(panel, "Distances")``; call ``panel.set_dark(dark)`` when the theme changes and
``panel.stop_and_wait()`` in ``closeEvent`` (the sweep thread must not outlive the window).
``panel.form.run_action`` / ``panel.form.stop_action`` are ready-made ``QAction`` s for a menu.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox, QSizePolicy, QVBoxLayout, QWidget

from engine import distance as lab
from engine.status import RunState
from engine.text import format_duration
from studio.csv_table import ask_csv_path, copy_csv, write_csv
from studio.distance_worker import DistanceWorker
from studio.theme import PlotColours, plot_colours
from studio.widgets import splitter
from studio.worker import RunHandle, start_worker

from .form import SweepForm
from .table import ResultsTable
from .theta_plots import ThetaPlots

log = logging.getLogger(__name__)


class DistancesPanel(QWidget):
    """The "Distances" view: the form, the Example 1 picture, the gradient plot and the table.

    ``lab_overrides``: :class:`engine.distance.LabSettings` fields the form does not show
    (``hidden``, ``batch``, ``layers``, ``lr``, ``eval_points``, ``seed``); tests use it for tiny
    critics. ``save_path_handler(default_path) -> str`` asks where to export (tests replace it)."""

    sweep_finished = Signal(str)   # "finished", "stopped" or "failed" (RunState), once the thread has ended

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None, device="cpu",
                 lab_overrides: dict | None = None):
        super().__init__(parent)
        self.setObjectName("distancesPanel")
        # The lab's critics are tiny (two line segments): the CPU is the quick place for them.
        self.device = device
        self.lab_overrides = dict(lab_overrides or {})
        if dark is None:
            dark = QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
        self.colours: PlotColours = plot_colours(dark)
        self.results: list[dict] = []
        self.handle: RunHandle | None = None
        self.state = RunState.IDLE                 # idle, running, stopping
        self.last_status: RunState | None = None   # finished, stopped, failed: how the last sweep ended
        self.last_error: str | None = None
        self._summary: dict | None = None
        self._t0 = 0.0
        self.save_path_handler = self._ask_save_path
        self._last_dir = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(
            Path.home())

        self.form = SweepForm(self.run, self.stop)
        self.form.objectives_changed.connect(self._update_controls)
        self.form.range_changed.connect(self._draw_closed_forms)
        self.theta_plots = ThetaPlots(self)
        self.results_table = ResultsTable(self.copy_csv, self.export_csv_dialog)

        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(4)
        root.addWidget(self.form)
        self.splitter = splitter(Qt.Orientation.Vertical, self.theta_plots.splitter, self.results_table)
        # The plots take the height the tab has (down to their minimum), not their preferred 800 px:
        # the wrapped caption makes the tab's scroll area size it by height-for-width, which Qt
        # computes from preferred heights, and the θ axis ended up scrolled out of a 1000 px screen.
        self.splitter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.splitter.setMinimumHeight(self.splitter.minimumSizeHint().height())  # below it: scroll
        root.addWidget(self.splitter, 1)

        self.theta_plots.apply_colours(self.colours)
        self._draw_closed_forms()
        self._update_controls()
        app = QApplication.instance()
        if app is not None:  # a safety net: the host should call stop_and_wait() in its closeEvent
            app.aboutToQuit.connect(self._on_about_to_quit)

    def set_dark(self, dark: bool) -> None:
        self.colours = plot_colours(dark)
        self.theta_plots.apply_colours(self.colours)

    @Slot()
    def _draw_closed_forms(self) -> None:
        self.theta_plots.draw_closed_forms(self.form.theta_range())

    # ================================================================== running
    def is_running(self) -> bool:
        return self.handle is not None and self.handle.is_running()

    @Slot()
    def run(self) -> bool:
        """Start a sweep with the form's values. False (with the reason in the status line) when
        one is already running or a value is rejected."""
        if self.state != RunState.IDLE or self.is_running():
            return False
        objectives = self.form.selected_objectives()
        if not objectives:
            self.form.set_status("Choose at least one critic objective.", error=True)
            return False
        try:
            worker = DistanceWorker(self.form.thetas(), objectives, self.form.settings(self.lab_overrides),
                                    device=self.device)
        except ValueError as e:
            self.form.set_status(str(e), error=True)
            return False
        self.theta_plots.follow = True
        self.clear_results()
        self._summary = None
        self.last_status = self.last_error = None
        self._t0 = time.monotonic()
        self.form.progress.setValue(0)
        self.form.progress.setFormat("%p%")

        def connect(w: DistanceWorker, thread) -> None:
            w.result.connect(self._on_result)
            w.progress.connect(self._on_progress)
            w.failed.connect(self._on_failed)
            w.done.connect(self._on_done)
            thread.finished.connect(self._on_thread_finished)

        self.state = RunState.RUNNING
        n = len(worker.thetas) * len(objectives)
        self.form.set_status(f"Starting: {n} critics ({', '.join(objectives)}) on {self.device}…")
        self.handle = start_worker(worker, connect)
        self.handle.thread.setObjectName("distances")
        self._update_controls()
        return True

    @Slot()
    def stop(self) -> None:
        """Ask the sweep to stop; the engine sees it within 50 critic steps. Never blocks."""
        if self.handle is None or self.state != RunState.RUNNING:
            return
        self.handle.worker.stop()
        self.state = RunState.STOPPING
        self.form.set_status("Stopping (within 50 critic steps)…")
        self._update_controls()

    def stop_and_wait(self, timeout_s: float = 30.0) -> bool:
        """For the host's closeEvent: stop the sweep and wait for its thread to end, painting
        meanwhile. True when no sweep thread is left running."""
        if self.handle is None:
            return True

        def pump():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 50)

        if self.state == RunState.RUNNING:
            self.stop()
        return self.handle.stop_and_wait(timeout_s, pump)

    @Slot()
    def _on_about_to_quit(self) -> None:
        if self.is_running():
            self.stop_and_wait()

    # ================================================================== worker signals (GUI thread)
    @Slot(object)
    def _on_result(self, r: dict) -> None:
        self.results.append(r)
        self.results_table.add_row(r)
        self._update_controls()
        self._redraw()

    @Slot(object)
    def _on_progress(self, p: dict) -> None:
        done, total = p["done_steps"], max(p["total_steps"], 1)
        self.form.progress.setValue(int(1000 * done / total))
        el = p["elapsed_s"]
        eta = el / done * (total - done) if done else float("nan")
        self.form.progress.setFormat(f"%p%  ETA {format_duration(eta)}")
        if self.state == RunState.RUNNING:
            self.form.set_status(f"{p['objective']} θ = {p['theta']:+.3g} ({p['index'] + 1}/{p['count']}) · critic "
                                 f"step {p['step']}/{p['steps']} · W-est {p['w_running']:.4g} · elapsed "
                                 f"{format_duration(el)}")

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.last_error = message
        log.error("distance sweep failed: %s\n%s", message, details)
        box = QMessageBox(QMessageBox.Icon.Warning, "Distance sweep failed", message, QMessageBox.StandardButton.Ok,
                          self)
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not blocking
        self.error_box = box

    @Slot(object)
    def _on_done(self, summary: dict) -> None:
        self._summary = summary

    @Slot()
    def _on_thread_finished(self) -> None:
        s = self._summary or {"status": RunState.FAILED, "results": len(self.results),
                              "elapsed_s": time.monotonic() - self._t0}
        self.state = RunState.IDLE
        self.last_status = status = RunState(s["status"])
        el = format_duration(s["elapsed_s"])
        self.form.progress.setFormat("%p%")
        if status == RunState.FINISHED:
            self.form.progress.setValue(1000)
            self.form.set_status(f"Finished: {s['results']} critics in {el}.")
        elif status == RunState.STOPPED:
            self.form.set_status(f"Stopped after {s['results']} critics ({el}); the results so far are kept.")
        else:
            self.form.set_status(f"Failed: {self.last_error or 'see the log'}", error=True)
        self._update_controls()
        self.sweep_finished.emit(str(status))

    # ================================================================== drawing
    def clear_results(self) -> None:
        self.results = []
        self.results_table.clear()
        self._redraw()

    def _redraw(self) -> None:
        self.theta_plots.show_results(self.results)
        slopes = self.theta_plots.slope_text(self.results)
        self.results_table.set_note(f"{len(self.results)} results" + (f"  ·  {slopes}" if self.results else ""))

    @Slot()
    def _update_controls(self) -> None:
        self.form.update_controls(self.state)
        self.results_table.set_can_export(bool(self.results))

    # ================================================================== CSV
    def csv_text(self) -> str:
        return lab.results_csv(self.results)

    @Slot()
    def copy_csv(self) -> None:
        copy_csv(self.csv_text(), len(self.results), self.form.set_status)

    def export_csv(self, path: str | Path) -> bool:
        if not write_csv(path, self.csv_text(), len(self.results), self.form.set_status):
            return False
        self._last_dir = str(Path(path).parent)
        return True

    def _ask_save_path(self, default: str) -> str:
        return ask_csv_path(self, "Export distances", default)

    @Slot()
    def export_csv_dialog(self) -> bool:
        path = self.save_path_handler(str(Path(self._last_dir) / "distances.csv"))
        return bool(path) and self.export_csv(path)

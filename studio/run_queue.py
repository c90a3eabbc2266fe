"""The queue in the studio: Run > Add to queue (the form's configuration, a preset or a file),
the queue's entries in the Runs view (move, remove, hold, slots), the runner that starts them as
``wgan-train`` processes, notifications when they end, and the question when the window closes.

The queue lives in the runs folder (``queue.json``, :mod:`engine.queue`), so it survives closing
or a crash of the studio, and ``wgan-queue RUNS_DIR`` runs the same queue headless. The window
runs it through :class:`engine.queue_runner.QueueRunner`: once a second, on the GUI thread,
:meth:`QueueController.tick` starts queued entries as slots free and reaps the ones that ended
(milliseconds: a read of queue.json, at most a process started); the runs themselves are
processes of their own, listed live by the Runs view like any run folder and followed when
opened. Only one runner works on a queue: when ``wgan-queue`` holds it, the window shows the
queue and edits it, and the headless runner starts the runs.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QSpinBox, QSystemTrayIcon, QToolButton

from engine import Config, ConfigError, list_presets
from engine.queue import QueueError, RunQueue
from engine.queue_runner import QueueRunner, background_command, runner_info
from engine.status import RunState
from studio.runs.notices import TRAY, channel, close_question, queue_notice
from studio.runs.table import RunRow
from studio.runs_view import RunsView
from studio.window_services import WindowServices

log = logging.getLogger(__name__)

KEEP, STOP, CANCEL = "keep", "stop", "cancel"   # the answers to the close question
WAITING = ("queued", "held")


def queued_rows(queue: RunQueue) -> list[RunRow]:
    """The entries not started yet as rows of the Runs view."""
    rows = []
    for e in queue.entries():
        if e.state in WAITING:
            what = str(e.source or "").removeprefix("preset ")
            rows.append(RunRow(Path(e.run_path), e.name, group="queue", what=what,
                               state=RunState.QUEUED, queue_id=e.id))
    return rows


class QueueController(QObject):
    """``form_config()``: the form's configuration (None when it is not valid); ``ask_close``:
    the close question, answering KEEP, STOP or CANCEL (tests replace it)."""

    notified = Signal(str, str)      # title, text: a queued run ended (also shown to the user)
    TICK_MS = 1000

    def __init__(self, view: RunsView, services: WindowServices, *, form_config: Callable[[], Config | None],
                 run_name: Callable[[], str], tray: QSystemTrayIcon | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.view, self.ui, self.form_config, self.run_name = view, services, form_config, run_name
        self.tray = tray
        self.ask_close = self._ask_close
        self.file_handler = lambda: QFileDialog.getOpenFileName(self.ui.parent, "Add a configuration to the queue",
                                                                str(self.ui.settings.runs_dir),
                                                                "Configurations (*.toml)")[0]
        self.runner: QueueRunner | None = None
        self._queue: RunQueue | None = None
        self._queue_dir: Path | None = None
        self._rev: int | None = None
        self.background: subprocess.Popen | None = None
        view.queue_move.connect(self.move)
        view.queue_remove.connect(self.remove)
        view.queue_hold.connect(self.hold)
        self.slots_box = QSpinBox()
        self.slots_box.setRange(0, 64)
        self.slots_box.setSpecialValueText("auto")
        self.slots_box.setPrefix("slots ")
        self.slots_box.setToolTip("How many queued runs train at once (auto: as many as the cores allow, from each "
                                  "run's threads)")
        self.slots_box.setValue(self.queue.slots() or 0)
        self.slots_box.valueChanged.connect(lambda n: self.queue.set_slots(n or None))
        view.queue_row.insertWidget(view.queue_row.count() - 1, self.slots_box)
        self.timer = QTimer(self)
        self.timer.setInterval(self.TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        QTimer.singleShot(0, self.tick)

    # ------------------------------------------------------------------ the queue of the runs folder
    @property
    def queue(self) -> RunQueue:
        runs_dir = self.ui.settings.runs_dir
        if self._queue is None or self._queue_dir != Path(runs_dir):
            self.release()
            self._queue, self._queue_dir = RunQueue(runs_dir), Path(runs_dir)
            self._rev = None
        return self._queue

    def _refresh(self, force: bool = False) -> None:
        rev = self.queue.rev()
        if force or rev != self._rev:
            self._rev = rev
            self.view.model.set_queued(queued_rows(self.queue))
            held = self.queue.held()
            if self.view.hold_button.isChecked() != held:
                self.view.hold_button.blockSignals(True)
                self.view.hold_button.setChecked(held)
                self.view.hold_button.blockSignals(False)

    def tick(self) -> None:
        """Start queued runs as slots free, reap the ended ones, tell the user, redraw the queue."""
        try:
            self._refresh()
            if self.runner is None and self._has_work():
                self._acquire()
            if self.runner is not None:
                for ev in self.runner.tick():
                    self._on_event(ev)
                self._refresh()
        except (OSError, QueueError) as e:
            log.warning("the queue of %s: %s", self.ui.settings.runs_dir, e)
            self.view.set_status(f"queue: {e}", error=True)

    def _has_work(self) -> bool:
        return any(e.state in ("queued", "running") for e in self.queue.entries())

    def _acquire(self) -> None:
        runner = QueueRunner(self.ui.settings.runs_dir, by="studio")
        if runner.acquire():
            self.runner = runner
            self.view.set_status("")
            return
        info = runner_info(self.ui.settings.runs_dir) or {}
        self.view.set_status(f"The queue is run by {info.get('by', 'another process')} (pid {info.get('pid', '?')} on "
                             f"{info.get('host', '?')}): it starts the runs.")

    def release(self) -> None:
        """Let go of the queue (its runs go on; a later runner adopts them)."""
        if self.runner is not None:
            self.runner.release()
            self.runner = None

    def _on_event(self, ev) -> None:
        self.view.scan.rescan()
        notice = queue_notice(ev.kind, ev.entry.name, ev.message)
        if ev.kind == "started":
            self.ui.message(f"Queue: started {ev.entry.name}", 5000)
        if notice is None:
            return
        log.info("%s: %s", notice.title, notice.text)
        if self.tray is not None and channel(QSystemTrayIcon.isSystemTrayAvailable(),
                                             QSystemTrayIcon.supportsMessages()) == TRAY:
            icon = QSystemTrayIcon.MessageIcon.Warning if notice.error else QSystemTrayIcon.MessageIcon.Information
            self.tray.showMessage(notice.title, notice.text, icon, 10_000)
        self.ui.message(notice.text, 15_000)
        self.notified.emit(notice.title, notice.text)

    # ------------------------------------------------------------------ adding
    def add(self, config: Config | str | Path, *, name: str | None = None, source: str | None = None) -> bool:
        try:
            entry = self.queue.add(config, name=name, source=source)
        except (ConfigError, QueueError, OSError) as e:
            self.ui.warn("Cannot add to the queue", str(e))
            return False
        self.ui.message(f"Queued {entry.name} (position {len(queued_rows(self.queue))}).", 6000)
        self._refresh(force=True)
        self.tick()
        return True

    def add_current(self) -> bool:
        cfg = self.form_config()
        if cfg is None:
            self.ui.warn("Cannot add to the queue", "The configuration is not valid: fix the form first.")
            return False
        return self.add(cfg, name=self.run_name(), source="current configuration")

    def add_preset(self, preset: str) -> bool:
        return self.add(preset, name=preset, source=f"preset {preset}")

    def add_file(self, path: str | Path | None = None) -> bool:
        path = path or self.file_handler()
        return bool(path) and self.add(Path(path), name=Path(path).stem, source=str(path))

    # ------------------------------------------------------------------ editing
    def move(self, entry_id: str, by: int) -> None:
        ids = [e.id for e in self.queue.entries()]
        if entry_id in ids:
            self.queue.move(entry_id, max(0, ids.index(entry_id) + by))
            self._refresh(force=True)
            self.view.select_paths([self.queue.get(entry_id).run_path])

    def remove(self, ids) -> None:
        for entry_id in ids:
            try:
                self.queue.remove(entry_id)
            except (QueueError, KeyError) as e:
                self.ui.message(f"Cannot remove: {e}", 6000)
        self._refresh(force=True)

    def hold(self, held: bool) -> None:
        self.queue.set_held(held)
        self.ui.message("Queue held: no queued run starts until it is resumed." if held else "Queue resumed.", 6000)
        self._refresh(force=True)

    # ------------------------------------------------------------------ closing the window
    def running(self) -> list:
        """The entries this window's runner trains."""
        return [e for e in self.queue.entries() if e.state == "running"] if self.runner is not None else []

    def waiting(self) -> list:
        """The entries this window's runner would start next (the queue not held)."""
        if self.runner is None or self.queue.held():
            return []
        return [e for e in self.queue.entries() if e.state == "queued"]

    def _ask_close(self, running: int, waiting: int) -> str:
        box = QMessageBox(QMessageBox.Icon.Question, "The queue is running", close_question(running, waiting),
                          parent=self.ui.parent)
        keep = box.addButton("Keep training in the background", QMessageBox.ButtonRole.AcceptRole)
        stop = box.addButton("Stop them" if running else "Stop the queue", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return KEEP if box.clickedButton() is keep else STOP if box.clickedButton() is stop else CANCEL

    def close(self, no_confirm: bool = False) -> bool:
        """The window closes: ask what becomes of the queue's runs (those training and those about
        to start); False: the user cancelled."""
        running, waiting = self.running(), self.waiting()
        if not running and not waiting:
            answer = STOP   # nothing to go on with: let go of the queue
        else:
            answer = STOP if no_confirm else self.ask_close(len(running), len(waiting))
        if answer == CANCEL:
            return False
        self.timer.stop()
        if answer == STOP and running:
            self.ui.message("Stopping the queued runs: each writes its checkpoint…")
            self.runner.stop_all()
        self.release()
        if answer == KEEP:
            self._go_on_in_background()
        return True

    def _go_on_in_background(self) -> None:
        """``wgan-queue RUNS_DIR`` in a session of its own: it adopts the runs and starts the rest."""
        kw = {"start_new_session": True} if sys.platform != "win32" else {}
        log_path = Path(self.ui.settings.runs_dir) / "queue" / "wgan-queue.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as fh:
            self.background = subprocess.Popen(background_command(self.ui.settings.runs_dir), stdin=subprocess.DEVNULL,
                                               stdout=fh, stderr=subprocess.STDOUT, **kw)
        log.info("the queue goes on in the background: wgan-queue pid %s", self.background.pid)


def add_queue_actions(controller: QueueController, menu, toolbar) -> QAction:
    """Run > Add to queue (the form's configuration, a preset, a file) and its toolbar button."""
    current = QAction("Add to queue", controller.ui.parent)
    current.setToolTip("Queue a run of the form's configuration: it starts when a slot frees (Runs view)")
    current.triggered.connect(lambda: controller.add_current())
    sub = menu.addMenu("Add to queue")
    sub.addAction(current)
    presets = sub.addMenu("Preset")
    for name in list_presets():
        presets.addAction(name, lambda n=name: controller.add_preset(n))
    sub.addAction("Configuration file…", lambda: controller.add_file())
    button = QToolButton()
    button.setDefaultAction(current)
    button.setMenu(sub)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    toolbar.addWidget(button)
    return current

"""What the window's controllers (run control, opening runs, exports) may ask of the window,
handed to each of them explicitly: a parent for their dialogs, a question, a warning, a line in
the status bar, the recent-files list, background tasks and futures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from studio.settings import Settings
from studio.worker import Task

log = logging.getLogger(__name__)


class TaskRunner(QObject):
    """Background tasks of the window (``tasks``: those still running) and completed futures
    handed to the GUI thread."""

    _future_ready = Signal(object)       # a (callback, future) pair, hopped to the GUI thread

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.tasks: list[Task] = []
        # A bound slot of this GUI-thread object (not a lambda): the call is queued to the GUI thread.
        self._future_ready.connect(self._call_future)

    def run_task(self, fn, on_done, on_error) -> Task:
        """``fn()`` on a thread of its own; ``on_done(result)`` or ``on_error(message, details)``
        in the GUI thread."""
        task = Task(fn, on_done, on_error, parent=self)
        self.tasks.append(task)
        task.thread.finished.connect(lambda t=task: self.tasks.remove(t) if t in self.tasks else None)
        return task

    def when_done(self, fut: Future, callback) -> None:
        """``callback(fut)`` in the GUI thread once ``fut`` completes (in whichever thread)."""
        fut.add_done_callback(lambda f: self._future_ready.emit((callback, f)))

    @Slot(object)
    def _call_future(self, pair) -> None:
        callback, fut = pair
        callback(fut)

    def wait_all(self, ms: int = 60_000) -> None:
        for task in list(self.tasks):
            task.wait(ms)


@dataclass
class WindowServices:
    parent: QWidget                                  # the parent of dialogs and message boxes
    settings: Settings
    tasks: TaskRunner
    ask: Callable[[str, str], bool]                  # a yes/no question
    warn: Callable[[str, str], None]                 # a warning the user reads (not blocking)
    message: Callable[..., None]                     # a line in the status bar: (text, ms=0)
    remember: Callable[[Path], None]                 # a file or run folder for File > Open recent

    def confirm_overwrite(self, path: Path) -> bool:
        return not path.exists() or self.ask("Replace file?", f"{path.name} already exists in {path.parent}.\n"
                                                              "Replace it?")

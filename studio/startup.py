"""Start-up in two steps (issue 18, point 9): a window at once, the heavy parts behind it.

Importing PyTorch (through the engine) and pyqtgraph takes seconds, much longer on a busy
machine. :class:`LoadingWindow` needs PySide6 only: it is on screen a fraction of a second after
launch, where the main window was last (its saved geometry), says what is loading, and shows a
Start button that stays disabled. A :class:`Loader` imports the engine and the main window's
modules in a background thread; once they are in, the real main window takes the loading
window's place, with Start enabled (``studio.app.main``).

Nothing here imports the engine, torch or pyqtgraph.
"""

from __future__ import annotations

import threading
import traceback

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QPushButton, QToolBar, QVBoxLayout, QWidget

from studio.widgets import open_at_first_rect

HEAVY_MODULES = ("engine", "pyqtgraph", "studio.main_window")


class Loader(QObject):
    """Imports :data:`HEAVY_MODULES` in a background thread; :attr:`done` (in the GUI thread)
    carries None, or the traceback text when an import failed."""

    done = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)

    def start(self) -> None:
        threading.Thread(target=self._run, name="studio-imports", daemon=True).start()

    def _run(self) -> None:
        import importlib
        try:
            for name in HEAVY_MODULES:
                importlib.import_module(name)
            result = None
        except BaseException:  # noqa: BLE001 - shown in the loading window
            result = traceback.format_exc()
        self.done.emit(result)  # a queued signal: the receiver lives in the GUI thread


class LoadingWindow(QMainWindow):
    """The window shown while the engine loads: the main window's place and size, a disabled
    Start, and what is happening."""

    def __init__(self):
        super().__init__()
        self.setObjectName("LoadingWindow")
        self.setWindowTitle("WGAN Studio — loading")
        geom = QSettings().value("window/geometry")
        if not (isinstance(geom, QByteArray | bytes) and self.restoreGeometry(QByteArray(geom))):
            open_at_first_rect(self)
        bar = QToolBar("Run")
        bar.setMovable(False)
        self.start_button = QPushButton("Start")
        self.start_button.setEnabled(False)
        self.start_button.setToolTip("Enabled once PyTorch and the training engine are loaded")
        bar.addWidget(self.start_button)
        self.addToolBar(bar)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addStretch(1)
        self.message = QLabel("Loading PyTorch and the training engine…")
        self.message.setObjectName("loadingMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: how long an import takes is not known in advance
        self.progress.setMaximumWidth(320)
        lay.addWidget(self.message)
        lay.addWidget(self.progress, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(2)
        self.setCentralWidget(body)
        self.statusBar().showMessage("Starting…")

    def failed(self, details: str) -> None:
        self.progress.hide()
        self.message.setText("WGAN Studio could not load its engine:\n\n" + details.strip().splitlines()[-1]
                             + "\n\n(the full traceback is in the log file)")
        self.statusBar().showMessage("Error")

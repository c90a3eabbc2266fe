"""Live samples: whichever view fits the run's data, the image grid (:mod:`.grid`) or the toy view
(:mod:`.toy`), bound to the run model."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QStackedWidget

from studio.theme import plot_colours

from .captions import WAITING
from .draw_tool import DRAW_SHORTCUTS
from .grid import ImageGridView
from .toy import ToyView

NO_DRAWING = ("Draw mode is for 2-D points: choose a toy preset (toy-wgan-gp, or [data] name = \"points\") "
              "and press Ctrl+D again")


class SamplesPanel(QStackedWidget):
    """Shows whichever view fits the data set: image grid or toy view."""

    message = Signal(str)   # a word for the status bar (Ctrl+D where there is nothing to draw on)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = ImageGridView()
        self.toy = ToyView()
        self.addWidget(self.toy)
        self.addWidget(self.grid)
        self.payload: dict | None = None
        # Ctrl+D over the image grid: the 2-D view's Draw action is hidden with it, so say why
        # nothing happens (issue 35 point 12); off while the 2-D view, and its own Ctrl+D, shows.
        self.no_draw = QShortcut(QKeySequence(DRAW_SHORTCUTS["draw"]), self.grid)
        self.no_draw.setContext(Qt.ShortcutContext.WindowShortcut)
        self.no_draw.activated.connect(lambda: self.message.emit(NO_DRAWING))

    def set_kind(self, is_toy: bool) -> None:
        self.setCurrentWidget(self.toy if is_toy else self.grid)

    def clear(self) -> None:
        self.payload = None
        self.toy.clear()
        self.grid.clear()

    def bind(self, model) -> None:
        """Show the samples of ``model``'s run (a :class:`studio.run_model.RunModel`) from now on."""
        self.model = model
        model.run_changed.connect(self._redraw_from_model)
        model.samples_changed.connect(self.set_payload)
        model.state_changed.connect(lambda _s: self._say_waiting())

    def _say_waiting(self) -> None:
        """A run in progress (here or followed) without samples yet: they are coming."""
        if self.payload is None and self.model.current.active:
            self.toy.set_idle_caption(WAITING)
            self.grid.caption.setText(WAITING)

    def _redraw_from_model(self) -> None:
        self.clear()
        self.set_kind(self.model.is_toy)
        self._say_waiting()
        if self.model.samples is not None:
            self.set_payload(self.model.samples)

    def set_payload(self, payload: dict) -> None:
        self.payload = payload
        if payload.get("kind") == "toy":
            self.setCurrentWidget(self.toy)
            self.toy.set_payload(payload)
        elif "images" in payload:
            self.setCurrentWidget(self.grid)
            self.grid.set_images(payload["images"], int(payload.get("gen_iter", 0)), payload.get("labels"),
                                 payload.get("nrow"), bool(payload.get("averaged")), picture=payload.get("picture"))

    def set_dark(self, dark: bool) -> None:
        self.toy.set_dark(dark)
        self.grid.view.setBackground(plot_colours(dark).background)
        self.grid.zoom_view.setBackground(plot_colours(dark).background)

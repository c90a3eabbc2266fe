"""Live samples: whichever view fits the run's data, the image grid (:mod:`.grid`) or the toy view
(:mod:`.toy`), bound to the run model."""

from __future__ import annotations

from PySide6.QtWidgets import QStackedWidget

from studio.theme import plot_colours

from .grid import ImageGridView
from .toy import ToyView


class SamplesPanel(QStackedWidget):
    """Shows whichever view fits the data set: image grid or toy view."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = ImageGridView()
        self.toy = ToyView()
        self.addWidget(self.toy)
        self.addWidget(self.grid)
        self.payload: dict | None = None

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

    def _redraw_from_model(self) -> None:
        self.clear()
        self.set_kind(self.model.is_toy)
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
                                 payload.get("nrow"), bool(payload.get("averaged")))

    def set_dark(self, dark: bool) -> None:
        self.toy.set_dark(dark)
        self.grid.view.setBackground(plot_colours(dark).background)
        self.grid.zoom_view.setBackground(plot_colours(dark).background)

"""The Log dock: one line per run event, and the run folder as a link that opens it."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QEvent, QUrl
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from engine.config import LIVE_SYMBOLS
from engine.measures import feature_classifier_text

# The log keeps the newest lines only (QPlainTextEdit drops the oldest blocks): a long run with
# many edits or pauses must not grow the window's memory without bound. events.jsonl has them all.
MAX_LINES = 10_000


def _g(v) -> str:
    return f"{v:g}" if isinstance(v, float | int) and not isinstance(v, bool) else str(v)


def _performance(text: str, ev: dict) -> str:
    text = f"{text}; {ev['performance']}" if ev.get("performance") else text
    return f"{text}; {ev['data_scale']}" if ev.get("data_scale") else text


def _started(ev: dict) -> str:
    text = _performance(f"started on {ev.get('device', '?')}, {ev.get('total', '?')} generator iterations", ev)
    return text + ("; warnings: " + " ".join(ev["warnings"]) if ev.get("warnings") else "")


# Event type -> its line (after the time and iteration).
_DESCRIBE = {
    "edit": lambda ev: (f"edit {ev.get('key', '?')} ({LIVE_SYMBOLS.get(ev.get('key', '?'), ev.get('key', '?'))}) "
                        f"{_g(ev.get('old'))} → {_g(ev.get('new'))}"),
    "start": _started,
    "resume_run": lambda ev: _performance(f"continued on {ev.get('device', '?')}, up to {ev.get('total', '?')} "
                                          "generator iterations", ev),
    "stop": lambda ev: f"stopped after {_g(ev.get('elapsed_s', 0.0))} s of training",
    "finish": lambda ev: f"finished after {_g(ev.get('elapsed_s', 0.0))} s of training",
    "error": lambda ev: f"error: {ev.get('message', '')}",
    "critic_overfitting": lambda ev: f"warning: {ev.get('message', 'critic overfitting')}",
    "best": lambda ev: f"best so far: {ev.get('measure', '?')} {_g(ev.get('value', '?'))}, kept as checkpoints/best.pt",
    "nonfinite": lambda ev: (f"NaN/Inf at iteration {ev.get('first_bad', '?')}: rolled back to the checkpoint of "
                             f"iteration {ev.get('rolled_back_to', ev.get('gen_iter', '?'))} and paused"),
    "pause": lambda ev: "paused",
    "resume": lambda ev: "resumed",
    "feature_classifier": feature_classifier_text,
    "request": lambda ev: _request(ev),
}


def _request(ev: dict) -> str:
    """A request from the run folder (another window, wgan-ctl): what, by whom, and its outcome."""
    what = str(ev.get("action", "?"))
    if what == "set":
        key = ev.get("key", "?")
        what = f"set {key} ({LIVE_SYMBOLS.get(key, key)}) = {_g(ev.get('value'))}"
    by = f" from {ev['by']}" if ev.get("by") else ""
    if ev.get("outcome") == "refused":
        return f"request {what}{by}: refused: {ev.get('reason', '?')}"
    return f"request {what}{by}: {ev.get('outcome', 'applied')}"


def describe_event(ev: dict) -> str:
    kind = ev.get("type", "?")
    it = ev.get("gen_iter", "?")
    text = _DESCRIBE[kind](ev) if kind in _DESCRIBE else kind
    stamp = str(ev.get("time", ""))[11:19]
    return f"{stamp}  it {it:>6}  {text}" if stamp else f"it {it:>6}  {text}"


class LogPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_link = QLabel("No run yet")
        self.run_link.setObjectName("runLink")
        self.run_link.setOpenExternalLinks(False)
        self.run_link.linkActivated.connect(self._open)
        self.run_path: Path | None = None
        self.run_location: str | None = None
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setObjectName("eventLog")
        top = QHBoxLayout()
        top.addWidget(QLabel("Run folder:"))
        top.addWidget(self.run_link, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)

    def set_run_path(self, path: Path | None, location: str | None = None) -> None:
        """The run's folder as a link that opens it; a run on another machine (``location``:
        ssh://host/path) as plain text."""
        self.run_path, self.run_location = path, location
        if path is None:
            self.run_link.setText("No run yet")
        elif location:
            self.run_link.setText(html.escape(location))
            self.run_link.setToolTip("A run on another machine, followed over SSH")
        else:
            url = QUrl.fromLocalFile(str(path)).toString()
            # The theme's link colour, written into the link (a rich-text link otherwise keeps the
            # colour of the palette it was first laid out with: dark blue on the dark theme).
            colour = self.palette().color(QPalette.ColorRole.Link).name()
            self.run_link.setText(f"<a href='{url}' style='color:{colour}'>{path}</a>")
            self.run_link.setToolTip("Open the run folder")

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.run_path is not None:
            self.set_run_path(self.run_path, self.run_location)  # the theme changed: its link colour

    def _open(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    def add_event(self, ev: dict) -> None:
        self.add_line(describe_event(ev))

    def add_line(self, text: str) -> None:
        self.text.appendPlainText(text)

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()

    def line_count(self) -> int:
        """Lines held (at most :data:`MAX_LINES`), without copying the text."""
        doc = self.text.document()
        return 0 if doc.isEmpty() else doc.blockCount()

    def clear(self) -> None:
        self.text.clear()

    def bind(self, model) -> None:
        """Show the log of ``model``'s run (a :class:`studio.run_model.RunModel`) from now on."""
        self.model = model
        model.run_changed.connect(self._redraw_from_model)
        model.event_added.connect(self.add_event)
        model.note_added.connect(self.add_line)
        model.ended.connect(lambda *_: self._forget_missing_folder())

    def _forget_missing_folder(self) -> None:
        """A run that ended before it made its folder (a bad data path) links no folder."""
        if self.run_path is not None and not self.run_path.exists():
            self.run_path = None
            self.run_link.setText("No run folder: the run ended before it made one")

    def _redraw_from_model(self) -> None:
        self.clear()
        self.set_run_path(self.model.path, self.model.current.location)
        for entry in self.model.log:
            self.add_line(entry if isinstance(entry, str) else describe_event(entry))

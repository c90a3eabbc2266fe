"""Steer: the live parameters of a run (clip value c, α_D, α_G, n_critic, λ).

A change is sent when the user finishes editing (Enter, focus out, an arrow step) or after a
short pause while dragging the clip slider. Enter gives the focus back to the window, so that the
run's shortcuts (Space, Ctrl+E...) work at once; they work from a focused field too and never
type into it. A value the engine would refuse stays in the field, outlined in red, with what is
allowed under it (the engine's own range, as in the Configuration panel). The engine applies it at the next generator
iteration and reports it back as an "edit" event, which becomes a row of the history here, a
marker on the plots and a line of events.jsonl. Undo re-applies the previous value as a new,
logged edit.
"""

from __future__ import annotations

import math
import re

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.config import LIVE_SYMBOLS, SCHEMA, ConfigError, live_field, live_value
from engine.objectives import OBJECTIVE_TRAITS, traits
from studio.panels.keys import is_window_shortcut

_NUMBER = re.compile(r"^[+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d*)?$")
APPLY_DELAY_MS = 350
IDLE_STATUS = "Start a run to steer it."
ACTIVE_STATUS = "Type a value and press Enter: it applies at the next generator iteration."


def live_problem(key: str, text: str) -> str | None:
    """Why ``text`` cannot be the live value ``key`` (None if it can): the engine's one check
    (:func:`engine.config.live_value`), in the engine's words."""
    try:
        live_value(key, text)
    except ConfigError as e:
        problem = e.problem if e.problem.startswith("is ") else f"is {e.problem}"
        return f"{text.strip()} {problem}." + (f" Allowed: {e.allowed}." if e.allowed else "")
    return None


def owners(key: str) -> list[str]:
    """The objectives that read live parameter ``key``."""
    return [kind for kind, t in OBJECTIVE_TRAITS.items() if key in t.live_keys]


def _spin_range(key: str) -> tuple[float, float]:
    info = live_field(key)
    lo = info.min if info.min is not None else 0.0
    return (1e-12 if info.min_exclusive and lo == 0 else lo), info.max


class SciSpinBox(QDoubleSpinBox):
    """A spin box for values spanning decades (1e-5 .. 10): shows ``%g``, accepts scientific
    notation, and each arrow step multiplies by 10^(1/10) (log scale) instead of adding."""

    def __init__(self, minimum: float, maximum: float, parent=None):
        super().__init__(parent)
        self.setDecimals(12)          # precision of the stored value; the text uses %g
        self.setRange(minimum, maximum)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:
        return f"{value:.4g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        t = text.strip()
        if _NUMBER.match(t):
            try:
                v = float(t)
            except ValueError:
                return QValidator.State.Intermediate, text, pos
            ok = self.minimum() <= v <= self.maximum()
            return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos
        # Anything else can be typed: Enter then says what is allowed instead of silently reverting.
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:
        v = self.value()
        if v <= 0:
            v = max(self.minimum(), 1e-3) if steps > 0 else 0.0
        else:
            v *= 10 ** (steps / 10)
        self.setValue(min(max(v, self.minimum()), self.maximum()))


class IntSpinBox(QSpinBox):
    """A QSpinBox that lets anything be typed (Enter then says what is allowed)."""

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Invalid:
            state = QValidator.State.Intermediate
        return state, text, pos


class LogSlider(QSlider):
    """A horizontal slider over log10(value), 100 ticks a decade."""

    def __init__(self, lo: float, hi: float, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.lo, self.hi = math.log10(lo), math.log10(hi)
        self.setRange(0, round((self.hi - self.lo) * 100))

    def to_value(self, pos: int) -> float:
        return float(f"{10 ** (self.lo + pos / 100):.3g}")

    def set_from_value(self, v: float) -> None:
        self.blockSignals(True)
        self.setValue(round((math.log10(max(v, 10 ** self.lo)) - self.lo) * 100))
        self.blockSignals(False)


class SteerPanel(QWidget):
    """The current run's live values (read from the model's current run: no copy here), its edit
    history, and the fields to change them while it can be steered."""

    edit_requested = Signal(str, object)   # live key, new value

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = None
        self._timers: dict[str, QTimer] = {}
        self.requested: dict[str, float] = {}  # edits sent, not yet in the run's values
        self._undo_stack: list[dict] = []
        self.errors: dict[str, QLabel] = {}     # per field: why the typed value was not applied
        self._tips: dict[str, str] = {}
        self._pending_undo: tuple[str, float] | None = None

        self.clip_slider = LogSlider(1e-4, 1.0)
        self.clip_slider.setToolTip("Weight clipping bound c on a log scale (1e-4 .. 1)")
        self.clip_spin = SciSpinBox(*_spin_range("clip_value"))
        self.lr_critic = SciSpinBox(*_spin_range("lr_critic"))
        self.lr_generator = SciSpinBox(*_spin_range("lr_generator"))
        self.n_critic = IntSpinBox()
        self.n_critic.setRange(*(int(x) for x in _spin_range("n_critic")))
        self.n_critic.setKeyboardTracking(False)
        self.gp_lambda = SciSpinBox(*_spin_range("gp_lambda"))
        self.spins = {"clip_value": self.clip_spin, "lr_critic": self.lr_critic, "lr_generator": self.lr_generator,
                      "n_critic": self.n_critic, "gp_lambda": self.gp_lambda}
        for key, spin in self.spins.items():
            info = live_field(key)
            spin.setObjectName(f"steer_{key}")
            spin.setToolTip(f"<b>{LIVE_SYMBOLS[key]}</b> ({key}): {info.help}<br>Allowed: {info.allowed()}<br>"
                            "Applied at the next generator iteration, marked on the plots and logged.")
            spin.valueChanged.connect(lambda _v, k=key: self._on_spin(k))
            spin.installEventFilter(self)
            err = QLabel()
            err.setObjectName("fieldError")
            err.setWordWrap(True)
            err.setVisible(False)
            self.errors[key] = err
            t = QTimer(self)
            t.setSingleShot(True)
            t.setInterval(APPLY_DELAY_MS)
            t.timeout.connect(lambda k=key: self._apply(k))
            self._timers[key] = t
        self.clip_slider.valueChanged.connect(self._on_clip_slider)
        self.clip_slider.sliderReleased.connect(lambda: self._apply("clip_value"))

        form = QFormLayout()
        self.labels = {}
        for key, widget in (("clip_value", self.clip_spin), ("lr_critic", self.lr_critic),
                            ("lr_generator", self.lr_generator), ("n_critic", self.n_critic),
                            ("gp_lambda", self.gp_lambda)):
            label = QLabel(f"<i>{LIVE_SYMBOLS[key]}</i> &nbsp;{key}")
            label.setToolTip(self.spins[key].toolTip())
            self.labels[key] = label
            form.addRow(label, widget)
            form.addRow(self.errors[key])
            if key == "clip_value":  # the log slider gets a row of its own: it needs the width
                form.addRow(self.clip_slider)

        self.status = QLabel(IDLE_STATUS)
        self.status.setWordWrap(True)
        self.status.setObjectName("steerStatus")
        self.history = QListWidget()
        self.history.setObjectName("editHistory")
        self.history.setToolTip("Every applied change, with the generator iteration it took effect at")
        self.undo_button = QPushButton("Undo last edit")
        self.undo_button.setToolTip("Re-apply the previous value (a new, logged edit)")
        self.undo_button.clicked.connect(self.undo)
        self.undo_button.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("Edit history"))
        layout.addWidget(self.history, 1)
        layout.addWidget(self.undo_button)
        self._update_enabled()

    # ------------------------------------------------------------------ state from the run
    @property
    def objective(self) -> str:
        return self.model.objective if self.model is not None else SCHEMA["objective.kind"].default

    @property
    def active(self) -> bool:
        """The current run can be steered now."""
        return self.model is not None and self.model.current.steerable

    def _live(self) -> dict:
        return self.model.live_values if self.model is not None else {}

    def set_values(self, hp: dict) -> None:
        """Show live values without sending them back as edits."""
        for key, v in hp.items():
            if key not in self.spins:
                continue
            spin = self.spins[key]
            spin.blockSignals(True)
            spin.setValue(int(v) if key == "n_critic" else float(v))
            spin.blockSignals(False)
            if key == "clip_value":
                self.clip_slider.set_from_value(float(v))

    def bind(self, model) -> None:
        """Steer ``model``'s current run (a :class:`studio.run_model.RunModel`) from now on: its
        values (or, between runs, those the next run starts with), its edit history, objective
        and whether it can be steered."""
        self.model = model
        model.run_changed.connect(self._redraw_from_model)
        model.live_values_changed.connect(self._on_live_values)
        model.event_added.connect(self._on_event)
        model.state_changed.connect(lambda _s: self._update_enabled())
        model.ended.connect(self._update_enabled)
        model.ready.connect(self._update_enabled)

    def _redraw_from_model(self) -> None:
        m = self.model
        self.requested.clear()
        self.clear_history()
        self.status.setText(IDLE_STATUS)
        self.set_values(m.live_values)
        for ev in m.events:
            self._on_event(ev)
        self._update_enabled()

    def _on_live_values(self, values: dict) -> None:
        self.requested.clear()  # the run's values now: what was asked for is applied (or refused)
        self.set_values(values)
        self._update_enabled()

    def _on_event(self, ev: dict) -> None:
        if ev.get("type") == "edit":
            self.add_edit(ev)

    def _update_enabled(self) -> None:
        active, objective = self.active, self.objective
        if self.status.text() in (IDLE_STATUS, ACTIVE_STATUS):  # not a message about an edit
            self.status.setText(ACTIVE_STATUS if active else IDLE_STATUS)
        if not active:
            self._forget_refusals()
        used = set(traits(objective).live_keys)
        if not active:
            for t in self._timers.values():
                t.stop()
        for key, spin in self.spins.items():
            on = active and key in used
            spin.setEnabled(on)
            self.labels[key].setEnabled(on)
            tip = self._tips.setdefault(key, spin.toolTip())
            if key not in used:
                tip += (f"<br><b>Not used:</b> only {', '.join(repr(k) for k in owners(key))} read it; this run's "
                        f"objective is '{objective}'.")
            spin.setToolTip(tip)
            self.labels[key].setToolTip(tip)
        self.clip_slider.setEnabled(active and "clip_value" in used)
        self.undo_button.setEnabled(active and bool(self._undo_stack))

    def _forget_refusals(self) -> None:
        """A run that stopped takes no value: its refused values' messages go (issue 35 point 15)."""
        for key, err in self.errors.items():
            if err.text():
                self.set_field_error(key, None)
        if self.status.text().startswith("<span"):
            self.status.setText(IDLE_STATUS)

    def add_edit(self, ev: dict) -> None:
        """An applied edit (engine event): history row, undo stack, control value."""
        key, old, new = ev.get("key"), ev.get("old"), ev.get("new")
        self.history.addItem(f"it {ev.get('gen_iter')}   {LIVE_SYMBOLS.get(key, key)}  {old:g} → {new:g}")
        self.history.scrollToBottom()
        if self._pending_undo == (key, new):
            self._pending_undo = None       # this edit was an undo: do not stack it
        else:
            self._undo_stack.append(dict(ev))
        self.set_values({key: new})
        self.status.setText(f"{LIVE_SYMBOLS.get(key, key)} = {new:g} since generator iteration {ev.get('gen_iter')}.")
        self._update_enabled()

    def clear_history(self) -> None:
        self.history.clear()
        self._undo_stack.clear()
        self._pending_undo = None
        self._update_enabled()

    # ------------------------------------------------------------------ keys in the fields
    def eventFilter(self, obj, event) -> bool:
        key = next((k for k, s in self.spins.items() if s is obj), None)
        if key is None:
            return super().eventFilter(obj, event)
        t = event.type()
        if t == QEvent.Type.ShortcutOverride and is_window_shortcut(obj, event, plain_keys=True):
            return True  # a number has no blanks or Ctrl keys: the window's shortcut wins, the field is kept
        if t == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.finish_editing(key):
                self.window().setFocus(Qt.FocusReason.OtherFocusReason)  # the run's shortcuts work again
            return True
        if t == QEvent.Type.FocusOut:
            # Leaving the field: a bad value reverts (the spin box's own fixup), but says why first.
            self.finish_editing(key)
        return super().eventFilter(obj, event)

    def finish_editing(self, key: str) -> bool:
        """Apply what was typed into ``key``'s field; False (with the reason under the field) if the
        engine would refuse it."""
        spin = self.spins[key]
        problem = live_problem(key, spin.cleanText())
        self.set_field_error(key, problem and f"{LIVE_SYMBOLS[key]} not changed: {problem}")
        if problem:
            return False
        spin.interpretText()
        self._apply(key)
        return True

    def set_field_error(self, key: str, message: str | None) -> None:
        err, spin = self.errors[key], self.spins[key]
        err.setText(message or "")
        err.setVisible(bool(message))
        spin.setProperty("invalid", bool(message))
        spin.style().unpolish(spin)
        spin.style().polish(spin)

    def field_error(self, key: str) -> str:
        return self.errors[key].text()

    # ------------------------------------------------------------------ user changes
    def _on_clip_slider(self, pos: int) -> None:
        v = self.clip_slider.to_value(pos)
        self.clip_spin.blockSignals(True)
        self.clip_spin.setValue(v)
        self.clip_spin.blockSignals(False)
        self._timers["clip_value"].start()   # applied after a short pause while dragging

    def _on_spin(self, key: str) -> None:
        self.set_field_error(key, None)
        if key == "clip_value":
            self.clip_slider.set_from_value(self.clip_spin.value())
        self._timers[key].start()

    def _apply(self, key: str) -> None:
        self._timers[key].stop()
        if not self.active:
            return
        spin = self.spins[key]
        value = int(spin.value()) if key == "n_critic" else float(spin.value())
        if self._live().get(key) == value or self.requested.get(key) == value:
            return  # already the value, or already asked for (Enter, then leaving the field)
        self.requested[key] = value
        self.status.setText(f"{LIVE_SYMBOLS[key]} → {value:g} requested: applies at the next generator iteration.")
        self.edit_requested.emit(key, value)

    def request(self, key: str, value) -> None:
        """Set a control and send the edit at once (keyboard users, tests)."""
        self.spins[key].blockSignals(True)
        self.spins[key].setValue(value)
        self.spins[key].blockSignals(False)
        if key == "clip_value":
            self.clip_slider.set_from_value(float(value))
        self._apply(key)

    def undo(self) -> None:
        if not self._undo_stack:
            return
        last = self._undo_stack.pop()
        self._pending_undo = (last["key"], last["old"])
        self.status.setText(f"Undo: {LIVE_SYMBOLS.get(last['key'], last['key'])} back to {last['old']:g}.")
        self.edit_requested.emit(last["key"], last["old"])
        self._update_enabled()

    def show_error(self, message: str) -> None:
        self.status.setText(f"<span style='color:#d9534f'>{message}</span>")

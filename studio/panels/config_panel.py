"""The configuration form, built from the engine's :data:`engine.SCHEMA`.

Every field shows its key, the paper's symbol and unit, and a tooltip with the meaning, the
allowed values and the default. A value that cannot be used gets a red outline and the
engine's own message under the field (the engine is the single source of truth for what is
valid: :func:`engine.config.coerce_value` per field, then :func:`engine.config.config_from_dict`
for the cross-field checks). The window disables Start while :attr:`ConfigPanel.error` is set.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine import SCHEMA, Config, ConfigError
from engine.config import FieldInfo, coerce_value, config_from_dict, unused_fields, validate
from studio.panels.keys import WindowShortcutsFirst

SECTION_TITLES = {"data": "Data", "model": "Model", "objective": "Objective", "optimiser": "Optimiser",
                  "train": "Training"}
_KEY_RE = re.compile(r"^\[(\w+)\]\s+(\w+)$")


def field_text(v) -> str:
    """A value as the form's text field shows it (and reads it back)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, tuple | list):
        return ", ".join(field_text(float(x)) for x in v)
    return str(v)


def field_tooltip(info: FieldInfo) -> str:
    lines = [f"<b>[{info.section}] {info.key}</b>"]
    if info.symbol:
        lines[0] += f" &nbsp;(paper symbol <b>{info.symbol}</b>)"
    lines.append(info.help)
    lines.append(f"Allowed: {info.allowed()}")
    lines.append(f"Default: {field_text(info.default)}{(' ' + info.unit) if info.unit else ''}")
    if info.live:
        lines.append("<i>Can be changed while training, in the Steer panel.</i>")
    return "<p style='white-space:normal'>" + "<br>".join(lines) + "</p>"


def dotted_from_error(err: ConfigError) -> str | None:
    """``"[objective] clip_value"`` (the engine's key format) -> ``"objective.clip_value"``."""
    m = _KEY_RE.match(err.key or "")
    return f"{m.group(1)}.{m.group(2)}" if m else None


class _Field:
    """One editor row: the widget, its error label, and text <-> value conversion."""

    def __init__(self, info: FieldInfo, on_change):
        self.info = info
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setVisible(False)
        self.browse = None
        if info.choices:
            w = QComboBox()
            for c in info.choices:
                w.addItem(str(c), c)
            w.currentIndexChanged.connect(on_change)
        elif info.type is bool:
            w = QCheckBox()
            w.toggled.connect(on_change)
        else:
            w = QLineEdit()
            w.textEdited.connect(on_change)
            if info.type is tuple:
                w.setPlaceholderText(", ".join(["number"] * (info.length or 2)))
            if info.kind == "path":
                w.setPlaceholderText("file or folder")
                self.browse = QToolButton(text="…")
                self.browse.setToolTip("Choose a file or folder")
        self.widget = w
        self.label: QLabel | None = None
        self.unused: str | None = None          # why the chosen data set / objective ignores it
        w.setObjectName(f"field_{info.section}_{info.key}")
        w.setToolTip(field_tooltip(info))

    def set_unused(self, reason: str | None, read_only: bool) -> None:
        self.unused = reason
        tip = field_tooltip(self.info)
        if reason:
            tip = tip[:-4] + f"<br><b>Not used:</b> {reason}.</p>"
        for w in (self.widget, self.label, self.browse):
            if w is not None:
                w.setToolTip(tip)
                w.setEnabled(reason is None and (w is self.label or not read_only or isinstance(w, QLineEdit)))

    def set_value(self, v) -> None:
        w = self.widget
        w.blockSignals(True)
        try:
            if isinstance(w, QComboBox):
                i = w.findData(v)
                w.setCurrentIndex(i if i >= 0 else 0)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            else:
                w.setText(field_text(v))
        finally:
            w.blockSignals(False)

    def raw_value(self):
        """The typed value as entered (not yet validated); raises ConfigError if it does not parse."""
        w, info = self.widget, self.info
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        text = w.text().strip()
        key = f"[{info.section}] {info.key}"
        try:
            if info.type is int:
                return int(text.replace("_", ""))
            if info.type is float:
                return float(text)
            if info.type is tuple:
                return tuple(float(x) for x in re.split(r"[,;\s]+", text.strip("()[] ")) if x)
        except ValueError:
            what = {int: "an integer", float: "a number", tuple: f"{info.length} numbers separated by commas"}
            raise ConfigError(f"expected {what[info.type]}", key=key, value=text or None,
                              allowed=info.allowed()) from None
        return text

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        # A dynamic property the style sheets match on (red outline); re-polish to apply it.
        self.widget.setProperty("invalid", bool(message))
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)


class ConfigPanel(QWidget):
    """The form. Emits :attr:`changed` after every edit, with the validity already updated."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._base = Config()
        self._loaded = Config().to_dict()
        self._fields: dict[str, _Field] = {}
        self._config: Config | None = self._base
        self.error: str | None = None            # the first problem, as a user message
        self.error_key: str | None = None        # its field ("section.key")
        self.errors: dict[str, str] = {}         # every problem, by field
        self.warnings: list[str] = []
        self._read_only = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.description = QLabel()
        self.description.setObjectName("configDescription")
        self.description.setWordWrap(True)
        outer.addWidget(self.description)
        self.banner = QLabel()
        self.banner.setObjectName("configBanner")
        self.banner.setWordWrap(True)
        # Its text kept off the box's edges: the style sheet's padding alone left it on the left border
        self.banner.setContentsMargins(5, 3, 5, 3)
        self.banner.setVisible(False)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        self._body = body
        col = QVBoxLayout(body)
        col.setContentsMargins(4, 4, 4, 4)
        groups: dict[str, QFormLayout] = {}
        self._keys = WindowShortcutsFirst(self)  # Ctrl+E, Ctrl+Enter... work from a focused field
        for dotted, info in SCHEMA.items():
            if info.section not in groups:
                box = QGroupBox(SECTION_TITLES.get(info.section, info.section.title()))
                form = QFormLayout(box)
                form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
                form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
                groups[info.section] = form
                col.addWidget(box)
            f = _Field(info, self._on_edit)
            self._fields[dotted] = f
            if isinstance(f.widget, QLineEdit):
                f.widget.installEventFilter(self._keys)
            label = QLabel(self._label_text(info))
            f.label = label
            label.setToolTip(f.widget.toolTip())
            label.setBuddy(f.widget)
            cell = QWidget()
            v = QVBoxLayout(cell)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(1)
            row = QHBoxLayout()
            row.setSpacing(2)
            row.addWidget(f.widget, 1)
            if info.unit:
                row.addWidget(QLabel(info.unit))
            if f.browse is not None:
                row.addWidget(f.browse)
                f.browse.clicked.connect(lambda _=False, d=dotted: self._browse(d))
            v.addLayout(row)
            v.addWidget(f.error)
            groups[info.section].addRow(label, cell)
        col.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        # Below the fields: shown or hidden, it never moves a field from under the mouse (issue 35 point 10)
        outer.addWidget(self.banner)
        self.set_config(self._base)

    @staticmethod
    def _label_text(info: FieldInfo) -> str:
        if info.symbol and info.symbol != info.key:
            return f"{info.key} &nbsp;<i>{info.symbol}</i>"
        return info.key

    # ------------------------------------------------------------------ public API
    def set_config(self, cfg: Config) -> None:
        """Show ``cfg`` (it becomes the unmodified state)."""
        self._base = cfg.copy()
        self._loaded = cfg.to_dict()
        for dotted, f in self._fields.items():
            f.set_value(cfg.get(dotted))
        desc = cfg.description.strip()
        self.description.setText(desc)
        self.description.setVisible(bool(desc))
        self._validate()

    def config(self) -> Config | None:
        """The configuration in the form, or None while it is invalid."""
        return self._config.copy() if self._config is not None else None

    def is_modified(self) -> bool:
        return self._config is None or self._config.to_dict() != self._loaded

    def mark_saved(self) -> None:
        if self._config is not None:
            self._loaded = self._config.to_dict()
        self.changed.emit()

    def field_widget(self, dotted: str) -> QWidget:
        return self._fields[dotted].widget

    def field_unused(self, dotted: str) -> str | None:
        """Why the chosen data set / objective ignores the field (None when it is used)."""
        return self._fields[dotted].unused

    def field_error(self, dotted: str) -> str:
        """The message shown under a field ('' when the value is fine)."""
        return self._fields[dotted].error.text()

    def set_field_text(self, dotted: str, text: str) -> None:
        """Type ``text`` into a field as a user would (tests and the command line use it)."""
        w = self._fields[dotted].widget
        if isinstance(w, QLineEdit):
            w.setText(text)
            self._on_edit()
        elif isinstance(w, QComboBox):
            w.setCurrentIndex(w.findText(text))
        elif isinstance(w, QCheckBox):
            w.setChecked(text.lower() in ("1", "true", "yes"))

    def set_read_only(self, read_only: bool) -> None:
        """During a run nothing here can change (the live values are in Steer)."""
        self._read_only = read_only
        for f in self._fields.values():
            w = f.widget
            if isinstance(w, QLineEdit):
                w.setReadOnly(read_only)
            else:
                w.setEnabled(not read_only and f.unused is None)
            if f.browse is not None:
                f.browse.setEnabled(not read_only and f.unused is None)

    # ------------------------------------------------------------------ validation
    def _on_edit(self, *_):
        self._validate()

    def _field_value(self, dotted: str, f: _Field, unused: dict[str, str]):
        """The field's value; ConfigError when it cannot be used. A field this run does not read
        never blocks Start: its last good value is kept."""
        try:
            return coerce_value(f.info, f.raw_value())
        except ConfigError:
            if dotted not in unused:
                raise
        try:
            return coerce_value(f.info, self._base.get(dotted))
        except ConfigError:
            return f.info.default

    def _read_fields(self) -> tuple[dict[str, dict], dict[str, str]]:
        """(the form's values as a TOML-shaped dict, the problems by field)."""
        raw: dict[str, dict] = {}
        errors: dict[str, str] = {}
        fields = self._fields
        unused = unused_fields({k: fields[k].raw_value() for k in ("data.name", "model.arch", "objective.kind",
                                                                   "optimiser.name")})
        for dotted, f in fields.items():
            f.set_unused(unused.get(dotted), self._read_only)
            try:
                value = self._field_value(dotted, f, unused)
            except ConfigError as e:
                errors[dotted] = str(e)
                continue
            raw.setdefault(f.info.section, {})[f.info.key] = list(value) if isinstance(value, tuple) else value
        return raw, errors

    def _validate(self) -> None:
        raw, errors = self._read_fields()
        cfg = None
        self.warnings = []
        if not errors:
            try:
                cfg = config_from_dict(raw, base=self._base.copy())
                self.warnings = validate(cfg)
            except ConfigError as e:  # every problem under its own field (e.errors: all of them)
                for one in e.errors:
                    where = dotted_from_error(one) or "data.name"
                    errors[where] = (errors[where] + "\n" if where in errors else "") + str(one)
                cfg = None
        for dotted, f in self._fields.items():
            f.show_error(errors.get(dotted))
        self._config = cfg
        first = next(iter(errors.items()), None)
        self.error_key, self.error = (first if first else (None, None))
        self.errors = errors
        self._show_banner()
        self.changed.emit()

    def _show_banner(self) -> None:
        errors = self.errors
        if self.error:
            more = len(errors) - 1
            self.banner.setText(f"Cannot start: {self.error}" + (f" (and {more} more problem{'s' * (more > 1)}, "
                                                                  "each under its field)" if more else ""))
            self.banner.setProperty("level", "error")
        elif self.warnings:
            self.banner.setText("Warning: " + " ".join(self.warnings))
            self.banner.setProperty("level", "warning")
        self.banner.setVisible(bool(self.error or self.warnings))
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)

    def _browse(self, dotted: str) -> None:
        name = self._fields["data.name"].raw_value()
        if name == "folder":
            path = QFileDialog.getExistingDirectory(self, "Image folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Data file")
        if path:
            self._fields[dotted].widget.setText(path)
            self._validate()

    def focus_field(self, dotted: str) -> None:
        w = self._fields[dotted].widget
        w.setFocus(Qt.FocusReason.OtherFocusReason)
        parent = w.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if isinstance(parent, QScrollArea):
            parent.ensureWidgetVisible(w)

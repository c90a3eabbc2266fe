"""Run > New sweep: a form that writes the sweep file ``wgan-sweep`` reads (docs/guide/studio.md,
"Runs, queue and sweeps").

The form's fields are the file's keys: the base (a preset or a configuration file), how many
trials, the sampler, the metric and its direction, the fixed settings (``[set]``) and the
searched ones (``[search]``: a list of values, or a range ``low .. high [log]``), and where the
sweep's folder goes. Its text is checked by the engine's own loader
(:func:`engine.sweep.loads_sweep`) before anything is written: a refused value is shown naming
its key and what is allowed, and the dialog stays open.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import ConfigError, list_presets, load_config, load_preset
from engine.sweep import DIRECTIONS, SAMPLERS, SweepError, SweepSpec, dumps_sweep, loads_sweep, metric_choices
from studio.runs.sweep_form import sweep_data

DEFAULT_FIXED = {"train.iterations": "2000"}
DEFAULT_SEARCH = {"objective.clip_value": "0.001, 0.01, 0.1"}


def key_table(rows: dict[str, str], second: str, tip: str) -> QTableWidget:
    t = QTableWidget(0, 2)
    t.setHorizontalHeaderLabels(["Setting", second])
    t.horizontalHeaderItem(1).setToolTip(tip)
    t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    t.verticalHeader().setVisible(False)
    t.setMinimumHeight(110)
    for k, v in rows.items():
        add_row(t, k, v)
    return t


def add_row(table: QTableWidget, key: str = "", value: str = "") -> None:
    r = table.rowCount()
    table.insertRow(r)
    table.setItem(r, 0, QTableWidgetItem(key))
    table.setItem(r, 1, QTableWidgetItem(value))


def table_dict(table: QTableWidget) -> dict[str, str]:
    out = {}
    for r in range(table.rowCount()):
        k, v = table.item(r, 0), table.item(r, 1)
        if k is not None and k.text().strip():
            out[k.text().strip()] = v.text() if v is not None else ""
    return out


def with_buttons(table: QTableWidget) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(table)
    row = QHBoxLayout()
    add = QPushButton("Add")
    add.clicked.connect(lambda: add_row(table))
    remove = QPushButton("Remove")
    remove.clicked.connect(lambda: [table.removeRow(i.row()) for i in sorted(table.selectionModel().selectedRows(),
                                                                             key=lambda i: -i.row())])
    row.addWidget(add)
    row.addWidget(remove)
    row.addStretch(1)
    lay.addLayout(row)
    return box


class SweepDialog(QDialog):
    """The form. After ``exec()`` accepted: ``sweep_file`` (written), ``out`` (the sweep folder),
    ``workers`` (None: automatic) and ``spec``."""

    def __init__(self, runs_dir: Path, parent: QWidget | None = None, *, base: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("New sweep")
        self.setObjectName("sweepDialog")
        self.resize(640, 640)
        self.runs_dir = Path(runs_dir)
        self.spec: SweepSpec | None = None
        self.sweep_file: Path | None = None
        self.out: Path | None = None
        self.workers: int | None = None
        self.base_combo = QComboBox()
        self.base_combo.setEditable(True)
        self.base_combo.addItems(list(list_presets()))
        self.base_combo.setCurrentText(base or "toy-wgan-clip")
        self.base_combo.setToolTip("A preset name or a configuration file (.toml): what every trial starts from")
        self.base_combo.currentTextChanged.connect(lambda _t: self._refill_metrics())
        browse = QPushButton("File…")
        browse.clicked.connect(self._choose_base_file)
        base_row = QHBoxLayout()
        base_row.addWidget(self.base_combo, 1)
        base_row.addWidget(browse)
        self.trials = QSpinBox()
        self.trials.setRange(0, 100_000)
        self.trials.setValue(6)
        self.trials.setSpecialValueText("every combination (grid)")
        self.sampler = QComboBox()
        self.sampler.addItems(list(SAMPLERS))
        self.sampler.setCurrentText("grid")
        self.metric = QComboBox()
        self.direction = QComboBox()
        self.direction.addItems(list(DIRECTIONS))
        self.fixed = key_table(DEFAULT_FIXED, "Value", "The same value in every trial")
        self.search = key_table(DEFAULT_SEARCH, "Values", "A list (0.001, 0.01, 0.1) or a range (1e-5 .. 1e-3 log; "
                                                          "random and tpe samplers only)")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.out_edit = QLineEdit(str(self.runs_dir / f"sweep-{stamp}"))
        self.workers_box = QSpinBox()
        self.workers_box.setRange(0, 64)
        self.workers_box.setSpecialValueText("auto (from the cores)")
        self.error_label = QLabel()
        self.error_label.setObjectName("sweepError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b;")
        form = QFormLayout()
        form.addRow("Base", base_row)
        form.addRow("Trials", self.trials)
        form.addRow("Sampler", self.sampler)
        form.addRow("Metric", self.metric)
        form.addRow("Direction", self.direction)
        form.addRow("Fixed settings", with_buttons(self.fixed))
        form.addRow("Searched settings", with_buttons(self.search))
        form.addRow("Sweep folder", self.out_edit)
        form.addRow("Workers", self.workers_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = buttons.addButton("Start sweep", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(buttons)
        self._refill_metrics()

    def _choose_base_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Base configuration", str(self.runs_dir),
                                              "Configurations (*.toml)")
        if path:
            self.base_combo.setCurrentText(path)

    def _refill_metrics(self) -> None:
        base = self.base_combo.currentText().strip()
        try:
            cfg = load_config(base) if base.endswith(".toml") else load_preset(base)
        except (ConfigError, OSError):
            return
        current = self.metric.currentText()
        self.metric.clear()
        self.metric.addItems(list(metric_choices(cfg)))
        if current:
            self.metric.setCurrentText(current)

    # ------------------------------------------------------------------ the file
    def text(self) -> str:
        """The sweep file the form says (not checked)."""
        return dumps_sweep(sweep_data(base=self.base_combo.currentText().strip(), trials=self.trials.value(),
                                      sampler=self.sampler.currentText(), metric=self.metric.currentText(),
                                      direction=self.direction.currentText(), fixed=table_dict(self.fixed),
                                      search=table_dict(self.search)))

    def sweep_path(self) -> Path:
        out = Path(self.out_edit.text().strip())
        return out.with_name(out.name + ".toml")

    def check(self) -> SweepSpec | None:
        """The sweep the form says, checked by the engine; None after showing what is wrong."""
        path = self.sweep_path()
        try:
            spec = loads_sweep(self.text(), file=str(path), base_dir=path.parent)
        except (SweepError, ConfigError, ValueError, TypeError) as e:
            self.error_label.setText(str(e))
            return None
        self.error_label.setText("")
        return spec

    def accept(self) -> None:
        if not self.out_edit.text().strip():
            self.error_label.setText("Choose the sweep folder.")
            return
        spec = self.check()
        if spec is None:
            return
        from engine.io import atomic_write_bytes

        path = self.sweep_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, self.text().encode("utf-8"))
        except OSError as e:
            self.error_label.setText(f"{path}: cannot write ({e.strerror or e})")
            return
        self.spec, self.sweep_file = spec, path
        self.out = Path(self.out_edit.text().strip())
        self.workers = self.workers_box.value() or None
        super().accept()

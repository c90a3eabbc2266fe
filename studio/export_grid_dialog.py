"""The Export grid dialog: count, samples per row, seed, size, file (and classes) of a sample-grid
export. The picture itself is written by :mod:`engine.export`."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from engine.inference import parse_classes


class ExportGridDialog(QDialog):
    """Count, samples per row, seed, size and file of a sample-grid export. For a conditional run
    (``num_classes > 0``) also the classes to draw: one row per class, "Samples" per class."""

    def __init__(self, parent, default_path: Path, *, is_toy: bool, title: str = "Export sample grid",
                 num_classes: int = 0, best: str | None = None):
        """``best``: a description of the run's best checkpoint (checkpoints/best.pt) when it has
        one; the dialog then offers "From best checkpoint"."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.num_classes = num_classes
        self.count = QSpinBox()
        self.count.setRange(1, 4096)
        self.count.setValue(512 if is_toy else 64)
        self.count.setToolTip("How many samples (toy sets: points)")
        self.nrow = QSpinBox()
        self.nrow.setRange(1, 64)
        self.nrow.setValue(8)
        self.nrow.setEnabled(not is_toy)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Seed of the noise z: the same seed gives the same samples")
        self.size = QSpinBox()
        self.size.setRange(16, 8192)
        self.size.setValue(512)
        self.size.setSuffix(" px")
        self.size.setToolTip("Width of the picture in pixels (the toy view is square)")
        self.path = QLineEdit(str(default_path))
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        self.classes = QLineEdit("all")
        self.classes.setToolTip(f"Classes to draw, one row each: all, or e.g. 3, 7 or 0-4 "
                                f"(this run has classes 0 to {num_classes - 1})")
        self.classes_error = QLabel("")
        self.classes_error.setStyleSheet("color: #c0392b")
        self.classes_error.setVisible(False)
        if num_classes:
            self.count.setValue(8)
            self.count.setToolTip("How many samples of each class (one row per class)")
            self.nrow.setEnabled(False)
            self.nrow.setToolTip("One row per class")
            form.addRow("Classes", self.classes)
            form.addRow("", self.classes_error)
            form.addRow("Per class", self.count)
        else:
            form.addRow("Samples", self.count)
        self.from_best = QCheckBox(f"From best checkpoint ({best})" if best else "From best checkpoint")
        self.from_best.setToolTip("Sample checkpoints/best.pt, the evaluation with the best quality measure so far "
                                  "(exact W1 on 2-D sets, Fréchet distance on images), instead of the current "
                                  "generator")
        self.from_best.setVisible(best is not None)
        if best is not None:
            form.addRow("", self.from_best)
        form.addRow("Per row", self.nrow)
        form.addRow("Seed", self.seed)
        form.addRow("Width", self.size)
        form.addRow("File", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        # The studio asks about overwriting itself (same question everywhere, testable).
        path, _ = QFileDialog.getSaveFileName(self, "Export sample grid", self.path.text(), "PNG image (*.png)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.path.setText(path if path.lower().endswith(".png") else path + ".png")

    def chosen_classes(self) -> list[int] | None:
        """The classes typed in (None: all, or an unconditional run); ValueError if malformed."""
        if not self.num_classes:
            return None
        return parse_classes(self.classes.text(), self.num_classes)

    def _accept(self) -> None:
        try:
            self.chosen_classes()
        except ValueError as e:
            self.classes_error.setText(str(e))
            self.classes_error.setVisible(True)
            return
        self.accept()

    def values(self) -> dict:
        out = {"path": Path(self.path.text()), "count": self.count.value(), "nrow": self.nrow.value(),
               "seed": self.seed.value(), "size": self.size.value()}
        if self.num_classes:
            out["classes"] = self.chosen_classes()
        if self.from_best.isChecked():
            out["from_best"] = True
        return out

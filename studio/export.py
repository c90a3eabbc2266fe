"""Exports: sample grids (PNG with the config, iteration and seed in its text metadata),
grids from any saved checkpoint, metrics as CSV. Nothing here overwrites a file: callers check
:func:`needs_confirmation` and ask first.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtWidgets import (
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

from engine import Config, Trainer, __version__, dumps_config, load_checkpoint
from engine.config import config_from_dict
from engine.inference import load_model, parse_classes, weights_label
from engine.render import grid_image, save_png, toy_image


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2``, ``stem-3``... if taken (a safe default name)."""
    p = folder / f"{stem}{suffix}"
    k = 2
    while p.exists():
        p = folder / f"{stem}-{k}{suffix}"
        k += 1
    return p


def needs_confirmation(path: str | Path) -> bool:
    return Path(path).exists()


def render_samples(samples: np.ndarray, *, nrow: int, size: int, toy_payload: dict | None = None,
                   label: str = "") -> Image.Image:
    """The picture of ``samples``: ``size`` pixels wide (toy view: ``size`` x ``size``)."""
    if samples.ndim == 2:  # toy points: draw them over the critic field of the latest payload
        payload = dict(toy_payload or {"extent": _extent(samples)})
        payload["fake"] = samples
        payload["label"] = label
        return toy_image(payload, size=size)
    img = grid_image(samples, nrow=nrow, scale=1)
    height = max(1, round(img.height * size / img.width))
    return img.resize((size, height), Image.Resampling.NEAREST)


def _extent(points: np.ndarray) -> tuple[float, float, float, float]:
    lo, hi = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    m = float(np.max(np.abs(np.concatenate([lo, hi])))) * 1.1 or 1.0
    return (-m, m, -m, m)


def grid_metadata(config: Config, gen_iter: int, seed: int, count: int, source: str, classes=None
                  ) -> dict[str, str]:
    """Enough to reproduce the picture: the full config (TOML), the generator iteration, the
    noise seed, what it was drawn from and (conditional runs) the classes, one row each."""
    meta = {"Software": f"WGAN Studio {__version__}", "gen_iter": str(gen_iter), "seed": str(seed),
            "count": str(count), "source": source, "config": dumps_config(config),
            # the studio samples what the run shows: the averaged weights when [model] ema_decay > 0
            "weights": weights_label(config.model.ema_decay > 0)}
    if classes is not None:
        meta["classes"] = ",".join(str(int(c)) for c in classes)
    return meta


def write_grid(path: str | Path, samples: np.ndarray, *, config: Config, gen_iter: int, seed: int, nrow: int,
               size: int, source: str, toy_payload: dict | None = None, classes=None) -> Path:
    """``classes``: a conditional run's samples, ``len(samples) / len(classes)`` per class, class
    after class: one grid row per class (toy sets: points coloured by class)."""
    label = f"{config.data.name}  iteration {gen_iter}  seed {seed}"
    if classes is not None:
        per_class = len(samples) // max(1, len(classes))
        nrow = per_class
        if samples.ndim == 2:
            toy_payload = dict(toy_payload or {"extent": _extent(samples)},
                               labels=np.repeat(np.asarray(classes), per_class))
        label += f"  classes {','.join(map(str, classes))}"
    img = render_samples(samples, nrow=nrow, size=size, toy_payload=toy_payload, label=label)
    return save_png(img, path, grid_metadata(config, gen_iter, seed, len(samples), source, classes))


def checkpoint_classes(path: str | Path) -> int:
    """Number of classes of a conditional run's checkpoint (0: not conditional or unreadable)."""
    try:
        return int(load_checkpoint(path).get("num_classes", 0) or 0)
    except Exception:  # noqa: BLE001 - the export itself reports a damaged checkpoint
        return 0


def sample_checkpoint(path: str | Path, count: int, seed: int, classes=None) -> dict:
    """Samples from a saved checkpoint (runs in a background thread). Toy checkpoints are
    rebuilt as a Trainer so the picture has the critic's field and the real points too.
    Conditional runs: ``count`` per class of ``classes`` (default all); the result's "classes"
    says which (None for an unconditional run)."""
    path = Path(path)
    state = load_checkpoint(path)
    cfg = config_from_dict(state["config"])
    k = int(state.get("num_classes", 0) or 0)
    if classes is not None and not k:
        raise ValueError("classes chosen, but this run is not conditional")
    if k and classes is None:
        classes = list(range(k))
    if cfg.is_toy:
        trainer = Trainer.from_checkpoint(path)
        payload = trainer.make_samples(write=False)
        return {"samples": trainer.sample(count, seed, classes), "config": trainer.config,
                "gen_iter": trainer.gen_iter, "toy_payload": payload, "classes": classes}
    # Image checkpoints: only the generator is needed, not the data set.
    model = load_model(path)
    return {"samples": model.sample(count, seed, classes), "config": model.config, "gen_iter": model.gen_iter,
            "toy_payload": None, "classes": classes}


def copy_metrics_csv(src: Path, dest: str | Path) -> Path:
    """Copy a run's metrics.csv without a row the trainer may be half-way through appending."""
    text = Path(src).read_text("utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    tmp = Path(dest).with_suffix(".csv.part")
    tmp.write_text(text, "utf-8")
    shutil.move(tmp, dest)
    return Path(dest)


def write_columns_csv(cols: dict[str, np.ndarray], dest: str | Path) -> Path:
    names = list(cols)
    n = len(cols[names[0]]) if names else 0
    lines = [",".join(names)]
    for i in range(n):
        lines.append(",".join("" if not math.isfinite(float(cols[k][i])) else f"{float(cols[k][i]):.9g}"
                              for k in names))
    Path(dest).write_text("\n".join(lines) + "\n", "utf-8")
    return Path(dest)


class ExportGridDialog(QDialog):
    """Count, samples per row, seed, size and file of a sample-grid export. For a conditional run
    (``num_classes > 0``) also the classes to draw: one row per class, "Samples" per class."""

    def __init__(self, parent, default_path: Path, *, is_toy: bool, title: str = "Export sample grid",
                 num_classes: int = 0):
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
        return out

"""The main window's dialogs and message boxes: preferences, keyboard shortcuts, about, a damaged
run folder, a run stopped by an error. Message boxes open window-modal but never block (``open``,
not ``exec``): the run goes on, and so do tests."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from engine import RunDir, __version__
from engine.run_report import RunReport
from studio.theme import icon

SHORTCUTS = [
    ("Ctrl+Enter", "Start training"), ("Space", "Pause / resume"), ("Ctrl+Right", "Step one generator iteration "
    "(while paused)"), ("Ctrl+.", "Stop (writes a checkpoint)"), ("Ctrl+E", "Export the sample grid"),
    ("Ctrl+O", "Open a configuration"), ("Ctrl+Shift+O", "Open a run folder"),
    ("Ctrl+Alt+O", "Compare runs"), ("Ctrl+Shift+P", "Open points (your own 2-D data)"),
    ("Ctrl+D", "Draw mode of the 2-D view"), ("B / E", "Draw mode: paint / erase"),
    ("Ctrl+Z", "Draw mode: undo the last stroke"), ("Ctrl+Shift+Backspace", "Draw mode: clear the drawing"),
    ("Ctrl+Shift+Enter", "Draw mode: train on the drawing"), ("Ctrl+PgDown / Ctrl+PgUp", "Show the next / "
    "previous run this window holds (the Run box)"), ("Ctrl+Shift+W", "Close the run shown (not one in progress)"),
    ("Ctrl+S", "Save the configuration"),
    ("Ctrl+Shift+S", "Save the configuration as…"), ("F1", "This list"), ("Ctrl+Q", "Quit"),
]
THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


def _open(box: QMessageBox) -> QMessageBox:
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def preferences(parent: QWidget, runs_dir: Path, theme: str) -> tuple[str | None, str] | None:
    """Ask for the runs folder and the theme; (runs folder or None when fixed by the environment,
    theme), or None when cancelled."""
    dlg = QDialog(parent)
    dlg.setWindowTitle("Preferences")
    form = QFormLayout(dlg)
    runs = QLineEdit(str(runs_dir))
    if os.environ.get("WGAN_STUDIO_RUNS"):
        runs.setEnabled(False)
        runs.setToolTip("Set by the environment variable WGAN_STUDIO_RUNS")
    browse = QPushButton("…")
    browse.clicked.connect(lambda: runs.setText(QFileDialog.getExistingDirectory(dlg, "Runs folder", runs.text())
                                                or runs.text()))
    row = QHBoxLayout()
    row.addWidget(runs, 1)
    row.addWidget(browse)
    holder = QWidget()
    holder.setLayout(row)
    form.addRow("Runs folder", holder)
    themes = QComboBox()
    for key, text in THEMES:
        themes.addItem(text, key)
    themes.setCurrentIndex(themes.findData(theme))
    form.addRow("Theme", themes)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    form.addRow(buttons)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return (runs.text().strip() if runs.isEnabled() else None), themes.currentData()


def shortcuts(parent: QWidget) -> QMessageBox:
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    return _open(QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", f"<table>{rows}</table>",
                             QMessageBox.StandardButton.Ok, parent))


def about(parent: QWidget) -> QMessageBox:
    import platform
    import sys

    import torch
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    packaged = ", packaged build" if getattr(sys, "frozen", False) else ""
    box = QMessageBox(QMessageBox.Icon.NoIcon, "About WGAN Studio",
                      f"<h3>WGAN Studio {__version__}</h3><p>Train Wasserstein GANs and watch them learn.</p>"
                      "<p>Arjovsky, Chintala, Bottou, <i>Wasserstein GAN</i> (2017); Gulrajani et al., "
                      "<i>Improved Training of Wasserstein GANs</i> (2017).</p><p>Press F1 for the keyboard "
                      f"shortcuts.</p><p><small>PyTorch {torch.__version__}, Qt {qVersion()} (PySide6 "
                      f"{pyside_version}), Python {platform.python_version()}{packaged}</small></p>",
                      QMessageBox.StandardButton.Ok, parent)
    box.setIconPixmap(icon("app").pixmap(64, 64))
    return _open(box)


def warning(parent: QWidget, title: str, text: str) -> QMessageBox:
    return _open(QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent))


def damage_box(parent: QWidget, rep: RunReport) -> QMessageBox:
    """One message naming every damaged file of an opened run and what is wrong with it."""
    items = "\n".join(f"• {p}" for p in rep.problems)
    box = QMessageBox(QMessageBox.Icon.Warning, "Damaged run folder",
                      f"Some files of the run {rep.path.name} are damaged or missing:\n\n{items}\n\n"
                      "Everything still readable is shown.", QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if rep.checkpoint is None:
        resume = "It cannot be continued: none of its checkpoints loads. Start begins a new run."
    else:
        resume = (f"It can be continued from generator iteration {rep.checkpoint_iter} "
                  f"({rep.rel(rep.checkpoint)}): Continue run (Ctrl+Enter).")
        if rep.uses_fallback and RunDir(rep.path).latest_checkpoint.exists():
            resume += " The damaged checkpoints/latest.pt is then kept as latest.pt.damaged."
    box.setInformativeText(resume)
    box.setDetailedText(f"Run folder: {rep.path}")
    return _open(box)


def error_box(parent: QWidget, message: str, details: str, checkpoint: Path | None) -> QMessageBox:
    """A run stopped by an error; the window stays usable and the thread can finish."""
    kept = f"The last checkpoint is kept: {checkpoint}" if checkpoint is not None else \
        "No checkpoint had been written yet."
    box = QMessageBox(QMessageBox.Icon.Critical, "Training stopped by an error", message,
                      QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText(f"{kept}\nChange the settings and start again, or open the run to look at it.")
    box.setDetailedText(details)
    return _open(box)

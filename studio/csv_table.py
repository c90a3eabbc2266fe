"""Copy as CSV / Export CSV… of a table the user sees (Compare runs, the Distances tab): one
clipboard copy, one save dialog and one atomic write for both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from engine.io import atomic_open

StatusFn = Callable[..., None]   # status(text, error=False)


def ask_csv_path(parent: QWidget, title: str, default: str) -> str:
    """The save dialog; "" when cancelled. QFileDialog asks before replacing an existing file, and
    with the default suffix it asks about the name that will really be written."""
    dlg = QFileDialog(parent, title, default, "CSV (*.csv)")
    dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dlg.setDefaultSuffix("csv")
    return dlg.selectedFiles()[0] if dlg.exec() and dlg.selectedFiles() else ""


def copy_csv(text: str, rows: int, status: StatusFn) -> None:
    QGuiApplication.clipboard().setText(text)
    status(f"Copied {rows} rows as CSV.")


def write_csv(path: str | Path, text: str, rows: int, status: StatusFn) -> bool:
    """Write ``text`` to ``path`` whole or not at all (the old file stays whole if anything fails);
    the caller has already agreed to replace an existing file."""
    path = Path(path)
    try:
        with atomic_open(path, "w") as fh:
            fh.write(text)
    except OSError as e:
        status(f"{path}: cannot write ({e.strerror or e}); nothing was written.", error=True)
        return False
    status(f"Wrote {rows} rows to {path}.")
    return True

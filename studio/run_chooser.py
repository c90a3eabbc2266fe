"""Choosing run folders to compare: the runs folder's runs, newest first, and any other folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from engine.run_report import is_run_folder
from studio.widgets import button


class RunChooser(QDialog):
    """Tick the run folders to compare: the runs folder's runs, newest first, and any other
    folder added with "Add folder…"."""

    def __init__(self, parent, runs_dir: Path, already: set[Path] = frozenset()):
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self.resize(640, 480)
        self.list = QListWidget()
        self.list.setToolTip("Tick the runs to compare (a run folder has config.toml and metrics.csv)")
        self.folder_label = QLabel()
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        look = button("Look in…", "List the runs of another folder", self._look_in)
        other = button("Add folder…", "Add one run folder from anywhere", self._add_other)
        row = QHBoxLayout()
        row.addWidget(self.folder_label, 1)
        row.addWidget(look)
        row.addWidget(other)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Compare")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.problem = QLabel("")
        self.problem.setObjectName("fieldError")
        self.problem.setWordWrap(True)
        self.problem.setVisible(False)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.problem)
        lay.addWidget(buttons)
        self._already = {Path(p) for p in already}
        self.list_folder(runs_dir)

    def list_folder(self, folder: Path) -> None:
        self.list.clear()
        self.folder = Path(folder)
        self.folder_label.setText(f"Runs in {folder}")
        try:
            subdirs = [p for p in Path(folder).iterdir() if p.is_dir() and is_run_folder(p)]
        except OSError:
            subdirs = []
        subdirs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for p in subdirs:
            self._add_item(p, checked=False)
        if not subdirs:
            self.list.addItem(QListWidgetItem("(no run folders here: Look in… or Add folder…)"))

    def _add_item(self, path: Path, checked: bool) -> None:
        when = QDateTime.fromSecsSinceEpoch(int(path.stat().st_mtime)).toString("yyyy-MM-dd hh:mm")
        item = QListWidgetItem(f"{path.name}    ({when})")
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        item.setToolTip(str(path))
        inside = path in self._already
        item.setFlags((item.flags() | Qt.ItemFlag.ItemIsUserCheckable) & ~Qt.ItemFlag.ItemIsEditable)
        if inside:
            item.setText(item.text() + "  — already compared")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.list.addItem(item)

    def _look_in(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder with run folders", str(self.folder))
        if path:
            self.list_folder(Path(path))

    def _add_other(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Run folder", str(self.folder))
        if path:
            self.add_folder(Path(path))

    def add_folder(self, path: Path) -> bool:
        """Add one folder, ticked; a folder that is not a run is refused here, saying why."""
        path = Path(path)
        if not is_run_folder(path):
            self.problem.setText(f"{path} is not a run folder: it has no config.toml, metrics.csv, events.jsonl "
                                 "or checkpoint. Choose the folder of one run (runs/DATE-TIME-PRESET).")
            self.problem.setVisible(True)
            return False
        self.problem.setVisible(False)
        if self.list.count() == 1 and not self.list.item(0).data(Qt.ItemDataRole.UserRole):
            self.list.clear()  # the "(no run folders here…)" line
        self._add_item(path, checked=True)
        return True

    def selected(self) -> list[Path]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) and item.checkState() == Qt.CheckState.Checked:
                out.append(Path(item.data(Qt.ItemDataRole.UserRole)))
        return out

"""The distance lab's table: one row per trained critic, with Copy as CSV and Export CSV…"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.text import format_value
from studio.widgets import button

# Table columns: (engine key, header, header tooltip).
COLUMNS = (
    ("theta", "θ", "θ, the offset of the second segment: P_θ = (θ, Z)"),
    ("objective", "objective", "the critic's objective"),
    ("estimate", "estimate", "what the trained critic measures: the W-estimate (wgan-gp, wgan-clip) or the "
                             "JS estimate (gan)"),
    ("grad_theta", "d/dθ", "d estimate / dθ with the trained critic held fixed: what a generator at θ is told"),
    ("w_exact", "W = |θ|", "the exact Wasserstein-1 (Earth-Mover) distance"),
    ("js", "JS", "the exact Jensen–Shannon divergence: log 2 for θ ≠ 0, 0 at θ = 0"),
    ("kl", "KL", "the exact Kullback–Leibler divergence: +∞ for θ ≠ 0, 0 at θ = 0"),
    ("tv", "TV", "the exact total variation distance: 1 for θ ≠ 0, 0 at θ = 0"),
)


class ResultsTable(QWidget):
    """The table, a note under it and its two buttons (``on_copy``, ``on_export``: what they do)."""

    def __init__(self, on_copy: Callable, on_export: Callable, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("distanceTable")
        for i, (_, header, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(header)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(i, item)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(90)

        self.copy_button = button("Copy as CSV", "Copy every row (the columns of wgan-distance --out) to the clipboard",
                                  on_copy)
        self.export_button = button("Export CSV…", "Write every row to a .csv file (written whole or not at all)",
                                    on_export)
        self.note = QLabel("")
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.export_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(self.table, 1)
        col.addLayout(buttons)

    def clear(self) -> None:
        self.table.setRowCount(0)

    def add_row(self, r: dict) -> None:
        """One engine result, at the bottom (scrolled into view)."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, (key, _, _) in enumerate(COLUMNS):
            v = r.get(key)
            item = QTableWidgetItem(f"{v:+.3f}" if key == "theta" else format_value(v, 4))
            if key != "objective":
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if isinstance(v, float):
                    item.setToolTip(repr(v))
            self.table.setItem(row, col, item)
        self.table.scrollToBottom()

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setToolTip(text)

    def set_can_export(self, can: bool) -> None:
        self.copy_button.setEnabled(can)
        self.export_button.setEnabled(can)

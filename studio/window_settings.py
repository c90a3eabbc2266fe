"""The window's saved layout and view options (docks, splitter, samples per row, smoothing, log
axis) and its colour theme."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow, QSplitter

from studio.panels.plots.column import KINDS
from studio.settings import Settings
from studio.theme import apply_theme, resolve_dark


class WindowLayout:
    """``themed()``: the parts that follow the theme (each has ``set_dark``; None skipped)."""

    def __init__(self, window: QMainWindow, settings: Settings, splitter: QSplitter, samples, plots, *,
                 theme_actions: dict[str, QAction], themed: Callable[[], list], theme: str | None = None):
        self.window, self.settings, self.splitter = window, settings, splitter
        self.samples, self.plots = samples, plots
        self.theme_actions, self.themed = theme_actions, themed
        self.override = theme          # the command line's --theme, until the user picks one
        self.dark = False

    def restore(self) -> bool:
        """Restore the layout and view options; False when there was no saved layout."""
        s, w = self.settings, self.window
        geom, state = s.value("window/geometry"), s.value("window/state")
        restored = False
        if isinstance(geom, QByteArray | bytes):
            w.restoreGeometry(QByteArray(geom))
        if isinstance(state, QByteArray | bytes):
            restored = w.restoreState(QByteArray(state))
        split = s.value("window/splitter")
        if isinstance(split, QByteArray | bytes):
            self.splitter.restoreState(QByteArray(split))
        self.samples.grid.nrow_spin.setValue(min(max(s.int_value("samples/nrow", 0), 0), 64))  # 0: auto
        self.plots.set_smoothing(s.int_value("plots/smoothing", 90) / 100)
        self.plots.set_log_y(str(s.value("plots/log_y", "false")).lower() == "true")
        for kind in KINDS:  # the plots the user hid, for toy runs and image runs apart
            self.plots.column.set_hidden(kind, s.list_value(f"plots/hidden_{kind}"))
        return restored

    def save(self) -> None:
        s, w = self.settings, self.window
        s.set_value("window/geometry", w.saveGeometry())
        s.set_value("window/state", w.saveState())
        s.set_value("window/splitter", self.splitter.saveState())
        s.set_value("samples/nrow", self.samples.grid.user_nrow)
        s.set_value("plots/smoothing", self.plots.smooth_slider.value())
        s.set_value("plots/log_y", self.plots.log_check.isChecked())
        for kind in KINDS:
            s.set_value(f"plots/hidden_{kind}", sorted(self.plots.column.hidden[kind]))
        s.sync()

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        self.override = None
        self.apply_theme()

    def apply_theme(self) -> None:
        theme = self.override or self.settings.theme
        self.dark = dark = resolve_dark(theme)
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, dark)
        for part in self.themed():
            if part is not None:
                part.set_dark(dark)
        for key, a in self.theme_actions.items():
            a.setChecked(key == theme)

"""The main window's files: the Open dialogs (a configuration, points, a run folder), saving the
form's configuration, and File > Open recent. A part of the window (it reads the window's form,
settings and services), kept apart so that the window's module stays one a newcomer can read."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from engine import save_config


class WindowFiles:
    def __init__(self, window):
        self.w = window

    def default_dir(self) -> Path:
        """Where a file dialog starts: the configuration's folder, else the runs folder."""
        if self.w.config_path is not None:
            return self.w.config_path.parent
        runs_dir = self.w.settings.runs_dir
        return runs_dir if runs_dir.is_dir() else Path.home()

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Open configuration", str(self.default_dir()),
                                              "Configurations (*.toml);;All files (*)")
        if path:
            self.w.open_path(path)

    def open_points_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Open points", str(self.default_dir()),
                                              "2-D points (*.csv *.tsv *.txt *.dat *.npy);;All files (*)")
        if path:
            self.w.open_points(path)

    def open_run_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.w, "Open run folder", str(self.w.settings.runs_dir))
        if path:
            self.w.open_path(path)

    # ------------------------------------------------------------------ saving the form's configuration
    def save(self) -> bool:
        return self.save_as() if self.w.config_path is None else self.save_to(self.w.config_path)

    def save_as(self) -> bool:
        start = str(self.default_dir() / f"{self.w.preset_name or 'config'}.toml")
        path, _ = QFileDialog.getSaveFileName(self.w, "Save configuration", start, "Configurations (*.toml)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return False
        path = Path(path if path.lower().endswith(".toml") else path + ".toml")
        return self.w.services.confirm_overwrite(path) and self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        panel, services = self.w.config_panel, self.w.services
        cfg = panel.config()
        if cfg is None:
            services.warn("Cannot save", f"The configuration is not valid: {panel.error}")
            return False
        try:
            save_config(cfg, path)
        except OSError as e:
            services.warn("Cannot save", f"{path}: {e.strerror or e}")
            return False
        self.w.config_path = Path(path)
        panel.mark_saved()
        self.remember(self.w.config_path)
        self.w.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    # ------------------------------------------------------------------ File > Open recent
    def fill_recent_menu(self) -> None:
        self.w.actions_.fill_recent(self.w.settings.recent_files, self.w.open_path, self.clear_recent)

    def clear_recent(self) -> None:
        self.w.settings.clear_recent()
        self.fill_recent_menu()

    def remember(self, path: Path) -> None:
        self.w.settings.add_recent(path)
        self.w.settings.sync()  # on disk now: a crash of the studio must not lose the run from the list
        self.fill_recent_menu()

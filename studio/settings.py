"""Persistent settings (QSettings) with a version and a migration step.

Orange's ``settings_version`` / ``migrate_settings`` pattern: every saved set of settings
carries the version that wrote it; on start-up :meth:`Settings.migrate` upgrades older ones one
step at a time, and every reader tolerates garbage (a hand-edited or corrupt file must never
keep the studio from starting).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANISATION = "WGAN Studio"
APPLICATION = "WGAN Studio"
SETTINGS_VERSION = 2
MAX_RECENT = 10
THEMES = ("system", "light", "dark")


def default_runs_dir() -> Path:
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    base = Path(docs) if docs else Path.home() / "Documents"
    return base / "WGAN Studio" / "runs"


class Settings:
    """Typed access to the studio's QSettings.

    INI format everywhere: one readable file per user on every platform, and tests can point
    it at a temporary folder with ``QSettings.setPath``.
    """

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                        ORGANISATION, APPLICATION)
        self.migrate()

    # ------------------------------------------------------------------ migration
    def migrate(self) -> None:
        version = self._int("settings_version", 0)
        if version < 1:
            # Version 0 (pre-release builds) kept recent files as one ';'-separated string.
            raw = self.q.value("recent")
            if isinstance(raw, str):
                self.q.setValue("recent_files", [p for p in raw.split(";") if p])
            self.q.remove("recent")
        if version < 2:
            # Version 1 spelled it camelCase and stored the theme as a bool "darkMode".
            if self.q.contains("lastPreset"):
                self.q.setValue("last_preset", self.q.value("lastPreset"))
                self.q.remove("lastPreset")
            if self.q.contains("darkMode"):
                dark = str(self.q.value("darkMode")).lower() in ("1", "true")
                self.q.setValue("theme", "dark" if dark else "light")
                self.q.remove("darkMode")
        if version != SETTINGS_VERSION:
            self.q.setValue("settings_version", SETTINGS_VERSION)

    # ------------------------------------------------------------------ tolerant readers
    def _int(self, key: str, default: int) -> int:
        try:
            return int(self.q.value(key, default))
        except (TypeError, ValueError):
            return default

    def _str(self, key: str, default: str = "") -> str:
        v = self.q.value(key, default)
        return v if isinstance(v, str) else default

    def _list(self, key: str) -> list[str]:
        v = self.q.value(key, [])
        if isinstance(v, str):  # QSettings returns a one-element list as a plain string
            v = [v]
        return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []

    # ------------------------------------------------------------------ values
    @property
    def last_preset(self) -> str:
        return self._str("last_preset")

    @last_preset.setter
    def last_preset(self, name: str) -> None:
        self.q.setValue("last_preset", name)

    @property
    def theme(self) -> str:
        t = self._str("theme", "system")
        return t if t in THEMES else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        self.q.setValue("theme", value if value in THEMES else "system")

    @property
    def recent_files(self) -> list[str]:
        return self._list("recent_files")[:MAX_RECENT]

    def add_recent(self, path: str | os.PathLike) -> list[str]:
        p = str(Path(path).resolve())
        items = [p] + [x for x in self.recent_files if x != p]
        self.q.setValue("recent_files", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.q.setValue("recent_files", [])

    @property
    def recent_remote(self) -> list[str]:
        """Remote runs opened (``ssh://host/path``), newest first; never a password or passphrase."""
        return [x for x in self._list("recent_remote") if x.startswith("ssh://")][:MAX_RECENT]

    def add_recent_remote(self, url: str) -> list[str]:
        items = [url] + [x for x in self.recent_remote if x != url]
        self.q.setValue("recent_remote", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    @property
    def runs_dir(self) -> Path:
        """Where new runs go: $WGAN_STUDIO_RUNS, then Preferences, then the documents folder."""
        env = os.environ.get("WGAN_STUDIO_RUNS")
        if env:
            return Path(os.path.expanduser(env))  # "~" means the home folder on Windows too
        saved = self._str("runs_dir")
        return Path(saved) if saved else default_runs_dir()

    @runs_dir.setter
    def runs_dir(self, path: str | os.PathLike | None) -> None:
        self.q.setValue("runs_dir", str(path) if path else "")

    @property
    def runs_folders(self) -> list[str]:
        """The folders the Runs view lists besides the runs folder (added by the user)."""
        return self._list("runs_folders")

    @runs_folders.setter
    def runs_folders(self, folders) -> None:
        self.q.setValue("runs_folders", [str(f) for f in folders])

    def value(self, key: str, default=None):
        return self.q.value(key, default)

    def set_value(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def int_value(self, key: str, default: int) -> int:
        return self._int(key, default)

    def list_value(self, key: str) -> list[str]:
        """A list of strings (none where the key is missing or holds something else)."""
        return self._list(key)

    def sync(self) -> None:
        self.q.sync()

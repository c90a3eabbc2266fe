"""Paths written in a configuration, read the same on every system (docs/guide/platforms.md).

A run folder made on one system opens on another: its config.toml may name the data as Windows
writes paths (``data\\mnist``, ``C:\\Users\\a\\digits.npz``) or as Linux and macOS do
(``data/mnist``, ``/home/a/digits.npz``). A relative path is read with either separator on every
system; an absolute path of the other family cannot exist here, and is refused with a message
that says so. The engine writes relative paths with ``/`` (Windows reads them too).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PureWindowsPath

WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\|//)")  # C:\..., C:/..., \\server\share


def local_path(text: str, *, file: str | None = None, key: str = "[data] path", windows: bool | None = None) -> Path:
    """``text`` (a path from a configuration) as a path of this system: ``~`` expanded, ``\\`` read as a
    separator on Linux and macOS. A ConfigError naming ``file`` and ``key`` when ``text`` is an
    absolute path of another system. ``windows`` (default: this system is Windows) is for tests."""
    from .checks import ConfigError

    windows = os.name == "nt" if windows is None else windows
    if windows:
        if text.startswith("/") and not text.startswith("//"):
            raise ConfigError("is an absolute path of Linux or macOS (the configuration was written there); "
                              "on Windows name the file as C:\\... or relative to the configuration's folder",
                              file=file, key=key, value=text)
        return Path(os.path.expanduser(text))
    if WINDOWS_ABSOLUTE.match(text):
        raise ConfigError("is an absolute Windows path (the configuration was written on Windows); on this system "
                          "name the file as /... or relative to the configuration's folder",
                          file=file, key=key, value=text)
    if "\\" in text:
        text = PureWindowsPath(text).as_posix()
    return Path(os.path.expanduser(text))

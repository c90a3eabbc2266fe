"""A run folder's files as a follower and a steering client see them, wherever the folder is.

:class:`RunFiles` is the few operations that following a run (:mod:`engine.follow`) and steering
it (:mod:`engine.requests`) need: the size and time of a file, a range of its bytes, a folder's
names, and an atomic write (a temporary name, then a rename). :class:`LocalFiles` is a folder on
this machine; ``engine.remote.RemoteFiles`` is one on another machine, over SSH (SFTP). Both go
through the same follower and the same request code, so a remote run behaves as a local one.

Paths inside the folder are relative POSIX names (``"metrics.csv"``, ``"samples"``,
``"requests/x.json"``).
"""

from __future__ import annotations

import os
import stat as stat_mod
from dataclasses import dataclass
from pathlib import Path

from .io import replace_file


class ConnectionLost(OSError):  # noqa: N818 - what a user reads: "connection lost"
    """The connection to the machine that holds the folder is gone (network, sshd restarted, a
    laptop asleep). Nothing was consumed by the call that raised it; reconnect and call again."""


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime: float                 # seconds (SFTP: whole seconds)
    is_dir: bool = False
    ident: tuple | None = None   # what tells a replaced file from the same one (local: device, inode)


class RunFiles:
    """The interface; ``name`` is how the folder is shown to a user (a path, or ``ssh://host/path``)."""

    name: str = ""
    remote = False

    def stat(self, rel: str) -> FileStat | None:
        """The file's size and time, or None when it does not exist."""
        raise NotImplementedError

    def stat_many(self, rels: list[str]) -> dict[str, FileStat | None]:
        """:meth:`stat` of several files (a remote folder asks for them together)."""
        return {rel: self.stat(rel) for rel in rels}

    def read(self, rel: str, offset: int = 0, length: int | None = None) -> bytes:
        """``length`` bytes (all to the end when None) from ``offset``; FileNotFoundError."""
        raise NotImplementedError

    def listdir(self, rel: str = "") -> list[str]:
        """The names in a folder of the run; FileNotFoundError."""
        raise NotImplementedError

    def makedirs(self, rel: str) -> None:
        raise NotImplementedError

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Write ``data`` under a temporary name beside ``rel``, then rename it to ``rel``: a reader
        sees no file or the whole one."""
        raise NotImplementedError

    def is_dir(self) -> bool:
        st = self.stat("")
        return st is not None and st.is_dir

    def reconnect(self) -> None:
        """After :class:`ConnectionLost`: connect again (raises ConnectionLost while it cannot)."""

    def close(self) -> None:
        """Let the folder go (a remote connection is closed; the run is not touched)."""

    def __str__(self) -> str:
        return self.name


class LocalFiles(RunFiles):
    """A folder on this machine."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.name = str(self.path)

    def _p(self, rel: str) -> Path:
        return self.path / rel if rel else self.path

    def stat(self, rel: str) -> FileStat | None:
        try:
            st = os.stat(self._p(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return FileStat(st.st_size, st.st_mtime, stat_mod.S_ISDIR(st.st_mode), (st.st_dev, st.st_ino))

    def read(self, rel: str, offset: int = 0, length: int | None = None) -> bytes:
        with open(self._p(rel), "rb") as fh:
            fh.seek(offset)
            return fh.read() if length is None else fh.read(length)

    def listdir(self, rel: str = "") -> list[str]:
        return [e.name for e in os.scandir(self._p(rel))]

    def makedirs(self, rel: str) -> None:
        self._p(rel).mkdir(parents=True, exist_ok=True)

    def write_atomic(self, rel: str, data: bytes) -> None:
        dest = self._p(rel)
        tmp = dest.with_name(f".{dest.name}.tmp")
        tmp.write_bytes(data)
        replace_file(tmp, dest)  # os.replace, retried on Windows while a reader has dest open


def as_run_files(folder: str | os.PathLike | RunFiles) -> RunFiles:
    """``folder`` as :class:`RunFiles` (a path is a local folder)."""
    return folder if isinstance(folder, RunFiles) else LocalFiles(folder)

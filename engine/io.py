"""Crash-safe file writing: a temp file in the same folder, flushed, fsync-ed, then renamed.

A reader (or a crash at any moment) sees either the old file or the new one, never a part.

Reading what a user names: :func:`unreadable_reason` refuses, before a byte is read, what would
never end (a device such as /dev/zero, a FIFO) or could not fit in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temp file beside ``path``; on success it replaces ``path`` atomically, on any
    error it is removed and ``path`` is untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would (0666 & ~umask),
        # or the mode of the file it replaces, so exports stay readable by the user's other tools.
        with contextlib.suppress(OSError, AttributeError):
            os.fchmod(fd, os.stat(path).st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK)
        # Text as UTF-8 with "\n" line ends on every system (Windows' default would be its code page and "\r\n").
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **text) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        replace_file(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


#: How long a replace waits on Windows for another handle to close the file it replaces.
REPLACE_RETRY_S = 5.0


def replace_file(src: str | os.PathLike, dst: str | os.PathLike, *, retry_s: float | None = None,
                 replace=os.replace, sleep=time.sleep, clock=time.monotonic) -> None:
    """``os.replace(src, dst)``, the one atomic rename on every system. Windows refuses to replace a
    file that another handle has open (a follower reading status.json, the studio loading
    latest.pt: Python opens files without FILE_SHARE_DELETE), so there it is tried again for up to
    ``retry_s`` (default :data:`REPLACE_RETRY_S`; 0 elsewhere, where an open file never stops a
    rename); then a PermissionError names the file and the reason."""
    if retry_s is None:
        retry_s = REPLACE_RETRY_S if os.name == "nt" else 0.0
    end, delay = clock() + retry_s, 0.01
    while True:
        try:
            replace(src, dst)
            return
        except PermissionError as e:
            if clock() >= end:
                raise PermissionError(e.errno, f"cannot replace the file (another program may have it open; "
                                               f"tried for {retry_s:g} s): {e.strerror or e}", str(dst)) from e
        sleep(delay)
        delay = min(2 * delay, 0.2)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once at import: os.umask() is process-wide, not safe to poke from threads


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable (POSIX); not possible/needed on Windows.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class UnreadableError(ValueError):
    """Why a file a user named cannot be read (the caller names the file in its own error)."""


def read_user_text(path: str | os.PathLike, max_bytes: int, expected: str = "a file") -> str:
    """The UTF-8 text of a file a user named (a configuration, a sweep file), checked first by
    :func:`unreadable_reason`; :class:`UnreadableError` with the reason otherwise."""
    reason = unreadable_reason(path, max_bytes, expected)
    if reason is not None:
        raise UnreadableError(reason)
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UnreadableError("no such file") from None
    except IsADirectoryError:
        raise UnreadableError(f"is a folder, expected {expected}") from None
    except UnicodeDecodeError:
        raise UnreadableError("not UTF-8 text") from None
    except OSError as e:
        raise UnreadableError(f"cannot read ({e.strerror})") from None


def user_cache_dir(kind: str, env: str) -> Path:
    """Where the app caches ``kind`` (``images``, ``features``): ``$env`` when set (``~`` expanded),
    else ``~/.cache/wgan-studio/KIND``."""
    value = os.environ.get(env)
    if value:
        return Path(os.path.expanduser(value))
    return Path.home() / ".cache" / "wgan-studio" / kind


def format_bytes(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def unreadable_reason(path: str | os.PathLike, max_bytes: int, expected: str = "a file") -> str | None:
    """Why ``path`` must not be read, or None: it does not exist, is a folder, is not a regular
    file (a device or a FIFO would be read forever), or is larger than ``max_bytes``. Links are
    followed. Checked before reading, so nothing is read from such a path."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "no such file"
    except OSError as e:
        return f"cannot read ({e.strerror or e})"
    if stat.S_ISDIR(st.st_mode):
        return f"is a folder, expected {expected}"
    if not stat.S_ISREG(st.st_mode):
        return f"is not a regular file (a device, a pipe or a socket), expected {expected}"
    if st.st_size > max_bytes:
        return f"is {format_bytes(st.st_size)}, more than the {format_bytes(max_bytes)} allowed for {expected}"
    return None

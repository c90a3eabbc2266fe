"""Runs as processes of their own, for a queue and a sweep: the ``wgan-train`` command line, its
threads, whether a process lives, and a file lock several processes agree on.

A run started here is an ordinary ``wgan-train`` process (started with ``subprocess``, never a
fork of this process: PyTorch's threads do not survive a fork). Its output goes to a log file.
A run whose configuration leaves its threads automatic (``train.threads = 0``) gets its share of
the cores through ``OMP_NUM_THREADS``, so runs side by side do not fight over the cores; its
configuration is not changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

HOST = socket.gethostname()


def machine_cores() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def slots_for(cores: int, threads_per_run: int) -> int:
    """How many runs of ``threads_per_run`` threads fit side by side on ``cores`` cores (at least one)."""
    return max(1, int(cores) // max(1, int(threads_per_run)))


def threads_needed(cfg, cores: int, nproc: int | None = None) -> int:
    """The CPU threads a run of ``cfg`` (an ``engine.config.Config``) needs: its ``train.threads``
    when set, else one for a 2-D point set (small networks use more threads poorly) and up to two
    for images; times its processes (``--nproc-per-node``)."""
    own = cfg.train.threads or (1 if cfg.is_toy else min(2, max(1, int(cores))))
    return own * max(1, nproc or 1)


def engine_command(name: str, *args) -> list[str]:
    """The command line of ``wgan-NAME ARGS`` (``train``, ``sweep``, ``queue``, ...) run by this
    program: this interpreter (the same environment), or in the packaged studio (PyInstaller sets
    ``sys.frozen``; there is no Python to run) its own executable with ``--engine NAME``, which
    its entry script hands to :func:`engine.cli.engine_command_main`."""
    rest = [str(a) for a in args]
    if getattr(sys, "frozen", False):
        return [sys.executable, "--engine", name, *rest]
    return [sys.executable, "-c", f"import sys; from engine.cli import {name}_main; sys.exit({name}_main())", *rest]


def thread_env(threads: int | None) -> dict[str, str]:
    """The environment of a child run limited to ``threads`` CPU threads (None: this one's)."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(int(threads))
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGINT (wgan-train: stop at the next iteration, write a checkpoint)
    when the thread that started it ends, e.g. when its sweep is killed."""
    import ctypes
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


def spawn(argv: Sequence[str], *, log: str | os.PathLike, threads: int | None = None,
          with_parent: bool = False) -> subprocess.Popen:
    """Start ``argv`` with its stdout and stderr appended to ``log``. ``with_parent``: it stops
    (SIGINT) when this process dies (Linux; a sweep's trials); otherwise it runs in a session of
    its own and outlives this process (a queue's runs)."""
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    kw: dict = {}
    if with_parent and sys.platform.startswith("linux"):
        kw["preexec_fn"] = _die_with_parent
    elif not with_parent:
        kw["start_new_session"] = True
    with open(log, "ab") as out:
        return subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=thread_env(threads), **kw)


def pid_alive(pid: int | None, host: str | None = None) -> bool | None:
    """Whether process ``pid`` lives; None when it runs on another host (cannot be told from here)."""
    if host is not None and host != HOST:
        return None
    if not pid or pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would send CTRL_C_EVENT there
        return _windows_pid_alive(int(pid))
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return not _zombie(int(pid))


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows
    import ctypes
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.GetLastError() == 5  # access denied: it exists, someone else's
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text("ascii").rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def last_line(path: str | os.PathLike, max_bytes: int = 4096) -> str:
    """The last non-empty line of a log file ('' when none)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - max_bytes))
            lines = [ln.strip() for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


# ----------------------------------------------------------------------------- file locks

class FileLock:
    """An advisory lock on a file (``flock``; ``msvcrt`` on Windows) that every process using the
    same path agrees on. ``acquire(block=False)`` says whether it got it; the lock ends with
    :meth:`release` or with the process. ``info`` is written into the file while held."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, block: bool = True, info: dict | None = None) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        if not _lock_fd(fd, block):
            os.close(fd)
            return False
        self._fd = fd
        if info is not None:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)  # no os.pwrite on Windows
            os.write(fd, json.dumps(info).encode())
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            _unlock_fd(fd)
        os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# Windows locks byte ranges, and its locks are mandatory: the lock takes one byte far past the
# info written into the file, so that lock_holder can still read who holds it.
WINDOWS_LOCK_OFFSET = 1 << 30


def _lock_fd(fd: int, block: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        while True:
            try:
                os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not block:
                    return False
                time.sleep(0.05)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _unlock_fd(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def lock_holder(path: str | os.PathLike) -> dict | None:
    """The ``info`` of whoever holds the lock at ``path`` now, or None when nobody does."""
    probe = FileLock(path)
    if not Path(path).exists():
        return None
    if probe.acquire(block=False):
        probe.release()
        return None
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    return info if isinstance(info, dict) else {}


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    with FileLock(path):
        yield

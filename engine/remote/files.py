"""A run folder on another machine (:class:`RemoteFiles`), read and written over SFTP through
fsspec's SSH file system (sshfs).

What crosses the wire per poll of a follower: one SFTP stat of each watched file (asked
together), a ranged read of the bytes a file grew by, a listing of ``samples/`` only when that
folder changed, a picture only when a new one appears, and the heartbeat only when it changed.
A request is written as ``requests/.NAME.json.tmp`` and renamed to ``requests/NAME.json``
(``posix-rename@openssh.com`` where the server has it).

A dropped connection raises :class:`engine.runfiles.ConnectionLost` from whatever call met it,
with nothing consumed; :meth:`RemoteFiles.reconnect` connects again with the answers already
given (no question is asked twice).
"""

from __future__ import annotations

import asyncio
import posixpath
import threading

from ..runfiles import ConnectionLost, FileStat, RunFiles
from .location import RemoteLocation, parse_location
from .ssh import (
    RECONNECT_TIMEOUT_S,
    HostKeyCheck,
    Prompter,
    RemoteError,
    SSHOptions,
    append_known_host,
    changed_key_message,
    client_factory,
    describe_failure,
    import_sshfs,
    known_host_line,
    passphrase_callback,
)

OP_TIMEOUT_S = 30.0                 # one file operation; longer: the link is taken as lost
KEEPALIVE_S, KEEPALIVE_COUNT = 10.0, 3
RUN_FILES = ("config.toml", "metrics.csv", "events.jsonl", "status.json", "checkpoints")


def missing_extra() -> str:
    return ("following a run over SSH needs the 'remote' extra: pip install 'wgan-studio[remote]' "
            "(sshfs, asyncssh and bcrypt)")


class Connection:
    """One SSH connection (an ``sshfs.SSHFileSystem``) to ``loc``'s host, made again on demand."""

    def __init__(self, loc: RemoteLocation, prompter: Prompter | None = None, options: SSHOptions | None = None):
        self.loc = loc
        self.prompter = prompter or Prompter()
        self.options = options or SSHOptions()
        self.secrets: dict = {}   # in memory only: for reconnections
        self.fs = None
        self.generation = 0       # connections made so far (folders sharing this one tell a new one by it)
        self.lock = threading.Lock()

    def connect(self, timeout: float | None = None) -> None:
        """Connect (asking about an unknown host key once); RemoteError saying what failed."""
        try:
            import_sshfs()
        except ImportError:
            raise RemoteError(missing_extra()) from None
        timeout = timeout or self.options.connect_timeout
        for _ in range(2):
            check = HostKeyCheck(self.options.known_hosts_path())
            try:
                self.fs = self._open(check, timeout)
                self.generation += 1
                return
            except Exception as e:  # noqa: BLE001 - each kind is named below
                if check.changed is not None:
                    host, port, key = check.changed
                    raise RemoteError(changed_key_message(host, port, key.get_fingerprint("sha256"),
                                                          check.path)) from None
                if check.unknown is None:
                    raise RemoteError(describe_failure(e, self.loc, timeout)) from None
                self._ask_host_key(check)
        raise RemoteError(f"{self.loc.where}: the host key could not be checked")

    def _ask_host_key(self, check: HostKeyCheck) -> None:
        host, port, key = check.unknown
        fingerprint = key.get_fingerprint("sha256")
        if not self.prompter.confirm_host_key(host, port, key.get_algorithm(), fingerprint):
            where = host if port == 22 else f"[{host}]:{port}"
            raise RemoteError(f"{where}: host key not accepted ({key.get_algorithm()} {fingerprint} is not in "
                              f"{check.path}); nothing was read or written")
        append_known_host(check.path, known_host_line(host, port, key))

    def _open(self, check: HostKeyCheck, timeout: float):
        from sshfs import SSHFileSystem

        opts = self.options
        kwargs = dict(known_hosts=check.known_hosts(), config=opts.config_paths(),
                      client_factory=client_factory(check, self.prompter, self.secrets, self.loc.where),
                      passphrase=passphrase_callback(self.prompter, self.secrets),
                      connect_timeout=timeout, keepalive_interval=KEEPALIVE_S, keepalive_count_max=KEEPALIVE_COUNT,
                      skip_instance_cache=True, timeout=timeout + 5)
        if self.loc.user:
            kwargs["username"] = self.loc.user
        if self.loc.port:
            kwargs["port"] = self.loc.port
        if not opts.agent:
            kwargs["agent_path"] = None
        if opts.client_keys is not None:
            kwargs["client_keys"] = [str(p) for p in opts.client_keys]
        return SSHFileSystem(self.loc.host, **kwargs)

    def close(self) -> None:
        fs, self.fs = self.fs, None
        if fs is not None:
            try:
                fs.loop.call_soon_threadsafe(fs.client.close)
            except (RuntimeError, AssertionError):
                pass


class RemoteFiles(RunFiles):
    """A folder on another machine (see the module's docstring)."""

    remote = True

    def __init__(self, conn: Connection, path: str | None = None):
        self.conn = conn
        self.root = path if path is not None else conn.loc.path
        self.loc = RemoteLocation(conn.loc.host, self.root, conn.loc.user, conn.loc.port)
        self.name = self.loc.url
        self.handles: dict = {}   # open handles of the files read from an offset (see read)
        self.generation = conn.generation

    def child(self, name: str) -> RemoteFiles:
        """A folder in this one, over the same connection (a run in a remote runs folder; folders
        sharing a connection may be followed on several threads: one reconnection serves all)."""
        return RemoteFiles(self.conn, posixpath.join(self.root, name))

    def _p(self, rel: str) -> str:
        return posixpath.join(self.root, rel) if rel else self.root

    def _call(self, fn, *args, **kwargs):
        """``fn(fs, *args, timeout=...)`` on the connection; a lost link becomes ConnectionLost."""
        fs = self.conn.fs
        if fs is None:
            raise ConnectionLost(f"{self.loc.where}: not connected")
        if self.generation != self.conn.generation:  # connected again by a folder sharing the connection
            self.handles.clear()
            self.generation = self.conn.generation
        try:
            return fn(fs, *args, timeout=OP_TIMEOUT_S, **kwargs)
        except Exception as e:  # noqa: BLE001 - sorted by _raise
            self._raise(e)

    def _raise(self, e: BaseException):
        """Raise ``e`` as a file's own problem (FileNotFoundError, PermissionError, OSError) or as
        ConnectionLost (the link's)."""
        import asyncssh
        from fsspec.asyn import FSTimeoutError

        if isinstance(e, FileNotFoundError | PermissionError | FileExistsError | NotADirectoryError
                      | IsADirectoryError):
            raise e
        if isinstance(e, asyncssh.SFTPError) and not isinstance(e, asyncssh.SFTPConnectionLost
                                                                | asyncssh.SFTPNoConnection):
            kind = {asyncssh.SFTPNoSuchFile: FileNotFoundError, asyncssh.SFTPPermissionDenied: PermissionError}
            raise kind.get(type(e), OSError)(f"{self.loc.where}: {e.reason}") from e
        if isinstance(e, OSError | EOFError | FSTimeoutError | asyncio.TimeoutError | RuntimeError | asyncssh.Error):
            self._lost(e)
        raise e

    def _lost(self, e: BaseException):
        self.handles.clear()   # they belonged to the lost connection
        if self.conn.generation == self.generation:  # not one made again meanwhile by another folder
            self.conn.close()
        raise ConnectionLost(f"{self.loc.where}: connection lost ({type(e).__name__}: {e})") from e

    @staticmethod
    def _stat(info: dict) -> FileStat:
        mtime = info.get("mtime")
        return FileStat(int(info.get("size") or 0), mtime.timestamp() if mtime is not None else 0.0,
                        info.get("type") == "directory")

    def stat(self, rel: str) -> FileStat | None:
        return self.stat_many([rel])[rel]

    def stat_many(self, rels: list[str]) -> dict[str, FileStat | None]:
        """The stats asked for together (one round trip for all, not one each)."""
        paths = [self._p(r) for r in rels]

        def run(fs, timeout):
            from fsspec.asyn import sync

            async def gather():
                return await asyncio.gather(*(fs._info(p) for p in paths), return_exceptions=True)
            return sync(fs.loop, gather, timeout=timeout)

        out: dict[str, FileStat | None] = {}
        for rel, got in zip(rels, self._call(run), strict=True):
            if isinstance(got, FileNotFoundError | NotADirectoryError):
                out[rel] = None
            elif isinstance(got, BaseException):
                self._raise(got)
            else:
                out[rel] = self._stat(got)
        return out

    def read(self, rel: str, offset: int = 0, length: int | None = None) -> bytes:
        """A ranged read (``length`` given: a file followed from an offset) goes through a handle
        kept open between polls (no open and close each time); a read that comes back short (the
        file was replaced: the handle holds the old one) opens the file again. A whole read
        (``length`` None: the heartbeat, a picture) opens and closes it."""
        if length is None:
            def whole(fs, timeout):
                with fs.open(self._p(rel), "rb") as fh:
                    return fh.read(-1)
            return self._call(whole)
        data = self._call(self._read_range, rel, offset, length, False)
        if len(data) < length:
            data = self._call(self._read_range, rel, offset, length, True)
        return data

    def _read_range(self, fs, rel: str, offset: int, length: int, reopen: bool, timeout: float) -> bytes:
        fh = self.handles.get(rel)
        if fh is None or reopen:
            self._close_handle(rel)
            fh = self.handles[rel] = fs.open(self._p(rel), "rb")
        fh.seek(offset)
        return fh.read(length)

    def _close_handle(self, rel: str) -> None:
        fh = self.handles.pop(rel, None)
        if fh is not None:
            try:
                fh.close()
            except Exception:  # noqa: BLE001 - a handle of a lost connection: nothing to close
                pass

    def listdir(self, rel: str = "") -> list[str]:
        return [posixpath.basename(p.rstrip("/")) for p in self._call(lambda fs, timeout: fs.ls(
            self._p(rel), detail=False, timeout=timeout))]

    def makedirs(self, rel: str) -> None:
        self._call(lambda fs, timeout: fs.makedirs(self._p(rel), exist_ok=True, timeout=timeout))

    def write_atomic(self, rel: str, data: bytes) -> None:
        """``.NAME.tmp`` beside ``rel``, then a rename over SFTP (posix-rename where the server has it)."""
        dest = self._p(rel)
        tmp = posixpath.join(posixpath.dirname(dest), f".{posixpath.basename(dest)}.tmp")
        self._call(lambda fs, timeout: fs.pipe_file(tmp, data, timeout=timeout))
        self._call(lambda fs, timeout: fs.mv(tmp, dest, timeout=timeout))

    def reconnect(self) -> None:
        self.handles.clear()
        with self.conn.lock:
            if self.conn.fs is not None and self.conn.generation != self.generation:
                self.generation = self.conn.generation  # another folder of this connection did it
                return
            self.conn.close()
            try:
                self.conn.connect(RECONNECT_TIMEOUT_S)
            except RemoteError as e:
                if "host key" in str(e):
                    raise
                raise ConnectionLost(str(e)) from None
            self.generation = self.conn.generation

    def close(self) -> None:
        """Close the connection and forget the passphrases and passwords typed for it."""
        for rel in list(self.handles):
            self._close_handle(rel)
        self.conn.close()
        self.conn.secrets.clear()


def open_remote_folder(url: str, prompter: Prompter | None = None, options: SSHOptions | None = None) -> RemoteFiles:
    """Connect to ``ssh://[user@]host[:port]/path`` and check the folder is there and readable (a
    runs folder, or a run); RemoteError saying what failed."""
    try:
        loc = parse_location(url)
    except ValueError as e:
        raise RemoteError(str(e)) from None
    conn = Connection(loc, prompter, options)
    conn.connect()
    files = RemoteFiles(conn)
    try:
        st = files.stat("")
        if st is None:
            raise RemoteError(f"{loc.url}: no such folder on {loc.host}")
        if not st.is_dir:
            raise RemoteError(f"{loc.url}: a file, not a folder")
        files.names = files.listdir("")
    except PermissionError:
        conn.close()
        raise RemoteError(f"{loc.url}: permission denied (the SSH user cannot read this folder)") from None
    except (RemoteError, ConnectionLost):
        conn.close()
        raise
    return files


def open_remote_run(url: str, prompter: Prompter | None = None, options: SSHOptions | None = None) -> RemoteFiles:
    """:func:`open_remote_folder`, refused unless the folder is a run folder (config.toml,
    metrics.csv, events.jsonl, status.json or checkpoints/ in it)."""
    files = open_remote_folder(url, prompter, options)
    if not set(files.names) & set(RUN_FILES):
        files.close()
        raise RemoteError(f"{files.name}: not a run folder (none of {', '.join(RUN_FILES)} in it)")
    return files

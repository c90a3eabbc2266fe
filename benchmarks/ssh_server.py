"""A real SSH server with SFTP on 127.0.0.1 (asyncssh), for the remote tests and
benchmarks/remote_follow.py: host and client keys made here, a client home (``.ssh/config``,
``known_hosts``, an identity file) in a folder of the caller's, so nothing touches the user's
own ``~/.ssh``. It can be killed (every connection dropped) and started again on the same port
with the same host key. :class:`CountingProxy` counts the bytes a client moves on the wire."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from engine.remote import SSHOptions
from engine.remote.ssh import import_sshfs

import_sshfs()  # asyncssh without its DSA deprecation warnings
import asyncssh  # noqa: E402


class _Counting(asyncssh.SSHServer):
    def __init__(self, owner: LocalSSHServer):
        self.owner = owner

    def connection_made(self, conn):
        self.owner.conns.append(conn)

    def begin_auth(self, username):
        return True

    def password_auth_supported(self):
        return self.owner.password is not None

    def validate_password(self, username, password):
        return password == self.owner.password


class _SFTP(asyncssh.SFTPServer):
    """The real file system, less the folders the test made unreadable for the SSH user (the tests
    run as root, whom file modes do not stop)."""

    def __init__(self, chan, owner: LocalSSHServer):
        super().__init__(chan)
        self.owner = owner

    def map_path(self, path: bytes) -> bytes:
        mapped = super().map_path(path)
        if any(mapped.decode() == d or mapped.decode().startswith(d + "/") for d in self.owner.denied):
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        return mapped


class LocalSSHServer:
    """``start()``, ``kill()``, ``start()`` again (same port and host key), ``close()``.
    ``options()``: the client's :class:`engine.remote.SSHOptions` for this server's home folder;
    ``url(path)``: ``ssh://user@127.0.0.1:PORT/path``."""

    def __init__(self, home: Path, *, user: str = "tester", password: str | None = None,
                 authorize_key: bool = True, host_key=None):
        self.home = Path(home)
        self.ssh_dir = self.home / ".ssh"
        self.ssh_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.user, self.password = user, password
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_path = self.ssh_dir / "id_ed25519"
        self.client_key.write_private_key(str(self.client_key_path))
        self.client_key_path.chmod(0o600)   # as ssh-keygen leaves it (ssh and ssh-add refuse others)
        self.client_key.write_public_key(str(self.client_key_path) + ".pub")
        self.authorize_key = authorize_key
        self.port = 0
        self.conns: list = []
        self.denied: set[str] = set()   # folders the SSH user may not read (as if chmod 700 by another user)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ssh-server", daemon=True)
        self.thread.start()
        self.acceptor = None

    def _call(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> LocalSSHServer:
        async def listen():
            keys = [self.client_key.convert_to_public()] if self.authorize_key else []
            return await asyncssh.listen(
                "127.0.0.1", self.port, server_host_keys=[self.host_key], reuse_address=True,
                authorized_client_keys=asyncssh.import_authorized_keys(
                    "".join(k.export_public_key("openssh").decode() for k in keys)) if keys else None,
                sftp_factory=lambda chan: _SFTP(chan, self), allow_scp=False, server_factory=lambda: _Counting(self),
                keepalive_interval=0, line_editor=False)
        self.acceptor = self._call(listen())
        self.port = self.acceptor.sockets[0].getsockname()[1]
        return self

    def kill(self) -> None:
        """Stop listening and drop every connection at once (sshd killed, or the network gone)."""
        async def stop():
            if self.acceptor is not None:
                self.acceptor.close()
                await self.acceptor.wait_closed()
            for conn in self.conns:
                conn.abort()
            self.conns.clear()
        self._call(stop())
        self.acceptor = None

    def close(self) -> None:
        self.kill()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def options(self, **kw) -> SSHOptions:
        """The client side: known_hosts and config in this server's home folder, its identity
        file, no ssh-agent (the user's keys stay out of it)."""
        return SSHOptions(known_hosts=self.ssh_dir / "known_hosts", config=[self.ssh_dir / "config"], agent=False,
                          client_keys=[self.client_key_path], connect_timeout=30.0, **kw)

    def trust(self, known_hosts: Path | None = None) -> None:
        """Put this server's host key in the client's known_hosts (as after a first "yes")."""
        from engine.remote.ssh import append_known_host, known_host_line
        append_known_host(known_hosts or self.ssh_dir / "known_hosts",
                          known_host_line("127.0.0.1", self.port, self.host_key))

    def url(self, path: str | Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{Path(path).resolve()}"


class CountingProxy:
    """A TCP relay on 127.0.0.1 in front of ``port`` (on ``server``'s loop) that counts the bytes
    going each way: what an SSH client moves on the wire, encryption and framing included."""

    def __init__(self, server: LocalSSHServer):
        self.server = server
        self.up = self.down = 0
        self.port = 0
        self.writers: list = []

    def start(self) -> CountingProxy:
        async def relay(reader, writer, count):
            try:
                while data := await reader.read(65536):
                    count(len(data))
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def handle(c_reader, c_writer):
            s_reader, s_writer = await asyncio.open_connection("127.0.0.1", self.server.port)
            self.writers += [c_writer, s_writer]
            await asyncio.gather(relay(c_reader, s_writer, self._up), relay(s_reader, c_writer, self._down))

        async def listen():
            return await asyncio.start_server(handle, "127.0.0.1", 0)
        self.listener = self.server._call(listen())
        self.port = self.listener.sockets[0].getsockname()[1]
        return self

    def close(self) -> None:
        async def stop():
            self.listener.close()
            for w in self.writers:
                w.close()
            await asyncio.sleep(0.1)
        self.server._call(stop())

    def _up(self, n: int) -> None:
        self.up += n

    def _down(self, n: int) -> None:
        self.down += n

    @property
    def total(self) -> int:
        return self.up + self.down


class RunWriter:
    """A run folder written as the trainer writes it (:class:`engine.rundir.RunDir`: whole rows
    appended in one write; the heartbeat rewritten each ``heartbeat_s``), a row every ``every``
    seconds on a thread of its own; ``written_at[gen_iter]``: when each row was written
    (``time.monotonic``)."""

    def __init__(self, folder: Path, *, every: float = 0.05, heartbeat_s: float = 0.5, preset: str = "toy-wgan-gp",
                 picture_every_s: float = 0.0):
        from engine import RunDir, load_preset
        from engine.rundir import metric_columns

        self.rd = RunDir(folder).create()
        self.cfg = load_preset(preset)
        self.rd.write_config(self.cfg)
        self.columns = metric_columns(True)
        self.rd.start_metrics(self.columns)
        self.rd.append_event({"type": "start", "gen_iter": 0})
        self.every, self.heartbeat_s, self.picture_every_s = every, heartbeat_s, picture_every_s
        self.paused = threading.Event()   # set: no rows, no heartbeat (a run paused, or gone)
        self.written_at: dict[int, float] = {}
        self.bytes_written = 0
        self.gen_iter = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._write, name="run-writer", daemon=True)

    def start(self) -> RunWriter:
        self.thread.start()
        return self

    def row(self) -> list:
        i = self.gen_iter
        return [i, 0.01 * i, 1.0 / i, -1.0 / i, 0.5, 0.1] + [0.25] * (len(self.columns) - 6)

    def _write(self) -> None:
        import time

        from engine.requests import write_status
        next_beat = 0.0
        next_picture = time.monotonic() + self.picture_every_s
        while not self._stop.wait(self.every):
            if self.paused.is_set():
                continue
            self.gen_iter += 1
            before = self.rd.metrics_path.stat().st_size
            self.rd.append_metrics([self.row()])
            self.written_at[self.gen_iter] = time.monotonic()
            self.bytes_written += self.rd.metrics_path.stat().st_size - before
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self.heartbeat_s
                write_status(self.rd.path, {"state": "running", "gen_iter": self.gen_iter, "total": 100000,
                                            "its_per_sec": 1 / self.every, "live": {}, "device": "cpu"})
                self.bytes_written += (self.rd.path / "status.json").stat().st_size
            if self.picture_every_s and time.monotonic() >= next_picture:
                next_picture = time.monotonic() + self.picture_every_s
                self.bytes_written += self.picture()

    def picture(self) -> int:
        """A 64 x 64 sample picture as the trainer writes one; its size in bytes."""
        import numpy as np
        from PIL import Image

        path = self.rd.sample_path(self.gen_iter)
        tmp = path.with_name(f".{path.name}.tmp")
        rng = np.random.default_rng(self.gen_iter)
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp, format="PNG")
        tmp.replace(path)
        return path.stat().st_size

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)

"""Connecting to another machine over SSH as OpenSSH users expect, for fsspec's SSH file system
(sshfs, on asyncssh).

- ``~/.ssh/config`` applies (host aliases, HostName, User, Port, IdentityFile, ...): asyncssh
  reads it (its ``config`` option); keys come from ssh-agent and the identity files.
- A passphrase (an encrypted key) or a password is asked through a :class:`Prompter` (the terminal
  for ``wgan-ctl``, a dialog in the studio) and kept in memory only, for the reconnections of
  this connection; it is never written anywhere.
- Host keys are checked against ``~/.ssh/known_hosts``. An unknown host is asked about with its
  key's SHA256 fingerprint; accepted, the key is appended to known_hosts as ``ssh`` does. A key
  other than the one known for the host is refused with what that can mean. Nothing turns
  checking off.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from .location import RemoteLocation

CONNECT_TIMEOUT_S = 120.0    # the first connection (a passphrase typed counts)
RECONNECT_TIMEOUT_S = 20.0   # a reconnection (nothing asked)
KEEPALIVE_S = 10.0           # a dead link is noticed after KEEPALIVE_S * KEEPALIVE_COUNT


def import_sshfs():
    """sshfs and asyncssh, imported without the deprecation warnings of the algorithms asyncssh
    still knows (DSA): nothing a user can act on."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*DSA.*")
        import asyncssh  # noqa: F401
        import sshfs
    return sshfs


class RemoteError(OSError):
    """Connecting failed, or the folder is not what was asked for: the message says what failed."""


class Prompter:
    """Asks the user. The base class asks nothing: unknown hosts are refused, no secret is given."""

    interactive = False

    def confirm_host_key(self, host: str, port: int, key_type: str, fingerprint: str) -> bool:
        """Whether to trust (and remember) an unknown host's key."""
        return False

    def secret(self, prompt: str) -> str | None:
        """A passphrase or password (None: the user cancelled)."""
        return None


class TerminalPrompter(Prompter):
    """Asks on the terminal (``wgan-ctl``), like ``ssh``; without a terminal it asks nothing."""

    def __init__(self, stream=None):
        import sys
        self.stream = stream or sys.stderr
        self.interactive = sys.stdin is not None and sys.stdin.isatty()

    def confirm_host_key(self, host: str, port: int, key_type: str, fingerprint: str) -> bool:
        if not self.interactive:
            return False
        print(host_key_question(host, port, key_type, fingerprint), file=self.stream)
        while True:
            answer = input("Are you sure you want to continue connecting (yes/no)? ").strip().lower()
            if answer in ("yes", "no"):
                return answer == "yes"
            print("Please type 'yes' or 'no'.", file=self.stream)

    def secret(self, prompt: str) -> str | None:
        if not self.interactive:
            return None
        import getpass
        try:
            return getpass.getpass(prompt)
        except (EOFError, KeyboardInterrupt):
            return None


def host_key_question(host: str, port: int, key_type: str, fingerprint: str) -> str:
    where = host if port == 22 else f"[{host}]:{port}"
    return (f"The authenticity of host '{where}' can't be established.\n"
            f"{key_type} key fingerprint is {fingerprint}.\n"
            "This key is not known by any other names (it is not in your known_hosts file).")


def changed_key_message(host: str, port: int, fingerprint: str, known_hosts: Path) -> str:
    where = host if port == 22 else f"[{host}]:{port}"
    return (f"the host key of {where} has changed: it is not the one in {known_hosts}. Someone could be "
            f"intercepting the connection (a man-in-the-middle attack), or the server was reinstalled or its "
            f"keys were replaced. The key offered now has the fingerprint {fingerprint}. If you know why it "
            f"changed, remove the old key with: ssh-keygen -R '{where}' -f {known_hosts}, then connect again. "
            "Refused.")


@dataclass
class SSHOptions:
    """Where the user's OpenSSH files are (the defaults: ``~/.ssh/config`` and ``~/.ssh/known_hosts``)."""

    known_hosts: Path | None = None
    config: list[Path] | None = None
    agent: bool = True                       # keys of ssh-agent (SSH_AUTH_SOCK)
    client_keys: list[Path] | None = None    # identity files instead of the configured and default ones
    connect_timeout: float = CONNECT_TIMEOUT_S

    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts) if self.known_hosts is not None else Path.home() / ".ssh" / "known_hosts"

    def config_paths(self) -> list[str]:
        paths = self.config if self.config is not None else [Path.home() / ".ssh" / "config"]
        return [str(p) for p in paths if Path(p).is_file()]


def known_host_line(host: str, port: int, key) -> str:
    """The known_hosts line ``ssh`` appends for a key: ``host`` (``[host]:port`` off port 22),
    the algorithm and the key in base64."""
    where = host if port == 22 else f"[{host}]:{port}"
    return f"{where} {key.algorithm.decode('ascii')} {base64.b64encode(key.public_data).decode('ascii')}\n"


def append_known_host(path: Path, line: str) -> None:
    """Append ``line`` to the known_hosts file ``path`` (made with its folder, 0700, when missing)."""
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line
        os.write(fd, line.encode("ascii"))
    finally:
        os.close(fd)


class HostKeyCheck:
    """What the connection's host key check met: ``unknown`` or ``changed`` (host, port, key)."""

    def __init__(self, known_hosts_path: Path):
        self.path = known_hosts_path
        self.unknown = None
        self.changed = None

    def known_hosts(self):
        """What asyncssh checks against: the file's entries (none when there is no file)."""
        import asyncssh
        if self.path.is_file():
            return asyncssh.read_known_hosts(str(self.path))
        return ([], [], [])

    def validate(self, host: str, addr: str, port: int, key) -> bool:
        """Called by asyncssh for a key the file does not trust: refused here; the caller asks the
        user about an unknown one and connects again."""
        import asyncssh
        known = self.known_hosts()
        trusted = [] if isinstance(known, tuple) else asyncssh.match_known_hosts(
            known, host, addr, port if port != 22 else None)[0]
        if trusted:
            self.changed = (host, port, key)
        else:
            self.unknown = (host, port, key)
        return False


def client_factory(check: HostKeyCheck, prompter: Prompter, secrets: dict, where: str):
    """An asyncssh client (:class:`engine.remote.client.Client`) that checks host keys with ``check``
    and asks ``prompter`` for a password off the event loop's thread (``secrets`` keeps the answer
    for reconnections)."""
    from .client import Client
    return lambda: Client(check, prompter, secrets, where)


def passphrase_callback(prompter: Prompter, secrets: dict):
    """asyncssh's passphrase: asked once per encrypted identity file (when the server accepts its
    public key), kept in memory for reconnections."""
    def passphrase(filename: str):
        key = f"passphrase:{filename}"
        if key not in secrets and prompter.interactive:
            answer = prompter.secret(f"Enter passphrase for key '{filename}': ")
            if answer is None:
                return None
            secrets[key] = answer
        return secrets.get(key)
    return passphrase


def describe_failure(e: BaseException, loc: RemoteLocation, timeout: float) -> str:
    """What failed, for a user: the host, the login, or the link."""
    import asyncssh
    where = loc.where
    if isinstance(e.__cause__, asyncssh.PermissionDenied):  # sshfs re-raises it as PermissionError
        e = e.__cause__
    if isinstance(e, socket.gaierror):
        return f"{loc.host}: no such host (the name does not resolve: {e.strerror or e}); check the name or its " \
               "Host entry in ~/.ssh/config"
    if isinstance(e, ConnectionRefusedError):
        return f"{where}: connection refused (no SSH server answers on that port)"
    if isinstance(e, asyncio.TimeoutError | TimeoutError):
        return f"{where}: no answer within {timeout:.0f} s (the host is down, unreachable, or a firewall drops SSH)"
    if isinstance(e, asyncssh.PermissionDenied):
        return (f"{where}: login refused: the server accepted none of the keys (ssh-agent, identity files) or "
                f"passwords offered ({e.reason})")
    if isinstance(e, asyncssh.KeyImportError | asyncssh.KeyEncryptionError):
        return f"{where}: cannot use the identity file: {e}"
    if isinstance(e, asyncssh.Error):
        return f"{where}: {e.reason}"
    if isinstance(e, OSError):
        return f"{where}: {e.strerror or e}"
    return f"{where}: {type(e).__name__}: {e}"

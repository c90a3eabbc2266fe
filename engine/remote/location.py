"""Where a remote run folder is: ``ssh://[user@]host[:port]/path``.

``host`` may be a ``Host`` alias of ``~/.ssh/config`` (its HostName, User, Port and IdentityFile
apply, as with ``ssh``). ``/path`` is absolute; ``/~/path`` is relative to the user's home folder
on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SCHEME = "ssh://"


def is_remote(text: object) -> bool:
    """Whether ``text`` names a folder on another machine (``ssh://...``)."""
    return isinstance(text, str) and text.lower().startswith(SCHEME)


@dataclass(frozen=True)
class RemoteLocation:
    host: str
    path: str                 # absolute, or relative to the home folder (from /~/...)
    user: str | None = None
    port: int | None = None

    @property
    def url(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        path = self.path if self.path.startswith("/") else f"/~/{self.path}"
        return f"ssh://{user}{self.host}{port}{path}"

    @property
    def where(self) -> str:
        """``user@host:port`` as a user wrote it (for messages)."""
        return f"{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}"

    def child(self, name: str) -> RemoteLocation:
        path = self.path.rstrip("/") + "/" + name if self.path else name
        return RemoteLocation(self.host, path, self.user, self.port)

    def __str__(self) -> str:
        return self.url


def parse_location(text: str) -> RemoteLocation:
    """``ssh://[user@]host[:port]/path`` as a :class:`RemoteLocation`; ValueError naming what is
    wrong and what is allowed."""
    if not is_remote(text):
        raise ValueError(f"{text!r}: not a remote location (expected ssh://[user@]host[:port]/path)")
    parts = urlsplit(text.strip())
    if parts.query or parts.fragment:
        raise ValueError(f"{text!r}: a remote location has no '?' or '#' part (expected ssh://[user@]host[:port]/path)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"{text!r}: no host (expected ssh://[user@]host[:port]/path)")
    path = unquote(parts.path)
    if path in ("", "/", "/~", "/~/"):
        raise ValueError(f"{text!r}: no folder (expected ssh://[user@]host[:port]/path/to/run, or /~/path "
                         "for a folder in the home folder)")
    if path.startswith("/~/"):
        path = path[3:]
    user = unquote(parts.username) if parts.username else None
    return RemoteLocation(host=host, path=path.rstrip("/") or "/", user=user, port=port)

"""Following and steering a run on another machine over SSH (``ssh://[user@]host[:port]/path``):
its folder as :class:`engine.runfiles.RunFiles` over SFTP (fsspec's SSH file system, sshfs on
asyncssh: the ``remote`` extra), with OpenSSH's configuration, keys and host key checks
(docs/guide/remote.md)."""

from .files import Connection, RemoteFiles, open_remote_folder, open_remote_run
from .location import RemoteLocation, is_remote, parse_location
from .ssh import Prompter, RemoteError, SSHOptions, TerminalPrompter

__all__ = ["Connection", "Prompter", "RemoteError", "RemoteFiles", "RemoteLocation", "SSHOptions",
           "TerminalPrompter", "is_remote", "open_remote_folder", "open_remote_run", "parse_location"]

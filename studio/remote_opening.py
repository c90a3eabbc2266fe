"""Opening a run on another machine over SSH: ``wgan-studio ssh://[user@]host[:port]/path``, File >
Open remote run. The connection, the host key check, the login and the first reads happen on a
task's thread (the questions they ask come to the GUI thread as dialogs,
:class:`studio.remote_dialogs.GuiPrompter`); the run is then followed like a local one
(:class:`studio.sources.FolderSource` over :class:`engine.remote.RemoteFiles`): curves, events,
samples, state, it/s, ETA, "not responding", and "connection lost, retrying" while the link is
down. Closing the window stops following only: the run goes on training on its machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.config import ConfigError, loads_config
from engine.remote import RemoteError, SSHOptions, open_remote_run, parse_location
from studio.remote_dialogs import GuiPrompter, RemoteRunDialog
from studio.run_model import RunModel
from studio.sources import FolderSource
from studio.window_services import WindowServices


def remote_key(url: str) -> Path:
    """The stand-in folder key of a remote run (held runs are told apart by it; nothing is there
    on this machine): ``/ssh:/user@host:port/path``."""
    loc = parse_location(url)
    return Path("/ssh:") / loc.where / loc.path.lstrip("/")


def connect_and_read(url: str, prompter, options: SSHOptions | None):
    """(files, config) of the remote run ``url``, or a message saying what failed."""
    try:
        files = open_remote_run(url, prompter, options)
    except RemoteError as e:
        return str(e)
    try:
        text = files.read("config.toml").decode("utf-8", "replace")
        return files, loads_config(text, file=f"{files.name}/config.toml")
    except FileNotFoundError:
        problem = f"{files.name}: no config.toml (the run has not started writing its folder yet)"
    except ConfigError as e:
        problem = f"{files.name}/config.toml cannot be read: {e}"
    except OSError as e:
        problem = f"{files.name}: {e}"
    files.close()
    return problem


class RemoteOpener:
    """``open(url)`` and ``open_dialog()``. ``options``: where the OpenSSH files are (None: the
    user's ~/.ssh); ``prompter``: who answers the connection's questions (dialogs)."""

    def __init__(self, model: RunModel, services: WindowServices, *,
                 set_origin: Callable[[str | None, Path | None], None], options: SSHOptions | None = None):
        self.model, self.ui, self.set_origin = model, services, set_origin
        self.options = options
        self.prompter = GuiPrompter(services.parent)
        self.dialog: RemoteRunDialog | None = None
        self.task = None

    def open_dialog(self) -> RemoteRunDialog:
        self.dialog = RemoteRunDialog(self.ui.settings.recent_remote, self.ui.parent)
        self.dialog.accepted.connect(lambda: self.open(self.dialog.url()))
        self.dialog.open()
        return self.dialog

    def open(self, url: str) -> bool:
        """Connect in the background and follow the run; a held run of ``url`` is shown instead."""
        try:
            key = remote_key(url)
        except ValueError as e:
            self.ui.warn("Cannot open the remote run", str(e))
            return False
        held = self.model.runs.find(key)
        if held is not None and held.active:
            self.model.switch_to(held)
            return True
        self.ui.message(f"Connecting to {parse_location(url).where}…")
        self.task = self.ui.tasks.run_task(lambda: connect_and_read(url, self.prompter, self.options),
                                           self._opened, self._failed)
        return True

    def _opened(self, result) -> None:
        if isinstance(result, str):
            self._failed(result, "")
            return
        files, cfg = result
        self.set_origin(None, None)
        run = self.model.start(FolderSource(files), cfg, remote_key(files.name), location=files.name)
        run.add_note(f"— following {files.name} over SSH: pause, step, stop and the live edits reach it through its "
                     "folder (requests/); it goes on training there when this window closes.")
        self.ui.settings.add_recent_remote(files.name)
        self.ui.message(f"Following {files.name}", 5000)

    def _failed(self, message: str, _details: str) -> None:
        self.ui.message("")
        self.ui.warn("Cannot open the remote run", message)

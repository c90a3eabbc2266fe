"""What the studio tells the user when a queued run ends, and where (Qt-free).

A queued run trains as a process of its own, often while the user looks at something else, so
its end is worth a desktop notification: :func:`queue_notice` says which events of the queue's
runner (``engine.queue_runner.QueueEvent``) deserve one and in which words, :func:`channel`
where it goes (the system tray's message where there is a tray that shows messages, else the
status bar; the log always).
"""

from __future__ import annotations

from dataclasses import dataclass

TRAY, STATUS_BAR = "tray", "status bar"


@dataclass(frozen=True)
class Notice:
    title: str
    text: str
    error: bool = False


def queue_notice(kind: str, name: str, message: str = "") -> Notice | None:
    """The notice of a queue event ``kind`` for the run ``name``: a run finished, failed or was
    stopped; None for events the user does not need to hear of (started, resumed)."""
    detail = f": {message}" if message else ""
    if kind == "done":
        return Notice("Run finished", f"{name} finished training{detail}.")
    if kind == "failed":
        return Notice("Run failed", f"{name} failed{detail}.", error=True)
    if kind == "stopped":
        return Notice("Run stopped", f"{name} stopped (its checkpoint is kept){detail}.")
    return None


def channel(tray_available: bool, tray_messages: bool) -> str:
    """Where a notice goes: the tray's message where the desktop has a tray that shows messages,
    else the window's status bar."""
    return TRAY if tray_available and tray_messages else STATUS_BAR

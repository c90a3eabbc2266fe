"""What the studio tells the user when a queued run ends, and where (Qt-free).

A queued run trains as a process of its own, often while the user looks at something else, so
its end is worth a desktop notification: :func:`queue_notice` says which events of the queue's
runner (``engine.queue_runner.QueueEvent``) deserve one and in which words, :func:`channel`
where it goes (the system tray's message where there is a tray that shows messages, else the
status bar; the log always). :func:`close_question` is what the window asks when it closes while
the queue it runs has runs training or about to start.
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


def close_question(running: int, waiting: int) -> str:
    """What the window asks when it closes while the queue it runs has ``running`` runs training
    and ``waiting`` about to start."""
    training = f"{running} queued run{'s are' if running != 1 else ' is'} training" if running else ""
    more = (f"{waiting} more {'are' if waiting != 1 else 'is'} waiting" if running else
            f"{waiting} queued run{'s are' if waiting != 1 else ' is'} waiting to start") if waiting else ""
    what = ", and ".join(t for t in (training, more) if t)
    stop = ("or stop them (each writes its checkpoint and continues when the queue runs again; the waiting ones "
            "stay queued)") if running else "or stop the queue (the waiting runs stay queued for next time)"
    return f"{what[0].upper()}{what[1:]}. Keep training in the background (wgan-queue runs the queue), {stop}?"

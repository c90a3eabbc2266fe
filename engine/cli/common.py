"""What every command of the command line shares: how bad input is reported (one line on stderr,
exit status 2, never a traceback) and how times are written."""

from __future__ import annotations

import sys
import threading

from ..text import format_duration

#: The exit status of bad input (configuration, data, checkpoint, arguments).
EXIT_USAGE = 2


def error(msg: str) -> int:
    """Print ``error: msg`` on stderr; returns :data:`EXIT_USAGE`."""
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_USAGE


def fmt_time(s: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``; ``--:--`` when not known."""
    return format_duration(s, "--:--")


def on_main_thread() -> bool:
    """Signal handlers can only be installed from the main thread (tests call the commands from others)."""
    return threading.current_thread() is threading.main_thread()

"""Busy processes beside a measurement: a laptop's other work (a browser tab, a build), as
``time_to_result.py --busy``, ``gui_overhead.py --busy`` and ``startup.py`` put beside their runs."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

BURN = "while True: pass"  # pure Python, CPU-bound, never sleeps


@contextlib.contextmanager
def busy_processes(n: int = 1, settle_s: float = 0.0):
    """``n`` CPU-bound processes for the ``with`` block (none for ``n`` = 0), killed after it;
    ``settle_s``: wait that long first, so that they have taken their cores."""
    burners = [subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.DEVNULL) for _ in range(n)]
    try:
        if burners and settle_s:
            time.sleep(settle_s)
        yield burners
    finally:
        for b in burners:
            b.kill()
            b.wait()

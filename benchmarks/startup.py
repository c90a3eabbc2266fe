"""Start-up time of the studio: process start to a window on screen, and to the main window
with Start enabled, on a quiet machine and with other processes burning every core.

    PYTHONPATH=. python benchmarks/startup.py [--repeats 5] [--burners N] [--torch-first]

Each launch is ``python -m studio.app --quit-after-shown`` (offscreen platform, a fresh HOME, so
settings and the runs folder are a new user's; the second and later launches of a session find
the OS file cache warm, as a user's second launch does). The studio logs two times
(studio/startup.py): the loading window, which needs PySide6 only, and the main window, shown
when torch, the engine and pyqtgraph are in. "Busy": ``--burners`` processes (default: one per
core) spin in pure Python for the whole measurement. The first launch warms the file cache and
is not counted. Targets (issue 18, point 9): window on screen < 1.5 s quiet (2 cores), < 5 s busy.
``--torch-first`` also times every launch with the Windows rule (studio.load_order: torch imported
before Qt, WGAN_STUDIO_TORCH_FIRST=1), as a ratio to the window-first launches of the same run;
``--burners 0`` leaves the busy series out.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.busy import busy_processes  # noqa: E402

SHOWN = re.compile(r"loading window shown (\d+\.\d+) s after the process started; "
                   r"main window shown (\d+\.\d+) s")


def launch(home: Path, torch_first: bool = False) -> tuple[float, float]:
    env = {**os.environ, "WGAN_STUDIO_TORCH_FIRST": "1" if torch_first else "0",
           "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config"), "WGAN_STUDIO_RUNS": str(home / "runs"),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "studio.app", "--quit-after-shown"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    m = SHOWN.search(proc.stderr)
    if proc.returncode != 0 or not m:
        raise SystemExit(f"launch failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return float(m.group(1)), float(m.group(2))


def series(repeats: int, home: Path, torch_first: bool = False) -> list[tuple[float, float]]:
    launch(home, torch_first)  # warms the file cache (a user's second launch)
    return [launch(home, torch_first) for _ in range(repeats)]


def interleaved(repeats: int, home: Path) -> tuple[list, list]:
    """Window first and torch first, launch by launch, so a change of load touches both alike."""
    launch(home)
    pairs = [(launch(home), launch(home, True)) for _ in range(repeats)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def summary(name: str, times: list[tuple[float, float]]) -> str:
    w = [t[0] for t in times]
    m = [t[1] for t in times]
    return (f"{name}: window on screen median {statistics.median(w):.2f} s (max {max(w):.2f}); "
            f"main window with Start enabled median {statistics.median(m):.2f} s (max {max(m):.2f}); "
            f"{len(times)} launches")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--burners", type=int, default=os.cpu_count() or 2, help="0: no busy series")
    p.add_argument("--torch-first", action="store_true", help="also time the Windows rule (torch before Qt)")
    a = p.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the quiet series")
    with tempfile.TemporaryDirectory(prefix="wgan-startup-") as tmp:
        if a.torch_first:
            quiet, first = interleaved(a.repeats, Path(tmp) / "quiet")
        else:
            quiet, first = series(a.repeats, Path(tmp) / "quiet"), None
        busy = None
        if a.burners > 0:
            with busy_processes(a.burners):
                busy = series(a.repeats, Path(tmp) / "busy")
    print(summary("quiet", quiet))
    if first:
        print(summary("quiet, torch first (the Windows rule)", first))
        w0, w1 = statistics.median(t[0] for t in quiet), statistics.median(t[0] for t in first)
        m0, m1 = statistics.median(t[1] for t in quiet), statistics.median(t[1] for t in first)
        print(f"torch first / window first: window on screen {w1 / w0:.2f}x (+{w1 - w0:.2f} s), "
              f"main window {m1 / m0:.2f}x (+{m1 - m0:.2f} s)")
    if busy:
        print(summary(f"busy ({a.burners} processes burning)", busy))


if __name__ == "__main__":
    main()

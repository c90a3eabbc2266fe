"""How responsive the main window stays with the Runs view listing 50 runs, 4 of them training.

    python benchmarks/runs_view.py [--seconds 20] [--runs 50] [--writers 4] [--real]

A tiny toy run is trained once and copied into 50 run folders of a runs folder. Four of them are
then written as a training process writes them: by default a writer process per run appending
whole metrics rows ten times a second (200 iterations a second, an evaluation every 100) and
rewriting status.json every second, as ``wgan-train`` does; with ``--real``, four real
``wgan-train`` processes of the toy preset (one thread each) train into the runs folder instead.

The figure is the GUI thread's stalls, measured as in benchmarks/gui_overhead.py: a 10 ms
QTimer records how late it fires while the window is shown. It is measured twice in the same
process with the same writers running: a window whose runs folder is empty (the baseline), and
a window listing the 50 runs (the Runs view scanning them once a second on its own thread).
Target (issue 31): stall p99 < 50 ms with the 50 runs listed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WGAN_STUDIO_NO_CONFIRM"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

ROWS_PER_WRITE = 20    # 200 iterations a second, written 10 times a second (wgan-train's report rate)


def say(*args) -> None:
    print(*args, flush=True)


def template_run(folder: Path) -> Path:
    """A finished tiny toy run (20 iterations, an evaluation every 10)."""
    from engine import Trainer, load_preset

    cfg = load_preset("toy-wgan-gp")
    cfg.model.hidden, cfg.model.layers, cfg.train.batch_size = 32, 2, 32
    cfg.train.iterations, cfg.train.device, cfg.train.threads = 20, "cpu", 1
    cfg.train.checkpoint_every = cfg.train.sample_every = cfg.train.eval_every = 10
    path = folder / "template"
    Trainer(cfg, path).run()
    return path


def write_like_a_trainer(run: Path, seconds: float) -> None:
    """Append rows to ``run`` as a training process does until ``seconds`` have passed."""
    from engine.requests import write_status

    lines = (run / "metrics.csv").read_text().splitlines()
    header, last = lines[0].split(","), lines[-1].split(",")
    w1 = header.index("w1_exact")
    it = int(last[0])
    total = it + int(seconds * 10 * ROWS_PER_WRITE) + 1000
    t0 = next_status = time.monotonic()
    with open(run / "events.jsonl", "a") as fh:
        fh.write(json.dumps({"type": "resume_run", "gen_iter": it, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
                 + "\n")
    while time.monotonic() - t0 < seconds:
        rows = []
        for _ in range(ROWS_PER_WRITE):
            it += 1
            row = list(last)
            row[0] = str(it)
            row[w1] = f"{1.0 / it:.9g}" if it % 100 == 0 else ""
            rows.append(",".join(row))
        with open(run / "metrics.csv", "ab") as fh:
            fh.write(("\n".join(rows) + "\n").encode())
        if time.monotonic() >= next_status:
            write_status(run, {"state": "running", "gen_iter": it, "total": total, "its_per_sec": 200.0,
                               "elapsed_s": time.monotonic() - t0, "live": {}, "device": "cpu"})
            next_status += 1.0
        time.sleep(0.1)


def start_writers(runs: list[Path], seconds: float, real: bool, folder: Path) -> list[subprocess.Popen]:
    procs = []
    for i, run in enumerate(runs):
        if real:
            cmd = [sys.executable, "-m", "engine.cli", "--preset", "toy-wgan-gp", "--out",
                   str(folder / "runs" / f"training-{i}"), "--quiet", "--set", "train.threads=1",
                   "--set", f"train.iterations={int(seconds * 400)}"]
        else:
            cmd = [sys.executable, __file__, "--writer", str(run), "--seconds", str(seconds)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    return procs


def stalls(app, runs_dir: Path, seconds: float, expect_rows: int) -> tuple[np.ndarray, int]:
    """The 10 ms probe's lateness (ms) over ``seconds`` with a main window on ``runs_dir``, once
    its Runs view lists ``expect_rows`` rows; and how many scans the view made meanwhile."""
    from PySide6.QtCore import QEventLoop, QTimer

    from studio.main_window import MainWindow

    os.environ["WGAN_STUDIO_RUNS"] = str(runs_dir)
    win = MainWindow()
    win.resize(1500, 950)
    win.show()
    win.runs_dock.dock.raise_()
    end = time.monotonic() + 60
    while win.runs_view.model.rowCount() < expect_rows and time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    listed = win.runs_view.model.rowCount()
    settle = QEventLoop()   # the first window's warm-up import (studio.worker.warm_up) is not measured
    QTimer.singleShot(3000, settle.quit)
    settle.exec()
    scans0 = win.runs_view.scan.scans
    late: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        late.append(now - last[0] - 0.010)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    scans = win.runs_view.scan.scans - scans0
    win.close()
    app.processEvents()
    say(f"  listed {listed} runs")
    return np.asarray(late[1:]) * 1000.0, scans


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="each measurement's length")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--real", action="store_true", help="real wgan-train processes instead of writers")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--writer", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.writer:
        write_like_a_trainer(Path(args.writer), args.seconds)
        return 0

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    folder = Path(tempfile.mkdtemp(prefix="wgan-runs-view-"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
    app = QApplication.instance() or QApplication([])
    try:
        template = template_run(folder)
        runs = [folder / "runs" / f"run-{i:03d}" for i in range(args.runs - (args.writers if args.real else 0))]
        for run in runs:
            shutil.copytree(template, run)
        (folder / "empty").mkdir()
        total_s = 2 * args.seconds + 120
        writers = start_writers(runs[:args.writers], total_s, args.real, folder)
        time.sleep(2.0)
        say(f"runs_view: {args.runs} runs, {args.writers} {'training' if args.real else 'writer'} processes, "
            f"{args.seconds:.0f} s each")
        stalls(app, folder / "empty", 1.0, 0)   # warm-up, not counted: the first window's one-off costs
        base, _ = stalls(app, folder / "empty", args.seconds, 0)
        listed, scans = stalls(app, folder / "runs", args.seconds, args.runs)
        for p in writers:
            p.terminate()
            p.wait(30)
        fig = {"stall_p99_ms": float(np.percentile(listed, 99)), "stall_max_ms": float(listed.max()),
               "base_stall_p99_ms": float(np.percentile(base, 99)), "base_stall_max_ms": float(base.max()),
               "scans": scans, "load": os.getloadavg()[0]}
        say(f"  baseline (empty runs folder): stall p99 {fig['base_stall_p99_ms']:.1f} ms, "
            f"max {fig['base_stall_max_ms']:.1f} ms")
        ratio = fig["stall_p99_ms"] / max(fig["base_stall_p99_ms"], 0.1)
        say(f"  {args.runs} runs listed: stall p99 {fig['stall_p99_ms']:.1f} ms, max {fig['stall_max_ms']:.1f} ms "
            f"({scans} scans; target p99 < 50 ms), p99 ratio to the baseline {ratio:.2f}, "
            f"load average {fig['load']:.1f}")
        print(json.dumps(fig))
        if args.json is not None:
            args.json.write_text(json.dumps(fig, indent=2) + "\n")
        return 0 if fig["stall_p99_ms"] < 50 else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

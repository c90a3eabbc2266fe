"""What the studio costs: training throughput in the studio vs headless, and how responsive the
window stays while training.

    PYTHONPATH=. python benchmarks/gui_overhead.py [--iterations 200] [--repeats 2]

1. headless: ``Trainer.run()`` of the toy-wgan-gp preset in the main thread (of a child
   process, see :func:`headless`);
2. studio: the same config started from the main window (shown, offscreen platform), trained
   in the studio's worker thread with live plots and samples, while a 10 ms QTimer measures its
   own lateness (the longest time the GUI event loop could not run);
3. the time to redraw the plots holding 100,000 points per curve.

Headless and studio runs alternate (``--repeats`` pairs) so that load from other processes on a
shared machine hits both alike; the best of each is reported. Targets (issue): studio >= 90% of
headless it/s; event-loop stall p99 < 50 ms, max < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WGAN_STUDIO_NO_CONFIRM"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from engine import DEFAULT_PRESET, Trainer, load_preset  # noqa: E402


def say(*args) -> None:
    if sys.stdout is not None:
        print(*args, flush=True)


def config(iterations: int):
    cfg = load_preset(DEFAULT_PRESET)
    cfg.train.iterations = iterations
    return cfg


def headless(iterations: int, folder: Path) -> float:
    """Trainer.run() in the main thread of a fresh process (what ``wgan-train`` does).

    Not in this process: PyTorch's OpenMP keeps a thread team per thread that ever ran a
    parallel region, and on 2 cores the idle team left behind by a main-thread run measurably
    slows the studio's worker-thread team that runs next (the studio itself never trains in
    its main thread)."""
    import subprocess
    out = subprocess.run([sys.executable, __file__, "--headless-child", str(iterations), str(folder)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def _headless_child(iterations: int, folder: str) -> None:
    trainer = Trainer(config(iterations), folder, report_interval_s=0.1)
    t0 = time.perf_counter()
    trainer.run()
    say(f"{iterations / (time.perf_counter() - t0):.6f}")


def in_studio(app, iterations: int, probe: bool = True) -> tuple[float, np.ndarray]:
    from PySide6.QtCore import QEventLoop, QTimer

    from studio.main_window import MainWindow

    win = MainWindow()
    win.resize(1500, 950)
    win.show()
    win.config_panel.set_config(config(iterations))
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick():  # a 10 ms timer measuring how late it fires: the event loop's stalls
        now = time.perf_counter()
        lateness.append(now - last[0] - 0.010)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    marks: dict[str, float] = {}

    def on_state(state):
        if state == "running" and "t0" not in marks:
            marks["t0"] = time.perf_counter()

    # A real event loop (sleeping between events), as in the application: a processEvents()
    # polling loop would burn a core of its own and distort both figures.
    loop = QEventLoop()
    win.run_finished.connect(lambda _state: loop.quit())
    win.start()
    win.worker.state_changed.connect(on_state)
    if probe:
        timer.start()
    cpu0 = time.thread_time()
    loop.exec()
    t1 = time.perf_counter()
    gui_cpu = (time.thread_time() - cpu0) / (t1 - marks.get("t0", t1) or 1)
    if win.run_state != "finished":
        raise RuntimeError(f"the studio run ended in state {win.run_state}")
    timer.stop()
    t0 = marks.get("t0", t1)
    rate = iterations / (t1 - t0)
    win.close()
    app.processEvents()
    say(f"    (GUI thread CPU {gui_cpu * 100:.0f}% of one core while training)")
    return rate, np.asarray(lateness[1:] or [np.nan]) * 1000.0


def redraw_100k(app) -> float:
    """Median time of one redraw (setData + paint) of every curve holding 100,000 points."""
    from studio.panels.plots import PlotsPanel

    panel = PlotsPanel()
    panel.resize(1100, 600)
    panel.show()
    n = 100_000
    it = np.arange(1, n + 1, dtype=np.float64)
    rng = np.random.default_rng(0)
    cols = {"gen_iter": it, "w_estimate": 1 / np.sqrt(it) + rng.normal(0, 0.01, n),
            "critic_loss": -1 / np.sqrt(it), "generator_loss": rng.normal(size=n), "gradient_penalty": rng.random(n),
            "clip_fraction": np.full(n, np.nan), "critic_grad_norm": rng.random(n), "lr_critic": np.full(n, 1e-4),
            "lr_generator": np.full(n, 1e-4), "clip_value": np.full(n, 0.01), "n_critic": np.full(n, 5)}
    panel.append_metrics(cols)
    times = []
    for _ in range(10):
        panel.append_metrics({k: v[-10:] + (n if k == "gen_iter" else 0) for k, v in cols.items()})
        t0 = time.perf_counter()
        panel.refresh(force=True)
        panel.glw.viewport().repaint()  # paint now, synchronously
        app.processEvents()
        times.append(time.perf_counter() - t0)
    panel.close()
    return float(np.median(times) * 1000)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=200, help="generator iterations per run (toy-wgan-gp)")
    ap.add_argument("--repeats", type=int, default=2, help="headless/studio pairs; the best of each counts")
    ap.add_argument("--headless-child", nargs=2, metavar=("N", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.headless_child:
        _headless_child(int(args.headless_child[0]), args.headless_child[1])
        return 0

    from PySide6.QtCore import QSettings

    import studio  # noqa: F401 - applies the PySide6 6.12 / Python 3.11 work-around first
    from studio.app import make_app

    tmp = Path(tempfile.mkdtemp(prefix="wgan-bench-"))
    os.environ["WGAN_STUDIO_RUNS"] = str(tmp / "runs")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    app = make_app(["gui_overhead"])

    say(f"preset {DEFAULT_PRESET}, {args.iterations} generator iterations per run, {args.repeats} pair(s), "
        f"{os.cpu_count()} CPU cores, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}")
    head_rates, gui_rates, stalls = [], [], []
    for r in range(args.repeats):
        h = headless(args.iterations, tmp / f"headless-{r}")
        g, late = in_studio(app, args.iterations)
        head_rates.append(h)
        gui_rates.append(g)
        stalls.append(late)
        say(f"  pair {r + 1}: headless {h:.2f} it/s   studio {g:.2f} it/s   ratio {g / h:.3f}   "
            f"stall p99 {np.percentile(late, 99):.1f} ms  max {late.max():.1f} ms")
    h, g = max(head_rates), max(gui_rates)
    late = np.concatenate(stalls)
    redraw = redraw_100k(app)
    say("")
    say(f"headless      {h:8.2f} it/s")
    say(f"studio        {g:8.2f} it/s")
    say(f"ratio         {g / h:8.3f}   (target >= 0.90)")
    say(f"stall p99     {np.percentile(late, 99):8.1f} ms (target < 50 ms; 10 ms timer, {len(late)} ticks)")
    say(f"stall max     {late.max():8.1f} ms (target < 200 ms)")
    say(f"redraw 100k   {redraw:8.1f} ms (median; 5 plots, 11 curves of 100,000 points each)")
    ok = g / h >= 0.9 and np.percentile(late, 99) < 50 and late.max() < 200
    say("PASS" if ok else "MISS (see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

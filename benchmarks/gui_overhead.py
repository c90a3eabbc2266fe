"""What the studio costs: training throughput in the studio vs headless, and how responsive the
window stays while training.

    PYTHONPATH=. python benchmarks/gui_overhead.py [--iterations 200] [--repeats 2]

1. headless: ``Trainer.run()`` of the toy-wgan-gp preset in the main thread (of a child
   process, see :func:`headless`), as ``wgan-train`` runs it;
2. studio: the same config started from the main window (shown, offscreen platform), trained
   in the studio's worker thread with live plots and samples, while a 10 ms QTimer measures its
   own lateness (the longest time the GUI event loop could not run);
3. the time to redraw the plots holding 100,000 points per curve.

Both rates are timed the same way, on the training thread: from the trainer's "running" state
to its final state (the final evaluation, samples and checkpoint included). Headless and studio
runs alternate (``--repeats`` pairs) so that load from other processes on a shared machine hits
both alike; the best of each is reported, with the median of the pair ratios beside it, and the
load average and the CPU time other processes took during each run (``other``, in cores) say how
quiet the machine was. Targets (issue): studio >= 90% of headless it/s; event-loop stall p99 <
50 ms, max < 200 ms.

Where the studio's time went (2 cores; this script, py-spy, cProfile, thread CPU times and
context-switch counts): PySide6 holds Python's GIL through every Qt call, painting included,
and the training thread needs the GIL between its tensor operations, so it waits out every
millisecond the GUI thread paints, whatever ``sys.setswitchinterval`` says. The training
thread ran 97% of the time with the window idle and 90% with the plots at 5 Hz (voluntary
context switches, i.e. waits for the GIL: 151 vs 1,012 per run), and the studio lost 12-17%.
Now the plot redraws keep to a 2% time budget, the status bar updates at 2 Hz and the live
critic picture keeps to 2% of training time (studio/panels/plots.py, studio/worker.py): GUI
thread 0.04 of a core instead of 0.08-0.09, training thread 0.94-0.95.
The 200+ ms freezes right after the first Start were full garbage collections during the
warm-up import (see ``studio.worker.warm_up``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
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


def headless(iterations: int, folder: Path) -> tuple[float, list]:
    """Trainer.run() in the main thread of a fresh process (what ``wgan-train`` does).

    Not in this process: PyTorch's OpenMP keeps a thread team per thread that ever ran a
    parallel region, and on 2 cores the idle team left behind by a main-thread run measurably
    slows the studio's worker-thread team that runs next (the studio itself never trains in
    its main thread)."""
    import subprocess
    out = subprocess.run([sys.executable, __file__, "--headless-child", str(iterations), str(folder)],
                         check=True, capture_output=True, text=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return res["rate"], res["samples"]


class _Clock:
    """An engine observer timing the run on the training thread: "running" to the final state."""

    def __init__(self):
        self.t0 = self.t1 = None
        self.cpu0 = self.cpu1 = None

    def on_state(self, state):
        if state == "running" and self.t0 is None:
            self.t0, self.cpu0 = time.perf_counter(), time.thread_time()
        elif state in ("finished", "stopped", "error"):
            self.t1, self.cpu1 = time.perf_counter(), time.thread_time()

    def rate(self, iterations: int) -> float:
        return iterations / (self.t1 - self.t0)


def _headless_child(iterations: int, folder: str) -> None:
    clock = _Clock()
    trainer = Trainer(config(iterations), folder, observers=[clock], report_interval_s=0.1)
    sampler = _Sampler(lambda: trainer.gen_iter)
    trainer.run()
    sampler.stop()
    say(json.dumps({"rate": clock.rate(iterations), "samples": sampler.between(clock.t0, clock.t1)}))


def _busy_s() -> float:
    """CPU seconds every process on the machine has used (from /proc/stat; 0 where there is none)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
    except OSError:
        return 0.0
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _own_s() -> float:
    """CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class _Sampler(threading.Thread):
    """Every 0.25 s: (time, generator iteration, CPU seconds of every process, of this process).

    On a shared machine other processes' CPU use slows a 2-thread torch team far more than its
    share (a preempted thread stalls its partner at the next barrier): a few percent of a core
    used elsewhere costs a run tens of percent. The samples let :func:`quiet_rate` count only the
    stretches of a run during which nothing else ran."""

    def __init__(self, progress, period_s: float = 0.25):
        super().__init__(daemon=True, name="bench-sampler")
        self.progress, self.period_s = progress, period_s
        self.samples: list[tuple[float, int, float, float]] = []
        self._halt = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._halt.is_set():
            t = os.times()
            self.samples.append((time.perf_counter(), int(self.progress()), _busy_s(), t.user + t.system))
            self._halt.wait(self.period_s)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def between(self, t0: float, t1: float) -> list:
        return [s for s in self.samples if t0 <= s[0] <= t1]


def quiet_rate(samples, window_s: float = 1.0, max_other: float = 0.05) -> tuple[int, float]:
    """(iterations, seconds) summed over the ``window_s`` windows of a run in which other
    processes used at most ``max_other`` of a core."""
    its = secs = 0.0
    i = 0
    while i < len(samples) - 1:
        j = i + 1
        while j < len(samples) - 1 and samples[j][0] - samples[i][0] < window_s:
            j += 1
        (t0, k0, b0, o0), (t1, k1, b1, o1) = samples[i], samples[j]
        dt = t1 - t0
        if dt > 0 and ((b1 - b0) - (o1 - o0)) / dt <= max_other:
            its += k1 - k0
            secs += dt
        i = j
    return its, secs


class _Other:
    """How many cores other processes kept busy while a run went on (0 on a quiet machine)."""

    def __enter__(self):
        self.t, self.busy, self.own = time.perf_counter(), _busy_s(), _own_s()
        return self

    def __exit__(self, *exc):
        dt = time.perf_counter() - self.t
        self.cores = max(0.0, (_busy_s() - self.busy) - (_own_s() - self.own)) / dt if dt > 0 else 0.0


def in_studio(app, iterations: int, probe: bool = True, settle_s: float = 1.0
              ) -> tuple[float, np.ndarray, np.ndarray, list]:
    """One run started from the main window. Returns the rate, the event loop's stalls (ms) from
    Start to the end of the run, those while the trainer was running (from its "running" state
    to its final one: the first run of a session also builds the trainer, whose first optimiser
    imports torch._dynamo, see ``studio.worker.warm_up``), and the samples for
    :func:`quiet_rate`. ``settle_s``: the shown window idles that long before Start, as it would
    before anyone can press a button."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from studio.main_window import MainWindow

    win = MainWindow()
    win.resize(1500, 950)
    win.show()
    win.config_panel.set_config(config(iterations))
    idle = QEventLoop()
    QTimer.singleShot(int(settle_s * 1000), idle.quit)
    idle.exec()
    lateness: list[float] = []
    ticks: list[float] = []
    last = [time.perf_counter()]

    def tick():  # a 10 ms timer measuring how late it fires: the event loop's stalls
        now = time.perf_counter()
        lateness.append(now - last[0] - 0.010)
        ticks.append(now)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    clock = _Clock()

    # A real event loop (sleeping between events), as in the application: a processEvents()
    # polling loop would burn a core of its own and distort both figures.
    loop = QEventLoop()
    win.run_finished.connect(lambda _state: loop.quit())
    win.start()
    # Direct: timed on the training thread, like the headless run (the trainer is still being
    # built, so no state is missed).
    win.worker.state_changed.connect(clock.on_state, Qt.ConnectionType.DirectConnection)
    worker = win.worker
    sampler = _Sampler(lambda: worker.trainer.gen_iter if worker.trainer is not None else 0)
    if probe:
        timer.start()
    cpu0, w0 = time.thread_time(), time.perf_counter()
    loop.exec()
    sampler.stop()
    gui_cpu = (time.thread_time() - cpu0) / (time.perf_counter() - w0)
    if win.run_state != "finished" or clock.t1 is None:
        raise RuntimeError(f"the studio run ended in state {win.run_state}")
    timer.stop()
    rate = clock.rate(iterations)
    train_cpu = (clock.cpu1 - clock.cpu0) / (clock.t1 - clock.t0)
    win.close()
    app.processEvents()
    say(f"    (CPU while training, in cores: GUI thread {gui_cpu:.2f}, training thread {train_cpu:.2f})")
    late = np.asarray(lateness[1:] or [np.nan]) * 1000.0
    t = np.asarray(ticks[1:])
    training = late[(t >= clock.t0) & (t <= clock.t1)] if len(t) else late
    return rate, late, (training if len(training) else late), sampler.between(clock.t0, clock.t1)


def redraw_100k(app) -> tuple[float, float]:
    """Median and longest time of one redraw (setData + paint) of every curve holding 100,000
    points, 10 rows more each time."""
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
    return float(np.median(times) * 1000), float(np.max(times) * 1000)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=200, help="generator iterations per run (toy-wgan-gp)")
    ap.add_argument("--repeats", type=int, default=2, help="headless/studio pairs; the best of each counts")
    ap.add_argument("--warm-up", action="store_true",
                    help="call studio.worker.warm_up() first (what the window should do once shown)")
    ap.add_argument("--json", help="also write the figures to this JSON file (benchmarks/run_all.py)")
    ap.add_argument("--headless-child", nargs=2, metavar=("N", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.headless_child:
        _headless_child(int(args.headless_child[0]), args.headless_child[1])
        return 0

    from benchmarks.studio_app import studio_app

    app, tmp = studio_app("wgan-bench-", "gui_overhead")

    say(f"preset {DEFAULT_PRESET}, {args.iterations} generator iterations per run, {args.repeats} pair(s), "
        f"{os.cpu_count()} CPU cores, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}")
    say(f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.warm_up:
        from studio.worker import warm_up
        warm_up().join()
    head_rates, gui_rates, stalls, stalls_training = [], [], [], []
    quiet = {"headless": [0.0, 0.0], "studio": [0.0, 0.0]}
    for r in range(args.repeats):
        with _Other() as oh:
            h, h_samples = headless(args.iterations, tmp / f"headless-{r}")
        with _Other() as og:
            g, late, late_training, g_samples = in_studio(app, args.iterations)
        head_rates.append(h)
        gui_rates.append(g)
        stalls.append(late)
        stalls_training.append(late_training)
        qh, qg = quiet_rate(h_samples), quiet_rate(g_samples)
        for key, (its, secs) in (("headless", qh), ("studio", qg)):
            quiet[key][0] += its
            quiet[key][1] += secs
        say(f"  pair {r + 1}: headless {h:.2f} it/s   studio {g:.2f} it/s   ratio {g / h:.3f}   "
            f"stall p99 {np.percentile(late, 99):.1f} ms  max {late.max():.1f} ms   "
            f"other {oh.cores:.2f} / {og.cores:.2f} cores   quiet {qh[1]:.0f} / {qg[1]:.0f} s   "
            f"load {os.getloadavg()[0]:.2f}")
    h, g = max(head_rates), max(gui_rates)
    pair_ratio = float(np.median(np.asarray(gui_rates) / np.asarray(head_rates)))
    late = np.concatenate(stalls)
    late_training = np.concatenate(stalls_training)
    redraw, redraw_max = redraw_100k(app)
    say("")
    say(f"headless      {h:8.2f} it/s (best of {args.repeats})")
    say(f"studio        {g:8.2f} it/s (best of {args.repeats})")
    say(f"ratio         {g / h:8.3f}   (target >= 0.90; median of the pair ratios {pair_ratio:.3f})")
    (hi, hs), (gi, gs) = quiet["headless"], quiet["studio"]
    quiet_ratio = (gi / gs) / (hi / hs) if hs >= 10 and gs >= 10 else None
    if quiet_ratio is not None:
        say(f"quiet ratio   {quiet_ratio:8.3f}   (only the 1 s windows in which other processes used "
            f"< 5% of a core: headless {hi / hs:.2f} it/s over {hs:.0f} s, studio {gi / gs:.2f} it/s over {gs:.0f} s)")
    else:
        say(f"quiet ratio        n/a   (under 10 s without other load: headless {hs:.0f} s, studio {gs:.0f} s)")
    say(f"stall p99     {np.percentile(late, 99):8.1f} ms (target < 50 ms; 10 ms timer, {len(late)} ticks)")
    say(f"stall max     {late.max():8.1f} ms (target < 200 ms)")
    say(f"  while training: p99 {np.percentile(late_training, 99):.1f} ms, max {late_training.max():.1f} ms "
        f"(from the trainer's \"running\" state on; the rest is Start, the trainer's construction and the end)")
    say(f"redraw 100k   {redraw:8.1f} ms (median, longest {redraw_max:.1f} ms; 5 plots, 11 curves of 100,000 points)")
    say(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = g / h >= 0.9 and np.percentile(late, 99) < 50 and late.max() < 200
    say("PASS" if ok else "MISS (see above)")
    if args.json:
        fig = {"iterations": args.iterations, "pairs": args.repeats, "headless_its": h, "studio_its": g,
               "ratio_best_of_each": g / h, "ratio_median_of_pairs": pair_ratio, "quiet_ratio": quiet_ratio,
               "stall_p99_ms": float(np.percentile(late, 99)), "stall_max_ms": float(late.max()),
               "stall_p99_while_training_ms": float(np.percentile(late_training, 99)),
               "stall_max_while_training_ms": float(late_training.max()),
               "redraw_100k_median_ms": redraw, "redraw_100k_max_ms": redraw_max,
               "load_average_end": os.getloadavg()[0], "pass": bool(ok)}
        Path(args.json).write_text(json.dumps(fig, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the studio costs: training throughput in the studio vs headless, and how responsive the
window stays while training.

    python benchmarks/gui_overhead.py [--preset toy-wgan-gp] [--iterations 200] [--pairs 4]

1. headless: ``Trainer.run()`` of the toy-wgan-gp preset in the main thread (of a child
   process, see :func:`headless`), as ``wgan-train`` runs it;
2. studio: the same config started from the main window (shown, offscreen platform), trained
   in the studio's worker thread with live plots and samples, while a 10 ms QTimer measures its
   own lateness (the longest time the GUI event loop could not run);
3. the time to redraw the plots holding 100,000 points per curve.

Both rates are timed the same way, on the training thread: from the trainer's "running" state
to its final state (the final evaluation, samples and checkpoint included). Headless and studio
runs alternate (``--pairs`` pairs, in alternating order) so that load from other processes on a
shared machine hits both alike; the median of the pair ratios is the figure (with a "steady"
ratio over iterations 20-90% of each run beside it), the best of each is shown too, and the load
average and the CPU time other processes took during each run (``other``, in cores) say how
quiet the machine was. Targets (issue 22): studio >= 95% of headless it/s on the median of at
least 4 pairs; event-loop stall p99 < 50 ms, max < 200 ms.

Where the studio's time went (2 cores; this script, py-spy, cProfile, thread CPU times and
context-switch counts): PySide6 holds Python's GIL through every Qt call, painting included,
and the training thread needs the GIL between its tensor operations, so it waits out every
millisecond the GUI thread paints, whatever ``sys.setswitchinterval`` says. The training
thread ran 97% of the time with the window idle and 90% with the plots at 5 Hz (voluntary
context switches, i.e. waits for the GIL: 151 vs 1,012 per run), and the studio lost 12-17%.
The plot redraws then kept to a 2% time budget, the status bar updated at 2 Hz and the live
critic picture kept to 2% of training time: GUI thread 0.04 of a core instead of 0.08-0.09,
training thread 0.94-0.95. On 2 cores the GUI thread also takes a core from the training
thread's two OpenMP threads, whose partner then waits at the next barrier, so each millisecond
the window works costs about a millisecond of training: now the redraws and the live picture
keep to 1% each, the status bar updates once a second and the run reports its metrics 5 times a
second (studio/panels/plots/panel.py, studio/worker.py, studio/main_window.py; issue 22 point 4).
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
from engine.threads import machine_busy_s  # noqa: E402


def say(*args) -> None:
    if sys.stdout is not None:
        print(*args, flush=True)


def config(iterations: int, preset: str = DEFAULT_PRESET):
    cfg = load_preset(preset)
    cfg.train.iterations = iterations
    return cfg


def headless(iterations: int, folder: Path, preset: str = DEFAULT_PRESET) -> tuple[float, list, str]:
    """Trainer.run() in the main thread of a fresh process (what ``wgan-train`` does).

    Not in this process: PyTorch's OpenMP keeps a thread team per thread that ever ran a
    parallel region, and on 2 cores the idle team left behind by a main-thread run measurably
    slows the studio's worker-thread team that runs next (the studio itself never trains in
    its main thread)."""
    import subprocess
    out = subprocess.run([sys.executable, __file__, "--headless-child", preset, str(iterations), str(folder)],
                         check=True, capture_output=True, text=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    return res["rate"], res["samples"], res["trials"]


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


def tuner_trials(trainer) -> str:
    """The thread tuner's trials (engine.threads): "1.00 s/it at 1 thread, 0.13 at 2 -> 2" each,
    or "none" (no trial during the run, or no tuner)."""
    tuner = trainer.thread_tuner
    trials = [" ".join(f"{n}:{med:.3f}" for n, med in sorted(medians.items())) + f" -> {chosen}"
              for _, chosen, medians in (tuner.history if tuner is not None else [])]
    return "; ".join(trials) or "none"


def _headless_child(preset: str, iterations: int, folder: str) -> None:
    clock = _Clock()
    trainer = Trainer(config(iterations, preset), folder, observers=[clock], report_interval_s=0.1)
    sampler = _Sampler(lambda: trainer.gen_iter)
    trainer.run()
    sampler.stop()
    say(json.dumps({"rate": clock.rate(iterations), "samples": sampler.between(clock.t0, clock.t1),
                    "trials": tuner_trials(trainer)}))


def _busy_s() -> float:
    """CPU seconds every process on the machine has used (engine.threads.machine_busy_s; 0 where
    there is no /proc/stat)."""
    return machine_busy_s() or 0.0


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


def steady_rate(samples, iterations: int, lo: float = 0.2, hi: float = 0.9) -> float | None:
    """Iterations per second between the samples at ``lo`` and ``hi`` of the run's iterations:
    without the first iterations (a fresh process's first tensor operations, the headless side's
    cold start, which the studio pays only in its first run of a session) and the end-of-run work
    (the final evaluation, samples and checkpoint, the same on both sides)."""
    inside = [(t, k) for t, k, *_ in samples if lo * iterations <= k <= hi * iterations]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None
    (t0, k0), (t1, k1) = inside[0], inside[-1]
    return (k1 - k0) / (t1 - t0)


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


def in_studio(app, iterations: int, probe: bool = True, settle_s: float = 1.0, preset: str = DEFAULT_PRESET
              ) -> dict:
    """One run started from the main window. Returns ``rate``; ``stalls`` (ms), the event loop's
    stalls from Start to the end of the run, and ``stalls_training``, those while the trainer was
    running (from its "running" state to its final one: the first run of a session also builds
    the trainer, whose first optimiser imports torch._dynamo, see ``studio.worker.warm_up``);
    ``samples`` for :func:`quiet_rate`; ``gui_cpu`` and ``train_cpu``, the CPU time of the GUI
    thread and of the training thread (only the thread itself, not its OpenMP team) per second
    of the run. ``settle_s``: the shown window idles that long before Start, as it would before
    anyone can press a button."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from studio.main_window import MainWindow

    win = MainWindow()
    win.resize(1500, 950)
    win.show()
    win.config_panel.set_config(config(iterations, preset))
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
    worker = win.model.source.worker
    worker.state_changed.connect(clock.on_state, Qt.ConnectionType.DirectConnection)
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
    trials = tuner_trials(worker.trainer)
    win.close()
    app.processEvents()
    late = np.asarray(lateness[1:] or [np.nan]) * 1000.0
    t = np.asarray(ticks[1:])
    training = late[(t >= clock.t0) & (t <= clock.t1)] if len(t) else late
    return {"rate": rate, "stalls": late, "stalls_training": training if len(training) else late,
            "samples": sampler.between(clock.t0, clock.t1), "gui_cpu": gui_cpu, "train_cpu": train_cpu,
            "trials": trials}


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


DEFAULT_ITERATIONS = {"toy-wgan-gp": 200, "digits-wgan-gp": 60}  # ~30 s a run each on a quiet 2-core CPU
TARGET = 0.95   # issue 22, point 4: studio/headless, the median of the pairs


def measure(app, tmp: Path, preset: str, iterations: int, pairs: int, probe: bool) -> dict:
    """``pairs`` headless/studio pairs of ``preset``, interleaved (the order alternates: headless
    first in odd pairs, the studio first in even ones, so that a load that comes or goes during
    the measurement falls on both); with ``probe``, one more studio run with the 10 ms probe
    timer for the stall figures, before them (so that the first Start of the session, the worst
    case, is probed). The pairs run without the probe: it wakes the GUI thread 100
    times a second and takes the GIL each time, work a real session does not do (it cost the
    studio runs ~0.01 of a core of GUI-thread time)."""
    say(f"{preset}: {iterations} generator iterations per run, {pairs} pair(s)")
    late = late_training = np.zeros(1)
    probed = None
    if probe:  # first: the first Start of a session (imports, the first trainer) is the worst case
        run = in_studio(app, iterations, probe=True, preset=preset)
        late, late_training, probed = run["stalls"], run["stalls_training"], run["rate"]
        say(f"  studio run with the 10 ms probe: {probed:.2f} it/s, stall p99 {np.percentile(late, 99):.1f} ms, "
            f"max {np.nanmax(late):.1f} ms, GUI thread {run['gui_cpu']:.3f} cores")
    head, gui, ratios, steady, gui_cpu, train_cpu = [], [], [], [], [], []
    quiet = {"headless": [0.0, 0.0], "studio": [0.0, 0.0]}
    for r in range(pairs):
        order = ("headless", "studio") if r % 2 == 0 else ("studio", "headless")
        got = {}
        for side in order:
            with _Other() as other:
                if side == "headless":
                    rate, samples, trials = headless(iterations, tmp / f"{preset}-headless-{r}", preset)
                    got[side] = {"rate": rate, "samples": samples, "trials": trials}
                else:
                    got[side] = in_studio(app, iterations, probe=False, preset=preset)
            got[side]["other"] = other.cores
        h, g = got["headless"]["rate"], got["studio"]["rate"]
        head.append(h)
        gui.append(g)
        ratios.append(g / h)
        s = got["studio"]
        sh, sg = steady_rate(got["headless"]["samples"], iterations), steady_rate(s["samples"], iterations)
        if sh and sg:
            steady.append(sg / sh)
        gui_cpu.append(s["gui_cpu"])
        train_cpu.append(s["train_cpu"])
        qh, qg = quiet_rate(got["headless"]["samples"]), quiet_rate(s["samples"])
        for key, (its, secs) in (("headless", qh), ("studio", qg)):
            quiet[key][0] += its
            quiet[key][1] += secs
        say(f"  pair {r + 1} ({order[0]} first): headless {h:.2f} it/s   studio {g:.2f} it/s   ratio {g / h:.3f}"
            + (f" (steady {sg / sh:.3f})   " if sh and sg else "   ") +
            f"CPU: GUI thread {s['gui_cpu']:.3f}, training thread {s['train_cpu']:.2f} cores   "
            f"other {got['headless']['other']:.2f} / {s['other']:.2f} cores   load {os.getloadavg()[0]:.2f}")
        say(f"    thread tuner's trials (s/it by thread count -> chosen): headless {got['headless']['trials']}; "
            f"studio {s['trials']}")
    (hi, hs), (gi, gs) = quiet["headless"], quiet["studio"]
    return {"preset": preset, "probe": probe, "studio_its_with_probe": probed, "iterations": iterations, "pairs": pairs,
            "pair_ratios": [round(x, 4) for x in ratios],
            "ratio_median_of_pairs": float(np.median(ratios)),
            "steady_pair_ratios": [round(x, 4) for x in steady],
            "steady_ratio_median_of_pairs": float(np.median(steady)) if steady else None,
            "headless_its": max(head), "studio_its": max(gui), "ratio_best_of_each": max(gui) / max(head),
            "headless_its_median": float(np.median(head)), "studio_its_median": float(np.median(gui)),
            "quiet_ratio": (gi / gs) / (hi / hs) if hs >= 10 and gs >= 10 else None,
            "quiet_s": (hs, gs), "quiet_its": (hi / hs if hs else None, gi / gs if gs else None),
            "gui_thread_cpu": float(np.median(gui_cpu)), "training_thread_cpu": float(np.median(train_cpu)),
            "stall_p99_ms": float(np.nanpercentile(late, 99)), "stall_max_ms": float(np.nanmax(late)),
            "stall_p99_while_training_ms": float(np.nanpercentile(late_training, 99)),
            "stall_max_while_training_ms": float(np.nanmax(late_training)), "ticks": len(late) if probe else 0}


def report(fig: dict) -> bool:
    ratios = fig["pair_ratios"]
    say(f"{fig['preset']}")
    say(f"  ratio (median of {len(ratios)} pairs) {fig['ratio_median_of_pairs']:6.3f}   (target >= {TARGET:.2f}; "
        f"pairs {' '.join(f'{x:.3f}' for x in ratios)})")
    if fig["steady_ratio_median_of_pairs"] is not None:
        say(f"  steady ratio     {fig['steady_ratio_median_of_pairs']:6.3f}   (iterations 20-90% of each run, "
            f"without a fresh process's start and the end-of-run work; pairs "
            f"{' '.join(f'{x:.3f}' for x in fig['steady_pair_ratios'])})")
    say(f"  best of each     {fig['ratio_best_of_each']:6.3f}   (headless {fig['headless_its']:.2f} it/s, "
        f"studio {fig['studio_its']:.2f} it/s; medians {fig['headless_its_median']:.2f} / "
        f"{fig['studio_its_median']:.2f})")
    if fig["quiet_ratio"] is not None:
        (hs, gs), (hq, gq) = fig["quiet_s"], fig["quiet_its"]
        say(f"  quiet ratio      {fig['quiet_ratio']:6.3f}   (only the 1 s windows in which other processes used "
            f"< 5% of a core: headless {hq:.2f} it/s over {hs:.0f} s, studio {gq:.2f} it/s over {gs:.0f} s)")
    else:
        hs, gs = fig["quiet_s"]
        say(f"  quiet ratio         n/a   (under 10 s without other load: headless {hs:.0f} s, studio {gs:.0f} s)")
    say(f"  CPU while training (median, cores): GUI thread {fig['gui_thread_cpu']:.3f}, "
        f"training thread {fig['training_thread_cpu']:.2f}")
    if fig["probe"]:
        say(f"  stall p99 {fig['stall_p99_ms']:.1f} ms, max {fig['stall_max_ms']:.1f} ms (targets < 50 / < 200 ms; "
            f"10 ms timer, {fig['ticks']} ticks, one more studio run); while training: "
            f"p99 {fig['stall_p99_while_training_ms']:.1f} ms, "
            f"max {fig['stall_max_while_training_ms']:.1f} ms")
    responsive = not fig["probe"] or (fig["stall_p99_ms"] < 50 and fig["stall_max_ms"] < 200)
    steady = fig["steady_ratio_median_of_pairs"]
    ok = fig["ratio_median_of_pairs"] >= TARGET and (steady is None or steady >= TARGET) and responsive
    fig["pass"] = bool(ok)
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", action="append",
                    help="preset to measure (repeatable; default: toy-wgan-gp and digits-wgan-gp)")
    ap.add_argument("--iterations", type=int,
                    help="generator iterations per run (default: " + ", ".join(
                        f"{k} {v}" for k, v in DEFAULT_ITERATIONS.items()) + ")")
    ap.add_argument("--pairs", "--repeats", dest="pairs", type=int, default=4,
                    help="interleaved headless/studio pairs per preset; the median of their ratios counts (>= 4)")
    ap.add_argument("--no-probe", action="store_true",
                    help="no extra studio run with the 10 ms probe timer (no stall figures)")
    ap.add_argument("--warm-up", action="store_true",
                    help="call studio.worker.warm_up() first (what the window should do once shown)")
    ap.add_argument("--busy", action="store_true",
                    help="one CPU-bound process beside every run (issue 22 point 3: compare each side's it/s "
                         "with a quiet measurement; at most 2x slower on 2 cores)")
    ap.add_argument("--json", help="also write the figures to this JSON file (benchmarks/run_all.py)")
    ap.add_argument("--headless-child", nargs=3, metavar=("PRESET", "N", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.headless_child:
        _headless_child(args.headless_child[0], int(args.headless_child[1]), args.headless_child[2])
        return 0
    presets = [p for arg in (args.preset or ["toy-wgan-gp", "digits-wgan-gp"]) for p in arg.split(",") if p]

    from benchmarks.busy import busy_processes
    from benchmarks.studio_app import studio_app

    app, tmp = studio_app("wgan-bench-", "gui_overhead")

    say(f"presets {', '.join(presets)}; {args.pairs} pair(s) each; {os.cpu_count()} CPU cores, "
        f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}")
    if args.pairs < 4:
        say(f"(fewer than 4 pairs: the median of {args.pairs} says little on a shared machine)")
    say(f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.warm_up:
        from studio.worker import warm_up
        warm_up().join()
    if args.busy:
        say("one busy process beside every run")
    with busy_processes(1 if args.busy else 0):  # a laptop's other work (benchmarks/busy.py)
        figs = [measure(app, tmp, p, args.iterations or DEFAULT_ITERATIONS.get(p, 200), args.pairs,
                        not args.no_probe) for p in presets]
    redraw, redraw_max = redraw_100k(app)
    say("")
    ok = all([report(f) for f in figs])
    say(f"redraw 100k   {redraw:8.1f} ms (median, longest {redraw_max:.1f} ms; 5 plots, 11 curves of 100,000 points)")
    say(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say("PASS" if ok else "MISS (see above)")
    if args.json:
        out = {"pairs": args.pairs, "busy": args.busy, "probe": not args.no_probe, "redraw_100k_median_ms": redraw,
               "redraw_100k_max_ms": redraw_max, "load_average_end": os.getloadavg()[0], "pass": bool(ok)}
        for f in figs:
            short = f["preset"].split("-")[0]
            for k, v in f.items():
                if k not in ("preset", "pairs", "probe", "quiet_s", "quiet_its"):
                    out[f"{short}_{k}"] = v
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

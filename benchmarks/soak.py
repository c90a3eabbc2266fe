"""Soak: a long run in the studio must not grow its memory, or anything kept per iteration,
without bound.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python benchmarks/soak.py [--iterations 20000]
        [--hidden 64] [--batch 64] [--threads 1] [--warmup 0.1]

Trains the toy-wgan-gp preset (8 Gaussians, WGAN-GP, its own n_critic, evaluation, sample and
checkpoint intervals) for ``--iterations`` generator iterations in the studio: the real
MainWindow (shown, offscreen platform) with its worker thread, live plots, live samples, log and
Steer, in a real Qt event loop. Along the way it steers the run the way a user would: a live
edit every 5% of the run and a pause / resume every 10%, so markers, log lines and the edit
history get exercised too.

Smaller than the preset on purpose (set through the config, nothing else changes): the preset's
MLP (3 x 512, batch 256) trains at about 3 it/s on one core of the shared 2-core test machine,
so 20,000 iterations would take hours. With hidden 64 and batch 64 the network costs about
1/60 s an iteration there; the preset's evaluation (exact W1 every 100 iterations), sample
pictures and checkpoints then halve that, and the studio runs at 20-30 it/s: 20,000 iterations
in 10-15 minutes, ``--iterations 2000`` in under 2 minutes. What this measures (the studio's
per-iteration bookkeeping) does not depend on the network's size. ``--threads`` sets PyTorch's
intra-op threads (default 1: on a 2-core machine shared with other work, two OpenMP threads spin
against each other and training slows down ~30x).

Measured:
- RSS (resident set size, from /proc/self/statm; psutil when there is no /proc) every
  ``--probe-s`` seconds. The growth from the end of the warm-up (the first ``--warmup`` share of
  the iterations: allocators, caches and the history buffer's first doublings settle there) to the
  end. Target: < 30 MB.
- At the end, the size of everything in the window that grows as a run goes on, each against a
  stated cap: the run's history (a row cap, ``ColumnBuffer.max_rows``), the plots' thinned curves
  (``2 * thinning.MAX_BINS + 1`` points), the evaluation points (one per ``eval_every``
  iterations), the markers (one per edit, pause or resume, never per iteration), the log
  (``studio.panels.log.MAX_LINES``), the edit history, the window's event list, background tasks
  and threads.

Exit status 0 when everything is within its target and cap, 1 otherwise.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WGAN_STUDIO_NO_CONFIRM"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MB = 1024 * 1024
RSS_TARGET_MB = 30.0
MARKER_EVENTS = ("edit", "pause", "resume", "resume_run")  # the events that get a marker on the plots


def trainer_of(win):
    """The trainer of the window's run (a benchmark may look inside: the studio only sees RunStatus)."""
    worker = getattr(win.model.source, "worker", None)
    return worker.trainer if worker is not None else None


def say(*args) -> None:
    if sys.stdout is not None:
        print(*args, flush=True)


def rss_reader():
    """A function returning the current RSS in bytes, and where it comes from."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    if Path("/proc/self/statm").is_file():
        def from_proc() -> int:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * page
        return from_proc, "/proc/self/statm"
    try:
        import psutil  # optional: only where there is no /proc (macOS, Windows)
    except ImportError:
        psutil = None
    if psutil is not None:
        proc = psutil.Process()
        return (lambda: proc.memory_info().rss), "psutil"
    import resource  # last resort: the peak, not the current size (an upper bound of growth)
    scale = 1 if sys.platform == "darwin" else 1024
    return (lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale), "getrusage peak RSS"


def soak_config(iterations: int, hidden: int, batch: int):
    from engine import load_preset
    cfg = load_preset("toy-wgan-gp")
    cfg.model.hidden = hidden
    cfg.train.batch_size = batch
    cfg.train.iterations = iterations
    return cfg


def steer_like_a_user(win, state: dict, it: int, n: int, edit_every: int, pause_every: int) -> None:
    """A logged live edit every 5% of the run, a pause/resume every 10%."""
    if win.run_state == "running" and it >= state["next_edit"] and it < n:
        state["lr_high"] = not state["lr_high"]
        if win.request_edit("lr_generator", 1.2e-4 if state["lr_high"] else 1e-4):
            state["edits"] += 1
        state["next_edit"] += edit_every
    if state["paused_at"] is None and win.run_state == "running" and it >= state["next_pause"] and it < n:
        win.toggle_pause()
        state["paused_at"] = time.perf_counter()
        state["next_pause"] += pause_every
    elif state["paused_at"] is not None and win.run_state == "paused" \
            and time.perf_counter() - state["paused_at"] > 0.3:
        win.toggle_pause()
        state["paused_at"] = None
        state["pauses"] += 1


def run_soak(app, args) -> dict:
    from PySide6.QtCore import QEventLoop, QTimer

    from studio.main_window import MainWindow

    read_rss, rss_source = rss_reader()
    cfg = soak_config(args.iterations, args.hidden, args.batch)
    win = MainWindow()
    win.question_handler = lambda *_: True
    win.resize(1500, 950)
    win.show()
    win.config_panel.set_config(cfg)
    if win.config_panel.error:
        raise RuntimeError(f"invalid soak configuration: {win.config_panel.error}")

    n = args.iterations
    warmup_at = max(int(n * args.warmup), 1)
    edit_every = max(n // 20, 1)
    pause_every = max(n // 10, 1)
    samples: list[tuple[int, float, float]] = []   # (gen_iter, seconds, RSS bytes)
    state = {"baseline": None, "objects0": None, "next_edit": edit_every, "next_pause": pause_every,
             "edits": 0, "pauses": 0, "paused_at": None, "lr_high": False}
    t_start = time.perf_counter()

    def probe():
        t = trainer_of(win)
        if t is None:
            return
        it = int(t.gen_iter)
        rss = read_rss()
        samples.append((it, time.perf_counter() - t_start, rss))
        if state["baseline"] is None and it >= warmup_at:
            gc.collect()
            state["baseline"] = (it, rss)
            state["objects0"] = len(gc.get_objects())
            say(f"  warm-up done at iteration {it}: RSS {rss / MB:.1f} MB (baseline)")
        steer_like_a_user(win, state, it, n, edit_every, pause_every)
        if len(samples) % max(int(30 / args.probe_s), 1) == 0:
            say(f"  iteration {it:>7} / {n}   RSS {rss / MB:7.1f} MB   {it / max(samples[-1][1], 1e-9):6.1f} it/s")

    timer = QTimer()
    timer.setInterval(int(args.probe_s * 1000))
    timer.timeout.connect(probe)
    loop = QEventLoop()
    win.run_finished.connect(lambda _state: loop.quit())
    if not win.start():
        raise RuntimeError("Start did nothing")
    timer.start()
    loop.exec()  # a real event loop, as in the application (sleeps between events)
    timer.stop()
    elapsed = time.perf_counter() - t_start
    app.processEvents()
    gc.collect()
    end_rss = read_rss()
    objects1 = len(gc.get_objects())
    if win.run_state != "finished":
        raise RuntimeError(f"the soak run ended in state {win.run_state}")
    result = {"window": win, "cfg": cfg, "samples": samples, "state": state, "elapsed": elapsed,
              "end_rss": end_rss, "objects1": objects1, "rss_source": rss_source}
    return result


def check_sizes(res) -> list[tuple[str, int, int | None, str]]:
    """(what, size, cap, how the cap is stated) of every structure that grows during a run."""
    from studio.panels.log import MAX_LINES
    from studio.panels.plots.thinning import MAX_BINS
    from studio.runs import ColumnBuffer
    from studio.worker import live_threads

    win, cfg = res["window"], res["cfg"]
    plots = win.plots
    n = cfg.train.iterations
    events = list(win.model.events)
    marker_events = sum(1 for e in events if e.get("type") in MARKER_EVENTS)
    edits = sum(1 for e in events if e.get("type") == "edit")
    pauses = sum(1 for e in events if e.get("type") == "pause")
    out = []
    # The history is the run model's (one ColumnBuffer, capped at max_rows); the plots draw
    # thinned views of it: an envelope per curve, at most 2 * MAX_BINS + 1 points.
    out.append(("history rows (the run model's)", int(win.model.rows), ColumnBuffer.MAX_ROWS, "ColumnBuffer.max_rows"))
    drawn = max(len(e.points()[0]) for e in plots.thinned.envelopes.values())
    out.append(("plots: most points of a thinned curve", drawn, 2 * MAX_BINS + 1, "2 x thinning.MAX_BINS + 1"))
    ev_cap = n // cfg.train.eval_every + 2 if cfg.train.eval_every else 2
    out.append(("plots.evals points", int(plots.evals.n), ev_cap, "one per eval_every iterations"))
    out.append(("plots.markers", len(plots.markers), marker_events, "one per edit/pause/resume event"))
    out.append(("plots marker lines", len(plots.marks.lines), marker_events * len(plots.plots),
                "one per marker and plot"))
    out.append(("plots pause spans", len(plots.marks.regions), pauses * len(plots.plots), "one per pause and plot"))
    lines = win.log_panel.line_count() if hasattr(win.log_panel, "line_count") else len(win.log_panel.lines())
    out.append(("log lines", lines, MAX_LINES, f"studio.panels.log.MAX_LINES (events here: {len(events)})"))
    out.append(("steer edit history", win.steer.history.count(), edits, "one per edit"))
    out.append(("window events", len(events), res["state"]["edits"] + 2 * res["state"]["pauses"] + ev_cap + 10,
                "one per engine event (start, edits, pauses, resumes, a new best at an evaluation, end)"))
    trainer = trainer_of(win)
    if trainer is not None:
        out.append(("trainer.edit_log", len(trainer.edit_log), edits, "one per edit"))
    out.append(("background tasks", len(win.tasks), 0, "none left"))
    out.append(("running QThreads", len(live_threads()), 0, "none left"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=20_000, help="generator iterations (default 20,000)")
    ap.add_argument("--hidden", type=int, default=64, help="MLP width (preset: 512)")
    ap.add_argument("--batch", type=int, default=64, help="batch size m (preset: 256)")
    ap.add_argument("--threads", type=int, default=1, help="PyTorch intra-op threads (default 1)")
    ap.add_argument("--warmup", type=float, default=0.1, help="share of the iterations counted as warm-up")
    ap.add_argument("--probe-s", type=float, default=0.5, help="seconds between RSS samples")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported (engine imports it)

    import torch

    from benchmarks.studio_app import studio_app

    torch.set_num_threads(args.threads)
    app, tmp = studio_app("wgan-soak-", "soak")
    say(f"soak: toy-wgan-gp with hidden {args.hidden}, batch {args.batch}; {args.iterations} generator iterations; "
        f"torch threads {args.threads}; {os.cpu_count()} CPU cores; QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}")
    res = run_soak(app, args)
    samples, base = res["samples"], res["state"]["baseline"]
    say("")
    say(f"trained {args.iterations} iterations in {res['elapsed']:.0f} s "
        f"({args.iterations / res['elapsed']:.1f} it/s, steering and pauses included); run folder in {tmp}")
    ok = True
    figures: dict = {"iterations": args.iterations, "hidden": args.hidden, "batch": args.batch,
                     "its_per_s": args.iterations / res["elapsed"]}
    if base is None:
        say("RSS: the run ended before the warm-up did; use more iterations")
        ok = False
    else:
        after = [s for s in samples if s[0] >= base[0]]
        peak = max(s[2] for s in after)
        growth = (res["end_rss"] - base[1]) / MB
        # A straight line through the samples after warm-up: MB per 10,000 iterations.
        xs = [s[0] for s in after]
        ys = [s[2] / MB for s in after]
        slope = 0.0
        if len(xs) > 2 and max(xs) > min(xs):
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
        say(f"RSS source            {res['rss_source']}, {len(samples)} samples")
        say(f"RSS after warm-up     {base[1] / MB:8.1f} MB  (iteration {base[0]})")
        say(f"RSS at the end        {res['end_rss'] / MB:8.1f} MB")
        say(f"RSS peak after warm-up{peak / MB:8.1f} MB")
        say(f"RSS growth            {growth:+8.1f} MB  (target < {RSS_TARGET_MB:.0f} MB)"
            f"  {'ok' if growth < RSS_TARGET_MB else 'MISS'}")
        say(f"RSS trend             {slope * 10_000:+8.2f} MB per 10,000 iterations (least squares after warm-up)")
        say(f"Python objects        {res['objects1'] - res['state']['objects0']:+8d}  (after warm-up -> end, gc)")
        ok &= growth < RSS_TARGET_MB
        figures.update(rss_after_warmup_mb=base[1] / MB, rss_end_mb=res["end_rss"] / MB, rss_growth_mb=growth,
                       rss_trend_mb_per_10k=slope * 10_000, target_mb=RSS_TARGET_MB)
    say("")
    say(f"{'grows during a run':24} {'size':>8} {'cap':>8}  cap stated as")
    for what, size, cap, how in check_sizes(res):
        within = cap is not None and size <= cap
        ok &= within
        figures[f"size: {what}"] = size
        figures[f"cap: {what}"] = cap
        say(f"{what:24} {size:8d} {cap if cap is not None else '-':>8}  {how}  {'ok' if within else 'UNBOUNDED'}")
    steer = res["state"]
    say(f"(steering done: {steer['edits']} live edits, {steer['pauses']} pause/resume cycles)")
    res["window"].close()
    app.processEvents()
    say("PASS" if ok else "MISS (see above)")
    figures["pass"] = bool(ok)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

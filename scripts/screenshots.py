"""Screenshots of the studio for docs/, taken the way a user sees it: the real window under an X
server (Xvfb), captured with ImageMagick's ``import -window root``.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py [--only toy-light ...]

Each shot starts a fresh window on a preset, trains it live for a while (the run goes to a
temporary folder, the user's settings are not touched), captures the screen and stops the run.
``compare`` trains the four story presets (25 Gaussians) headless and shows them in Compare runs;
``distances`` runs the Distances tab's sweep with its defaults; ``draw`` draws a face in the 2-D
view's Draw mode (through the calls the mouse makes) and trains on it; ``runs`` runs a small grid
sweep (wgan-sweep, 6 trials), queues two runs (held) and shows the Runs view with the sweep's
scatter; ``laptop`` is the first start on a 1366 x 768 screen with a 40 px task bar (the window
sized and placed as on that screen, the picture cut to the window), training the digits preset.
Needs Debian's ``xvfb imagemagick`` and the xcb libraries of README.md, "What a Linux desktop needs".
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name -> (preset, theme, generator iterations to train before the picture)
SHOTS = {
    "toy-light": ("toy-wgan-gp", "light", 300),
    "toy-dark": ("toy-wgan-gp", "dark", 300),
    "digits-light": ("digits-wgan-gp", "light", 120),
    "digits-dark": ("digits-wgan-gp", "dark", 120),
}
# Two more, of the other windows: Compare runs (two runs trained headless first) and the
# Distances tab after a sweep with its default settings.
OTHER = ("compare", "distances", "draw", "runs", "laptop")
LAPTOP = (1366, 768, 40)   # screen width, height, task bar
DRAW_ITERS = 300
# (preset, run folder name): the lecture's four objectives on 25 Gaussians
COMPARED = tuple((f"story-25g-{o}", o) for o in ("gan", "fgan-kl", "wgan-clip", "wgan-gp"))
COMPARE_ITERS = 600


def _waiter(app, name):
    from studio.app import process_events_until

    def wait(pred, timeout):
        if not process_events_until(app, pred, timeout):
            raise SystemExit(f"{name}: timed out")
    return wait


def _grab(win, name: str, out_dir: Path, app) -> Path:
    wait = _waiter(app, name)
    end = time.monotonic() + 1.5  # let the window paint
    wait(lambda: time.monotonic() > end, 10)
    path = out_dir / f"studio-{name}.png"
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    return path


def _draw_and_train(win, wait, out_dir: Path, app) -> Path:
    """A smiling face drawn in Draw mode (an outline, two blobs, a smile), trained DRAW_ITERS iterations."""
    import numpy as np

    win.load_preset("toy-wgan-gp")
    toy = win.samples.toy
    end = time.monotonic() + 0.5  # after the window's first layout pass (it sets the default sizes)
    wait(lambda: time.monotonic() > end, 10)
    win.steer_dock.hide()  # the picture is the subject: more room for the 2-D view
    total = sum(win.splitter.sizes())
    win.splitter.setSizes([int(total * 0.5), total - int(total * 0.5)])
    toy.set_draw_mode(True)
    toy.plot.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    app.processEvents()
    px = toy.plot.vb.viewPixelSize()[0]
    toy.draw.brush_spin.setValue(max(2, round(0.12 / px)))   # a brush of radius ~0.12 data units
    toy.draw.density_spin.setValue(6)
    a = np.linspace(0, 2 * np.pi, 200)
    toy.draw.draw_stroke(np.stack([1.5 * np.cos(a), 1.5 * np.sin(a)], 1))          # the face
    toy.draw.density_spin.setValue(80)
    for x in (-0.55, 0.55):
        toy.draw.draw_stroke([(x, 0.5)])                                             # the eyes
    toy.draw.density_spin.setValue(6)
    a = np.linspace(np.radians(205), np.radians(335), 60)
    toy.draw.draw_stroke(np.stack([0.9 * np.cos(a), 0.9 * np.sin(a) + 0.05], 1))  # the smile
    toy.show_arrows.setChecked(True)
    assert win.train_on_drawing(), "draw: could not start"
    wait(lambda: win.run_status.gen_iter >= DRAW_ITERS, 1800)
    win.toggle_pause()
    wait(lambda: win.run_state == "paused", 60)
    path = _grab(win, "draw", out_dir, app)
    win.stop()
    wait(lambda: not win.is_active(), 120)
    return path


SWEEP = """base = "base.toml"
trials = 6
sampler = "grid"
metric = "w1_exact"
[set]
"train.iterations" = 400
"train.eval_every" = 50
[search]
"objective.clip_value" = [0.001, 0.01, 0.1]
"train.seed" = [0, 1]
"""


def _runs_and_sweep(win, wait, out_dir: Path, app, runs: Path) -> Path:
    """A grid sweep of toy-wgan-clip's clipping value (wgan-sweep, as Run > New sweep starts it),
    two runs queued (held), the Runs view and the sweep's scatter."""

    from engine import load_preset, save_config
    from engine.sweep import sweep_command

    cfg = load_preset("toy-wgan-clip")
    cfg.model.hidden, cfg.train.threads = 128, 1
    runs.mkdir(parents=True, exist_ok=True)
    save_config(cfg, runs / "base.toml")
    (runs / "clip.toml").write_text(SWEEP)
    sweep = runs / "clip-sweep"
    if not (sweep / "trials.csv").exists():   # WGAN_SHOTS_RUNS: a runs folder that has it already
        subprocess.run(sweep_command(runs / "clip.toml", sweep, workers=2), check=True, cwd=runs,
                       stdout=subprocess.DEVNULL)
    queue = win.runs_dock.queue
    queue.hold(True)
    queue.add_preset("toy-wgan-gp")
    queue.add_preset("digits-wgan-gp")
    dock = win.runs_dock.dock   # floated over the plots: room for every row
    dock.setFloating(True)
    dock.setGeometry(300, 470, 1300, 500)
    view = win.runs_view
    wait(lambda: sum(r.group.startswith("sweep") for r in view.model.rows) == 6 and len(view.model.rows) >= 8, 60)
    view.select_paths([r.path for r in view.model.rows if r.group.startswith("sweep")][:1])
    scatter = win.runs_dock.sweeps.show_scatter(sweep)
    scatter.resize(700, 420)
    scatter.move(880, 40)
    path = _grab(win, "runs", out_dir, app)
    scatter.close()
    return path


def _laptop(app, out_dir: Path) -> Path:
    from PySide6.QtCore import QRect

    from studio.main_window import MainWindow
    from studio.settings import Settings
    from studio.widgets import first_rect

    wait = _waiter(app, "laptop")
    Settings().q.clear()   # a first start: no saved layout
    w, h, bar = LAPTOP
    rect = first_rect(QRect(0, 0, w, h - bar))
    win = MainWindow(theme="light", live_samples_s=0.5)
    win.question_handler = lambda *_: True
    win.load_preset("digits-wgan-gp")
    win.resize(rect.size())
    win.move(rect.topLeft())
    win.show()
    wait(lambda: win.isVisible() and win.runs_dock.dock.isHidden(), 10)
    assert win.start(), "laptop: could not start"
    wait(lambda: win.run_status.gen_iter >= SHOTS["digits-light"][2], 1800)
    end = time.monotonic() + 2.5  # the last live picture and plot batch
    wait(lambda: time.monotonic() > end, 10)
    path = out_dir / "studio-laptop.png"
    crop = f"{rect.width()}x{rect.height()}+{rect.x()}+{rect.y()}"   # the window, as it lies on that screen
    subprocess.run(["import", "-window", "root", "-crop", crop, "+repage", str(path)], check=True)
    win.stop()
    wait(lambda: not win.is_active(), 120)
    win.close()
    app.processEvents()
    return path


def shoot_other(app, name: str, out_dir: Path, runs: Path) -> Path:
    from engine import Trainer, load_preset
    from studio.main_window import MainWindow

    if name == "laptop":
        return _laptop(app, out_dir)

    wait = _waiter(app, name)
    win = MainWindow(theme="light", live_samples_s=0.5)
    win.load_preset("toy-wgan-gp")  # what the studio opens on
    win.question_handler = lambda *_: True
    win.resize(1600, 1000)
    win.move(0, 0)
    win.show()
    wait(lambda: win.isVisible(), 10)
    if name == "compare":
        folders = []
        for preset, folder in COMPARED:
            cfg = load_preset(preset)
            cfg.train.iterations = COMPARE_ITERS
            Trainer(cfg, runs / folder).run()
            folders.append(runs / folder)
        cw = win.show_compare()
        cw.resize(1600, 1000)
        cw.move(0, 0)
        cw.add_runs(folders)
        cw.set_metric("w1_exact")
        path = _grab(cw, name, out_dir, app)
        cw.close()
    elif name == "draw":
        path = _draw_and_train(win, wait, out_dir, app)
    elif name == "runs":
        path = _runs_and_sweep(win, wait, out_dir, app, runs)
    else:
        win.tabs.setCurrentWidget(win.distances_scroll)
        assert win.distances.run(), f"{name}: the sweep did not start"
        wait(lambda: not win.distances.is_running(), 1800)
        path = _grab(win, name, out_dir, app)
    win.close()
    app.processEvents()
    return path


def shoot(app, name: str, out_dir: Path) -> Path:
    from studio.app import process_events_until
    from studio.main_window import MainWindow

    preset, theme, iters = SHOTS[name]

    def wait(pred, timeout):
        if not process_events_until(app, pred, timeout):
            raise SystemExit(f"{name}: timed out")

    win = MainWindow(theme=theme, live_samples_s=0.5)
    win.question_handler = lambda *_: True
    win.load_preset(preset)
    win.resize(1600, 1000)
    win.move(0, 0)
    win.show()
    win.samples.toy.show_arrows.setChecked(name.startswith("toy"))
    wait(lambda: win.isVisible(), 10)
    assert win.start(), f"{name}: could not start"
    wait(lambda: win.run_status.gen_iter >= iters // 2, 1800)
    win.request_edit("lr_critic", 2 * win.model.live_values["lr_critic"])  # a live edit: its marker shows
    wait(lambda: win.run_status.gen_iter >= iters, 1800)
    end = time.monotonic() + 2.5  # let the last live picture and plot batch arrive
    wait(lambda: time.monotonic() > end, 10)
    path = out_dir / f"studio-{name}.png"
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    win.stop()
    wait(lambda: not win.is_active(), 120)
    win.close()
    app.processEvents()
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=[*SHOTS, *OTHER])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: as the studio picks)")
    args = ap.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("no DISPLAY: run under xvfb-run (see the docstring)", file=sys.stderr)
        return 2
    if shutil.which("import") is None:
        print("ImageMagick's 'import' is missing (apt install imagemagick)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="wgan-shots-") as tmp:
        tmp = Path(tmp)
        os.environ["WGAN_STUDIO_RUNS"] = os.environ.get("WGAN_SHOTS_RUNS") or str(tmp / "runs")
        os.environ["WGAN_STUDIO_NO_CONFIRM"] = "1"
        from PySide6.QtCore import QSettings
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
        if args.threads:
            import torch
            torch.set_num_threads(args.threads)
        from studio.app import make_app
        app = make_app(["wgan-studio"])
        for name in args.only or [*SHOTS, *OTHER]:
            runs = Path(os.environ.get("WGAN_SHOTS_RUNS") or tmp / "runs")
            path = shoot(app, name, args.out) if name in SHOTS else shoot_other(app, name, args.out, runs)
            print(path, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

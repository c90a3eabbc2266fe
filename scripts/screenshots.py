"""Screenshots of the studio for docs/, taken the way a user sees it: the real window under an X
server (Xvfb), captured with ImageMagick's ``import -window root``.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py [--only toy-light ...]

Each shot starts a fresh window on a preset, trains it live for a while (the run goes to a
temporary folder, the user's settings are not touched), captures the screen and stops the run.
``compare`` trains two toy runs (WGAN-GP, weight clipping) headless and shows them in Compare runs;
``distances`` runs the Distances tab's sweep with its defaults.
Needs Debian's ``xvfb imagemagick`` and the xcb libraries listed in the README.
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
OTHER = ("compare", "distances")
COMPARED = (("toy-wgan-gp", "wgan-gp"), ("toy-wgan-clip", "wgan-clip"))  # (preset, run folder name)
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


def shoot_other(app, name: str, out_dir: Path, runs: Path) -> Path:
    from engine import Trainer, load_preset
    from studio.main_window import MainWindow

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
    wait(lambda: win.trainer is not None and win.trainer.gen_iter >= iters // 2, 1800)
    win.request_edit("lr_critic", 2 * win.trainer.hp["lr_critic"])  # a live edit: its marker shows
    wait(lambda: win.trainer.gen_iter >= iters, 1800)
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
        os.environ["WGAN_STUDIO_RUNS"] = str(tmp / "runs")
        os.environ["WGAN_STUDIO_NO_CONFIRM"] = "1"
        from PySide6.QtCore import QSettings
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
        if args.threads:
            import torch
            torch.set_num_threads(args.threads)
        from studio.app import make_app
        app = make_app(["wgan-studio"])
        for name in args.only or [*SHOTS, *OTHER]:
            path = shoot(app, name, args.out) if name in SHOTS else shoot_other(app, name, args.out, tmp / "runs")
            print(path, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

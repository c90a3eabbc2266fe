"""Entry point: ``wgan-studio [CONFIG.toml | RUN_DIR] [--theme ...] [--smoke-test]``.

- no argument: the main window on the last (or default) preset;
- a ``.toml`` file: that configuration; a run folder: its curves and samples;
- ``--smoke-test``: offscreen, train 20 iterations of the default preset into a temporary
  runs folder, export a sample grid, check the PNG, exit 0 (or non-zero with the reason);
  ``--smoke-out DIR`` keeps the exported grid as ``DIR/grid.png``;
- ``--quit-after-shown``: start normally, exit 0 once the main window is shown; the times from
  the process start to the loading window and to the main window are logged (and printed when
  there is a terminal). See studio/startup.py: a window is up before torch is imported.

Frozen windowed builds have ``sys.stdout is None``: nothing here prints blindly; messages go to
the log file (AppLocalDataLocation/logs/studio.log) and, when there is one, to stderr. Standard
streams closed at start-up (``WGANStudio >&- 2>&-``) are reopened on the null device so that no
file the studio opens later can land on descriptor 1 or 2 and receive Qt's C-level messages.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

log = logging.getLogger("studio")


def _guard_stdio() -> None:
    """Point closed descriptors 0-2 at the null device and give Python streams that accept writes."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            except OSError:
                pass
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # lives as long as the process


def _process_age() -> float:
    """Seconds since this process started (Linux: /proc; elsewhere: since the studio's first module
    was imported, studio.load_order, before torch where torch comes first)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            start_ticks = float(f.read().rsplit(b")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        from studio.load_order import IMPORTED_AT
        return time.monotonic() - IMPORTED_AT


def show_and_time(app, win, timeout: float = 30.0, what: str = "main window") -> float | None:
    """Show ``win``, wait until its window is exposed and painted; seconds since the process start."""
    from PySide6.QtCore import QEventLoop
    win.show()
    end = time.monotonic() + timeout
    while not (win.windowHandle() is not None and win.windowHandle().isExposed()):
        if time.monotonic() > end:
            log.error("the %s was not shown within %.0f s", what, timeout)
            return None
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    win.repaint()  # the first frame is drawn before the window counts as shown
    age = _process_age()
    log.info("%s shown %.2f s after the process started", what, age)
    return age


def _say(text: str) -> None:
    for stream in (sys.stderr, sys.stdout):
        if stream is not None:
            try:
                print(text, file=stream, flush=True)
            except (OSError, ValueError):
                pass
            return


def setup_logging() -> Path | None:
    """Log to a rotating file in the user's log folder (and to stderr when there is one)."""
    from PySide6.QtCore import QStandardPaths
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    path = None
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    if base:
        try:
            folder = Path(base) / "logs"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "studio.log"
            fh = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
            fh.setFormatter(fmt)
            root.addHandler(fh)
        except OSError:
            path = None
    if sys.stderr is not None:
        sh = logging.StreamHandler(sys.stderr)
        sh.setLevel(logging.WARNING)
        sh.setFormatter(fmt)
        root.addHandler(sh)
    return path


def parse_args(argv):
    p = argparse.ArgumentParser(prog="wgan-studio", description="Train Wasserstein GANs and watch them learn.")
    p.add_argument("path", nargs="?", help="a configuration (.toml) or a run folder to open, or "
                   "ssh://[user@]host[:port]/path/to/run: follow and steer a run on another machine over SSH")
    p.add_argument("--theme", choices=("system", "light", "dark"), help="colour theme (default: as saved)")
    p.add_argument("--smoke-test", action="store_true",
                   help="offscreen: train 20 iterations, export a grid, check it, exit")
    p.add_argument("--smoke-out", metavar="DIR", help="with --smoke-test: keep the exported grid as DIR/grid.png")
    p.add_argument("--quit-after-shown", action="store_true",
                   help="exit once the main window is shown (logs the start-up time)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p.parse_args(argv)


def make_app(argv=None):
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv or ["wgan-studio"]))
    app.setOrganizationName("WGAN Studio")
    app.setApplicationName("WGAN Studio")
    app.setApplicationDisplayName("WGAN Studio")
    from PySide6.QtGui import QIcon

    app.setApplicationVersion(studio_version())
    app.setDesktopFileName("wgan-studio")  # resources/wgan-studio.desktop (the Wayland app id)
    # The icon without importing studio.theme (which imports the engine, hence torch: see studio/startup.py).
    icon = Path(__file__).resolve().parent.parent / "resources" / "icons" / "app.png"
    if not icon.is_file():
        from studio.theme import resource_path
        icon = resource_path("icons", "app.png")
    app.setWindowIcon(QIcon(str(icon)))
    return app


def studio_version() -> str:
    """The installed version, without importing the engine (torch)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("wgan-studio")
    except PackageNotFoundError:
        from engine import __version__
        return __version__


def configure_pyqtgraph() -> None:
    import pyqtgraph as pg
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


def create_window(path: str | None = None, theme: str | None = None):
    from engine import DEFAULT_PRESET, list_presets
    from studio.main_window import MainWindow
    configure_pyqtgraph()
    win = MainWindow(theme=theme)
    opened = False
    if path:
        opened = win.open_path(path)
    if not opened or str(path).startswith("ssh://"):  # a remote run comes once connected: a form meanwhile
        last = win.settings.last_preset
        win.load_preset(last if last in list_presets() else DEFAULT_PRESET)
    return win


def _excepthook(exc_type, exc, tb):
    """An exception in a slot must not vanish (or kill a windowed build): log it and show it."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    log.error("unhandled exception\n%s", text)
    try:
        from PySide6.QtWidgets import QApplication, QMessageBox
        if QApplication.instance() is not None:
            box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", f"{exc_type.__name__}: {exc}")
            box.setDetailedText(text)
            box.open()
            _excepthook.box = box
    except Exception:  # noqa: BLE001 - last resort
        pass


def process_events_until(app, pred, timeout_s: float) -> bool:
    """Keep the GUI running until ``pred()`` holds (True) or ``timeout_s`` has passed (False):
    for scripted runs of the window (the smoke test, scripts/screenshots.py)."""
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > end:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    return True


def _check(ok: bool, why: str) -> None:
    if not ok:
        raise RuntimeError(why)


def _smoke_train(app, win) -> None:
    """Start 20 iterations of the preset shown and wait until the run has finished."""
    from engine.status import ENDED_STATES, RunState

    if show_and_time(app, win) is None:
        raise RuntimeError("the main window was not shown")
    win.config_panel.set_field_text("train.iterations", "20")
    _check(not win.config_panel.error, f"config invalid: {win.config_panel.error}")
    _check(win.start(), "Start did nothing")
    done = process_events_until(app, lambda: win.run_state in ENDED_STATES and not win.is_active(), 300)
    _check(done, f"training did not finish in 300 s (state {win.run_state})")
    _check(win.run_state == RunState.FINISHED, f"the run ended in state {win.run_state}")
    _check(win.model.rows == 20, f"the run shows {win.model.rows} rows, expected 20")


def _smoke_export(app, win, out: Path):
    """Export a 256 px grid of the finished run to ``out`` and check its size and metadata."""
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    results = []
    win.export_finished.connect(results.append)
    win.export_failed.connect(lambda m: results.append(RuntimeError(m)))
    win.export_grid(out, count=64, nrow=8, seed=3, size=256)
    _check(process_events_until(app, lambda: results, 60), "the export did not finish in 60 s")
    if isinstance(results[0], Exception):
        raise results[0]
    with Image.open(out) as img:
        _check(img.size[0] == 256, f"exported PNG is {img.size}, expected 256 px wide")
        meta, size = img.text, img.size
    for key in ("config", "gen_iter", "seed"):
        _check(key in meta, f"exported PNG lacks the {key!r} metadata")
    _check(meta["gen_iter"] == "20" and meta["seed"] == "3",
           f"unexpected metadata gen_iter={meta['gen_iter']} seed={meta['seed']}")
    return size


def smoke_test(app, keep_dir: str | None = None) -> int:
    """Train 20 iterations of the default preset, export a grid, check the PNG."""
    from engine import DEFAULT_PRESET
    from studio.main_window import MainWindow
    configure_pyqtgraph()

    with tempfile.TemporaryDirectory(prefix="wgan-studio-smoke-") as tmp:
        os.environ["WGAN_STUDIO_RUNS"] = str(Path(tmp) / "runs")
        os.environ["WGAN_STUDIO_NO_CONFIRM"] = "1"
        from PySide6.QtCore import QSettings
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(Path(tmp) / "settings"))
        win = MainWindow()
        win.question_handler = lambda *_: True
        _check(win.load_preset(DEFAULT_PRESET), f"cannot load the default preset {DEFAULT_PRESET}")
        _smoke_train(app, win)
        out = Path(keep_dir or Path(tmp) / "export") / "grid.png"
        size = _smoke_export(app, win, out)
        win.close()
        msg = f"smoke test passed: 20 iterations, exported {size[0]}x{size[1]} PNG with metadata"
        log.info("%s (%s)", msg, out if keep_dir else "temporary folder")
        _say(msg)
    return 0


def main(argv=None) -> int:
    _guard_stdio()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        _say(f"wgan-studio {studio_version()}")
        return 0
    if args.smoke_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = make_app([sys.argv[0] if sys.argv else "wgan-studio"])
    log_path = setup_logging()
    sys.excepthook = _excepthook
    log.info("WGAN Studio %s starting (log file %s%s)", studio_version(), log_path,
             ", frozen" if getattr(sys, "frozen", False) else "")
    from studio.load_order import describe
    log.info("%s", describe())
    if args.smoke_test:
        try:
            return smoke_test(app, args.smoke_out)
        except Exception as e:  # noqa: BLE001 - the reason is the output
            log.exception("smoke test failed")
            _say(f"smoke test FAILED: {type(e).__name__}: {e}")
            return 1
    return launch(app, args)


def start_in_two_steps(app, args, on_ready=None) -> dict:
    """Show :class:`studio.startup.LoadingWindow` now and load the engine behind it; once loaded,
    the main window takes the loading window's place. Returns at once; the dict it returns is
    filled in as that happens: "shell", "shown" (seconds from the process start to the loading
    window), then "win" and "ready" (to the main window) or "rc" = 1 when the engine failed to
    load. ``on_ready()`` is called after either."""
    from studio.startup import Loader, LoadingWindow

    shell = LoadingWindow()
    result: dict = {"shell": shell}
    result["shown"] = show_and_time(app, shell, what="loading window")

    def loaded(error) -> None:
        if error is not None:
            log.error("the engine could not be loaded\n%s", error)
            shell.failed(error)
            result["rc"] = 1
        else:
            win = create_window(args.path, args.theme)
            result["win"] = win
            if shell.isMaximized():
                win.showMaximized()
            ready = show_and_time(app, win)
            shell.close()
            result["ready"] = ready
            log.info("main window ready (Start enabled: %s) %.2f s after the process started",
                     win.act_start.isEnabled(), ready or -1)
        if on_ready is not None:
            on_ready()

    loader = Loader(shell)  # lives as long as the loading window
    loader.done.connect(loaded)
    loader.start()
    return result


def launch(app, args) -> int:
    """A window at once, the engine loaded behind it, then the main window in its place with Start
    enabled (:func:`start_in_two_steps`). ``--quit-after-shown`` exits once the main window is up
    and says when each window was shown."""
    from PySide6.QtCore import QTimer

    def ready() -> None:
        if args.quit_after_shown:
            if "win" in result:
                result["win"].close()
            app.quit()

    result = start_in_two_steps(app, args, ready)
    QTimer.singleShot(0, lambda: log.info("event loop running %.2f s after the process started", _process_age()))
    rc = app.exec()
    if args.quit_after_shown:
        if result["shown"] is None or result.get("ready") is None:
            _say("the main window was not shown")
            return 1
        _say(f"loading window shown {result['shown']:.2f} s after the process started; "
             f"main window shown {result['ready']:.2f} s after the process started (Start enabled)")
        return 0
    return result.get("rc", rc)


if __name__ == "__main__":
    sys.exit(main())

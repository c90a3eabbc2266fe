"""Shared test set-up.

Qt must be told to render offscreen before anything imports it, so this is done at the top of
the root conftest (pytest loads it before collecting any test module). The engine's tests must
keep running without PySide6 installed, so nothing here imports Qt at module level: the GUI
fixtures import it lazily and only apply to tests under tests/gui/.
"""

from __future__ import annotations

import os

# Offscreen, on a screen of a common desktop's size (the plugin's own is 800 x 800, where the
# window opens at that size less its frame: studio.widgets.first_rect). Qt splits the platform's
# options at ":", so on Windows (C:\...) the file is named relative to the working folder.
_SCREEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "offscreen_screen.json")
os.environ["QT_QPA_PLATFORM"] = "offscreen:configfile=" + (os.path.relpath(_SCREEN) if os.name == "nt" else _SCREEN)
os.environ.setdefault("WGAN_STUDIO_NO_CONFIRM", "1")  # tests answer the close question themselves
# Classifiers trained on a test's data set (engine.fitted_features) are cached for the session, never in
# the user's cache folder.
if "WGAN_FEATURES_CACHE_DIR" not in os.environ:
    import tempfile
    os.environ["WGAN_FEATURES_CACHE_DIR"] = tempfile.mkdtemp(prefix="wgan-features-")

import faulthandler  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402 - after the environment is set

from studio.load_order import load_torch_first_if_needed  # noqa: E402 - imports no Qt

# On Windows torch must be in before pytest-qt imports Qt (at pytest_configure, after this file).
load_torch_first_if_needed()

# Tests that need what only some systems have: skipped elsewhere, with the reason (pyproject's markers).
PLATFORM_MARKERS = {"linux_only": ("linux",), "posix_only": ("linux", "darwin")}

# Qt messages that the offscreen platform prints for every window and that say nothing about
# the studio; any other Qt warning fails the test (qt_log_level_fail).
_QT_NOISE = (r"This plugin does not support propagateSizeHints\(\)", r"This plugin does not support raise\(\)",
             r"QFont::setPointSize", r"Populating font family aliases", r"propagateSizeHints")


def _is_gui(item) -> bool:
    return "gui" in item.path.parts


def _skip_on_other_systems(item) -> None:
    for name, systems in PLATFORM_MARKERS.items():
        mark = item.get_closest_marker(name)
        if mark is not None and not sys.platform.startswith(systems):
            why = mark.args[0] if mark.args else "needs " + " or ".join(systems)
            item.add_marker(pytest.mark.skip(reason=f"{name} ({', '.join(systems)}): {why}"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        _skip_on_other_systems(item)
        if _is_gui(item):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            for pattern in _QT_NOISE:
                item.add_marker(pytest.mark.qt_log_ignore(pattern))
    # A bare `pytest` (a contributor, an editor) runs the main suite; the packaged build takes
    # minutes and runs only when asked for with -m (scripts/test.sh asks for it after the rest).
    if not config.getoption("markexpr"):
        bundle = [item for item in items if item.get_closest_marker("bundle")]
        if bundle:
            config.hook.pytest_deselected(items=bundle)
            items[:] = [item for item in items if not item.get_closest_marker("bundle")]


# A test that outlives its timeout (pytest-timeout, method "thread") ends its worker process, and
# pytest-xdist reports only that the worker crashed: the stacks pytest-timeout prints go to the
# worker's own terminal, which nobody reads. So every test also arms faulthandler to write every
# thread's stack to a file just before its timeout, and the run's summary prints those files.
HANGS_ENV = "WGAN_TEST_HANGS_DIR"
HANG_DUMP_LEAD_S = 3.0
_DUMP_KEY = pytest.StashKey()
_OWN_HANGS_DIR = pytest.StashKey()


def pytest_configure(config):
    if HANGS_ENV not in os.environ:   # the controller, before it starts its workers (who inherit it)
        import tempfile
        os.environ[HANGS_ENV] = tempfile.mkdtemp(prefix="wgan-test-hangs-")
        config.stash[_OWN_HANGS_DIR] = os.environ[HANGS_ENV]


def pytest_unconfigure(config):
    own = config.stash.get(_OWN_HANGS_DIR, None)
    if own is not None:   # printed in the summary by now
        import shutil
        shutil.rmtree(own, ignore_errors=True)
        os.environ.pop(HANGS_ENV, None)


def _hang_file(item) -> Path:
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in item.nodeid)[-150:]
    return Path(os.environ[HANGS_ENV]) / f"{name}.txt"


@pytest.hookimpl(hookwrapper=True)
def pytest_timeout_set_timer(item, settings):
    if settings.timeout and settings.timeout > HANG_DUMP_LEAD_S:
        dump = _hang_file(item).open("w")
        dump.write(f"{item.nodeid} ran past its timeout of {settings.timeout:g} s; its threads "
                   f"{HANG_DUMP_LEAD_S:g} s before:\n")
        dump.flush()
        item.stash[_DUMP_KEY] = dump
        faulthandler.dump_traceback_later(settings.timeout - HANG_DUMP_LEAD_S, file=dump)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_timeout_cancel_timer(item):
    dump = item.stash.get(_DUMP_KEY, None)
    if dump is not None:
        faulthandler.cancel_dump_traceback_later()
        dump.close()
        Path(dump.name).unlink(missing_ok=True)   # it ended in time: nothing to tell
        del item.stash[_DUMP_KEY]
    yield


def pytest_terminal_summary(terminalreporter):
    if hasattr(terminalreporter.config, "workerinput") or not os.environ.get(HANGS_ENV):
        return
    for path in sorted(Path(os.environ[HANGS_ENV]).glob("*.txt")):
        terminalreporter.section(f"stacks of a test that hung: {path.name}", sep="+")
        terminalreporter.write(path.read_text(errors="replace"))


@pytest.fixture(autouse=True)
def _studio_isolation(request, tmp_path, monkeypatch):
    """GUI tests: settings in tmp_path, runs in tmp_path, and no QThread left running."""
    if not _is_gui(request.node):
        yield
        return
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("WGAN_STUDIO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("WGAN_STUDIO_NO_CONFIRM", "1")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield
    _fail_on_running_threads()


def _fail_on_running_threads() -> None:
    from PySide6.QtWidgets import QApplication

    from studio.main_window import MainWindow
    from studio.worker import live_threads

    app = QApplication.instance()
    if app is not None:
        # Close any window the test left open (its closeEvent stops the run like a user's would).
        for w in app.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible():
                w.close()
    left = live_threads()
    if not left:
        _delete_closed_windows()
        return
    for t in left:  # do not let a runaway thread crash the next test
        t.quit()
        t.wait(30_000)
    pytest.fail(f"{len(left)} QThread(s) still running after the test: {[t.objectName() for t in left]}")


def _delete_closed_windows() -> None:
    """pytest-qt closes the test's windows and asks Qt to delete them later, which no event loop
    of the tests ever gets to, and pyqtgraph's plots leave their context menus without a parent
    (kept by Python reference cycles): each test left ~800 widgets alive, and every later theme
    change restyled them all (40 s for one test late in a CI run). Delete them now, their threads
    ended."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication, QMenu
    for w in QApplication.topLevelWidgets():
        if isinstance(w, QMenu) and w.parentWidget() is None and not w.isVisible():
            w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

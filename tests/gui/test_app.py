"""Entry point, opening a run folder, settings (with migration), themes and shortcuts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QApplication

from engine import read_events, read_metrics
from studio.app import create_window, main
from studio.settings import SETTINGS_VERSION, Settings

from .helpers import stopped_run as make_stopped_run


def test_version_flag(capsys):
    assert main(["--version"]) == 0
    assert "wgan-studio 0.1.0" in capsys.readouterr().err


@pytest.fixture
def stopped_run(tmp_path):
    """A run trained headlessly to 6 of 9 iterations, as if stopped by the user."""
    return make_stopped_run(tmp_path)


def test_open_run_folder_shows_curves_markers_and_samples(qtbot, stopped_run):
    win = create_window(str(stopped_run))
    qtbot.addWidget(win)
    win.show()
    assert win.plots.buf.n == 6
    assert win.plots.markers == [(0, "n_critic 5→3")]
    assert win.steer.history.count() == 1
    assert win.steer.n_critic.value() == 3, "the steer fields show the value the run ended with (config: 5)"
    assert "old-run" in win.log_panel.run_link.text()
    assert win.iter_label.text() == "6 / 9"
    qtbot.waitUntil(lambda: win.samples.payload is not None, timeout=30_000)
    assert win.samples.payload["kind"] == "toy" and win.samples.payload["gen_iter"] == 6
    assert len(win.plots.curves["w1_exact"].getData()[0]) == 2  # evaluated at 3 and 6

    # Start continues the stopped run in its own folder up to the configured 9 iterations.
    with qtbot.waitSignal(win.run_finished, timeout=60_000) as done:
        assert win.start()
    assert done.args == ["finished"] and win.run_path == stopped_run
    assert read_metrics(stopped_run / "metrics.csv")["gen_iter"] == [float(i) for i in range(1, 10)]
    assert "resume_run" in [e["type"] for e in read_events(stopped_run / "events.jsonl")]
    assert win.plots.buf.n == 9


def test_old_settings_are_migrated(tmp_path):
    q = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "WGAN Studio", "WGAN Studio")
    q.setValue("recent", "/a.toml;/b.toml")
    q.setValue("lastPreset", "toy-wgan-clip")
    q.setValue("darkMode", "true")
    q.setValue("samples/nrow", "not a number")
    q.sync()
    s = Settings()
    assert s.recent_files == ["/a.toml", "/b.toml"]
    assert s.last_preset == "toy-wgan-clip"
    assert s.theme == "dark"
    assert s.int_value("samples/nrow", 8) == 8
    assert int(s.value("settings_version")) == SETTINGS_VERSION


def test_layout_preset_and_view_options_are_remembered(qtbot):
    first = create_window()
    qtbot.addWidget(first)
    first.show()
    first.load_preset("toy-wgan-clip")
    first.log_dock.hide()
    first.plots.set_smoothing(0.5)
    first.close()

    second = create_window()
    qtbot.addWidget(second)
    second.show()
    assert second.preset_combo.currentText() == "toy-wgan-clip"
    assert second.config_panel.config().objective.kind == "wgan-clip"
    assert second.log_dock.isHidden()
    assert second.plots.smoothing() == 0.5


def test_the_first_window_fits_a_laptop_screen_and_is_centred(qtbot):
    """1500 x 950 on a desktop screen; on a 1366 x 768 laptop with a 40 px task bar the window,
    frame included, stays on the screen instead of running off its right and bottom edges."""
    from PySide6.QtCore import QRect

    from studio.widgets import FIRST_SIZE, FRAME_ROOM, first_rect
    laptop = QRect(0, 0, 1366, 728)
    r = first_rect(laptop)
    assert r.width() + FRAME_ROOM[0] <= 1366 and r.height() + FRAME_ROOM[1] <= 728
    assert r.width() >= 1300 and r.height() >= 650, "and it still takes nearly the whole screen"
    assert r.left() >= 0 and r.right() < 1366 and r.top() >= 0
    desk = first_rect(QRect(1920, 0, 1920, 1080))   # the second of two monitors
    assert (desk.width(), desk.height()) == FIRST_SIZE
    assert desk.center().x() == pytest.approx(1920 + 960, abs=1) and desk.top() > 0

    first = create_window()   # no saved layout: the test screen is 1920 x 1200
    qtbot.addWidget(first)
    first.show()
    assert (first.width(), first.height()) == FIRST_SIZE
    assert first.screen().availableGeometry().contains(first.frameGeometry())


def test_a_short_first_window_opens_without_the_docks_below_the_plots(qtbot):
    """On a 1366 x 768 laptop the Log and Runs docks would leave the samples and the plots some
    200 px each: the first window there opens without them, the View menu brings them back, and
    the next start keeps what the user chose."""
    from studio.main_window import SHORT_WINDOW_H
    win = create_window()
    qtbot.addWidget(win)
    win.resize(1350, 680)   # what studio.widgets.first_rect gives on that screen
    win.show()
    qtbot.waitUntil(lambda: win.log_dock.isHidden() and win.runs_dock.dock.isHidden(), timeout=10_000)
    assert win.height() < SHORT_WINDOW_H
    # the samples and the plots get the window's height, less its menu, tool and status bars
    qtbot.waitUntil(lambda: win.splitter.height() > win.height() - 120, timeout=10_000)
    win.runs_dock.dock.toggleViewAction().trigger()   # View > Runs
    qtbot.waitUntil(lambda: win.runs_dock.dock.isVisible() and win.splitter.height() < win.height() - 220,
                    timeout=10_000)
    win.close()
    again = create_window()
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.isVisible(), timeout=10_000)
    assert not again.runs_dock.dock.isHidden() and again.log_dock.isHidden()


def test_dark_and_light_themes(qtbot, window):
    window.set_theme("dark")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 100
    assert window.theme_actions["dark"].isChecked()
    window.set_theme("light")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 180
    assert window.settings.theme == "light"


def test_keyboard_shortcuts(qtbot, window):
    expected = {window.act_start: "Ctrl+Return", window.act_pause: "Space", window.act_step: "Ctrl+Right",
                window.act_stop: "Ctrl+.", window.act_export: "Ctrl+E", window.act_open: "Ctrl+O",
                window.act_save: "Ctrl+S", window.act_shortcuts: "F1"}
    for action, keys in expected.items():
        assert QKeySequence(keys) in action.shortcuts(), action.text()
    window.act_shortcuts.trigger()
    assert window.shortcuts_box.isVisible() and "Ctrl+Enter" in window.shortcuts_box.text()
    window.shortcuts_box.close()

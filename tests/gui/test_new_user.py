"""Issue 18: the studio tried as a new user would. One test (or a few) per numbered point."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt

from tests.helpers import tiny_config

from .helpers import pause, start_live, stop, use, wait_state


# ---------------------------------------------------------------------- 1. export name = content
def test_export_grid_writes_the_iteration_its_name_says(qtbot, window):
    """The dialog's file name and the written picture come from the same copy of the generator,
    however many iterations the run trains while the dialog stays open."""
    start_live(qtbot, window)
    qtbot.waitUntil(lambda: window.run_status.gen_iter > 2, timeout=60_000)
    window.export_grid_dialog()
    qtbot.waitUntil(lambda: window.export_dialog is not None, timeout=60_000)
    dlg = window.export_dialog
    name = dlg.path.text()
    named_it = int(name.rsplit("samples-iter", 1)[1][:7])
    qtbot.waitUntil(lambda: window.run_status.gen_iter > named_it + 5, timeout=60_000)  # the user dawdles
    dlg.size.setValue(64)
    with qtbot.waitSignal(window.export_finished, timeout=60_000) as done:
        dlg.accept()
    assert done.args == [name]
    with Image.open(name) as img:
        assert img.text["gen_iter"] == str(named_it)
    stop(qtbot, window)


# ---------------------------------------------------------------------- 2. fields and shortcuts
def test_enter_applies_a_steer_field_and_the_run_shortcuts_work_again(qtbot, window):
    start_live(qtbot, window)
    qtbot.waitUntil(lambda: window.steer.lr_critic.isEnabled(), timeout=30_000)
    pause(qtbot, window)
    live, field = window.model.live_values, window.steer.lr_critic
    window.activateWindow()
    field.setFocus()
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "0.0003")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert "requested" in window.steer.status.text(), "Enter applied the value (at the next iteration)"
    assert not field.hasFocus(), "Enter gives the focus back to the window"
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_Space)
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: live["lr_critic"] == 3e-4, timeout=30_000)
    assert field.text() == "0.0003"

    # From a focused field: Space pauses, Ctrl+E exports, and neither edits the field.
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Space)
    wait_state(qtbot, window, "paused")
    assert field.text() == "0.0003"
    qtbot.keyClick(field, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.export_dialog is not None, timeout=60_000)
    window.export_dialog.reject()
    assert field.text() == "0.0003"
    stop(qtbot, window)


def test_ctrl_e_in_a_configuration_field_exports_and_space_still_types(qtbot, window):
    start_live(qtbot, window)
    pause(qtbot, window)
    field = window.config_panel.field_widget("data.path")
    window.activateWindow()
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.export_dialog is not None, timeout=60_000)
    window.export_dialog.reject()
    stop(qtbot, window)


# ---------------------------------------------------------------------- 3. live values explained
def test_a_refused_live_value_says_what_is_allowed(qtbot, window):
    start_live(qtbot, window)
    qtbot.waitUntil(lambda: window.steer.lr_critic.isEnabled(), timeout=30_000)
    steer, field = window.steer, window.steer.lr_critic
    window.activateWindow()
    for typed, why in (("abc", "is not a number"), ("-5", "is too small"), ("2", "is too large"),
                        ("1e6", "is too large")):
        field.setFocus()
        field.lineEdit().selectAll()
        qtbot.keyClicks(field, typed)
        qtbot.keyClick(field, Qt.Key.Key_Return)
        message = steer.field_error("lr_critic")
        assert why in message and "Allowed: a number in (0, 1]" in message, message
        assert steer.errors["lr_critic"].isVisible() and field.property("invalid") is True
        assert field.cleanText() == typed, "the typed text stays to be corrected"
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "0.0003")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert steer.field_error("lr_critic") == "" and not steer.errors["lr_critic"].isVisible()
    qtbot.waitUntil(lambda: window.model.live_values["lr_critic"] == 3e-4, timeout=30_000)
    stop(qtbot, window)


# ---------------------------------------------------------------------- 5. fields that do not apply
def test_fields_the_data_set_and_objective_do_not_use_are_disabled_and_never_block_start(window):
    use(window, tiny_config("toy-wgan-gp", live=True))
    form = window.config_panel
    for dotted in ("data.path", "data.image_size", "data.theta", "objective.divergence",
                   "objective.fgan_generator", "objective.clip_value", "model.features"):
        assert not form.field_widget(dotted).isEnabled(), dotted
        assert "Not used:" in form.field_widget(dotted).toolTip(), dotted
    assert "parallel-lines" in form.field_unused("data.theta")
    for dotted in ("data.name", "objective.gp_lambda", "model.hidden", "optimiser.lr_critic"):
        assert form.field_widget(dotted).isEnabled() and form.field_unused(dotted) is None, dotted

    form.set_field_text("data.name", "digits")
    form.set_field_text("model.arch", "dcgan")
    form.set_field_text("model.critic_norm", "layer")
    form.set_field_text("data.theta", "nan")          # typed before the field went grey: ignored
    assert form.field_unused("data.theta") and form.error is None, form.error
    assert window.act_start.isEnabled()
    assert form.config().data.theta == 1.0

    form.set_field_text("data.name", "parallel-lines")   # now θ is used, and nan is refused
    form.set_field_text("model.arch", "mlp")
    assert form.field_widget("data.theta").isEnabled()
    assert "theta" in form.field_error("data.theta") and not window.act_start.isEnabled()

    form.set_field_text("objective.kind", "f-gan")
    assert form.field_widget("objective.divergence").isEnabled()
    assert not form.field_widget("objective.gp_lambda").isEnabled()


def test_every_configuration_problem_is_shown_under_its_field(window):
    use(window, tiny_config("toy-wgan-gp", live=True))
    form = window.config_panel
    form.set_field_text("data.name", "points")          # needs a path ...
    form.set_field_text("model.critic_norm", "batch")    # ... and batch-norm cannot go with the penalty
    assert form.field_error("data.path") and form.field_error("model.critic_norm")
    assert "1 more problem" in form.banner.text()


def test_each_objective_gets_its_own_plot_titles_and_only_its_plots(window):
    plots = window.plots
    plots.reset("wgan-gp", True)
    assert "W-estimate (should fall)" in plots.w_plot.titleLabel.text
    assert plots.reg_plot in plots.shown_plots() and "Gradient penalty" in plots.reg_plot.titleLabel.text
    plots.reset("wgan-clip", True)
    assert "Clip fraction" in plots.reg_plot.titleLabel.text
    for objective in ("gan", "f-gan"):
        plots.reset(objective, True)
        title = plots.w_plot.titleLabel.text
        assert "should fall" not in title and "not a distance" in title, title
        assert plots.reg_plot not in plots.shown_plots(), "no gradient penalty plot for " + objective
        assert "Not a distance" in plots.w_plot.toolTip()
    plots.reset("wgan-gp", False)
    assert plots.reg_plot in plots.shown_plots() and "should fall" in plots.w_plot.titleLabel.text


# ---------------------------------------------------------------------- 8. compare runs
def test_compare_says_where_the_final_metrics_come_from_refuses_non_runs_and_closes(qtbot, tmp_path):
    from studio.compare import CompareWindow, RunChooser

    from .helpers import stopped_run

    run = stopped_run(tmp_path, "run-a")  # 6 iterations, evaluated at 3 and 6
    w = CompareWindow()
    qtbot.addWidget(w)
    w.show()
    w.add_runs([run])
    headers = [w.table.horizontalHeaderItem(i).text() for i in range(w.table.columnCount())]
    row = dict(zip(headers, w.table_rows()[0], strict=True))
    assert "Final W1" not in headers and row["Last eval at"] == "6" and row["W1 (last eval)"] != "—"

    not_a_run = tmp_path / "holiday-photos"
    not_a_run.mkdir()
    dlg = RunChooser(None, tmp_path / "runs")
    qtbot.addWidget(dlg)
    assert dlg.add_folder(not_a_run) is False
    assert "not a run folder" in dlg.problem.text() and dlg.problem.isVisibleTo(dlg)
    assert dlg.selected() == []
    assert dlg.add_folder(run) is True and dlg.selected() == [run]

    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=10_000)
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert not w.isVisible()
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=10_000)
    qtbot.keyClick(w, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert not w.isVisible()


def test_last_eval_is_not_the_last_iteration(tmp_path, qtbot):
    """A run stopped at 8 with evaluations every 3: the W1 shown is from iteration 6, and says so."""
    from engine import Trainer
    from studio.compare import CompareWindow

    cfg = tiny_config(live=True, train__iterations=9, train__eval_every=3)
    Trainer(cfg, tmp_path / "r").run(iterations=8)
    w = CompareWindow()
    qtbot.addWidget(w)
    w.add_runs([tmp_path / "r"])
    headers = [w.table.horizontalHeaderItem(i).text() for i in range(w.table.columnCount())]
    row = dict(zip(headers, w.table_rows()[0], strict=True))
    assert row["Iterations"] == "8" and row["Last eval at"] == "6"


# ---------------------------------------------------------------------- 6. diverged samples
def test_diverged_points_are_counted_and_the_view_fits_them(qtbot):
    """α_G = α_D = 10 on toy-gan: the generated points fly off to 1e24 while the critic's map and the
    real points stay near the origin. The caption counts what is not drawn; Fit view shows it."""
    import numpy as np

    from studio.panels.samples import ToyView

    view = ToyView()
    qtbot.addWidget(view)
    view.show()
    rng = np.random.default_rng(0)
    fake = rng.normal(size=(512, 2)) * 1e24
    fake[:2] = np.nan
    payload = {"kind": "toy", "gen_iter": 191, "real": rng.normal(size=(100, 2)), "fake": fake,
               "field": np.zeros((16, 16)), "extent": (-2.0, 2.0, -2.0, 2.0)}
    view.set_payload(payload)
    text = view.caption.text()
    assert "512 generated (510 off-screen, 2 not finite" in text, text
    assert view.fit_button.isVisibleTo(view)
    qtbot.mouseClick(view.fit_button, Qt.MouseButton.LeftButton)
    assert view.off_screen == 0 and "off-screen" not in view.caption.text()
    assert "2 not finite" in view.caption.text()
    assert not view.fit_button.isVisibleTo(view)

    payload["fake"] = rng.uniform(-1.5, 1.5, size=(512, 2))  # back to sane points: nothing hidden
    view.clear()
    view.set_payload(payload)
    assert view.caption.text().startswith("512 generated / 100 real points")


# ---------------------------------------------------------------------- 9. start-up
def test_a_window_shows_at_once_and_the_main_window_takes_its_place_with_start_enabled(qtbot):
    """The loading window needs no torch: it is shown with a disabled Start while the engine loads
    behind it; then the main window replaces it with Start enabled. (The times are measured by
    benchmarks/startup.py, not here; the app's event loop is pytest-qt's, not app.exec().)"""
    import argparse

    from PySide6.QtWidgets import QApplication

    from studio import app as studio_app

    done = []
    args = argparse.Namespace(path=None, theme=None, quit_after_shown=False)
    result = studio_app.start_in_two_steps(QApplication.instance(), args, lambda: done.append(True))
    shell = result["shell"]
    qtbot.addWidget(shell)
    assert result["shown"] is not None and shell.isVisible() and not shell.start_button.isEnabled()
    qtbot.waitUntil(lambda: bool(done), timeout=120_000)
    win = result["win"]
    qtbot.addWidget(win)
    assert "rc" not in result and win.isVisible() and win.act_start.isEnabled()
    assert not shell.isVisible()
    win.close()


def test_heavy_modules_are_not_needed_for_the_loading_window():
    """studio.startup (and the app module) import no torch, engine or pyqtgraph (torch only where
    it must come before Qt: Windows, studio.load_order)."""
    import os
    import subprocess
    import sys

    from studio.load_order import FORCE_ENV, torch_first

    env = {k: v for k, v in os.environ.items() if k != FORCE_ENV}
    heavy = ("engine", "pyqtgraph") if torch_first(environ=env) else ("torch", "engine", "pyqtgraph")
    code = ("import sys, studio.app, studio.startup; "
            f"bad = [m for m in {heavy!r} if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout + out.stderr


# ---------------------------------------------------------------------- 7. plots that line up
def plots_on_screen(qtbot, width: int, height: int):
    """A plots panel of its own, on screen at ``width`` x ``height``."""
    from studio.panels.plots import PlotsPanel

    plots = PlotsPanel()
    qtbot.addWidget(plots)
    plots.resize(width, height)
    plots.show()
    qtbot.waitExposed(plots)
    return plots


def test_marker_labels_never_overlap_and_stay_inside_the_plot(qtbot):
    plots = plots_on_screen(qtbot, 1200, 900)
    plots.reset("wgan-gp", True)
    plots.w_plot.setXRange(0, 200, padding=0)
    for ev in ({"type": "pause", "gen_iter": 96}, {"type": "resume", "gen_iter": 97},
               {"type": "edit", "gen_iter": 98, "key": "lr_critic", "old": 1e-4, "new": 2e-4},
               {"type": "pause", "gen_iter": 199}, {"type": "edit", "gen_iter": 3, "key": "n_critic", "old": 5,
                                                     "new": 2}):
        plots.add_event(ev)

    def shown():
        return [line.label for line in plots.marks.labelled if line.label.isVisible()]

    def inside():
        view = plots.w_plot.vb.sceneBoundingRect()
        return all(view.contains(label.sceneBoundingRect()) for label in shown())

    # Labels that find no free height are hidden, never drawn over another: as many as the plot's
    # height allows are shown (at least the three close together and the one at the right edge).
    qtbot.waitUntil(lambda: len(shown()) >= 4 and inside(), timeout=30_000)
    rs = [label.sceneBoundingRect() for label in shown()]
    for i, a in enumerate(rs):
        for b in rs[i + 1:]:
            assert not a.intersects(b), "two marker labels overlap"


def test_the_distances_tab_opens_with_room_and_gives_it_back(qtbot, window):
    window.resize(1400, 950)
    qtbot.waitUntil(lambda: sum(window.splitter.sizes()) > 400, timeout=10_000)
    before = window.splitter.sizes()
    window.tabs.setCurrentWidget(window.distances_scroll)
    assert not window.plots.isVisible()
    qtbot.waitUntil(lambda: window.tabs.height() >= 0.9 * sum(before), timeout=10_000)
    window.tabs.setCurrentWidget(window.samples)
    assert window.plots.isVisible()
    qtbot.waitUntil(lambda: window.splitter.sizes() == before, timeout=10_000)


def test_stacked_plots_share_one_aligned_x_axis(qtbot):
    plots = plots_on_screen(qtbot, 1000, 900)
    for objective in ("wgan-gp", "gan"):
        plots.reset(objective, True)

        def edges():
            return ({round(p.vb.sceneBoundingRect().left()) for p in plots.shown_plots()},
                    {round(p.vb.sceneBoundingRect().right()) for p in plots.shown_plots()})

        qtbot.waitUntil(lambda: all(len(e) == 1 for e in edges()), timeout=10_000)
    bottom = plots.shown_plots()[-1]
    assert bottom is plots.lr_plot and bottom.getAxis("bottom").style["showValues"]
    assert not any(p.getAxis("bottom").style["showValues"] for p in plots.shown_plots()[:-1])


def test_plot_export_paints_the_plots_at_their_own_size_and_leaves_the_screen_as_it_was(qtbot, tmp_path):
    """At twice a legible size of its own (issue 35 point 2), not the window's."""
    from PIL import Image

    from studio.panels.plots.export_plots import PNG_SCALE, export_size

    plots = plots_on_screen(qtbot, 900, 700)
    before = plots.glw.ci.sceneBoundingRect()
    plots.export_plots(str(tmp_path / "p.png"))
    plots.export_plots(str(tmp_path / "p.svg"))
    assert plots.glw.ci.sceneBoundingRect() == before
    w, h = export_size(len(plots.shown_plots()))
    with Image.open(tmp_path / "p.png") as img:
        assert img.size == (int(w * PNG_SCALE), int(h * PNG_SCALE))
    assert "<svg" in (tmp_path / "p.svg").read_text("utf-8")


def test_run_folder_link_takes_the_theme_link_colour(window, tmp_path):
    from PySide6.QtGui import QPalette

    window.set_theme("dark")
    window.log_panel.set_run_path(tmp_path)
    colour = window.log_panel.palette().color(QPalette.ColorRole.Link)
    assert colour.lightness() > 160, colour.name()
    assert f"color:{colour.name()}" in window.log_panel.run_link.text()
    window.set_theme("light")
    light = window.log_panel.palette().color(QPalette.ColorRole.Link)
    assert f"color:{light.name()}" in window.log_panel.run_link.text()


def test_steer_fields_the_objective_does_not_use_say_why(window):
    use(window, tiny_config("toy-wgan-gp", live=True, objective__kind="gan"))
    steer = window.steer
    assert "Not used" in steer.gp_lambda.toolTip() and "'gan'" in steer.gp_lambda.toolTip()
    assert "'wgan-gp'" in steer.gp_lambda.toolTip(), "it names the objectives that read it"
    assert "Not used" in steer.clip_spin.toolTip()
    window.config_panel.set_field_text("objective.kind", "wgan-gp")  # the next run's objective
    assert "Not used" not in steer.gp_lambda.toolTip()

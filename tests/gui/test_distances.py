"""The Distances view (Example 1 of the WGAN paper): sweep, picture, table, stop, CSV."""

from __future__ import annotations

import math

import pytest

from engine import distance as lab

# Critics small enough for 2 shared CPU cores. Measured: 200 steps of a 64-wide critic put the
# GP estimate within 6% of |θ| at |θ| = 1, 2 for seeds 0, 1, 2 (a 32-wide one sometimes dies).
TINY = dict(hidden=64, batch=64, eval_points=2048)
STEPS = 200


@pytest.fixture
def panel(qtbot):
    from studio.panels.distances import DistancesPanel

    p = DistancesPanel(lab_overrides=TINY)
    p.save_path_handler = lambda default: pytest.fail(f"unexpected save dialog ({default})")
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    yield p
    assert p.stop_and_wait(30), "the sweep thread did not end"


def _sweep(qtbot, panel, lo, hi, n, steps=STEPS, objectives=lab.LAB_OBJECTIVES, timeout=120_000) -> None:
    for name, cb in panel.form.objective_checks.items():
        cb.setChecked(name in objectives)
    panel.form.theta_from.setValue(lo)
    panel.form.theta_to.setValue(hi)
    panel.form.theta_count.setValue(n)
    panel.form.steps_spin.setValue(steps)
    with qtbot.waitSignal(panel.sweep_finished, timeout=timeout) as blocker:
        panel.form.run_button.click()
        assert not panel.form.run_button.isEnabled() and panel.form.stop_button.isEnabled()
    assert blocker.args == ["finished"], panel.form.status.text()


def test_small_sweep_fills_table_and_draws_the_papers_picture(qtbot, panel):
    from studio.worker import live_threads

    arrived = []
    table = panel.results_table.table
    table.model().rowsInserted.connect(lambda *_: arrived.append(table.rowCount()))
    _sweep(qtbot, panel, -2.0, 2.0, 3)
    assert not live_threads()
    assert panel.form.run_button.isEnabled() and not panel.form.stop_button.isEnabled()
    assert panel.form.progress.value() == panel.form.progress.maximum()

    # one row per (objective, θ), shown one at a time as each critic finishes
    assert arrived == list(range(1, 10))
    assert table.rowCount() == 9
    rows = {(table.item(i, 1).text(), float(table.item(i, 0).text())) for i in range(9)}
    assert rows == {(o, t) for o in lab.LAB_OBJECTIVES for t in (-2.0, 0.0, 2.0)}
    header = [table.horizontalHeaderItem(i).text() for i in range(table.columnCount())]
    assert header == ["θ", "objective", "estimate", "d/dθ", "W = |θ|", "JS", "KL", "TV"]
    kl = {float(table.item(i, 0).text()): table.item(i, 6).text() for i in range(3)}
    assert kl == {-2.0: "∞", 0.0: "0", 2.0: "∞"}

    # every objective has its three points in both plots
    for o in lab.LAB_OBJECTIVES:
        for curve in (panel.theta_plots.estimate_curves[o], panel.theta_plots.grad_curves[o]):
            x, _ = curve.getData()
            assert sorted(x.tolist()) == [-2.0, 0.0, 2.0], o

    by = {(r["objective"], r["theta"]): r for r in panel.results}
    # the GP critic's estimates lie on W = |θ| (within 15%) with a slope-1 gradient: sign(θ)
    for t in (-2.0, 2.0):
        r = by["wgan-gp", t]
        assert r["w_exact"] == abs(t)
        assert abs(r["estimate"] - abs(t)) <= 0.15 * abs(t), r
        assert 0.7 < r["grad_theta"] * math.copysign(1, t) < 1.3, r
    x, y = panel.theta_plots.estimate_curves["wgan-gp"].getData()
    assert dict(zip(x.tolist(), y.tolist(), strict=True))[2.0] == by["wgan-gp", 2.0]["estimate"]

    # the clipped critic: tiny estimates, drawn ×1/K with the fitted K in the legend
    k = lab.fit_slope([r for r in panel.results if r["objective"] == "wgan-clip"])
    assert 0 < k < 0.05 and panel.theta_plots.slopes["wgan-clip"] == pytest.approx(k)
    x, y = panel.theta_plots.estimate_curves["wgan-clip"].getData()
    assert dict(zip(x.tolist(), y.tolist(), strict=True))[2.0] == pytest.approx(by["wgan-clip", 2.0]["estimate"] / k)
    label = panel.theta_plots.legend.getLabel(panel.theta_plots.estimate_curves["wgan-clip"]).text
    assert "×1/K" in label and f"K = {k:.3g}" in label

    # the GAN's JS estimate: log 2 away from 0, flat (vanishing gradient); ~0 at θ = 0
    for t in (-2.0, 2.0):
        assert by["gan", t]["estimate"] == pytest.approx(math.log(2), abs=0.02)
        assert abs(by["gan", t]["grad_theta"]) < 0.05
    assert abs(by["gan", 0.0]["estimate"]) < 0.05

    # the closed forms come from the engine: JS drops to 0 at θ = 0 only
    x, js = panel.theta_plots.js_curve.getData()
    assert js[x == 0.0].tolist() == [0.0] and js[x == 2.0].tolist() == [pytest.approx(math.log(2))]

    # the theme can change afterwards without losing anything
    panel.set_dark(True)
    panel.set_dark(False)
    assert len(panel.theta_plots.estimate_curves["gan"].getData()[0]) == 3


def test_stop_mid_sweep_ends_the_thread_and_reenables_the_controls(qtbot, panel):
    from studio.worker import live_threads

    panel.form.objective_checks["wgan-clip"].setChecked(False)
    panel.form.objective_checks["gan"].setChecked(False)
    panel.form.steps_spin.setValue(1_000_000)        # would run for hours
    assert panel.run()
    assert not panel.run() and panel.state == "running"   # one sweep at a time
    assert not panel.form.theta_from.isEnabled() and not panel.form.steps_spin.isEnabled()
    # progress reaches the GUI while the worker trains (the window is not blocked)
    form = panel.form
    qtbot.waitUntil(lambda: form.progress.value() > 0 or "critic step" in form.status.text(), timeout=30_000)
    assert "critic step" in panel.form.status.text() and "ETA" in panel.form.progress.format()
    with qtbot.waitSignal(panel.sweep_finished, timeout=30_000) as blocker:
        panel.form.stop_button.click()
        assert not panel.form.stop_button.isEnabled()
    assert blocker.args == ["stopped"]
    assert not live_threads() and not panel.is_running()
    assert panel.state == "idle" and panel.form.run_button.isEnabled() and panel.form.theta_from.isEnabled()
    assert panel.form.steps_spin.isEnabled() and panel.form.lambda_spin.isEnabled()
    assert "Stopped" in panel.form.status.text()
    assert panel.results_table.table.rowCount() == 0


def test_csv_copy_and_export(qtbot, panel, tmp_path):
    from PySide6.QtGui import QGuiApplication

    assert not panel.results_table.export_button.isEnabled()
    _sweep(qtbot, panel, 0.5, 1.0, 2, steps=20, objectives=("gan", "wgan-clip"))
    assert panel.results_table.table.rowCount() == 4 and panel.results_table.export_button.isEnabled()

    panel.results_table.copy_button.click()
    text = QGuiApplication.clipboard().text()
    lines = text.splitlines()
    assert lines[0] == "theta,objective,estimate,w_estimate,js_estimate,grad_theta,w_exact,js,kl,tv"
    assert len(lines) == 5

    out = tmp_path / "distances.csv"
    asked = []
    panel.save_path_handler = lambda default: asked.append(default) or str(out)
    panel.results_table.export_button.click()
    assert asked and asked[0].endswith("distances.csv")
    assert out.read_text() == text
    rows = [line.split(",") for line in lines[1:]]
    # in sweep order: objective by objective (the engine's order), θ ascending
    assert [(r[0], r[1]) for r in rows] == [("0.5", "wgan-clip"), ("1.0", "wgan-clip"), ("0.5", "gan"),
                                            ("1.0", "gan")]
    by_row = {(float(r[0]), r[1]): r for r in rows}
    for res in panel.results:
        r = by_row[res["theta"], res["objective"]]
        assert float(r[2]) == res["estimate"] and r[8] == "inf" and float(r[6]) == res["theta"]
        assert (r[4] != "") == (res["objective"] == "gan")   # js_estimate only for the GAN
    assert not list(tmp_path.glob(".distances.csv.*"))  # no temp file left by the atomic write

    # a cancelled dialog writes nothing; an unwritable place leaves a message, not a file
    panel.save_path_handler = lambda default: ""
    assert not panel.export_csv_dialog()
    assert not panel.export_csv(tmp_path / "missing" / "x.csv")
    assert "cannot write" in panel.form.status.text()


def test_run_needs_an_objective_and_valid_settings(qtbot, panel):
    for cb in panel.form.objective_checks.values():
        cb.setChecked(False)
    assert not panel.form.run_button.isEnabled() and not panel.run()
    panel.form.objective_checks["wgan-gp"].setChecked(True)
    form = panel.form
    assert form.run_button.isEnabled() and form.lambda_spin.isEnabled() and not form.clip_spin.isEnabled()
    panel.lab_overrides["hidden"] = 0
    assert not panel.run()
    assert "hidden = 0" in panel.form.status.text() and panel.state == "idle" and panel.handle is None

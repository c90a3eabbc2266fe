"""Issue 21, "Signals", on screen: the Lipschitz check's band, the critic on held-out images with
its overfitting flag, the best checkpoint's marker, Export grid from best, Compare's best column."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.checkpoint import load_checkpoint
from studio.export_grid_dialog import ExportGridDialog
from studio.panels.plots import PlotsPanel
from tests.helpers import tiny_config

from .helpers import stopped_run, use


@pytest.fixture
def plots(qtbot):
    p = PlotsPanel()
    qtbot.addWidget(p)
    p.resize(900, 800)
    p.show()
    return p


def rows(n, *, image=False):
    it = np.arange(1, n + 1)
    evaluated = it % 10 == 0
    cols = {"gen_iter": it, "w_estimate": 1.0 / np.sqrt(it), "critic_loss": -1.0 / np.sqrt(it),
            "generator_loss": np.zeros(n), "gradient_penalty": np.full(n, 0.01), "clip_fraction": np.full(n, np.nan),
            "critic_grad_norm": np.full(n, 2.0), "gp_grad_q10": np.full(n, 0.8), "gp_grad_q50": np.full(n, 1.0),
            "gp_grad_q90": np.full(n, 1.3), "lr_critic": np.full(n, 1e-4), "lr_generator": np.full(n, 1e-4),
            "clip_value": np.full(n, 0.01), "n_critic": np.full(n, 5)}
    if image:
        cols["sliced_w"] = np.where(evaluated, 0.5, np.nan)
        cols["critic_train"] = np.where(evaluated, 2.0 + it / 10, np.nan)
        cols["critic_heldout"] = np.where(evaluated, 2.0, np.nan)
    else:
        cols["w1_exact"] = np.where(evaluated, 0.5, np.nan)
    return cols


def test_lipschitz_band_against_the_target_and_the_w_tooltip(plots):
    plots.reset("wgan-gp", is_toy=True)
    assert plots.lip_plot in plots.shown_plots() and plots.heldout_plot not in plots.shown_plots()
    plots.append_metrics(rows(50))
    plots.refresh(force=True)
    for name, value in (("gp_grad_q10", 0.8), ("gp_grad_q50", 1.0), ("gp_grad_q90", 1.3)):
        x, y = plots.curves[name].getOriginalDataset()
        assert len(x) == 50 and np.all(y == value)
    assert plots.lip_band.curves == [plots.curves["gp_grad_q10"], plots.curves["gp_grad_q90"]]
    assert plots.lip_target.value() == 1.0 and "target 1" in plots.lip_plot.titleLabel.text
    # one line on how to read the W-estimate and its sign, first
    first = plots.w_plot.toolTip().split("<br>")[0]
    assert "mean f(real) − mean f(generated)" in first and "positive" in first and "fall" in first
    assert "‖∇f(x̂)‖ median 1" in plots.show_crosshair(20)

    plots.reset("wgan-clip", is_toy=True)  # no interpolates: the clipped share is the check
    assert plots.lip_plot not in plots.shown_plots() and "Clip fraction" in plots.reg_plot.titleLabel.text


def test_critic_on_held_out_images_and_the_overfitting_flag(plots):
    plots.reset("wgan-gp", is_toy=False)
    assert plots.heldout_plot in plots.shown_plots()
    plots.append_metrics(rows(50, image=True))
    plots.refresh(force=True)
    x, y = plots.curves["critic_train"].getData()
    assert list(x) == [10, 20, 30, 40, 50] and list(y) == [3, 4, 5, 6, 7]
    assert list(plots.curves["critic_heldout"].getData()[1]) == [2.0] * 5
    assert "overfitting" not in plots.heldout_plot.titleLabel.text
    plots.add_event({"type": "critic_overfitting", "gen_iter": 50, "message": "critic overfitting at iteration 50"})
    assert "critic overfitting" in plots.heldout_plot.titleLabel.text
    assert "fewer critic steps" in plots.heldout_plot.titleLabel.text
    assert (50, "critic overfitting") in plots.markers
    plots.reset("wgan-gp", is_toy=False)
    assert "overfitting" not in plots.heldout_plot.titleLabel.text


def test_best_marker_moves_to_each_new_best(plots):
    plots.reset("wgan-gp", is_toy=True)
    plots.append_metrics(rows(50))
    assert not plots.marks.best_line.isVisible()
    plots.add_event({"type": "best", "gen_iter": 20, "measure": "w1_exact", "value": 0.4})
    plots.add_event({"type": "best", "gen_iter": 40, "measure": "w1_exact", "value": 0.3})
    assert plots.marks.best_line.isVisible() and plots.marks.best_line.value() == 40
    assert plots.marks.best_line.label.format == "★ best 0.3"
    # Its label stays inside the plot: left of the line near the right edge, right of it elsewhere.
    plots.refresh(force=True)
    plots.w_plot.setXRange(0, 50, padding=0)
    assert tuple(plots.marks.best_line.label.anchor) == (1, 0.5)
    plots.add_event({"type": "best", "gen_iter": 10, "measure": "w1_exact", "value": 0.2})
    assert tuple(plots.marks.best_line.label.anchor) == (0, 0.5)
    plots.reset("wgan-gp", is_toy=True)
    assert not plots.marks.best_line.isVisible()


def test_a_new_runs_best_label_shows_its_own_value(plots):
    """Issue 35 point 1: the label read the earlier run's value until the new run's second best
    (pyqtgraph does not change the text of a hidden label)."""
    plots.reset("wgan-gp", is_toy=True)
    plots.append_metrics(rows(50))
    plots.add_event({"type": "best", "gen_iter": 20, "measure": "w1_exact", "value": 3.37})
    assert plots.marks.best_line.label.toPlainText() == "★ best 3.37"
    plots.reset("wgan-gp", is_toy=False)   # the next run: nothing of the earlier best
    assert "3.37" not in plots.marks.best_line.label.toPlainText()
    plots.append_metrics(rows(50, image=True))
    plots.add_event({"type": "best", "gen_iter": 30, "measure": "frechet_distance", "value": 41.5})
    assert plots.marks.best_line.isVisible()
    assert plots.marks.best_line.label.toPlainText() == "★ best 41.5"


def test_export_grid_from_the_best_checkpoint(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.build.EVAL_POINTS", 200)  # exact W1 is cubic in the points
    use(window, tiny_config(live=True, train__iterations=10, train__eval_every=5, train__threads=1))
    with qtbot.waitSignal(window.run_finished, timeout=120_000):
        window.start()
    best = window.run_path / "checkpoints" / "best.pt"
    it = load_checkpoint(best)["gen_iter"]
    window.export_grid_dialog()  # as the user opens it: Export grid… (Ctrl+E)
    qtbot.waitUntil(lambda: window.export_dialog is not None, timeout=60_000)
    dlg = window.export_dialog
    assert dlg.from_best.isVisibleTo(dlg) and f"iteration {it}, w1_exact" in dlg.from_best.text()
    dlg.from_best.setChecked(True)
    assert dlg.values()["from_best"] is True
    dlg.reject()
    assert not ExportGridDialog(window, tmp_path / "y.png", is_toy=True).from_best.isVisibleTo(dlg)
    with qtbot.waitSignal(window.export_finished, timeout=60_000):
        assert window.export_grid(tmp_path / "best.png", count=16, size=64, from_best=True)
    with Image.open(tmp_path / "best.png") as img:
        assert img.text["source"] == str(best) and img.text["gen_iter"] == str(it)


def test_compare_shows_best_beside_final(qtbot, tmp_path):
    from studio.compare import TABLE_COLUMNS, CompareWindow

    run = stopped_run(tmp_path, "run-a")  # test_compare's run: trained once per session
    cw = CompareWindow()
    qtbot.addWidget(cw)
    cw.add_runs([run])
    headers = [h for h, _c, _t in TABLE_COLUMNS]
    best = load_checkpoint(run / "checkpoints" / "best.pt")["best"]
    row = dict(zip(headers, cw.table_rows()[0], strict=True))
    assert row["Best at"] == str(best["gen_iter"]) and row["Best (W1 / FD)"] == f"{best['value']:.4g}"
    assert row["W1 (last eval)"] != "—"  # the final evaluation beside it

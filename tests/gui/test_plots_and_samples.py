"""Plot buffers, markers, crosshair, smoothing and log scale; the sample grid and toy view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from studio.panels.plots import PlotsPanel
from studio.panels.plots.thinning import MAX_BINS
from studio.panels.samples import ImageGridView, ToyView
from tests.helpers import TickingClock


def rows(start, n):
    it = np.arange(start + 1, start + n + 1)
    cols = {"gen_iter": it, "w_estimate": 1.0 / np.sqrt(it), "critic_loss": -1.0 / np.sqrt(it),
            "generator_loss": np.sin(it / 100), "gradient_penalty": np.full(n, 0.01),
            "clip_fraction": np.full(n, np.nan), "critic_grad_norm": np.full(n, 2.0), "lr_critic": np.full(n, 1e-4),
            "lr_generator": np.full(n, 1e-4), "clip_value": np.full(n, 0.01), "n_critic": np.full(n, 5),
            "w1_exact": np.where(it % 100 == 0, 0.5, np.nan)}
    return cols


@pytest.fixture
def plots(qtbot):
    p = PlotsPanel()
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    return p


def test_buffers_grow_and_curves_hold_every_point(plots):
    for start in range(0, 100_000, 5_000):
        plots.append_metrics(rows(start, 5_000))
    plots.refresh(force=True)
    assert plots.buf.n == 100_000 and plots.buf.capacity >= 100_000
    # the curve is the history's envelope: every row's extremes are in it, in a few thousand points
    x, y = plots.curves["w_raw"].getOriginalDataset()
    assert len(x) <= 2 * MAX_BINS + 1 and x[0] == 1 and x[-1] == 100_000 and y[0] == 1.0
    w = plots.buf.view("w_estimate")
    assert y.max() == w.max() and y.min() == w.min() and np.all(np.diff(x) >= 0)
    x, _ = plots.curves["w1_exact"].getData()
    assert len(x) == 1_000  # one exact-W1 point every 100 iterations
    assert plots.curves["w_raw"].opts["downsampleMethod"] == "peak" and plots.curves["w_raw"].opts["clipToView"]
    # what is drawn: a few points per pixel of the plot, not 100,000
    x, _ = plots.curves["w_raw"].getData()
    assert 100 < len(x) < 20_000


def test_markers_for_edits_pauses_and_resumes(plots):
    plots.append_metrics(rows(0, 300))
    plots.add_event({"type": "edit", "gen_iter": 120, "key": "clip_value", "old": 0.01, "new": 0.02})
    plots.add_event({"type": "pause", "gen_iter": 200})
    plots.add_event({"type": "resume", "gen_iter": 210})
    plots.add_event({"type": "start", "gen_iter": 0})  # no marker
    assert plots.markers == [(120, "c 0.01→0.02"), (200, "pause"), (210, "resume")]
    lines = [item for item, p in plots.marks.lines if p is plots.w_plot]
    assert [line.value() for line in lines] == [120, 200, 210]
    assert lines[0].label.format == "c 0.01→0.02"
    region = next(r for r, p in plots.marks.regions if p is plots.loss_plot)
    assert region.getRegion() == (200, 210)  # the pause is a shaded span on every plot


def test_crosshair_readout_smoothing_and_log(plots):
    plots.append_metrics(rows(0, 1_000))
    text = plots.show_crosshair(400.3)
    assert text.startswith("it 400") and "W_est 0.05" in text and "W1 0.5" in text

    plots.set_smoothing(0.0)  # no smoothing: the smoothed curve is the raw one
    plots.refresh(force=True)
    np.testing.assert_allclose(plots.curves["w_estimate"].getData()[1], plots.buf.view("w_estimate"))
    plots.set_smoothing(0.95)
    smoothed = plots.curves["w_estimate"].getData()[1]
    assert smoothed[-1] > plots.buf.view("w_estimate")[-1]  # the smoothed curve of a falling one lags above it

    plots.log_check.setChecked(True)
    assert all(p.ctrl.logYCheck.isChecked() for p in plots.plots)
    plots.log_check.setChecked(False)
    assert not plots.w_plot.ctrl.logYCheck.isChecked()
    assert plots.lr_plot.ctrl.logYCheck.isChecked()  # learning rates stay on a log axis


def test_w_plot_explains_the_sign(plots):
    tip = plots.w_plot.toolTip()
    assert "mean f(real) − mean f(generated)" in tip and "should fall" in tip


def test_click_a_sample_to_enlarge_it(qtbot):
    grid = ImageGridView()
    qtbot.addWidget(grid)
    grid.resize(800, 500)
    grid.show()
    images = np.linspace(-1, 1, 16)[:, None, None, None] * np.ones((16, 1, 8, 8), np.float32)
    grid.set_images(images, gen_iter=42)
    grid.nrow_spin.setValue(4)
    assert grid.item.image.shape == (4 * 10 + 2, 4 * 10 + 2)
    # click the middle of sample #6 (row 1, column 2)
    centre = QPointF(2 + 2 * 10 + 4, 2 + 1 * 10 + 4)
    pos = grid.view.mapFromScene(grid.vb.mapViewToScene(centre))
    with qtbot.waitSignal(grid.sample_clicked, timeout=60_000) as sig:
        qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert sig.args == [6]
    assert grid.zoom_label.text().startswith("sample #6")
    np.testing.assert_allclose(grid.zoom_item.image, images[6, 0])
    assert grid.index_at(1, 1) is None  # the padding is no sample


def test_toy_view_shows_real_fake_field_and_arrows(qtbot):
    view = ToyView()
    qtbot.addWidget(view)
    rng = np.random.default_rng(0)
    field = np.add.outer(np.linspace(-1, 1, 64), np.zeros(64)) + 3.0  # grows upwards, offset 3
    payload = {"kind": "toy", "gen_iter": 5, "real": rng.normal(size=(100, 2)), "fake": rng.normal(size=(80, 2)),
               "field": field, "extent": (-2.0, 2.0, -2.0, 2.0), "arrow_pos": rng.uniform(-2, 2, (16, 2)),
               "arrow_grad": np.tile([0.0, 1.0], (16, 1))}
    view.set_payload(payload)
    assert len(view.real_item.data) == 100 and len(view.fake_item.data) == 80
    lo, hi = view.colorbar.levels()
    assert lo == -hi and hi == pytest.approx(1.0, abs=0.05)  # centred on 0 after removing the median
    assert view.field_item.image[0, 0] < 0 < view.field_item.image[-1, 0]  # row 0 is the bottom
    assert not view.arrows.isVisible()
    view.show_arrows.setChecked(True)
    assert view.arrows.isVisible()
    x, y = view.arrows.getData()
    assert len(x) == 16 * 6 and np.all(y[1::6] > y[0::6])  # every shaft points up the critic's slope
    assert "averaged" not in view.caption.text() and not view.caption.toolTip()
    view.set_payload(dict(payload, averaged=True))  # [model] ema_decay > 0: the caption says so
    assert view.caption.text().endswith("(averaged weights)") and "ema_decay" in view.caption.toolTip()


def test_grid_caption_says_when_the_weights_are_averaged(qtbot):
    grid = ImageGridView()
    qtbot.addWidget(grid)
    images = np.zeros((4, 1, 8, 8), np.float32)
    grid.set_images(images, gen_iter=7)
    assert grid.caption.text() == "4 samples from fixed noise, generator iteration 7"
    grid.set_images(images, gen_iter=8, averaged=True)
    assert grid.caption.text() == "4 samples from fixed noise, generator iteration 8 (averaged weights)"
    assert "moving average" in grid.caption.toolTip()


def test_all_plots_share_the_iteration_axis(qtbot, plots):
    plots.append_metrics(rows(0, 500))
    plots.refresh(force=True)
    qtbot.waitUntil(lambda: plots.w_plot.viewRange()[0][1] >= 500, timeout=60_000)
    ranges = {tuple(round(v, 6) for v in p.viewRange()[0]) for p in plots.plots}
    assert len(ranges) == 1
    plots.grad_plot.setXRange(100, 200, padding=0)  # zoom one plot: every plot follows
    assert all(p.viewRange()[0] == [100, 200] for p in plots.plots)


# ---------------------------------------------------------------------------- bounded buffers
def test_column_buffer_is_bounded_and_keeps_recent_rows_whole():
    from studio.runs import ColumnBuffer

    buf = ColumnBuffer(("gen_iter", "v"), capacity=16, max_rows=1_000)
    assert ColumnBuffer(("a",)).max_rows == 2 ** 18  # the default cap
    total = 0
    for _ in range(100):  # 10,000 rows in batches, ten times the cap
        it = np.arange(total + 1, total + 101, dtype=np.float64)
        buf.append({"gen_iter": it, "v": it * 2})
        total += 100
        assert buf.n <= buf.max_rows and buf.capacity <= buf.max_rows
    assert buf.decimations > 0
    it = buf.view("gen_iter")
    assert it[0] == 1 and it[-1] == total          # the first iteration and the newest one
    assert np.all(np.diff(it) > 0)                   # still increasing: the plots and crosshair rely on it
    np.testing.assert_array_equal(buf.view("v"), it * 2)  # every column thinned out alike
    recent = it[-buf.max_rows // 4:]
    assert np.all(np.diff(recent) == 1)              # the recent rows keep every iteration
    assert np.diff(it).max() > 1                     # older ones were thinned out
    assert buf.n >= buf.max_rows // 2                # ... not thrown away


def test_column_buffer_takes_a_batch_larger_than_the_cap():
    from studio.runs import ColumnBuffer

    buf = ColumnBuffer(("gen_iter",), max_rows=64)
    it = np.arange(1, 1_001, dtype=np.float64)
    assert buf.append({"gen_iter": it}) == 1_000
    v = buf.view("gen_iter")
    assert buf.n <= 64 and v[0] == 1 and v[-1] == 1_000 and np.all(np.diff(v) > 0)


def test_curves_stay_aligned_when_the_history_is_thinned_out(plots):
    plots.buf.max_rows = 2_000
    plots.set_smoothing(0.0)  # smoothed == raw, so the curves can be compared
    for start in range(0, 20_000, 500):
        plots.append_metrics(rows(start, 500))
    assert plots.buf.n <= 2_000 and plots.buf.decimations > 0
    plots.refresh(force=True)
    raw = plots.curves["w_raw"].getOriginalDataset()
    smoothed = plots.curves["w_estimate"].getOriginalDataset()
    np.testing.assert_array_equal(raw[0], smoothed[0])
    np.testing.assert_array_equal(raw[1], smoothed[1])
    # every point drawn is a row of the run (1/sqrt(it) at its own iteration or later), from the first to the last
    x, y = raw
    assert x[0] == 1 and x[-1] == 20_000 and np.isin(y, 1 / np.sqrt(np.arange(1, 20_001))).all()
    assert np.all(y <= 1 / np.sqrt(x) + 1e-15)
    assert plots.evals.buffer.view("gen_iter")[-1] == 20_000 and plots.evals.n == 200  # one per 100 iterations
    assert plots.show_crosshair(19_999.6).startswith("it 20000")


# ---------------------------------------------------------------------------- cheap live redraws
def test_live_view_follows_the_data_in_steps(qtbot, plots):
    """While data arrive, the auto-range grows in steps (each range change re-lays out every axis
    and repaints twice), always showing every point; at the end of the run it fits exactly."""
    plots.timer.stop()
    changes = []
    plots.w_plot.vb.sigXRangeChanged.connect(lambda *_: changes.append(1))
    for start in range(0, 1_000, 2):  # a 1,000-iteration run reported 2 rows per frame
        plots.append_metrics(rows(start, 2))
        plots.refresh()
        lo, hi = plots.w_plot.viewRange()[0]
        assert lo <= 1 and hi >= start + 2  # every point is in view
        y_lo, y_hi = plots.loss_plot.viewRange()[1]
        assert y_lo <= plots.buf.view("critic_loss").min() and y_hi >= plots.buf.view("critic_loss").max()
    assert len(changes) < 60  # instead of one per frame (500)
    plots.add_event({"type": "finish", "gen_iter": 1_000})
    plots.refresh()
    lo, hi = plots.w_plot.viewRange()[0]
    assert hi - 1_000 < 0.12 * (hi - lo)  # fitted: no headroom left on the right (only pyqtgraph's padding)


def test_redraws_keep_to_their_time_budget(qtbot, plots, monkeypatch):
    """Every live frame costs training time (the GUI thread holds the GIL while it paints), so a
    slow frame makes the redraws rarer: 5 a second at most, one every 2 s at least."""
    from studio.panels import plots as mod

    plots.timer.stop()
    # Frames are timed with a clock that moves 1 ms per reading: refresh() and each paint take
    # exactly 1 ms, however busy the machine is.
    plots.clock = plots.glw.clock = TickingClock(0.001)
    plots.glw.paint_s = 0.0  # forget the paint that showed the panel
    plots.append_metrics(rows(0, 50))
    plots._on_timer()
    qtbot.waitUntil(lambda: plots.glw.paint_s > 0, timeout=60_000)  # the frame is painted and timed
    assert plots.glw.paint_s == pytest.approx(0.001)
    assert plots.redraw_interval_ms() == mod.REDRAW_MS  # a 2 ms frame: as often as allowed
    x, _ = plots.curves["w_raw"].getOriginalDataset()
    assert len(x) == 50  # the frame drew the new rows

    monkeypatch.setattr(plots.glw, "paint_s", 0.014)  # a 15 ms frame: 1.5 s between frames at a 1% budget
    for start in range(50, 70):
        plots.append_metrics(rows(start, 1))
        plots._on_timer()
    assert 1_400 <= plots.timer.interval() <= 1_500  # the moving average is 99% of the way there
    monkeypatch.setattr(plots.glw, "paint_s", 0.5)
    for start in range(70, 90):
        plots.append_metrics(rows(start, 1))
        plots._on_timer()
    assert plots.timer.interval() == mod.MAX_REDRAW_MS
    monkeypatch.setattr(plots.glw, "paint_s", 0.0)
    for start in range(90, 150):
        plots.append_metrics(rows(start, 1))
        plots._on_timer()
    assert plots.timer.interval() == mod.REDRAW_MS  # cheap frames again: 5 a second
    monkeypatch.setattr(plots.glw, "paint_s", 0.014)
    plots.append_metrics(rows(150, 1))
    plots._on_timer()
    n_before = plots.timer.interval()
    assert n_before > mod.REDRAW_MS
    plots._on_timer()  # nothing new: no frame, the interval is left alone
    assert plots.timer.interval() == n_before


def test_auto_range_button_fits_exactly(plots):
    plots.append_metrics(rows(0, 300))
    plots.refresh(force=True)
    plots.w_plot.setXRange(10, 20, padding=0)  # the user zooms in
    plots.refresh()
    assert plots.w_plot.viewRange()[0] == [10, 20]  # ... and the view stays where the user put it
    plots.append_metrics(rows(300, 10))
    plots.refresh()
    assert plots.w_plot.viewRange()[0] == [10, 20]
    plots.auto_range()
    lo, hi = plots.w_plot.viewRange()[0]
    assert lo <= 1 and 310 <= hi < 310 + 0.12 * (hi - lo)


def test_hidden_curves_get_no_data_until_shown(plots):
    plots.reset("wgan-gp", is_toy=True)
    plots.append_metrics(rows(0, 100))
    plots.refresh()
    assert not plots.curves["clip_fraction"].isVisible()
    assert plots.curves["clip_fraction"].getOriginalDataset()[0] is None or \
        len(plots.curves["clip_fraction"].getOriginalDataset()[0]) == 0
    plots.reset("wgan-clip", is_toy=True)
    plots.append_metrics(rows(0, 100))
    plots.refresh()
    assert len(plots.curves["clip_fraction"].getOriginalDataset()[0]) == 100


def test_no_redraw_while_minimised(qtbot, plots):
    calls = []
    plots.curves["w_raw"].setData = lambda *a, **k: calls.append(1)
    plots.append_metrics(rows(0, 10))
    plots.window().showMinimized()
    plots.refresh()
    assert calls == [] and plots._dirty  # kept for later
    plots.window().showNormal()
    plots.refresh()
    assert calls == [1]


def test_before_a_run_the_empty_plots_have_readable_axes(window):
    """No "x₂ (x0.001)" on the empty toy plot, and the empty log axis of the learning rates shows the
    1e-4 decade (not 1..10 with its minor-tick labels piled up), still following the data once they come."""
    toy = window.samples.toy.plot
    assert not toy.getAxis("left").autoSIPrefix and not toy.getAxis("bottom").autoSIPrefix
    (x0, x1), (y0, y1) = toy.vb.viewRange()
    assert y0 <= -1.4 and y1 >= 1.4, "the toy sets' scale is shown before the first samples"
    lo, hi = window.plots.lr_plot.vb.viewRange()[1]
    assert lo <= -4 <= hi and hi - lo < 1, (lo, hi)  # log10 of the rate
    assert window.plots.lr_plot.vb.autoRangeEnabled()[1]


def test_w_plot_title_shows_how_the_estimate_follows_w1(qtbot):
    """ρ (Spearman of W_est with exact W1 over the evaluations) appears once there are three
    evaluations, follows new ones, and goes with a new run."""
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.reset("wgan-gp", True)

    def rows(its, w, w1):
        n = len(its)
        cols = {k: np.zeros(n) for k in ("wall_time_s", "critic_loss", "generator_loss", "gradient_penalty",
                                          "critic_grad_norm", "lr_critic", "lr_generator")}
        cols.update(gen_iter=np.array(its, float), w_estimate=np.array(w, float), w1_exact=np.array(w1, float))
        return cols

    panel.append_metrics(rows([1, 2, 3, 4], [3.0, 2.5, 2.0, 1.8], [np.nan, 0.9, np.nan, 0.7]))
    assert panel.rho is None and "ρ" not in panel.w_plot.titleLabel.text
    panel.append_metrics(rows([5, 6], [1.5, 1.0], [np.nan, 0.5]))
    assert panel.rho == pytest.approx(1.0) and "ρ(W_est, W1) = 1.00" in panel.w_plot.titleLabel.text
    panel.append_metrics(rows([7, 8], [1.2, 3.0], [np.nan, 0.4]))  # the estimate jumps while W1 falls
    assert panel.rho == pytest.approx(-0.2) and "ρ(W_est, W1) = -0.20" in panel.w_plot.titleLabel.text
    panel.reset("wgan-gp", True)
    assert panel.rho is None and "ρ" not in panel.w_plot.titleLabel.text

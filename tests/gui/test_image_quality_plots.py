"""Issue 22, point 1 (and issue 33's KID band and measure names), on screen: the image Fréchet
distance and (digit-like runs) the confident share plotted live, for a run trained in the studio
and for a followed folder; older folders without the columns still open."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pyqtgraph as pg
import pytest

from engine import Trainer
from engine.follow import is_live
from engine.rundir import read_metrics
from studio.panels.plots import PlotsPanel
from studio.sources import FolderSource
from studio.theme import plot_colours
from tests.helpers import tiny_config, wait_until

from .helpers import start_live, stop, stopped_run
from .test_signals import rows


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A finished digits run of 6 iterations, evaluated at 3 and 6 (trained once; tests copy it)."""
    run = tmp_path_factory.mktemp("digits") / "digits-run"
    Trainer(tiny_config("digits-wgan-gp", train__iterations=6, train__eval_every=3, objective__n_critic=1,
                        train__checkpoint_every=6, train__sample_every=6), run).run()
    return run


@pytest.fixture
def plots(qtbot):
    p = PlotsPanel()
    qtbot.addWidget(p)
    p.resize(900, 1000)
    p.show()
    return p


def points(plots, name) -> tuple[np.ndarray, np.ndarray]:
    x, y = plots.curves[name].getData()
    return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))


def colour(pen_or_brush) -> tuple:
    return pen_or_brush.color().getRgb()[:3]


def test_quality_plots_by_kind_of_run_with_their_colours_tooltips_and_readout(plots):
    c = plot_colours(False)
    # toy runs: neither plot (their quality is the exact W1 in the W plot)
    plots.load_run(rows(30), [], "wgan-gp", is_toy=True)
    assert plots.fd_plot not in plots.shown_plots() and plots.confident_plot not in plots.shown_plots()

    # a digit-like image run: both, one point per evaluation
    cols = rows(30, image=True)
    evaluated = np.isfinite(cols["sliced_w"])
    cols["frechet_distance"] = np.where(evaluated, 40.0 - cols["gen_iter"], np.nan)
    cols["confident_share"] = np.where(evaluated, cols["gen_iter"] / 100, np.nan)
    plots.load_run(cols, [], "wgan-gp", is_toy=False)
    shown = plots.shown_plots()
    assert shown.index(plots.w_plot) + 1 == shown.index(plots.fd_plot), "right under the W-estimate"
    assert plots.confident_plot in shown
    x, y = points(plots, "frechet_distance")
    assert x.tolist() == [10, 20, 30] and y.tolist() == [30.0, 20.0, 10.0]
    x, y = points(plots, "confident_share")
    assert x.tolist() == [10, 20, 30] and y.tolist() == [0.1, 0.2, 0.3]
    # the evaluation points' look: symbols in the theme's colour, a line through them
    for name, col in (("frechet_distance", c.fd), ("confident_share", c.confident)):
        curve = plots.curves[name]
        assert curve.opts["symbol"] == "o" and colour(curve.opts["pen"]) == col[:3]
        assert colour(pg.mkBrush(curve.opts["symbolBrush"])) == col[:3]
    fd_title, conf_title = plots.fd_plot.titleLabel.text, plots.confident_plot.titleLabel.text
    assert "lower is better" in fd_title and "higher is better" in conf_title
    assert "Lower is better" in plots.fd_plot.toolTip() and "FID" in plots.fd_plot.toolTip()
    assert "Higher is better" in plots.confident_plot.toolTip() and "0.9" in plots.confident_plot.toolTip()
    lo, hi = plots.confident_plot.vb.viewRange()[1]
    assert lo <= 0.1 and hi >= 1.0, "the share is seen against its ceiling of 1"
    text = plots.show_crosshair(20)
    assert "FD 20" in text and "confident 0.2" in text

    # the dark theme's colours
    plots.set_dark(True)
    assert colour(plots.curves["frechet_distance"].opts["pen"]) == plot_colours(True).fd[:3]

    # an image run of other data (no confident_share column): the Fréchet distance only
    del cols["confident_share"]
    plots.load_run(cols, [], "wgan-gp", is_toy=False)
    assert plots.fd_plot in plots.shown_plots() and plots.confident_plot not in plots.shown_plots()
    assert len(points(plots, "confident_share")[0]) == 0, "nothing left of the earlier run"


def test_digits_run_in_the_studio_plots_both_measures_live(qtbot, window):
    cfg = tiny_config("digits-wgan-gp", live=True, train__eval_every=2, objective__n_critic=1)
    start_live(qtbot, window, cfg)
    plots = window.plots
    # each evaluation adds a point to both plots while the run goes on
    qtbot.waitUntil(lambda: len(points(plots, "confident_share")[0]) >= 2, timeout=120_000)
    qtbot.waitUntil(lambda: len(points(plots, "frechet_distance")[0]) >= 2, timeout=60_000)
    assert window.is_active()
    shown = plots.shown_plots()
    assert plots.fd_plot in shown and plots.confident_plot in shown
    x, fd = points(plots, "frechet_distance")
    assert (x % 2 == 0).all() and np.isfinite(fd).all() and (fd > 0).all()
    _, share = points(plots, "confident_share")
    assert ((share >= 0) & (share <= 1)).all()
    # issue 33: KID with its spread over subsets as a band, and the plots name what they measure in
    qtbot.waitUntil(lambda: len(points(plots, "kid_hi")[0]) >= 2, timeout=60_000)
    assert plots.kid_plot in plots.shown_plots()
    (_, kid), (_, lo), (_, hi) = (points(plots, c) for c in ("kid", "kid_lo", "kid_hi"))
    n_band = min(len(kid), len(lo))
    assert (lo[:n_band] <= kid[:n_band]).all() and (kid[:n_band] <= hi[:n_band]).all() and (hi > lo).all()
    assert "FD, digit classifier features (128-d), 1,000 samples" in plots.fd_plot.toolTip()
    assert "KID, digit classifier features (128-d), 1,000 samples" in plots.kid_plot.toolTip()
    stop(qtbot, window)
    # what was plotted is what metrics.csv holds
    m = read_metrics(window.model.path / "metrics.csv")
    it, col = np.asarray(m["gen_iter"]), np.asarray(m["confident_share"])
    ok = np.isfinite(col)
    n = len(share)
    assert it[ok][:n].tolist() == x[:n].tolist() and np.allclose(col[ok][:n], share)


def test_a_followed_digits_folder_plots_its_measures_as_they_come(qtbot, window, tmp_path):
    """Another trainer writes the folder (here a thread of this process, as wgan-train would);
    the window follows it through metrics.csv."""
    run = tmp_path / "followed"
    trainer = Trainer(tiny_config("digits-wgan-gp", live=True, train__eval_every=2, objective__n_critic=1), run)
    thread = threading.Thread(target=trainer.run, name="other-trainer", daemon=True)
    thread.start()
    try:
        wait_until(lambda: is_live(run), 120, what="the run's heartbeat")
        assert window.open_path(run)
        assert isinstance(window.model.source, FolderSource)
        plots = window.plots
        qtbot.waitUntil(lambda: len(points(plots, "confident_share")[0]) >= 2, timeout=120_000)
        assert plots.fd_plot in plots.shown_plots() and plots.confident_plot in plots.shown_plots()
        assert np.isfinite(points(plots, "frechet_distance")[1]).all()
        assert thread.is_alive(), "plotted while the run was going on"
    finally:
        trainer.stop()
        thread.join(120)
    stop(qtbot, window)


def test_a_folder_written_before_the_columns_opens_and_follows_without_them(qtbot, window, tmp_path, digits_run):
    run = shutil.copytree(digits_run, tmp_path / "old")
    path = run / "metrics.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    drop = {header.index("frechet_distance"), header.index("confident_share")}
    path.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i not in drop)
                              for line in lines) + "\n")

    for open_it in (window.open_path, window.follow_run):  # shown as a finished run, and followed
        assert open_it(run)
        plots = window.plots
        qtbot.waitUntil(lambda: plots.buf.n == 6, timeout=60_000)  # noqa: B023 - waited on at once
        qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)
        assert plots.confident_plot not in plots.shown_plots()
        assert len(points(plots, "frechet_distance")[0]) == 0  # an empty plot, not a made-up curve
        assert len(points(plots, "sliced_w")[0]) == 2, "the other measures are there"


def test_compare_shows_the_confident_share_with_what_it_means(qtbot, tmp_path, digits_run):
    from studio.compare import TABLE_COLUMNS, CompareWindow

    cw = CompareWindow()
    qtbot.addWidget(cw)
    toy = stopped_run(tmp_path, "toy-run")
    cw.add_runs([digits_run, toy])
    header = [h for h, _c, _t in TABLE_COLUMNS]
    i = header.index("Confident share")
    assert "higher is better" in cw.table.horizontalHeaderItem(i).toolTip()
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in cw.table_rows()}
    m = read_metrics(digits_run / "metrics.csv")
    last = [v for v in m["confident_share"] if np.isfinite(v)][-1]
    assert rows["digits-run"]["Confident share"] == f"{last:.2f}"
    assert rows["toy-run"]["Confident share"] == "—"
    # overlaid: the evaluations' points, titled with the direction that is good
    assert cw.set_metric("confident_share")
    x, y = cw.curves[digits_run].getData()
    assert list(x) == [3, 6] and np.allclose(y, [v for v in m["confident_share"] if np.isfinite(v)])
    assert "higher is better" in cw.plot.titleLabel.text
    assert cw.set_metric("frechet_distance") and "lower is better" in cw.plot.titleLabel.text
    # issue 33: named with the features and sample count the runs measured it in; KID beside FD
    assert "FD, digit classifier features (128-d), 1,000 samples" in cw.plot.titleLabel.text
    kid = header.index("KID (last eval)")
    row = next(r for r in range(cw.table.rowCount()) if cw.table.item(r, 0).text() == "digits-run")
    assert cw.table.item(row, kid).toolTip().startswith("KID, digit classifier features (128-d)")
    assert rows["digits-run"]["KID (last eval)"] != "—" and rows["toy-run"]["KID (last eval)"] == "—"

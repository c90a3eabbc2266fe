"""The run's metrics history is held once, by the run model: the plots panel draws thinned views
of it (a few thousand points a curve however long the run) and keeps no copy of its own."""

from __future__ import annotations

import numpy as np
import pytest

from engine import load_preset
from studio.panels.plots import PlotsPanel
from studio.panels.plots.thinning import DETAIL_ROWS, MAX_BINS
from studio.run_model import RunModel
from studio.sources import RunSource

# The most points a curve is drawn with: the envelope's, and the rows in view when zoomed in.
DRAWN_MAX = 2 * MAX_BINS + 1 + 2 * DETAIL_ROWS + 3
ROWS = 60_000                  # many more rows than that


class ScriptedSource(RunSource):
    """A source whose run is whatever the test emits."""

    def start(self):
        pass

    def is_running(self):
        return True


def rows(start, n):
    it = np.arange(start + 1, start + n + 1, dtype=np.float64)
    wave = np.sin(it / 50)
    return {"gen_iter": it, "w_estimate": 1 / np.sqrt(it) + 0.01 * wave, "critic_loss": -1 / np.sqrt(it),
            "generator_loss": wave, "gradient_penalty": np.full(n, 0.01), "clip_fraction": np.full(n, np.nan),
            "critic_grad_norm": np.full(n, 2.0), "gp_grad_q10": np.full(n, 0.8), "gp_grad_q50": 1 + 0.1 * wave,
            "gp_grad_q90": np.full(n, 1.3), "lr_critic": np.full(n, 1e-4), "lr_generator": np.full(n, 1e-4),
            "clip_value": np.full(n, 0.01), "n_critic": np.full(n, 5.0),
            "w1_exact": np.where(it % 100 == 0, 0.5, np.nan)}


def arrays_held_by(root, model) -> list[np.ndarray]:
    """Every NumPy array reachable from ``root`` through the attributes, dicts, lists and tuples
    of the studio's and pyqtgraph's objects (the run model itself left out)."""
    seen, out, todo = set(), [], [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or obj is model:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            out.append(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, list | tuple | set):
            todo.extend(obj)
        elif type(obj).__module__.split(".")[0] in ("studio", "pyqtgraph") and hasattr(obj, "__dict__"):
            todo.extend(vars(obj).values())
    return out


def copies_of_the_history(panel, model) -> list[int]:
    """The lengths of the arrays the panel holds that are as long as a thinned curve can't be and
    are no view of the model's buffer."""
    views = list(model.columns().values())
    return [a.size for a in arrays_held_by(panel, model)
            if a.size > DRAWN_MAX and not any(np.shares_memory(a, v) for v in views)]


@pytest.fixture
def bound(qtbot, tmp_path):
    model = RunModel()
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    panel.bind(model)
    source = ScriptedSource()
    model.start(source, load_preset("toy-wgan-gp"), tmp_path / "run")
    return panel, model, source


def test_the_plots_hold_no_copy_of_the_history(bound):
    panel, model, source = bound
    for start in range(0, ROWS, 1_000):  # a long run, reported in batches
        source.metrics.emit(rows(start, 1_000))
    assert model.rows == ROWS and panel.buf.n == ROWS  # the panel reads the model's history
    panel.set_log_y(True)   # log axes map their data: still a few thousand points a curve
    panel.refresh(force=True)
    assert copies_of_the_history(panel, model) == []
    history = model.columns()
    for name, column in (("w_raw", "w_estimate"), ("gp_grad_q50", "gp_grad_q50"), ("lr_critic", "lr_critic")):
        x, y = panel.curves[name].getOriginalDataset()
        assert len(x) <= 2 * MAX_BINS + 1 and x[0] == 1 and x[-1] == ROWS, name
        # an envelope: the extremes of every row of the run are drawn
        assert y.max() == history[column].max() and y.min() == history[column].min(), name
    assert len(panel.curves["w1_exact"].getData()[0]) == ROWS // 100  # every evaluation, each one drawn

    # more rows: what the panel holds does not grow with them
    held = sum(a.nbytes for a in arrays_held_by(panel, model))
    for start in range(ROWS, 2 * ROWS, 2_000):
        source.metrics.emit(rows(start, 2_000))
    panel.refresh(force=True)
    assert copies_of_the_history(panel, model) == []
    assert sum(a.nbytes for a in arrays_held_by(panel, model)) < 1.5 * held
    with pytest.raises(RuntimeError):
        panel.append_metrics(rows(2 * ROWS, 1))  # rows come from the model only


def test_zoomed_in_the_plots_draw_the_rows_themselves(bound):
    panel, model, source = bound
    for start in range(0, ROWS, 5_000):
        source.metrics.emit(rows(start, 5_000))
    panel.refresh(force=True)
    history = model.columns()
    panel.w_plot.setXRange(30_000, 30_400, padding=0)  # the user zooms in on 400 iterations
    assert panel._dirty  # other rows to draw: at the next frame
    panel.refresh()
    x, y = panel.curves["w_raw"].getOriginalDataset()
    inside = (x >= 30_000) & (x <= 30_400)
    np.testing.assert_array_equal(x[inside], np.arange(30_000, 30_401))  # every row, one by one
    np.testing.assert_array_equal(y[inside], history["w_estimate"][29_999:30_400])
    assert x[0] == 1 and x[-1] == ROWS  # the rest of the run still drawn (its envelope), for panning
    # the smoothed curve there is the moving average of the whole run, row by row
    a = panel.smoothing()
    expected = np.empty(ROWS)
    s = history["critic_loss"][0]
    for i, v in enumerate(history["critic_loss"]):
        s = a * s + (1 - a) * v
        expected[i] = s
    x, y = panel.curves["critic_loss"].getOriginalDataset()
    inside = (x >= 30_000) & (x <= 30_400)
    np.testing.assert_allclose(y[inside], expected[29_999:30_400], rtol=1e-9)
    assert panel.value_at(30_100)["critic_loss_smoothed"] == pytest.approx(expected[30_099], rel=1e-9)
    assert copies_of_the_history(panel, model) == []
    panel.w_plot.setXRange(30_010, 30_390, padding=0)  # panning within them: nothing to draw again
    assert not panel._dirty
    panel.auto_range()  # the whole run again: its envelope
    panel.refresh(force=True)
    assert len(panel.curves["w_raw"].getOriginalDataset()[0]) <= 2 * MAX_BINS + 1

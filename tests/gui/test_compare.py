"""Compare runs: several run folders overlaid (curves with a legend), side by side (latest
samples) and in one table of final metrics; damaged folders are named and skipped."""

from __future__ import annotations

import math

import pytest

from engine import read_metrics

from .helpers import stopped_run


@pytest.fixture
def two_runs(tmp_path):
    return stopped_run(tmp_path, "run-a"), stopped_run(tmp_path, "run-b")


@pytest.fixture
def compare(qtbot):
    from studio.compare import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    w.show()
    return w


def legend_names(cw) -> list[str]:
    return [label.text for _sample, label in cw.legend.items]


def last_w1(run) -> float:
    w1 = [v for v in read_metrics(run / "metrics.csv")["w1_exact"] if not math.isnan(v)]
    return w1[-1]


def test_two_runs_overlay_with_a_legend_samples_and_a_table(compare, two_runs):
    a, b = two_runs
    assert [r.name for r in compare.add_runs([a, b])] == ["run-a", "run-b"]
    assert compare.problems == [] and compare.message_box is None

    # One curve per run, named by folder and objective, one point per metrics.csv row.
    assert compare.metric == "w_estimate"
    assert legend_names(compare) == ["run-a (wgan-gp)", "run-b (wgan-gp)"]
    for run in (a, b):
        x, y = compare.curves[run].getData()
        assert list(x) == [1, 2, 3, 4, 5, 6] and len(y) == 6
    assert compare.curves[a].opts["pen"].color() != compare.curves[b].opts["pen"].color()

    # An evaluation column: only the rows where it was computed (every 3 iterations), unsmoothed.
    assert compare.set_metric("w1_exact")
    x, y = compare.curves[b].getData()
    assert list(x) == [3, 6] and y[-1] == pytest.approx(last_w1(b))
    assert legend_names(compare) == ["run-a (wgan-gp)", "run-b (wgan-gp)"]

    # The latest sample picture of each run, with its name under it.
    for run in (a, b):
        panel = compare.sample_panels[run]
        picture = panel.findChild(type(compare.status), "comparePicture")
        caption = panel.findChild(type(compare.status), "compareCaption")
        assert not picture.pixmap().isNull()
        assert run.name in caption.text() and "iteration 6" in caption.text()

    # The table: both runs with their final W1 from metrics.csv, '—' where the run has no value.
    rows = {r[0]: r for r in compare.table_rows()}
    assert set(rows) == {"run-a", "run-b"}
    header = [compare.table.horizontalHeaderItem(i).text() for i in range(compare.table.columnCount())]
    for run in (a, b):
        row = dict(zip(header, rows[run.name], strict=True))
        assert row["Objective"] == "wgan-gp" and row["Iterations"] == "6"
        assert float(row["W1 (last eval)"]) == pytest.approx(last_w1(run), rel=1e-3)
        assert row["Sliced W (last eval)"] == "—" and row["Classes hit"] == "—"
    csv_lines = compare.csv_text().splitlines()
    assert csv_lines[0].startswith("run,objective,data,gen_iter,eval_iter,w1_exact") and len(csv_lines) == 3


def test_table_sorts_by_number(compare, two_runs):
    compare.add_runs(two_runs)
    headers = [compare.table.horizontalHeaderItem(i).text() for i in range(compare.table.columnCount())]
    col = headers.index("W1 (last eval)")
    compare.table.sortItems(col)
    w1 = [float(r[col]) for r in compare.table_rows()]
    assert w1 == sorted(w1)


def test_damaged_and_non_run_folders_are_named_and_skipped(compare, two_runs, tmp_path):
    a, b = two_runs
    not_a_run = tmp_path / "holiday-photos"
    not_a_run.mkdir()
    (not_a_run / "beach.jpg").write_bytes(b"jpeg")
    empty_metrics = tmp_path / "runs" / "broken-run"
    empty_metrics.mkdir()
    (empty_metrics / "config.toml").write_text((a / "config.toml").read_text())
    (empty_metrics / "metrics.csv").write_text("")

    added = compare.add_runs([a, not_a_run, empty_metrics, b])

    assert [r.name for r in added] == ["run-a", "run-b"]
    assert legend_names(compare) == ["run-a (wgan-gp)", "run-b (wgan-gp)"]
    assert len(compare.table_rows()) == 2
    box = compare.message_box
    assert box is not None and box.isVisible()
    text = box.text()
    assert "holiday-photos: not a run folder" in text
    assert "broken-run: metrics.csv: empty" in text
    assert "holiday-photos" in compare.status.text() and "2 skipped" in compare.status.text()
    box.close()


def test_partly_damaged_run_is_shown_with_a_note(compare, two_runs):
    a, b = two_runs
    metrics = a / "metrics.csv"
    lines = metrics.read_text().split("\n")
    lines[2] = "2,0.1,#@!garbage"
    metrics.write_text("\n".join(lines))
    compare.add_runs([a, b])
    assert len(compare.runs) == 2
    x, _ = compare.curves[a].getData()
    assert list(x) == [1, 3, 4, 5, 6]
    assert "run-a: shown, but metrics.csv: skipped: 1 damaged row (line 3)" in compare.message_box.text()
    compare.message_box.close()


def test_comparing_loads_no_checkpoint(compare, two_runs, monkeypatch):
    """Compare reads the small files on the GUI thread: a DCGAN checkpoint (tens of MB) would
    freeze the window for each run added."""
    import engine.run_report

    loaded = []
    monkeypatch.setattr(engine.run_report, "load_checkpoint", lambda path, *a, **k: loaded.append(path))
    assert len(compare.add_runs(list(two_runs))) == 2
    assert loaded == [] and len(compare.curves) == 2


def test_removing_a_run_removes_its_curve_sample_and_row(compare, two_runs):
    a, b = two_runs
    compare.add_runs([a, b])
    compare.table.selectRow([r[0] for r in compare.table_rows()].index("run-a"))
    assert compare.remove_button.isEnabled()
    compare.remove_button.click()
    assert [r.name for r in compare.runs] == ["run-b"]
    assert list(compare.curves) == [b]
    assert legend_names(compare) == ["run-b (wgan-gp)"]
    assert [i for i in compare.plot.listDataItems()] == [compare.curves[b]]
    assert list(compare.sample_panels) == [b]
    assert [r[0] for r in compare.table_rows()] == ["run-b"]
    # Added again: back, once (adding a run twice does not duplicate it).
    compare.add_runs([a, a])
    assert len(compare.runs) == 2 and len(compare.plot.listDataItems()) == 2


def test_export_table_as_csv(compare, two_runs, tmp_path):
    compare.add_runs(two_runs)
    compare.save_path_handler = lambda default: str(tmp_path / "out.csv")
    assert compare.export_csv_dialog()
    assert (tmp_path / "out.csv").read_text() == compare.csv_text()


def test_main_window_adds_the_current_run(window, two_runs):
    a, _b = two_runs
    assert window.act_compare.shortcut().toString() == "Ctrl+Alt+O"
    assert "several run folders" in window.act_compare.toolTip()
    file_menu = window.menuBar().actions()[0].menu()
    assert window.act_compare in file_menu.actions() and window.act_compare_add in file_menu.actions()
    assert window.open_path(a)
    assert window.add_current_run_to_compare()
    cw = window.compare_window
    assert cw.isVisible() and [r.path for r in cw.runs] == [a]
    assert legend_names(cw) == ["run-a (wgan-gp)"]
    window.set_theme("dark")
    assert cw.plot_widget.backgroundBrush().color().name() == "#1e1f22"


def test_chooser_lists_the_runs_folder_and_returns_the_ticked_runs(qtbot, two_runs, tmp_path):
    from PySide6.QtCore import Qt

    from studio.compare import RunChooser

    a, b = two_runs
    (a.parent / "not-a-run").mkdir()
    dlg = RunChooser(None, a.parent, already={b})
    qtbot.addWidget(dlg)
    items = {dlg.list.item(i).data(Qt.ItemDataRole.UserRole): dlg.list.item(i) for i in range(dlg.list.count())}
    assert set(items) == {str(a), str(b)}                      # run folders only
    assert not items[str(b)].flags() & Qt.ItemFlag.ItemIsEnabled  # already compared
    assert dlg.selected() == []
    items[str(a)].setCheckState(Qt.CheckState.Checked)
    assert dlg.selected() == [a]

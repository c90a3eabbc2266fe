"""The Runs view (a dock of the main window): every run of the runs folder and of added folders,
live, sortable and filtered; double-click opens a run, Compare overlays the selected ones, and the
table exports as CSV."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from tests.test_runs_table import append_rows

from .helpers import stopped_run


def listed(view) -> list[str]:
    return [r.name for r in view.proxy.rows()]


def cell(view, name: str, header: str) -> str:
    from studio.runs.table import HEADERS

    row = next(i for i in range(view.proxy.rowCount()) if view.proxy.index(i, 0).data() == name)
    return view.proxy.index(row, HEADERS.index(header)).data()


def test_runs_are_listed_live_sorted_filtered_opened_and_compared(qtbot, window, tmp_path):
    a = stopped_run(tmp_path, "run-a")            # trained once per session; b and c are copies
    b = a.with_name("run-b")
    shutil.copytree(a, b)
    other = tmp_path / "elsewhere"
    c = other / "runs" / "run-c"
    shutil.copytree(a, c)
    view = window.runs_view
    view.add_folder(c.parent)
    qtbot.waitUntil(lambda: sorted(listed(view)) == ["run-a", "run-b", "run-c"], timeout=20_000)
    assert cell(view, "run-a", "State") == "finished" and cell(view, "run-a", "Iteration") == "6 / 6"
    assert cell(view, "run-c", "Folder") == "runs" and cell(view, "run-a", "Best quality").startswith("W1 ")

    # Live: a run that gains rows shows them without anything being clicked.
    append_rows(b, 4, w1=0.0005)
    qtbot.waitUntil(lambda: cell(view, "run-b", "Iteration") == "10 / 6", timeout=20_000)
    assert cell(view, "run-b", "Best quality") == "W1 0.0005 @ 10"

    # Sorting by best quality puts run-b first; the filter keeps what matches.
    from studio.runs.table import HEADERS
    view.table.sortByColumn(HEADERS.index("Best quality"), Qt.SortOrder.AscendingOrder)
    assert listed(view)[0] == "run-b"
    view.filter_edit.setText("run-c")
    assert listed(view) == ["run-c"]
    view.filter_edit.setText("")
    view.state_combo.setCurrentIndex(view.state_combo.findData("running"))
    assert listed(view) == []
    view.state_combo.setCurrentIndex(view.state_combo.findData("finished"))
    assert len(listed(view)) == 3

    # The added folder is remembered: a new window lists it too.
    assert str(other.resolve() / "runs") in window.settings.runs_folders

    # Double-click opens the run in the window.
    view.filter_edit.setText("run-a")
    index = view.proxy.index(0, 0)
    view.table.doubleClicked.emit(index)
    assert window.run_path == a and window.model.opened

    # Compare overlays the selected runs.
    view.filter_edit.setText("")
    view.select_paths([a, c])
    assert view.compare_button.isEnabled()
    view.compare_button.click()
    assert {r.path for r in window.compare_window.runs} == {a, c}
    window.compare_window.close()

    # Export CSV writes the table as shown.
    out = tmp_path / "runs.csv"
    assert view.export_csv(out)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("run,") and len(lines) == 4
    assert {line.split(",")[0] for line in lines[1:]} == {"run-a", "run-b", "run-c"}
    assert Path(lines[1].split(",")[-1]).is_dir()

    # A folder the user added can be let go: its runs leave the list (and stay on disk).
    view.remove_folder(c.parent)
    qtbot.waitUntil(lambda: sorted(r.name for r in view.model.rows) == ["run-a", "run-b"], timeout=20_000)
    assert c.is_dir() and window.settings.runs_folders == []

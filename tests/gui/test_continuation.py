"""Start on an opened run folder follows the one rule for continuing a run (engine.continuation),
case by case: the same cases as wgan-train --resume (tests/continuation_cases.py), typed into the
form as a user would, give the same answer: whether Start reads "Continue run", the same sentence
in its tooltip, and, when it continues, the same run (its iterations, its live values logged as
edits at the first iteration)."""

from __future__ import annotations

import pytest

from engine import read_events, read_metrics
from tests.continuation_cases import CASES, DONE_ITERS, make_folder

_CACHE: dict = {}


def type_into_form(window, changes: dict) -> None:
    form = window.config_panel
    for dotted, value in changes.items():
        form.set_field_text(dotted, f"{value:g}" if isinstance(value, float) else str(value))
        assert form.error is None, form.error


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_start_on_an_opened_run_follows_the_one_rule(qtbot, window, tmp_path, case):
    run = make_folder(case.folder, tmp_path / "run", _CACHE)
    assert window.open_path(run)
    if window.damage_box is not None:
        window.damage_box.close()
    type_into_form(window, case.changes)
    start = window.act_start
    assert start.isEnabled()
    assert start.text() == ("Continue run" if case.possible else "Start")
    assert case.says in start.toolTip(), start.toolTip()
    if not case.possible:
        return
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as done:
        start.trigger()
    assert done.args == ["finished"] and window.run_path == run
    total = case.changes["train.iterations"]
    assert read_metrics(run / "metrics.csv")["gen_iter"] == [float(i) for i in range(1, total + 1)]
    assert window.model.last_iter() == total and window.model.rows == total
    edits = [e for e in read_events(run / "events.jsonl") if e["type"] == "edit"]
    assert {e["key"]: e["new"] for e in edits} == case.edits
    assert all(e["gen_iter"] == DONE_ITERS for e in edits)  # at the first iteration of the continued run
    runs = window.settings.runs_dir
    assert not runs.exists() or not any(runs.iterdir()), "it went on in its own folder: no new run"

"""The Runs view's rows (Qt-free, studio.runs.table): run folders read incrementally, their state
from the heartbeat, the columns a user reads, filtering and the CSV export."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from engine import Trainer, read_metrics
from engine.requests import write_status
from engine.status import RunState
from studio.runs.table import HEADERS, RunsScanner, cell_text, csv_text, matches
from tests.helpers import tiny_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny toy run of 6 iterations (an evaluation at 3 and 6)."""
    path = tmp_path_factory.mktemp("trained") / "run"
    cfg = tiny_config(train__iterations=6, train__checkpoint_every=0, train__sample_every=0, train__eval_every=3)
    Trainer(cfg, path).run()
    return path


def copy_run(trained, folder, name):
    shutil.copytree(trained, folder / name)
    return folder / name


def cells(row) -> dict:
    return {h: cell_text(row, i) for i, h in enumerate(HEADERS)}


def append_rows(run, n: int, w1: float | None = None) -> None:
    """``n`` more metrics rows after the last one, as a trainer appends them (whole rows)."""
    lines = (run / "metrics.csv").read_text().splitlines()
    header, last = lines[0].split(","), lines[-1].split(",")
    rows = []
    for k in range(1, n + 1):
        row = list(last)
        row[0] = str(int(last[0]) + k)
        row[header.index("w1_exact")] = "" if w1 is None or k < n else repr(w1)
        rows.append(",".join(row))
    with open(run / "metrics.csv", "a") as fh:
        fh.write("\n".join(rows) + "\n")


def test_rows_of_a_folder_name_each_run_its_state_and_best_quality(trained, tmp_path):
    a, b = copy_run(trained, tmp_path, "a"), copy_run(trained, tmp_path, "b")
    scanner = RunsScanner([tmp_path])
    changed, gone = scanner.scan()
    assert sorted(r.name for r in changed) == ["a", "b"] and gone == []
    row = next(r for r in changed if r.name == "a")
    c = cells(row)
    w1 = [v for v in read_metrics(a / "metrics.csv")["w1_exact"] if np.isfinite(v)]
    assert c["State"] == "finished" and c["Iteration"] == "6 / 6" and c["Preset / objective"] == "wgan-gp"
    assert row.best == pytest.approx(min(w1)) and c["Best quality"].startswith("W1 ")
    assert c["Started"] and c["Duration"] and c["W-estimate"]
    assert row.its_per_sec is None and c["ETA"] == ""   # ended: no speed, no ETA

    # Nothing changed: nothing new, nothing read.
    before = scanner.bytes_read
    assert scanner.scan() == ([], [])
    assert scanner.bytes_read == before

    # b gains rows: only b changes, and only the new bytes are read (and the few bytes before them
    # that tell whether metrics.csv was rewritten; events.jsonl did not grow: not read).
    append_rows(b, 3, w1=0.001)
    added = sum(len(line) + 1 for line in (b / "metrics.csv").read_text().splitlines()[-3:])
    changed, _ = scanner.scan()
    assert [r.name for r in changed] == ["b"]
    assert scanner.bytes_read - before == added + 16
    assert changed[0].gen_iter == 9 and changed[0].best == pytest.approx(0.001) and changed[0].best_iter == 9

    # A folder deleted is gone from the list.
    shutil.rmtree(a)
    assert scanner.scan()[1] == [a]


def test_a_training_run_shows_speed_and_eta_then_not_responding_when_its_heartbeat_stops(trained, tmp_path):
    run = copy_run(trained, tmp_path, "live")
    (run / "events.jsonl").write_text(json.dumps({"type": "start", "gen_iter": 0, "time": "2026-12-06T01:00:00+0000"})
                                      + "\n")
    now = [1000.0]
    write_status(run, {"state": "running", "gen_iter": 40, "total": 100, "its_per_sec": 20.0, "elapsed_s": 2.0},
                 clock=lambda: now[0])
    mtime = (run / "status.json").stat().st_mtime
    now[0] = mtime + 1.0
    scanner = RunsScanner([tmp_path], clock=lambda: now[0])
    row = scanner.scan()[0][0]
    assert row.state == RunState.RUNNING and cells(row)["Iteration"] == "40 / 100"
    assert row.its_per_sec == 20.0 and row.eta_s == pytest.approx(3.0)
    now[0] = mtime + 120.0   # no heartbeat for two minutes
    row = scanner.scan()[0][0]
    assert row.state == RunState.NOT_RESPONDING and row.eta_s is None


def test_a_sweep_folder_lists_its_trials(trained, tmp_path):
    sweep = tmp_path / "runs" / "my-sweep"
    (sweep / "trials").mkdir(parents=True)
    (sweep / "trials.csv").write_text("number,state\n")
    for i in range(3):
        copy_run(trained, sweep / "trials", f"trial-{i:04d}")
    copy_run(trained, tmp_path / "runs", "single")
    rows = RunsScanner([tmp_path / "runs"]).scan()[0]
    assert sorted((r.name, r.group) for r in rows) == [("single", "runs"), ("trial-0000", "sweep my-sweep"),
                                                      ("trial-0001", "sweep my-sweep"),
                                                      ("trial-0002", "sweep my-sweep")]


def test_filter_and_csv(trained, tmp_path):
    copy_run(trained, tmp_path, "clip-small")
    copy_run(trained, tmp_path, "gp-large")
    rows = RunsScanner([tmp_path]).scan()[0]
    assert [r.name for r in rows if matches(r, "clip")] == ["clip-small"]
    assert [r.name for r in rows if matches(r, "wgan-gp large")] == ["gp-large"]
    assert not [r for r in rows if matches(r, "", RunState.RUNNING)]
    assert len([r for r in rows if matches(r, "", "finished")]) == 2
    lines = csv_text(rows).splitlines()
    assert lines[0].startswith("run,folder,what,state,gen_iter") and len(lines) == 3

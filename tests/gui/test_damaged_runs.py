"""Opening a run whose files are damaged: one message names each damaged file and what is wrong,
everything still readable is shown, and continuing is offered only from a checkpoint that loads."""

from __future__ import annotations

import pytest

from engine import load_checkpoint, read_metrics

from .helpers import stopped_run as make_stopped_run


@pytest.fixture
def run(tmp_path):
    """A run trained headlessly to 6 of 9 iterations (checkpoints at 3 and 6), as if stopped."""
    return make_stopped_run(tmp_path, "hurt-run")


def damage_message(window) -> str:
    box = window.damage_box
    assert box is not None and box.isVisible() and box.windowTitle() == "Damaged run folder"
    return box.text() + "\n" + box.informativeText()


def test_corrupt_latest_checkpoint_falls_back_to_an_older_one(qtbot, window, run):
    ckpts = run / "checkpoints"
    data = (ckpts / "latest.pt").read_bytes()
    (ckpts / "latest.pt").unlink()  # (a hard link of iter_0000006.pt: break it, then damage each)
    (ckpts / "latest.pt").write_bytes(data[: len(data) // 3])
    (ckpts / "iter_0000006.pt").write_bytes(b"not a checkpoint at all")

    assert window.open_path(run)
    text = damage_message(window)
    assert "checkpoints/latest.pt: not a readable checkpoint (truncated or corrupt)" in text
    assert "checkpoints/iter_0000006.pt: not a readable checkpoint" in text
    assert "continued from generator iteration 3 (checkpoints/iter_0000003.pt)" in text
    # What is readable is shown: the six rows of curves, the edit marker, the configuration.
    assert window.plots.buf.n == 6 and window.plots.markers == [(0, "n_critic 5→3")]
    assert window.config_panel.config().model.hidden == 32
    assert any("damaged: checkpoints/latest.pt" in line for line in window.log_panel.lines())
    assert window.act_start.text() == "Continue run"
    assert "from generator iteration 3" in window.act_start.toolTip()
    window.damage_box.close()

    with qtbot.waitSignal(window.run_finished, timeout=60_000) as done:
        assert window.start()
    assert done.args == ["finished"] and window.run_path == run
    assert read_metrics(run / "metrics.csv")["gen_iter"] == [float(i) for i in range(1, 10)]
    assert list(window.plots.buf.view("gen_iter")) == list(range(1, 10))  # rows 4-6 were trained again
    assert load_checkpoint(run)["gen_iter"] == 9
    assert (ckpts / "latest.pt.damaged").read_bytes() == data[: len(data) // 3]  # kept, not deleted


def test_garbled_metrics_and_events_show_the_rest(qtbot, window, run):
    metrics = run / "metrics.csv"
    lines = metrics.read_text().split("\n")
    lines[2] = "2,0.1,#@!garbage"                  # the row of iteration 2
    text = "\n".join(lines).rstrip("\n")
    metrics.write_text(text[: len(text) - 25])      # and the last row cut short
    events = run / "events.jsonl"
    ev_lines = events.read_text().splitlines()
    ev_lines.insert(2, '{"type": "pause", "gen_iter": ')
    events.write_text("\n".join(ev_lines) + "\n")

    assert window.open_path(run)
    text = damage_message(window)
    assert ("metrics.csv: skipped: 1 damaged row (line 3) and the last row, cut short (the run was interrupted "
            "while writing it)") in text
    assert "events.jsonl: skipped: 1 damaged line (line 3)" in text
    assert "config.toml" not in text and "latest.pt" in text  # named only in "can be continued from"
    assert list(window.plots.buf.view("gen_iter")) == [1, 3, 4, 5]
    assert window.plots.markers == [(0, "n_critic 5→3")] and window.steer.history.count() == 1
    assert window.act_start.text() == "Continue run"  # the checkpoint is fine
    assert "from generator iteration 6" in window.act_start.toolTip()


@pytest.mark.parametrize("damage", ["missing", "invalid"])
def test_damaged_config_is_taken_from_the_checkpoint(qtbot, window, run, damage):
    if damage == "missing":
        (run / "config.toml").unlink()
    else:
        (run / "config.toml").write_text("config_version = 1\n[model\nhidden = 'big'\n")
    assert window.open_path(run)
    text = damage_message(window)
    assert f"config.toml: {'missing' if damage == 'missing' else 'not valid TOML'}" in text
    assert "the configuration stored in checkpoints/latest.pt is shown instead" in text
    assert window.config_panel.config().model.hidden == 32 and window.plots.buf.n == 6
    assert window.act_start.text() == "Continue run"


def test_no_loadable_checkpoint_offers_no_continue(qtbot, window, run):
    for p in (run / "checkpoints").glob("*.pt"):
        p.unlink()
        p.write_bytes(b"\0" * 64)
    assert window.open_path(run)
    text = damage_message(window)
    assert "cannot be continued" in text and "checkpoints: no readable checkpoint" in text
    assert window.plots.buf.n == 6  # the curves are still there
    assert window.act_start.text() == "Start" and "cannot be continued" in window.act_start.toolTip()


def test_an_intact_run_opens_without_a_message(qtbot, window, run):
    assert window.open_path(run)
    assert window.damage_box is None
    assert window.act_start.text() == "Continue run"


def test_a_folder_that_is_no_run(qtbot, window, tmp_path):
    (tmp_path / "empty").mkdir()
    assert not window.open_path(tmp_path / "empty")
    assert window.warning_box.windowTitle() == "Not a run folder"

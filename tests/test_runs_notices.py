"""What the studio says when a queued run ends, and where (Qt-free: studio.runs.notices), and the
New sweep form's words to the sweep file's values (studio.runs.sweep_form)."""

from __future__ import annotations

from studio.runs.notices import STATUS_BAR, TRAY, channel, close_question, queue_notice
from studio.runs.sweep_form import search_text, search_value, sweep_data, toml_value


def test_a_finished_or_failed_queued_run_is_worth_a_notice_a_started_one_is_not():
    done = queue_notice("done", "toy-wgan-clip-2")
    assert done.title == "Run finished" and "toy-wgan-clip-2 finished" in done.text and not done.error
    failed = queue_notice("failed", "lr-big", "exit code 1")
    assert failed.title == "Run failed" and failed.error and "exit code 1" in failed.text
    assert "checkpoint" in queue_notice("stopped", "x").text
    assert queue_notice("started", "x") is None and queue_notice("resumed", "x") is None


def test_notices_go_to_the_tray_where_it_shows_messages_else_the_status_bar():
    assert channel(True, True) == TRAY
    assert channel(True, False) == STATUS_BAR   # a tray that cannot show messages
    assert channel(False, True) == STATUS_BAR   # no tray (a bare X server, some desktops)


def test_the_close_question_names_the_runs_training_and_waiting():
    q = close_question(1, 0)
    assert q.startswith("1 queued run is training.") and "Keep training in the background" in q
    assert "each writes its checkpoint" in q
    q = close_question(2, 3)
    assert q.startswith("2 queued runs are training, and 3 more are waiting.")
    q = close_question(0, 1)
    assert q.startswith("1 queued run is waiting to start.") and "stay queued" in q


def test_the_sweep_forms_values():
    assert search_value("0.001, 0.01, 0.1") == [0.001, 0.01, 0.1]
    assert search_value("[0, 1]") == [0, 1]
    assert search_value("adam, rmsprop") == ["adam", "rmsprop"]
    assert search_value("1e-5 .. 1e-3 log") == {"low": 1e-5, "high": 1e-3, "log": True}
    assert search_value("1 .. 5") == {"low": 1, "high": 5}
    assert search_text({"low": 1e-5, "high": 1e-3, "log": True}) == "1e-05 .. 0.001 log"
    assert toml_value("true") is True and toml_value('"x"') == "x"
    data = sweep_data(base="toy-wgan-clip", trials=0, sampler="grid", metric="w1_exact", direction="minimize",
                      fixed={"train.iterations": "2000", "": "ignored"}, search={"train.seed": "0, 1"})
    assert data == {"base": "toy-wgan-clip", "sampler": "grid", "metric": "w1_exact", "direction": "minimize",
                    "set": {"train.iterations": 2000}, "search": {"train.seed": [0, 1]}}

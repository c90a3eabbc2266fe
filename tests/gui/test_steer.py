"""A live edit reaches the run at the next generator iteration, is logged in events.jsonl
and shows as a labelled marker on the plots; undo re-applies the old value as a new edit."""

from __future__ import annotations

from engine import read_events
from tests.helpers import tiny_config

from .helpers import use, wait_state


def test_live_clip_edit_reaches_trainer_log_and_plots(qtbot, window):
    use(window, tiny_config(live=True, objective__kind="wgan-clip", optimiser__name="rmsprop",
                            objective__clip_value=0.01))
    window.start()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.steer.clip_spin.isEnabled(), timeout=30_000)
    live = window.model.live_values
    assert not window.steer.gp_lambda.isEnabled(), "λ does nothing for wgan-clip"
    assert window.steer.clip_spin.value() == 0.01

    window.steer.request("clip_value", 0.05)
    qtbot.waitUntil(lambda: live["clip_value"] == 0.05, timeout=30_000)  # the run's edit event says so
    assert window.run_state == "running", "the edit must not stop the run"
    qtbot.waitUntil(lambda: any("0.05" in text for _, text in window.plots.markers), timeout=60_000)
    it, text = window.plots.markers[-1]
    assert text == "c 0.01→0.05"
    edits = [e for e in read_events(window.run_path / "events.jsonl") if e["type"] == "edit"]
    assert [(e["key"], e["old"], e["new"], e["gen_iter"]) for e in edits] == [("clip_value", 0.01, 0.05, it)]
    assert window.steer.history.count() == 1 and "0.01 → 0.05" in window.steer.history.item(0).text()
    # the iterations after the edit trained with the new clip value
    # (metrics arrive in batches, so the edit's marker can come before the first row is plotted)
    qtbot.waitUntil(lambda: window.plots.buf.n > 0 and window.plots.buf.view("gen_iter")[-1] > it + 1,
                    timeout=30_000)
    clip = window.plots.buf.view("clip_value")[window.plots.buf.view("gen_iter") > it]
    assert (clip == 0.05).all()

    window.steer.undo()
    qtbot.waitUntil(lambda: live["clip_value"] == 0.01, timeout=30_000)
    qtbot.waitUntil(lambda: window.steer.history.count() == 2, timeout=60_000)
    assert not window.steer.undo_button.isEnabled(), "the undo itself is not undone again"
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)
    edits = [e for e in read_events(window.run_path / "events.jsonl") if e["type"] == "edit"]
    assert [(e["old"], e["new"]) for e in edits] == [(0.01, 0.05), (0.05, 0.01)]


def test_learning_rate_and_n_critic_edits(qtbot, window):
    use(window, tiny_config(live=True))
    window.start()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.steer.lr_critic.isEnabled(), timeout=30_000)
    live = window.model.live_values
    assert live["lr_critic"] == 2e-4  # the toy preset's
    window.steer.request("lr_critic", 3e-4)
    window.steer.request("n_critic", 2)
    qtbot.waitUntil(lambda: live["lr_critic"] == 3e-4 and live["n_critic"] == 2, timeout=30_000)
    # The iterations after the edit trained with it (the run's own record of each iteration).
    qtbot.waitUntil(lambda: window.model.rows and window.model.columns()["lr_critic"][-1] == 3e-4, timeout=30_000)
    assert window.model.columns()["n_critic"][-1] == 2
    qtbot.waitUntil(lambda: len(window.plots.markers) == 2, timeout=60_000)
    assert {t for _, t in window.plots.markers} == {"α_D 0.0002→0.0003", "n_critic 5→2"}
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)


def test_between_runs_the_steer_fields_show_what_the_next_run_starts_with(window):
    """Before Start the (greyed-out) fields show the form's values, not the spin boxes' minimums,
    and follow edits of the form."""
    use(window, tiny_config(live=True, optimiser__lr_critic=2e-4, objective__n_critic=7))
    steer = window.steer
    assert not steer.lr_critic.isEnabled()
    assert steer.lr_critic.value() == 2e-4 and steer.n_critic.value() == 7
    assert steer.gp_lambda.value() == window.config_panel.config().objective.gp_lambda
    window.config_panel.set_field_text("optimiser.lr_generator", "3e-05")
    assert steer.lr_generator.value() == 3e-5
    window.config_panel.set_field_text("optimiser.lr_generator", "not a number")  # invalid: left as it was
    assert steer.lr_generator.value() == 3e-5

"""NaN / Inf: the engine rolls the run back to its last good checkpoint and pauses it; the window
says so in a banner (not a dialog) and offers lower learning rates, resuming as is, or dismissing."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from engine import read_events, read_metrics

from .helpers import diverge_run, stop


def diverge(qtbot, window) -> dict:
    """A run rolled back after NaN losses (helpers.diverge_run); returns the engine's "nonfinite" event."""
    diverge_run(qtbot, window)
    events = [e for e in read_events(window.run_path / "events.jsonl") if e["type"] == "nonfinite"]
    assert len(events) == 1
    return events[0]


def test_nonfinite_banner_then_lower_learning_rates_and_resume(qtbot, window):
    ev = diverge(qtbot, window)
    live = window.model.live_values
    first_bad, back = ev["first_bad"], ev["rolled_back_to"]
    assert back % 5 == 0 and first_bad > back

    # What the user reads: where it diverged, which quantities, where the run went back to.
    banner = window.banner
    text = banner.title.text() + " " + banner.message.text()
    assert f"iteration {first_bad}" in text and f"rolled back to iteration {back}" in text
    assert "critic loss L_f = NaN" in text or "critic loss L_f = +inf" in text
    assert "paused" in banner.message.text()
    # Non-modal: no dialog opened, the rest of the window stays usable.
    assert not any(isinstance(w, QDialog) and w.isVisible() for w in QApplication.topLevelWidgets())
    assert window.act_stop.isEnabled()
    # The rolled-back rows are gone from the curves: every plotted row is finite and before it.
    x = window.plots.buf.view("gen_iter")
    assert len(x) and x[-1] == back and np.isfinite(window.plots.buf.view("w_estimate")).all()
    # The engine restored the checkpoint's live values; Steer shows them.
    old_c, old_g = live["lr_critic"], live["lr_generator"]
    assert (old_c, old_g) == (ev["lr_critic"], ev["lr_generator"]) == (2e-4, 2e-4)  # the toy preset's
    assert window.steer.lr_critic.value() == pytest.approx(old_c)
    assert "2e-05" in banner.lower_button.toolTip()

    qtbot.mouseClick(banner.lower_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= back + 10, timeout=60_000)
    assert live["lr_critic"] == pytest.approx(old_c / 10)
    assert live["lr_generator"] == pytest.approx(old_g / 10)
    assert window.run_state == "running" and not banner.isVisible()

    events = read_events(window.run_path / "events.jsonl")
    lowered = [(e["key"], e["old"], e["new"], e["gen_iter"]) for e in events
               if e["type"] == "edit" and e["gen_iter"] == back]
    assert ("lr_critic", old_c, pytest.approx(old_c / 10), back) in lowered
    assert ("lr_generator", old_g, pytest.approx(old_g / 10), back) in lowered
    kinds = [e["type"] for e in events]
    assert "resume" in kinds[kinds.index("nonfinite"):]
    qtbot.waitUntil(lambda: any(text == "α_D 0.0002→2e-05" for _, text in window.plots.markers), timeout=30_000)

    stop(qtbot, window)
    # The run went on from the checkpoint: no gap, no repeat, no NaN row in metrics.csv.
    m = read_metrics(window.run_path / "metrics.csv")
    assert m["gen_iter"] == [float(i) for i in range(1, window.run_status.gen_iter + 1)]
    assert np.isfinite(m["w_estimate"]).all()


def test_nonfinite_banner_resume_as_is_and_dismiss(qtbot, window):
    ev = diverge(qtbot, window)
    qtbot.mouseClick(window.banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible()
    # Dismissing changes nothing: still paused where the run rolled back to.
    assert window.run_state == "paused" and window.run_status.gen_iter == ev["rolled_back_to"]

    window.banner.show()  # (shown again only to press its other button)
    qtbot.mouseClick(window.banner.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.run_status.gen_iter >= ev["rolled_back_to"] + 3, timeout=60_000)
    assert window.model.live_values["lr_critic"] == ev["lr_critic"]  # as is: no edit
    assert not window.banner.isVisible()
    stop(qtbot, window)

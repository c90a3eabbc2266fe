"""Nothing of an earlier run stays on screen. Run A (wgan-clip) gets a live edit and a pause,
then the user switches preset, then opens run B (another run folder): after each step, no panel
shows anything of A. One test per panel, each going through the whole story."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine import load_checkpoint, read_events
from engine.text import format_duration
from studio.panels.plots import EMPTY_RANGE
from studio.panels.samples import NO_SAMPLES
from studio.panels.samples.captions import WAITING
from studio.panels.steer import IDLE_STATUS
from studio.worker import live_threads
from tests.helpers import tiny_config

from .helpers import diverge_run, pause, stop, stopped_run, use, wait_state

PRESET = "toy-wgan-gp"


def run_a(qtbot, window) -> dict:
    """Run A: a clip edit 0.01 -> 0.05, live samples, a pause, the crosshair on the plots; then
    stopped. Returns what identifies it."""
    use(window, tiny_config(live=True, objective__kind="wgan-clip", optimiser__name="rmsprop",
                            objective__clip_value=0.01))
    window.start()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.steer.clip_spin.isEnabled(), timeout=30_000)
    window.steer.request("clip_value", 0.05)
    qtbot.waitUntil(lambda: window.steer.history.count() == 1, timeout=30_000)
    qtbot.waitUntil(lambda: window.model.samples is not None and window.plots.buf.n > 0, timeout=30_000)
    pause(qtbot, window)
    qtbot.waitUntil(lambda: any(text == "pause" for _, text in window.plots.markers), timeout=30_000)
    window.plots.refresh(force=True)
    window.plots.show_crosshair(float(window.plots.buf.view("gen_iter")[-1]))
    window._update_status()
    a = {"path": window.run_path, "samples": window.model.samples, "rows": window.plots.buf.n,
         "status": window.steer.status.text(), "elapsed": window.elapsed_label.text(), "title": window.windowTitle()}
    stop(qtbot, window)
    return a


def switch_preset(window, name: str = PRESET) -> None:
    """As the user does it: pick the preset in the toolbar's combo box."""
    combo = window.preset_combo
    combo.activated.emit(combo.findData(name))


def open_b(qtbot, window, tmp_path):
    run = stopped_run(tmp_path, "run-b")
    assert window.open_path(run)
    return run


def story(qtbot, window, tmp_path, panels) -> None:
    """The whole story once, with each panel's checks after each step (its checks of B last for
    the samples, which wait for B's pictures to be rebuilt). A failure names the panel."""
    checks = {name: make(qtbot, window) for name, make in panels.items()}
    steps = ("while A is shown", "after the preset switch", "with B open")

    def each(step: int, *args) -> None:
        for name, fns in checks.items():
            try:
                fns[step](*args)
            except AssertionError as e:
                raise AssertionError(f"{name}, {steps[step]}: {e}") from e

    a = run_a(qtbot, window)
    each(0, a)
    switch_preset(window)
    assert window.run_state == "idle" and window.preset_combo.currentData() == PRESET
    each(1, a)
    b = open_b(qtbot, window, tmp_path)
    each(2, a, b)


# ---------------------------------------------------------------------------------- per panel
# Each returns its checks (of A, after the preset switch, of B); one story runs them all.
def samples_checks(qtbot, window):
    toy = window.samples.toy

    def check_a(a):
        assert toy.payload is a["samples"] and "generator iteration" in toy.caption.text()

    def check_clean(a):
        assert window.samples.payload is None and toy.payload is None and window.model.samples is None
        assert toy.caption.text() == NO_SAMPLES
        assert len(toy.fake_item.data) == 0 and len(toy.real_item.data) == 0 and toy.field_item.image is None
        assert toy.colorbar.levels() == (-1, 1), "the colour bar does not keep A's critic values"

    def check_b(a, b):
        # B's samples are rebuilt from its checkpoint in the background: until then, none at all.
        assert toy.payload is None or toy.payload["gen_iter"] == 6
        qtbot.waitUntil(lambda: toy.payload is not None, timeout=60_000)
        assert toy.payload is not a["samples"] and toy.payload["gen_iter"] == 6
        assert "generator iteration 6" in toy.caption.text()

    return check_a, check_clean, check_b


def steer_checks(qtbot, window):
    steer = window.steer

    def check_a(a):
        assert a["status"].startswith("c = 0.05 since generator iteration")
        assert "0.01 → 0.05" in steer.history.item(0).text()

    def check_clean(a):
        assert steer.history.count() == 0 and steer.status.text() == IDLE_STATUS
        assert not steer.undo_button.isEnabled()
        cfg = window.config_panel.config()
        assert steer.objective == "wgan-gp" and steer.gp_lambda.value() == pytest.approx(cfg.objective.gp_lambda)
        assert steer.clip_spin.value() == pytest.approx(cfg.objective.clip_value)  # not A's 0.05

    def check_b(a, b):
        assert [steer.history.item(i).text() for i in range(steer.history.count())] == \
            [f"it {e['gen_iter']}   n_critic  5 → 3" for e in read_events(b / "events.jsonl") if e["type"] == "edit"]
        assert not steer.status.text().startswith("c = ") and steer.status.text().startswith("n_critic = 3")
        assert steer.n_critic.value() == 3 and steer.objective == "wgan-gp"

    return check_a, check_clean, check_b


def plots_checks(qtbot, window):
    plots = window.plots

    def check_a(a):
        assert a["rows"] > 0 and {"c 0.01→0.05", "pause"} <= {t for _, t in plots.markers}
        assert plots.readout.text().startswith("it ")

    def check_clean(a):
        assert plots.buf.n == 0 and plots.markers == [] and plots.readout.text() == ""
        for name, curve in plots.curves.items():
            x, _ = curve.getData()
            assert x is None or len(x) == 0, name
        assert not any(line.isVisible() for line in plots.crosshair.lines)
        # The empty plots do not keep the axes of A's iterations and values.
        for p in plots.plots:
            if p in (plots.lip_plot, plots.confident_plot):  # their lines at 1 (target, ceiling) stay in view
                (x0, x1), (y0, y1) = p.vb.viewRange()
                assert [x0, x1] == list(EMPTY_RANGE) and y0 < 1 < y1 and y1 - y0 < 2, p.vb.viewRange()
            elif p is not plots.lr_plot:
                assert p.vb.viewRange() == [list(EMPTY_RANGE), list(EMPTY_RANGE)], p.titleLabel.text

    def check_b(a, b):
        assert np.array_equal(plots.buf.view("gen_iter"), np.arange(1, 7))
        edits = [e for e in read_events(b / "events.jsonl") if e["type"] == "edit"]
        assert plots.markers == [(e["gen_iter"], "n_critic 5→3") for e in edits]
        assert plots.readout.text() == ""

    return check_a, check_clean, check_b


def log_checks(qtbot, window):
    lines = window.log_panel.lines

    def check_a(a):
        assert any(a["path"].name in line for line in lines()) and any("clip_value" in line for line in lines())

    def check_clean(a):
        assert not any(a["path"].name in line or "clip_value" in line or "paused" in line for line in lines())
        assert window.log_panel.run_path is None and window.log_panel.run_link.text() == "No run yet"

    def check_b(a, b):
        assert any(f"opened {b.name}" in line for line in lines())
        assert not any(a["path"].name in line or "clip_value" in line for line in lines())
        assert window.log_panel.run_path == b

    return check_a, check_clean, check_b


def status_bar_and_title_checks(qtbot, window):
    def check_a(a):
        assert a["elapsed"] != "elapsed –" and window.device_label.text() == "cpu"
        assert a["path"].name in a["title"] and window.act_export.isEnabled()

    def check_clean(a):
        window._update_status()
        total = window.config_panel.config().train.iterations
        assert window.iter_label.text() == f"0 / {total}" and window.progress.value() == 0
        assert window.elapsed_label.text() == "elapsed –" and window.rate_label.text() == "– it/s"
        assert window.eta_label.text() == "ETA –" and window.device_label.text() == ""
        assert window.path_label.text() == "" and "Idle" in window.state_label.text()
        assert a["path"].name not in window.windowTitle() and PRESET in window.windowTitle()
        assert not window.act_export.isEnabled(), "exporting would sample run A's generator"
        assert not window.is_active() and window.run_path is None and len(window.model.runs) == 1

    def check_b(a, b):
        window._update_status()
        end = [e for e in read_events(b / "events.jsonl") if "elapsed_s" in e][-1]  # B's training time
        assert window.iter_label.text() == "6 / 9"
        assert window.elapsed_label.text() == f"elapsed {format_duration(end['elapsed_s'])}"
        assert window.rate_label.text() == "– it/s" and window.device_label.text() == ""
        assert window.path_label.text() == str(b) and b.name in window.windowTitle()

    return check_a, check_clean, check_b


def test_no_panel_shows_anything_of_an_earlier_run(qtbot, window, tmp_path):
    story(qtbot, window, tmp_path, {"steer": steer_checks, "plots": plots_checks, "log": log_checks,
                                    "status bar and title": status_bar_and_title_checks,
                                    "samples": samples_checks})


# ---------------------------------------------------------------------------------- more ways in
def test_banner_of_a_diverged_run_goes_with_it(qtbot, window, tmp_path):
    diverge_run(qtbot, window)
    stop(qtbot, window)
    assert window.banner.isVisible(), "the rollback stays in view while its run is shown"

    switch_preset(window)
    assert not window.banner.isVisible() and window.banner.info is None
    open_b(qtbot, window, tmp_path)
    assert not window.banner.isVisible()


def test_a_new_run_shows_no_samples_of_the_earlier_one(qtbot, window):
    """With the Samples tab hidden no live pictures are made, so a new run has none to show:
    the earlier run's must not stand in for them."""
    use(window, tiny_config(live=True))
    window.start()
    qtbot.waitUntil(lambda: window.samples.toy.payload is not None, timeout=30_000)
    stop(qtbot, window)
    window.tabs.setCurrentWidget(window.distances_scroll)
    window.start()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.plots.buf.n > 0, timeout=30_000)
    assert window.samples.toy.payload is None and window.model.samples is None
    assert window.samples.toy.caption.text() == WAITING  # not the earlier run's, nor "start a run" (issue 35)
    stop(qtbot, window)


def test_samples_loading_for_an_earlier_opened_run_are_dropped(qtbot, window, tmp_path):
    """Opening run A starts rebuilding its samples from its checkpoint in the background; if run B
    (no checkpoint, no saved picture) is opened meanwhile, A's samples must not land on B."""
    a = stopped_run(tmp_path, "run-a")
    b = tmp_path / "runs" / "run-b"
    shutil.copytree(a, b)
    shutil.rmtree(b / "checkpoints")
    shutil.rmtree(b / "samples")
    assert window.open_path(a)
    assert window.tasks, "A's samples are being rebuilt in the background"
    assert window.open_path(b)
    window.damage_box.close()  # B has no checkpoint: the user is told, and reads it
    qtbot.waitUntil(lambda: not window.tasks, timeout=60_000)
    assert window.opened_run == b and window.samples.payload is None and window.model.samples is None
    assert window.samples.toy.caption.text() == NO_SAMPLES


def test_a_runs_own_grid_layout_goes_with_it(qtbot):
    """A payload may set its own samples per row (one row per class; an opened run's saved PNG is
    one picture): the next run's grid is laid out as the user set it again."""
    from studio.panels.samples import ImageGridView

    grid = ImageGridView()
    qtbot.addWidget(grid)
    grid.nrow_spin.setValue(6)
    grid.set_images(np.zeros((1, 3, 40, 40), np.float32), 6, nrow=1)  # a saved PNG grid
    assert grid.nrow == 1 and grid.user_nrow == 6
    grid.clear()
    assert grid.nrow == 6 and grid.images is None and grid.caption.text() == NO_SAMPLES
    grid.set_images(np.zeros((12, 1, 8, 8), np.float32), 1)
    assert grid.nrow == 6


def test_opening_something_else_while_a_run_trains_keeps_it_listed(qtbot, window, tmp_path):
    """Opening a configuration, a preset or a run folder while a run trains shows that instead;
    the run goes on, listed in the Run box, and switching back shows it again. Start stays
    refused while it trains (one run of the studio's own at a time)."""
    b = stopped_run(tmp_path, "run-b")
    toml = tmp_path / "other.toml"
    use(window, tiny_config(live=True))
    assert window.save_config_to(toml)
    window.start()
    wait_state(qtbot, window, "running")
    a = window.model.current
    assert window.load_preset(PRESET) and window.run_path is None and window.run_state == "idle"
    assert window.open_config(toml) and window.config_path == toml and window.run_path is None
    assert not window.act_start.isEnabled() and a.name in window.act_start.toolTip()
    assert not window.start(), "one run trained here at a time"
    assert window.open_run(b) and window.opened_run == b and not window.is_active()
    window.model.clear()                                   # nothing lets a run in progress go
    assert a.active and a in window.model.runs and window.switcher.count() == 2
    window.switcher.activated.emit([r for r in window.model.runs].index(a))
    assert window.model.current is a and window.is_active() and window.run_state == "running"
    stop(qtbot, window)


# ---------------------------------------------------------------------------------- two runs held
def shown(window) -> dict:
    """What the panels show now."""
    steer = window.steer
    return {"rows": window.plots.buf.n, "markers": {t for _, t in window.plots.markers},
            "history": [steer.history.item(i).text() for i in range(steer.history.count())],
            "samples": window.samples.toy.payload, "state": window.run_state, "title": window.windowTitle(),
            "log": window.log_panel.lines(), "path": window.log_panel.run_path}


def test_two_runs_held_at_once_each_shows_its_own(qtbot, window, tmp_path, monkeypatch):
    """Run A trains here (a clip edit, live samples) while run B (a stopped folder) is opened:
    switching the current run shows each one's own curves, samples, steer history and state, and
    A goes on training meanwhile."""
    b = stopped_run(tmp_path, "run-b")
    use(window, tiny_config(live=True, objective__kind="wgan-clip", optimiser__name="rmsprop",
                            objective__clip_value=0.01))
    window.start()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.steer.clip_spin.isEnabled(), timeout=30_000)
    window.steer.request("clip_value", 0.05)
    qtbot.waitUntil(lambda: window.steer.history.count() == 1 and window.samples.toy.payload is not None
                    and window.plots.buf.n > 0, timeout=30_000)
    a, a_path = window.model.current, window.run_path

    assert window.open_path(b)                      # while A trains
    qtbot.waitUntil(lambda: window.samples.toy.payload is not None, timeout=60_000)  # B's, from its checkpoint
    on_b = shown(window)
    assert on_b["rows"] == 6 and on_b["markers"] == {"n_critic 5→3"} and on_b["state"] in ("finished", "stopped")
    assert on_b["history"] == [f"it {e['gen_iter']}   n_critic  5 → 3"
                               for e in read_events(b / "events.jsonl") if e["type"] == "edit"]
    assert on_b["samples"]["gen_iter"] == 6 and on_b["path"] == b and "run-b" in on_b["title"]
    assert not any(a_path.name in line for line in on_b["log"]) and not window.steer.lr_critic.isEnabled()
    assert a.active and window.switcher.count() == 2
    assert not window.act_start.isEnabled() and a.name in window.act_start.toolTip()  # A trains here

    rows_before = a.rows
    window.act_previous_run.trigger()              # back to A
    assert window.model.current is a
    on_a = shown(window)
    assert on_a["state"] == "running" and on_a["path"] == a_path and a_path.name in on_a["title"]
    assert on_a["markers"] == {"c 0.01→0.05"} and on_a["history"][0].endswith("c  0.01 → 0.05")
    assert on_a["rows"] == a.rows >= rows_before and not any("run-b" in line for line in on_a["log"])
    assert on_a["samples"] is a.samples and on_a["samples"] is not on_b["samples"]
    assert window.steer.clip_spin.isEnabled() and window.act_pause.isEnabled()
    qtbot.waitUntil(lambda: window.plots.buf.n > rows_before, timeout=30_000)  # it went on training

    window.act_next_run.trigger()                  # and B again, as it was
    again = shown(window)
    assert window.model.current.key == b and again["rows"] == 6 and again["markers"] == {"n_critic 5→3"}
    assert again["history"] == on_b["history"] and again["state"] == on_b["state"]
    assert again["samples"] is on_b["samples"]

    # Closing asks once and stops the run trained here, though another run is shown: A writes its
    # checkpoint; nothing is left running.
    monkeypatch.delenv("WGAN_STUDIO_NO_CONFIRM")
    questions = []
    window.question_handler = lambda title, text: questions.append(title) or True
    assert window.close() is True
    assert questions == ["Stop training?"] and a.state == "stopped" and not live_threads()
    assert load_checkpoint(a_path / "checkpoints" / "latest.pt")["gen_iter"] == a.status.gen_iter

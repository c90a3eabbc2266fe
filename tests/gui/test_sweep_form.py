"""Run > New sweep: the form writes a sweep file the engine loads, refuses a bad one naming the key;
a sweep's scatter shows one point per trial (hover names the run, click opens it) and Compare best
overlays its best trials."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.sweep import load_sweep

from .helpers import stopped_run


@pytest.fixture
def dialog(qtbot, tmp_path):
    from studio.sweep_dialog import SweepDialog

    d = SweepDialog(tmp_path / "runs", base="toy-wgan-clip")
    qtbot.addWidget(d)
    return d


def set_search(dialog, key: str, values: str) -> None:
    from studio.sweep_dialog import add_row

    dialog.search.setRowCount(0)
    add_row(dialog.search, key, values)


def test_the_form_writes_a_sweep_file_the_engine_loads(dialog, tmp_path):
    set_search(dialog, "objective.clip_value", "0.001, 0.01, 0.1")
    dialog.trials.setValue(0)                          # grid: every combination
    dialog.sampler.setCurrentText("grid")
    dialog.metric.setCurrentText("w1_exact")
    dialog.out_edit.setText(str(tmp_path / "runs" / "clip-sweep"))
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted and dialog.error_label.text() == ""
    assert dialog.sweep_file == tmp_path / "runs" / "clip-sweep.toml"
    spec = load_sweep(dialog.sweep_file)
    assert spec.base == "toy-wgan-clip" and spec.sampler == "grid" and spec.metric == "w1_exact"
    assert spec.set == {"train.iterations": 2000} and list(spec.search) == ["objective.clip_value"]
    assert spec.grid_size() == 3


def test_the_form_refuses_a_bad_sweep_naming_the_key(dialog, tmp_path):
    dialog.out_edit.setText(str(tmp_path / "runs" / "bad"))
    set_search(dialog, "objective.clip_valu", "0.01, 0.1")
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted and "objective.clip_valu" in dialog.error_label.text()
    set_search(dialog, "optimiser.lr_critic", "1e-5 .. 1e-3 log")   # a range with the grid sampler
    dialog.sampler.setCurrentText("grid")
    dialog.accept()
    assert "optimiser.lr_critic" in dialog.error_label.text() and "grid" in dialog.error_label.text()
    assert not (tmp_path / "runs" / "bad.toml").exists()


def sweep_folder(tmp_path) -> Path:
    """A finished sweep of 3 trials as wgan-sweep leaves it (trials.csv and the trials' folders)."""
    out = tmp_path / "runs" / "clip-sweep"
    (out / "trials").mkdir(parents=True)
    (out / "sweep.toml").write_text('base = "toy-wgan-clip"\nmetric = "w1_exact"\ndirection = "minimize"\n')
    rows = [(0, "complete", 0.001, 0.30), (1, "complete", 0.01, 0.12), (2, "pruned", 0.1, 0.50)]
    lines = ["number,state,objective.clip_value,w1_exact,iteration,run_folder"]
    for n, state, clip, w1 in rows:
        name = f"{n:03d}-clip_value={clip}"
        run = stopped_run(tmp_path / f"made-{n}", "sweep-trial")   # trained once, copied
        shutil.move(str(run), out / "trials" / name)
        lines.append(f"{n},{state},{clip},{w1},6,trials/{name}")
    (out / "trials.csv").write_text("\n".join(lines) + "\n")
    return out


def test_a_sweeps_scatter_has_one_point_per_trial_and_compare_best(qtbot, window, tmp_path):
    out = sweep_folder(tmp_path)
    view = window.runs_view
    qtbot.waitUntil(lambda: sum(r.group == "sweep clip-sweep" for r in view.model.rows) == 3, timeout=20_000)
    view.select_paths([out / "trials" / "000-clip_value=0.001"])
    assert view.scatter_button.isEnabled()
    view.scatter_button.click()
    scatter = window.runs_dock.sweeps.scatters[out]
    points = scatter.points.points()
    assert len(points) == 3
    assert sorted(p.pos().y() for p in points) == pytest.approx([0.12, 0.30, 0.50])
    assert "best: 001-clip_value=0.01" in scatter.caption.text()
    scatter.on_hover(scatter.points, [points[1]], None)
    assert points[1].data().run_dir.name in scatter.hover_label.text()

    opened = []
    scatter.open_requested.connect(opened.append)
    scatter.on_click(scatter.points, [points[2]], None)
    assert opened == [points[2].data().run_dir]

    scatter.best_n.setValue(2)
    scatter.compare_best()
    assert [r.path.name for r in window.compare_window.runs] == ["001-clip_value=0.01", "000-clip_value=0.001"]
    window.compare_window.close()
    scatter.close()


def test_new_sweep_starts_wgan_sweep_and_its_trials_appear_in_the_runs_view(qtbot, window, tmp_path):
    from engine import save_config
    from engine.status import RunState
    from studio.sweep_dialog import add_row
    from tests.helpers import tiny_config

    base = tmp_path / "tiny.toml"
    save_config(tiny_config("toy-wgan-clip"), base)
    out = window.settings.runs_dir / "seeds"

    def fill(dialog) -> bool:   # what the user types into Run > New sweep
        dialog.base_combo.setCurrentText(str(base))
        dialog.trials.setValue(0)
        dialog.sampler.setCurrentText("grid")
        dialog.metric.setCurrentText("w1_exact")
        dialog.fixed.setRowCount(0)
        add_row(dialog.fixed, "train.iterations", "20")
        set_search(dialog, "train.seed", "7")
        dialog.out_edit.setText(str(out))
        dialog.accept()
        return dialog.result() == dialog.DialogCode.Accepted

    sweeps = window.runs_dock.sweeps
    sweeps.dialog_handler = fill
    assert sweeps.new_sweep()
    assert load_sweep(out.with_name("seeds.toml")).search["train.seed"].values == (7,)
    view = window.runs_view
    trial = lambda: next((r for r in view.model.rows if r.group == "sweep seeds"), None)  # noqa: E731
    qtbot.waitUntil(lambda: trial() is not None and trial().state == RunState.FINISHED, timeout=240_000)
    assert trial().gen_iter == 20 and trial().best is not None
    proc = sweeps.processes[0]
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=120_000)
    assert proc.returncode == 0 and (out / "trials.csv").exists()

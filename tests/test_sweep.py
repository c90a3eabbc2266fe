"""Sweeps (engine.sweep, wgan-sweep): the sweep file refused with the key named, a grid sweep's
folders and trials.csv, a SIGKILL mid-sweep and a rerun, two workers on one journal, pruning.

Each trial is a real ``wgan-train`` process on a tiny toy run (16-unit networks, 10 iterations,
one evaluation; 30 where a trial is killed)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.sweep import SweepError, is_sweep_folder, load_sweep, loads_sweep, read_trials, sweep_command
from tests.helpers import wait_until

pytest.importorskip("optuna")

TINY = """
[set]
"train.iterations" = {iters}
"train.eval_every" = 10
"train.checkpoint_every" = 10
"train.sample_every" = 0
"train.sample_count" = 64
"train.batch_size" = 16
"model.hidden" = 16
"train.device" = "cpu"
"""


def sweep_file(tmp_path: Path, search: str, *, head: str = 'sampler = "grid"', iters: int = 10) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'base = "toy-wgan-clip"\nmetric = "w1_exact"\n{head}\n{TINY.format(iters=iters)}\n'
                    f"[search]\n{search}\n")
    return path


SWEEP_CMD = [sys.executable, "-c", "import sys; from engine.cli import sweep_main; sys.exit(sweep_main())"]


def run_sweep(*argv) -> subprocess.CompletedProcess:
    """``wgan-sweep ARGV`` in this process (its trials are processes of their own)."""
    from engine.cli import sweep_main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = sweep_main([str(a) for a in argv])
    return subprocess.CompletedProcess(["wgan-sweep", *argv], code, out.getvalue(), err.getvalue())


def trial_starts(run: Path) -> list[str]:
    """The start and resume events of a run folder (one start: it was never run again)."""
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if line.strip()]
    return [e["type"] for e in events if e["type"] in ("start", "resume_run")]


# ----------------------------------------------------------------------------- the file


@pytest.mark.parametrize("body, key, allowed", [
    ('base = "toy-wgan-clip"\ntrials = 2\nmetric = "w1_exact"\nsampler = "tpe"\nsamples = 3\n'
     '[search]\n"train.seed" = [0, 1]', "samples", "base, trials"),
    ('base = "toy-wgan-clip"\ntrials = 2\nmetric = "w1_exact"\n[search]\n"objective.clip_valu" = [0.1]',
     '[search] "objective.clip_valu"', "objective.clip_value"),
    ('base = "toy-wgan-clip"\ntrials = 2\nmetric = "w1_exact"\n[search]\n"objective.clip_value" = [0.01, -1.0]',
     '[search] "objective.clip_value"', "(0, "),
    ('base = "toy-wgan-clip"\ntrials = 2\nmetric = "w1_exact"\n[search]\n"optimiser.lr_critic" = '
     '{low = 1e-3, high = 1e-5}',
     '[search] "optimiser.lr_critic"', "low < high"),
    ('base = "toy-wgan-clip"\nsampler = "grid"\nmetric = "w1_exact"\n[search]\n'
     '"optimiser.lr_critic" = {low = 1e-5, high = 1e-3, log = true}', '[search] "optimiser.lr_critic"', "a list"),
    ('base = "toy-wgan-clip"\ntrials = 2\nmetric = "sliced_w"\n[search]\n"train.seed" = [0, 1]', "metric", "w1_exact"),
    ('base = "toy-wgan-clip"\ntrials = 2\nmetric = "w1_exact"\n[set]\n"objective.kind" = "wgan-gq"\n'
     '[search]\n"train.seed" = [0, 1]', '[set] "objective.kind"', "wgan-gp"),
])
def test_a_bad_sweep_file_is_refused_naming_the_key_and_what_is_allowed(tmp_path, body, key, allowed):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(SweepError) as err:
        load_sweep(path)
    text = str(err.value)
    assert str(path) in text and key in text and allowed in text, text


def test_wgan_sweep_refuses_a_bad_file_before_anything_trains(tmp_path):
    path = sweep_file(tmp_path, '"objective.clip_value" = [0.01, -1.0]')
    r = run_sweep(path, "--out", tmp_path / "out")
    assert r.returncode == 2 and '[search] "objective.clip_value" = -1.0' in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_a_good_sweep_file_reads_with_its_defaults():
    spec = loads_sweep('base = "toy-wgan-clip"\nmetric = "modes_covered"\nsampler = "grid"\n[search]\n'
                       '"objective.clip_value" = [0.001, 0.01]\n"train.seed" = [0, 1, 2]')
    assert spec.trials == 6 and spec.direction == "maximize" and spec.pruner == "none"
    assert spec.trial_config({"objective.clip_value": 0.001, "train.seed": 2}).objective.clip_value == 0.001


# ----------------------------------------------------------------------------- running


def test_a_grid_sweep_trains_each_combination_once_and_names_the_best(tmp_path):
    path = sweep_file(tmp_path, '"objective.clip_value" = [0.001, 0.01, 0.1]')
    out = tmp_path / "sw"
    r = run_sweep(path, "--out", out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert is_sweep_folder(out)
    folders = sorted(p.name for p in (out / "trials").iterdir())
    assert len(folders) == 3 and all((out / "trials" / f / "summary.json").exists() for f in folders)
    table = read_trials(out)
    assert len(table.rows) == 3 and {r.state for r in table.rows} == {"complete"}
    assert sorted(row.params["objective.clip_value"] for row in table.rows) == [0.001, 0.01, 0.1]
    best = table.best
    assert best.value == min(row.value for row in table.rows)
    assert (out / "trials.csv").read_text().splitlines()[0] == \
        "number,state,objective.clip_value,w1_exact,iteration,run_folder"
    last = r.stdout.strip().splitlines()
    assert last[-2].startswith(f"best trial: {best.run_dir.name}") and last[-1].endswith("trials.csv")


def test_a_killed_sweep_run_again_ends_with_each_parameter_set_once(tmp_path):
    path = sweep_file(tmp_path, '"objective.clip_value" = [0.001, 0.01]', iters=30)
    out = tmp_path / "sw"
    proc = subprocess.Popen(sweep_command(path, out, workers=1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    second = None

    def second_has_a_checkpoint():
        nonlocal second
        found = sorted((out / "trials").glob("001-*")) if (out / "trials").is_dir() else []
        second = found[0] if found else None
        return second is not None and any((second / "checkpoints").glob("iter_*.pt"))

    try:
        wait_until(second_has_a_checkpoint, 180, proc=proc, what="the second trial's first checkpoint")
    finally:
        proc.kill()
        proc.wait()
    # the trial is told to stop (it dies with its sweep) and writes its checkpoint
    wait_until(lambda: (json.loads((second / "status.json").read_text()).get("state") not in ("running", "starting")),
               60, what="the orphaned trial to stop")
    r = run_sweep(path, "--out", out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    table = read_trials(out)
    assert len(table.rows) == 2 and {row.state for row in table.rows} == {"complete"}
    assert sorted(row.params["objective.clip_value"] for row in table.rows) == [0.001, 0.01]
    assert len(list((out / "trials").iterdir())) == 2
    first = sorted((out / "trials").glob("000-*"))[0]
    assert trial_starts(first) == ["start"]                       # finished before the kill: not run again
    assert trial_starts(second)[0] == "start" and "resume_run" in trial_starts(second)   # continued from its checkpoint
    assert "continuing 001-" in r.stderr


def test_two_worker_processes_on_one_journal_never_run_the_same_trial(tmp_path):
    path = sweep_file(tmp_path, '"objective.clip_value" = [0.001, 0.01]')
    out = tmp_path / "sw"
    cmd = SWEEP_CMD
    a = subprocess.Popen([*cmd, str(path), "--out", str(out), "--workers", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_until(lambda: (out / "storage.json").exists(), 120, proc=a, what="the sweep folder")
    b = subprocess.Popen([*cmd, "--join", str(out), "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    ra, rb = a.communicate(timeout=300), b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0, ra[1] + rb[1]

    def started(err: str) -> set[int]:
        return {int(line.split()[1].rstrip(":")) for line in err.splitlines()
                if line.startswith("trial ") and line.split(": ", 1)[1].startswith("0")}
    sa, sb = started(ra[1]), started(rb[1])
    assert not sa & sb and sa | sb == {0, 1}
    table = read_trials(out)
    assert len(table.rows) == 2 and {row.state for row in table.rows} == {"complete"}
    for run in (out / "trials").iterdir():
        assert trial_starts(run) == ["start"]


def test_a_hopeless_trial_is_pruned_marked_and_kept(tmp_path):
    # the generator at lr 1e-2 moves away (exact W1 up) while at 1e-9 it stays: the median rule
    # prunes the second trial at its first evaluation
    path = sweep_file(tmp_path, '"optimiser.lr_generator" = [1e-9, 1e-2]',
                      head='sampler = "grid"\npruner = "median"\nseed = 1')
    out = tmp_path / "sw"
    r = run_sweep(path, "--out", out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    table = read_trials(out)
    states = {row.params["optimiser.lr_generator"]: row.state for row in table.rows}
    assert states == {1e-9: "complete", 1e-2: "pruned"}, (states, r.stderr)
    pruned = next(row for row in table.rows if row.state == "pruned")
    assert pruned.run_dir.is_dir() and (pruned.run_dir / "metrics.csv").exists()
    assert pruned.value is not None


def test_a_sweep_kept_in_a_database_refuses_a_command_without_its_url(tmp_path):
    from engine.cli.wgan_sweep import open_storage
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    assert open_storage(tmp_path, url, create=True) == url
    assert json.loads((tmp_path / "storage.json").read_text()) == {"storage": url}
    with pytest.raises(ValueError, match="give --storage with that URL"):
        open_storage(tmp_path, None, create=False)
    assert open_storage(tmp_path, url, create=False) == url

"""The scripts in examples/ run as a user runs them (a new Python process each, tiny sizes), print
what they promise and write the files they say; and they use the engine's public API only."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import read_events, read_metrics

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# what the examples may import of the engine: its public API (engine/__init__.py) and the modules
# that docstring names as public, plus the follower
PUBLIC_MODULES = {"engine", "engine.follow", "engine.run_report", "engine.export", "engine.continuation"}
TINY_ITERATIONS = 30  # train_toy.py --tiny


def run_example(name: str, *args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's engine
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, str]:
    """One tiny run of train_toy.py: (its folder, its output)."""
    cwd = tmp_path_factory.mktemp("train")
    r = run_example("train_toy.py", "--tiny", "--out", "run", cwd=cwd)
    assert r.returncode == 0, r.stderr
    return cwd / "run", r.stdout


def test_train_toy_prints_its_evaluations_and_writes_a_run_folder(tiny_run):
    run, out = tiny_run
    assert f"toy-wgan-gp: wgan-gp on 8gaussians, MLP 3x64, batch 256, {TINY_ITERATIONS} iterations" in out
    assert "started on cpu" in out
    # an evaluation every 10 iterations: iteration, W-estimate, exact W1, modes covered
    for it in (10, 20, 30):
        assert any(line.startswith(f"iteration {it:5d}: W-estimate") and "exact W1" in line
                   and "modes covered" in line and "of 8" in line for line in out.splitlines()), out
    assert f"finished {TINY_ITERATIONS} iterations" in out and "last evaluation: exact W1" in out
    assert f"next: python examples/sample_checkpoint.py {run.name}" in out
    m = read_metrics(run / "metrics.csv")
    assert m["gen_iter"] == [float(i) for i in range(1, TINY_ITERATIONS + 1)]
    assert np.isfinite(m["w_estimate"]).all()
    assert np.isfinite([m["w1_exact"][i - 1] for i in (10, 20, 30)]).all()
    kinds = [ev["type"] for ev in read_events(run / "events.jsonl")]
    assert kinds[0] == "start" and kinds[-1] == "finish"
    assert (run / "checkpoints" / "latest.pt").is_file() and (run / "config.toml").is_file()
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [f"iter_{i:07d}.png" for i in (10, 20, 30)]


def test_train_toy_refuses_a_folder_that_is_not_empty(tiny_run, tmp_path):
    run, _ = tiny_run
    r = run_example("train_toy.py", "--tiny", "--out", str(run), cwd=tmp_path)
    assert r.returncode == 2 and "exists and is not empty" in r.stderr
    assert read_metrics(run / "metrics.csv")["gen_iter"][-1] == TINY_ITERATIONS  # untouched


def test_sample_checkpoint_saves_the_array_and_the_picture(tiny_run, tmp_path):
    run, _ = tiny_run
    r = run_example("sample_checkpoint.py", str(run), "-n", "100", "--seed", "3", "--out-dir", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"generator iteration {TINY_ITERATIONS}, wgan-gp on 8gaussians" in r.stdout
    assert "moving average" in r.stdout  # toy-wgan-gp keeps one (ema_decay 0.98)
    assert "100 points, mean (" in r.stdout
    samples = np.load(tmp_path / "out" / "samples.npy")
    assert samples.shape == (100, 2) and np.isfinite(samples).all()
    with Image.open(tmp_path / "out" / "samples.png") as img:
        assert img.size == (512, 512)
        assert img.text["gen_iter"] == str(TINY_ITERATIONS) and img.text["seed"] == "3"
    # the same seed draws the same samples
    again = run_example("sample_checkpoint.py", str(run), "-n", "100", "--seed", "3", "--out-dir", "again",
                        cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "again" / "samples.npy"), samples)


def test_sample_checkpoint_names_what_it_cannot_load(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_example("sample_checkpoint.py", str(tmp_path / "empty"), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("cannot load:")


def test_follow_run_follows_a_run_while_it_trains(tmp_path):
    """The follower starts before the run's folder exists, prints each evaluation and event as the
    run writes them, and ends with the run."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    follower = subprocess.Popen([sys.executable, str(EXAMPLES / "follow_run.py"), "run", "--poll", "0.2",
                                 "--timeout", "240"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        trained = run_example("train_toy.py", "--tiny", "--out", "run", cwd=tmp_path)
        out, err = follower.communicate(timeout=240)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert trained.returncode == 0, trained.stderr
    assert follower.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "following run"
    assert "event at iteration 0: start on cpu, 30 iterations" in lines
    for it in (10, 20, 30):
        assert any(line.startswith(f"iteration {it}: W-estimate") and "exact W1" in line for line in lines), out
    assert "new picture: samples/iter_0000030.png" in lines
    assert any(line.startswith("state: finished") for line in lines)
    assert "event at iteration 30: finish" in lines
    # the continuation rule's answer for a finished run: raise the iterations
    assert "as it is: run has done 30 of its 30 iterations: raise train.iterations (wgan-train --iters) above 30 " \
           "to continue it" in lines


def test_follow_run_reads_a_run_that_has_ended(tiny_run, tmp_path):
    run, _ = tiny_run
    r = run_example("follow_run.py", str(run), "--timeout", "60", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{run}: wgan-gp on 8gaussians, {TINY_ITERATIONS} of {TINY_ITERATIONS} iterations" in r.stdout
    assert "state: finished (30 iterations read so far)" in r.stdout
    assert "damaged:" not in r.stdout


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_examples_use_the_public_engine_api(script):
    tree = ast.parse((EXAMPLES / script).read_text(encoding="utf-8"))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            used |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            used.add(node.module)
    engine_modules = {m for m in used if m == "engine" or m.startswith("engine.")}
    assert engine_modules and engine_modules <= PUBLIC_MODULES, engine_modules - PUBLIC_MODULES
    assert "studio" not in {m.split(".")[0] for m in used}


def test_there_are_the_three_examples_the_readme_lists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert names == ["follow_run.py", "sample_checkpoint.py", "train_toy.py"]
    for name in names:
        assert f"examples/{name}" in readme

"""The queue's and a sweep's runs are started by engine.procs.engine_command: this interpreter
where there is one, the packaged studio's own executable with ``--engine NAME`` where there is none
(a user of the packaged studio who queues a run must see it train)."""

import subprocess
import sys
from pathlib import Path

from engine.cli import COMMANDS, engine_command_main
from engine.procs import engine_command

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable  # before a test pretends to be the packaged studio


def test_a_command_runs_with_this_interpreter_and_says_its_name(tmp_path):
    argv = engine_command("queue", tmp_path, "--list")
    assert argv[0] == sys.executable and argv[-2:] == [str(tmp_path), "--list"]
    done = subprocess.run(engine_command("queue", "--help"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "wgan-queue" in done.stdout


def test_the_packaged_studio_runs_a_command_through_its_own_entry(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/WGANStudio/WGANStudio")
    assert engine_command("train", "run.toml", "--out", Path("runs/a")) == [
        "/opt/WGANStudio/WGANStudio", "--engine", "train", "run.toml", "--out", str(Path("runs/a"))]
    # the entry script the bundle is built from hands such a command line to the engine, never to Qt
    entry = [PYTHON, str(ROOT / "scripts" / "studio_entry.py"), "--engine", "sweep", "--help"]
    done = subprocess.run(entry, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "wgan-sweep" in done.stdout, done.stderr


def test_an_unknown_engine_command_is_refused_naming_the_allowed_ones(capsys):
    assert engine_command_main("trian", []) == 2
    err = capsys.readouterr().err
    assert "'trian'" in err and all(name in err for name in COMMANDS)

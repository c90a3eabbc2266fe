"""What makes the code run on Linux, Windows and macOS alike (docs/guide/platforms.md): paths in a
run folder written on another system, replacing a file another handle has open (Windows), and
the refusal of torchrun jobs on Windows."""

from __future__ import annotations

import errno
import os
import sys
import threading

import numpy as np
import pytest

from engine import ConfigError
from engine.config import load_config
from engine.config.paths import local_path
from engine.distributed import platform_refusal
from engine.io import atomic_write_bytes, replace_file
from engine.rundir import read_metrics


def _points_run(tmp_path):
    """A run of 5 iterations on a CSV of points (the folder keeps the points: data/points.csv)."""
    from engine.cli import train_main

    rng = np.random.default_rng(0)
    src = tmp_path / "mine.csv"
    src.write_text("x,y\n" + "\n".join(f"{a:.4f},{b:.4f}" for a, b in rng.normal(size=(40, 2))) + "\n")
    run = tmp_path / "run"
    tiny = ["--set", "model.hidden=16", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=5",
            "--set", "train.sample_every=0", "--set", "train.eval_every=0", "--device", "cpu", "--quiet"]
    assert train_main(["--preset", "toy-wgan-gp", "--set", 'data.name="points"', "--set", f'data.path="{src}"',
                       "--out", str(run), "--iters", "5", *tiny]) == 0
    return run


def test_a_run_folder_written_on_windows_opens_and_continues_here(tmp_path):
    """config.toml as Windows would write it by hand (data\\points.csv): the relative path is read
    with either separator, the run opens, continues and keeps its data."""
    from engine.cli import train_main
    from engine.run_report import inspect_run

    run = _points_run(tmp_path)
    toml = run / "config.toml"
    text = toml.read_text("utf-8")
    assert 'path = "data/points.csv"' in text  # the engine writes "/": Windows reads it too
    toml.write_text(text.replace('path = "data/points.csv"', 'path = "data\\\\points.csv"'), "utf-8")
    cfg = load_config(toml)
    assert cfg.data.path == "data\\points.csv" and cfg.resolved_data_path() == run / "data" / "points.csv"
    report = inspect_run(run)
    assert report.config is not None and not report.problems, report.problems
    assert train_main(["--resume", str(run), "--iters", "8", "--quiet"]) == 0
    assert read_metrics(run / "metrics.csv")["gen_iter"][-1] == 8


def test_an_absolute_path_of_another_system_is_refused_with_the_file_and_key(tmp_path, capsys):
    """C:\\Users\\a\\data\\digits.npz cannot exist on Linux or macOS (nor /home/a/... on Windows):
    the message names the file, the key, the value and what to write instead."""
    toml = tmp_path / "run" / "config.toml"
    toml.parent.mkdir()
    toml.write_text('[data]\nname = "npz"\npath = "C:\\\\Users\\\\a\\\\data\\\\digits.npz"\n', "utf-8")
    cfg = load_config(toml)
    if os.name == "nt":
        assert cfg.resolved_data_path() == __import__("pathlib").Path("C:/Users/a/data/digits.npz")
        return
    with pytest.raises(ConfigError) as err:
        cfg.resolved_data_path()
    msg = str(err.value)
    assert str(toml) in msg and "[data] path" in msg and repr("C:\\Users\\a\\data\\digits.npz") in msg, msg
    assert "absolute Windows path" in msg and "relative to the configuration's folder" in msg, msg
    from engine.cli import train_main  # what a user of the command line sees: the message, exit 2

    assert train_main([str(toml), "--out", str(tmp_path / "again"), "--iters", "2", "--quiet"]) == 2
    assert "is an absolute Windows path" in capsys.readouterr().err and not (tmp_path / "again").exists()
    # the same rule the other way round, as Windows reads a Linux path
    with pytest.raises(ConfigError, match="absolute path of Linux or macOS"):
        local_path("/home/a/data/digits.npz", file=str(toml), windows=True)
    assert local_path("data\\mnist", windows=False).as_posix() == "data/mnist"
    assert local_path("data/mnist", windows=False).as_posix() == "data/mnist"


def test_replace_waits_for_a_reader_to_let_go_then_says_which_file():
    """Windows cannot replace a file another handle has open: the replace is tried again (a
    follower reads status.json for milliseconds) and then fails with the file named. The refusal
    is Windows' own; here it is played by a replace that refuses the first times."""
    now = [0.0]
    calls = []

    def refusing(times):
        def replace(src, dst):
            calls.append(dst)
            if len(calls) <= times:
                raise PermissionError(errno.EACCES, "Access is denied", dst)
        return replace

    sleep = lambda s: now.__setitem__(0, now[0] + s)  # noqa: E731 - an injected clock
    replace_file("a.tmp", "status.json", retry_s=5.0, replace=refusing(3), sleep=sleep, clock=lambda: now[0])
    assert len(calls) == 4 and 0 < now[0] < 1.0
    calls.clear()
    with pytest.raises(PermissionError) as err:
        replace_file("a.tmp", "latest.pt", retry_s=2.0, replace=refusing(10**6), sleep=sleep, clock=lambda: now[0])
    assert err.value.filename == "latest.pt" and "another program may have it open" in str(err.value)
    calls.clear()
    with pytest.raises(PermissionError):  # no retry where an open file never stops a rename
        replace_file("a.tmp", "x", retry_s=0.0, replace=refusing(1), sleep=sleep, clock=lambda: now[0])
    assert len(calls) == 1


@pytest.mark.skipif(sys.platform != "win32", reason="only Windows refuses to replace a file that is open")
def test_an_atomic_write_waits_for_a_reader_on_windows(tmp_path):
    path = tmp_path / "status.json"
    path.write_text("old")
    fh = open(path, "rb")  # noqa: SIM115 - held open by a "reader" for 0.3 s
    threading.Timer(0.3, fh.close).start()
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"


def test_torchrun_jobs_are_refused_on_windows_only():
    why = platform_refusal("win32")
    assert "not supported on Windows" in why and "one process" in why and "open its run folder" in why
    assert platform_refusal("linux") is None and platform_refusal("darwin") is None
    assert (platform_refusal() is None) == (sys.platform != "win32")




def test_text_files_are_utf8_with_newlines_whatever_the_locale(tmp_path):
    """Windows' default text encoding is its code page (and "\\r\\n"): atomic_open's text mode names
    UTF-8 and "\\n". Played here by an ASCII locale, where a default open() cannot write "é"."""
    import subprocess

    out = tmp_path / "frechet.csv"
    code = ("import sys; from engine.io import atomic_open\n"
            "with atomic_open(sys.argv[1], 'w') as fh: fh.write('distance,Fr\\u00e9chet\\n1,2\\n')")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run([sys.executable, "-c", code, str(out)], env=env, capture_output=True, text=True,
                          timeout=120, cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_bytes() == "distance,Fréchet\n1,2\n".encode()


def test_text_io_in_the_code_names_its_encoding():
    """Every open()/read_text()/write_text()/fdopen() of engine/ and studio/ in text mode says
    encoding=...: on Windows the default is the code page, not UTF-8."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    bad = []
    for path in [*(root / "engine").rglob("*.py"), *(root / "studio").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            kwargs = {k.arg for k in node.keywords}
            if name not in ("open", "read_text", "write_text", "fdopen") or "encoding" in kwargs:
                continue
            if isinstance(f, ast.Attribute) and name == "open" and not (isinstance(f.value, ast.Name)
                                                                         and f.value.id in ("io", "builtins")):
                continue  # Image.open, os.open, box.open(), ... are not text files
            args = node.args
            if name == "read_text" and args or name == "write_text" and len(args) >= 2:
                continue  # the encoding given by position
            mode = next((a.value for a in args[1:2] if isinstance(a, ast.Constant)), None)
            mode = next((k.value.value for k in node.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)),
                        mode)
            passed_on = mode is None and len(args) >= 2
            if name in ("open", "fdopen") and (passed_on or isinstance(mode, str) and "b" in mode):
                continue  # binary, or a mode the caller passes on (atomic_open)
            bad.append(f"{path.relative_to(root)}:{node.lineno} {name}()")
    assert not bad, "text I/O without an encoding: " + ", ".join(bad)


def test_no_two_files_differ_only_in_case_and_no_name_windows_refuses():
    """macOS and Windows file systems ignore case, and Windows refuses some names and characters:
    a checkout must hold the same files everywhere."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    parts = ("engine", "studio", "resources", "tests", "docs", "scripts", "benchmarks", "examples", ".github")
    files = [p.relative_to(root).as_posix() for part in parts for p in (root / part).rglob("*")
             if "__pycache__" not in p.parts]
    files += [p.name for p in root.iterdir() if p.is_file()]
    seen: dict[str, str] = {}
    for f in files:
        assert seen.setdefault(f.lower(), f) == f, f"{f} and {seen[f.lower()]} differ only in case"
        for name in f.split("/"):
            assert not re.search(r'[<>:"|?*\\]', name), f"{f}: a character Windows refuses in a file name"
            stem = name.split(".")[0].upper()
            assert stem not in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                                *(f"LPT{i}" for i in range(1, 10))}, f"{f}: a name Windows reserves"


def test_no_posix_only_calls_creep_into_the_code():
    """What docs/guide/platforms.md's audit found absent stays absent: no fork (a queue, a sweep or
    a multi-process run starts fresh interpreters: subprocess, or multiprocessing's "spawn"), no
    fcntl locks without their msvcrt fallback, no os.rename (os.replace through
    engine.io.replace_file), no SIGKILL sent outside the guarded torchrun paths."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    guarded = {"engine/cli/torchrun_launch.py", "studio/sources.py"}  # POSIX-only, refused on Windows
    bad = []
    for path in [*(root / "engine").rglob("*.py"), *(root / "studio").rglob("*.py")]:
        name = path.relative_to(root).as_posix()
        text = path.read_text("utf-8")
        for pattern, why in ((r"\bos\.fork\b|\bfork\(\)|[\"']fork[\"']|[\"']forkserver[\"']", "fork"),
                             (r"^\s*(import fcntl|from fcntl)", "fcntl"),
                             (r"\bos\.rename\(|\.rename\(", "rename (use engine.io.replace_file)")):
            if re.search(pattern, text, re.M) and not (why == "fcntl" and "import msvcrt" in text):
                bad.append(f"{name}: {why}")  # fcntl beside its msvcrt fallback is a portable lock
        if re.search(r"\bimport multiprocessing|from multiprocessing", text) and "get_context(\"spawn\")" not in text:
            bad.append(f"{name}: multiprocessing without get_context(\"spawn\")")
        # signal.SIGKILL does not exist on Windows, and os.kill(pid, SIGTERM) there is TerminateProcess
        # (no checkpoint); a handler for SIGTERM (signal.signal) works everywhere.
        if re.search(r"signal\.SIGKILL\b|\bkillpg\b|os\.kill\([^)]*SIG(TERM|KILL)", text) and name not in guarded:
            bad.append(f"{name}: a POSIX signal")
    assert not bad, bad

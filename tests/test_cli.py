import contextlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli import sample_main, train_main
from engine.rundir import read_metrics
from tests.helpers import train_tiny_digits

BIN = Path(sys.executable).parent
TINY = ["--set", "model.hidden=16", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=5",
        "--set", "train.sample_every=5", "--set", "train.eval_every=5", "--device", "cpu"]


def run_cli(name, *args, own_process=False, **kw):
    """Run a console script as a user does. In this process by default (what the console script
    calls, with its output captured): the same code, without a second start of Python and PyTorch
    per call. ``own_process=True`` runs the installed script itself."""
    argv = [str(a) for a in args]
    if own_process:
        exe = BIN / name
        assert exe.is_file(), f"console script {name} is not installed next to {sys.executable}"
        return subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=300, **kw)
    main = {"wgan-train": train_main, "wgan-sample": sample_main}[name]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's usage errors
            code = e.code
    return subprocess.CompletedProcess([name, *argv], code, out.getvalue(), err.getvalue())


def test_list_presets_prints_each_with_a_description():
    r = run_cli("wgan-train", "--list-presets")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("toy-wgan-gp") and "(default)" in lines[0]
    assert len(lines) >= 7 and all(len(line.split(None, 1)) == 2 for line in lines)


def test_train_then_sample_end_to_end(tmp_path):
    out = tmp_path / "run"
    r = run_cli("wgan-train", "--preset", "toy-wgan-gp", "--out", out, "--iters", 10, "--seed", 3, *TINY,
                "--set", "train.eval_every=3", own_process=True)
    assert r.returncode == 0, r.stderr
    assert "finished at iteration 10" in r.stderr and "it 10/10" in r.stderr and "ETA" in r.stderr
    assert "W-estimate vs exact W1 over the 3 evaluations: Spearman rank correlation" in r.stderr
    assert read_metrics(out / "metrics.csv")["gen_iter"][-1] == 10
    assert "seed = 3" in (out / "config.toml").read_text()
    r = run_cli("wgan-sample", out, "-n", 100, "--out", tmp_path / "s.npy", "--seed", 1, own_process=True)
    assert r.returncode == 0, r.stderr
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (100, 2) and np.isfinite(x).all()
    r = run_cli("wgan-sample", out / "checkpoints" / "iter_0000005.pt", "-n", 50, "--out", tmp_path / "s.png")
    assert r.returncode == 0, r.stderr
    img = Image.open(tmp_path / "s.png")
    assert img.size == (512, 512) and img.text["gen_iter"] == "5" and "wgan-gp" in img.text["config"]
    # an existing file is not overwritten without --force
    r = run_cli("wgan-sample", out, "-n", 5, "--out", tmp_path / "s.png")
    assert r.returncode == 2 and "exists" in r.stderr


def test_image_samples_are_a_grid_and_npy_in_data_space(tmp_path):
    out = tmp_path / "digits"
    assert train_tiny_digits(out, "digits-wgan-gp", 4) == 0
    assert sample_main([str(out), "-n", "12", "--out", str(tmp_path / "g.npy")]) == 0
    x = np.load(tmp_path / "g.npy")
    assert x.shape == (12, 1, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert sample_main([str(out), "-n", "12", "--nrow", "4", "--out", str(tmp_path / "g.png")]) == 0
    img = Image.open(tmp_path / "g.png")
    assert img.mode == "L" and img.width > img.height  # 4 per row, 3 rows


@pytest.mark.parametrize("args, message", [
    (["--set", "objective.clip_value=-2"], "[objective] clip_value = -2: too small"),
    (["--set", "objective.kind=wgan"], "'wgan'"),
    (["--preset", "no-such"], "no such preset"),
    (["--set", "data.name='folder'", "--set", "data.path='/nonexistent/images'"], "/nonexistent/images"),
])
def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path, args, message):
    r = run_cli("wgan-train", "--out", tmp_path / "x", *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("flag, value, message", [
    ("--iters", -10, "error: --iters -10: too small (allowed: an integer in [1, "),
    ("--seed", -1, "error: --seed -1: too small"),
])
@pytest.mark.parametrize("where", ["--out", "--resume", "--nproc-per-node"])
def test_a_bad_flag_value_is_reported_as_that_flag(tmp_path, flag, value, message, where):
    """Not as a --set error: the user never typed --set. The same for a new run, a continued one
    and the launcher of several processes (before any process starts)."""
    folder = ["--out", tmp_path / "x"] if where != "--resume" else ["--resume", tmp_path / "x"]
    if where == "--nproc-per-node":
        folder += ["--nproc-per-node", 2]
    r = run_cli("wgan-train", *folder, flag, value)
    assert r.returncode == 2 and r.stderr.startswith(message), r.stderr
    assert "--set" not in r.stderr and not (tmp_path / "x").exists()


def test_terminal_progress_prints_each_report_and_no_speed_it_does_not_know():
    from engine.cli.terminal_progress import TerminalProgress
    from engine.status import RunState, RunStatus

    stream = io.StringIO()
    progress = TerminalProgress(stream, interval_s=0.0)
    progress.on_status(RunStatus(RunState.RUNNING, 0, 10))  # a change of state, no report: nothing printed
    progress.on_metrics({"w_estimate": np.array([0.7, 0.5]), "w1_exact": np.array([0.3, np.nan])})
    progress.on_status(RunStatus(RunState.RUNNING, 5, 10, its_per_sec=2.0, elapsed_s=2.5))
    progress.on_metrics({"w_estimate": np.array([0.25])})
    progress.on_status(RunStatus(RunState.STOPPING, 6, 10, its_per_sec=2.0, elapsed_s=3.0))
    progress.on_event({"type": "edit", "gen_iter": 6, "key": "lr_critic", "old": 1e-4, "new": 2e-4})
    assert stream.getvalue().splitlines() == [
        "it 5/10  2.00 it/s  elapsed 0:02  ETA 0:02  W_est 0.5000  W1 0.3000",
        "it 6/10  2.00 it/s  elapsed 0:03  ETA --:--  W_est 0.2500  W1 0.3000",  # stopping: no ETA
        "[it 6] edit lr_critic 0.0001 -> 0.0002",
    ]


def test_config_file_errors_name_the_file(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[train]\nbatch_size = 'big'\n")
    r = run_cli("wgan-train", cfg, "--out", tmp_path / "x")
    assert r.returncode == 2 and str(cfg) in r.stderr and "batch_size" in r.stderr and "Traceback" not in r.stderr


def test_out_must_not_hold_a_run_and_resume_continues_it(tmp_path):
    out = tmp_path / "run"
    assert train_main(["--out", str(out), "--iters", "5", "--quiet", *TINY]) == 0
    assert train_main(["--out", str(out), "--iters", "5", "--quiet", *TINY]) == 2
    assert train_main(["--resume", str(out), "--iters", "8", "--quiet"]) == 0
    assert read_metrics(out / "metrics.csv")["gen_iter"] == list(range(1, 9))


def test_mnist_preset_trains_on_idx_files_in_a_folder(tmp_path):
    """The MNIST preset reads the IDX layout MNIST ships in (gzip here), at 32 px, with labels."""
    import gzip
    import struct

    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    n = 70
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes()))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 0x801, n) + labels.tobytes()))
    out = tmp_path / "run"
    r = run_cli("wgan-train", "--preset", "mnist-wgan-gp", "--set", f"data.path={folder}", "--out", out,
                "--iters", 2, "--set", "train.batch_size=8", "--set", "model.features=8", "--set", "train.eval_every=0",
                "--set", "train.sample_every=2", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert read_metrics(out / "metrics.csv")["gen_iter"] == [1, 2]
    assert "name = \"mnist\"" in (out / "config.toml").read_text()
    r = run_cli("wgan-train", "--preset", "mnist-wgan-gp", "--set", f"data.path={tmp_path / 'nowhere'}", "--out",
                tmp_path / "run2", "--iters", 1, "--device", "cpu")
    assert r.returncode != 0 and "nowhere: no such file or folder" in r.stderr


def test_resume_with_a_damaged_latest_continues_from_the_newest_good_checkpoint_and_names_it(tmp_path):
    out = tmp_path / "run"
    assert train_main(["--out", str(out), "--iters", "15", "--quiet", *TINY]) == 0
    ckpts = out / "checkpoints"
    (ckpts / "latest.pt").unlink()  # a hard link to iter_0000015.pt: damage each file on its own
    (ckpts / "latest.pt").write_bytes(b"\0" * 4096)
    good = (ckpts / "iter_0000015.pt").read_bytes()
    (ckpts / "iter_0000015.pt").unlink()
    (ckpts / "iter_0000015.pt").write_bytes(good[: len(good) // 2])  # cut short
    r = run_cli("wgan-train", "--resume", out, "--iters", "18", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "continuing from checkpoints/iter_0000010.pt (generator iteration 10)" in r.stderr
    assert "checkpoints/latest.pt: not a readable checkpoint" in r.stderr
    assert "checkpoints/iter_0000015.pt: not a readable checkpoint" in r.stderr
    assert "latest.pt.damaged" in r.stderr and (ckpts / "latest.pt.damaged").read_bytes() == b"\0" * 4096
    assert read_metrics(out / "metrics.csv")["gen_iter"] == list(range(1, 19))  # 11-15 trained again, once


def test_resume_without_a_loadable_checkpoint_says_so(tmp_path):
    out = tmp_path / "run"
    assert train_main(["--out", str(out), "--iters", "5", "--quiet", *TINY]) == 0
    for p in (out / "checkpoints").glob("*.pt"):
        p.unlink()
        p.write_bytes(b"garbage")
    r = run_cli("wgan-train", "--resume", out, "--iters", "8")
    assert r.returncode == 2 and "no checkpoint of it loads" in r.stderr and "iter_0000005.pt" in r.stderr
    assert "Traceback" not in r.stderr

"""Killing the trainer at any moment never loses the run (issue: never lose a run).

A real training process is SIGKILLed again and again, at random moments and in the middle of
checkpoint writes; after each kill the run folder must hold a loadable checkpoint, a metrics.csv
of whole rows, and resume must continue it.
"""

import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine import load_checkpoint
from engine.rundir import read_metrics
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[1]

# The child trains (or resumes) forever-ish. With MIDWRITE set, every checkpoint write first
# writes half of its bytes, touches a marker and lingers, so the parent can kill it right there.
CHILD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, os.environ["ROOT"])
    import engine.checkpoint as ck
    import engine.io as eio
    if os.environ.get("MIDWRITE"):
        real_save = ck.torch.save
        def slow_save(obj, fh):
            import io
            buf = io.BytesIO(); real_save(obj, buf); data = buf.getvalue()
            fh.write(data[: len(data) // 2]); fh.flush()
            open(os.environ["MIDWRITE"], "w").close()
            time.sleep(30)
            fh.write(data[len(data) // 2:])
        ck.torch.save = slow_save
    from engine.cli import train_main
    run = os.environ["RUN"]
    if os.path.exists(os.path.join(run, "checkpoints", "latest.pt")):
        sys.exit(train_main(["--resume", run, "--iters", "100000", "--quiet"]))
    sys.exit(train_main(["--out", run, "--iters", "100000", "--quiet", "--device", "cpu",
                         "--set", "model.hidden=64", "--set", "train.batch_size=32",
                         "--set", "train.checkpoint_every=3", "--set", "train.sample_every=0",
                         "--set", "train.eval_every=0"]))
""")


def start(run, midwrite=None):
    env = dict(os.environ, ROOT=str(ROOT), RUN=str(run))
    if midwrite:
        env["MIDWRITE"] = str(midwrite)
    return subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def check_run_folder(run):
    state = load_checkpoint(run)  # loadable after every kill
    text = (run / "metrics.csv").read_text()
    assert text.endswith("\n"), "metrics.csv ends in a cut row"
    ncols = text.splitlines()[0].count(",")
    assert all(line.count(",") == ncols for line in text.splitlines())
    return state["gen_iter"]


@pytest.mark.slow
def test_sigkill_at_random_moments_and_mid_checkpoint_never_loses_the_run(tmp_path):
    run = tmp_path / "run"
    rng = random.Random(1234)
    kills = midwrite_kills = 0
    last_ckpt = 0
    for cycle in range(12):
        mid = cycle % 3 == 2  # every third kill lands inside a checkpoint write, the others at random
        marker = tmp_path / f"mid{cycle}"
        proc = start(run, midwrite=marker if mid else None)
        try:
            need = last_ckpt + 2

            def progressed(need=need):
                return ((run / "checkpoints" / "latest.pt").is_file() and (run / "metrics.csv").is_file()
                        and len((run / "metrics.csv").read_text().splitlines()) > need)

            wait_until(progressed, proc=proc, what='training progress')
            if mid:
                wait_until(marker.exists, proc=proc, what='the mid-write marker')
                midwrite_kills += 1
            else:
                time.sleep(rng.uniform(0.0, 0.6))
        finally:
            proc.kill()  # SIGKILL on Linux and macOS, TerminateProcess on Windows: no chance to clean up
            proc.wait()
        kills += 1
        gen = check_run_folder(run)
        assert gen >= last_ckpt, "a kill lost checkpointed progress"
        last_ckpt = gen
    assert kills == 12 and midwrite_kills == 4
    # no temp file from an interrupted write is mistaken for a checkpoint; the run resumes and finishes
    from engine.cli import train_main
    assert train_main(["--resume", str(run), "--iters", str(last_ckpt + 4), "--quiet"]) == 0
    rows = read_metrics(run / "metrics.csv")["gen_iter"]
    assert rows == list(range(1, last_ckpt + 5)), "rows missing or repeated after resumes"
    assert load_checkpoint(run)["gen_iter"] == last_ckpt + 4

"""Run > Start with N local processes: the studio starts a data-parallel job (wgan-train
--nproc-per-node 2: torchrun and two gloo processes) as a child process and follows its folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal

import pytest

from engine import load_checkpoint
from engine.rundir import read_events
from studio.sources import ProcessSource
from tests.gui.helpers import use
from tests.helpers import child_pids, rank_of, tiny_config


def start_job(window, monkeypatch, runs, **overrides) -> ProcessSource:
    """A tiny run started as a job of 2 local processes, its folder in ``runs``; its source."""
    monkeypatch.setenv("WGAN_STUDIO_RUNS", str(runs))
    use(window, tiny_config(model__hidden=16, train__threads=1, **overrides))
    assert window.start_processes(2)
    return window.model.source


LIVE_JOB = dict(live=True, train__checkpoint_every=0)


@pytest.mark.posix_only("data-parallel jobs of several processes are refused on Windows")
def test_two_local_processes_followed_and_stopped_cleanly_on_close(qtbot, window, tmp_path, monkeypatch):
    source, model = start_job(window, monkeypatch, tmp_path, **LIVE_JOB), window.model
    assert isinstance(source, ProcessSource) and window.is_active()
    qtbot.waitUntil(lambda: model.rows >= 5 and model.state == "running", timeout=180_000)
    path = source.path
    job = source.config_path.parent   # the job's temporary folder (its config and torchrun's output)
    assert job.name.startswith("wgan-job-") and job.is_dir()
    window.close()  # asks (answered yes in tests), then stops the job cleanly
    assert source.proc.wait(120) == 0, source.log_tail()
    assert not job.exists(), "the job's temporary folder is removed (issue 35 point 17)"
    kinds = [e["type"] for e in read_events(path / "events.jsonl")]
    assert kinds[0] == "start" and kinds[-1] == "stop"
    state = load_checkpoint(path / "checkpoints" / "latest.pt")
    assert state["dist"]["world_size"] == 2


@pytest.mark.linux_only("finds the ranks through /proc")
def test_a_job_whose_rank_dies_keeps_its_folder_and_log_when_the_window_closes(qtbot, window, tmp_path, monkeypatch):
    """Its job.log says why it failed: neither its end nor closing the window may remove it."""
    source, model = start_job(window, monkeypatch, tmp_path, **LIVE_JOB), window.model
    qtbot.waitUntil(lambda: model.rows >= 2, timeout=180_000)
    job = source.config_path.parent
    workers = [w for a in child_pids(source.proc.pid) for w in child_pids(a)]
    try:
        rank1 = [w for w in workers if rank_of(w) == 1]
        assert rank1, f"no rank 1 among {workers}"
        os.kill(rank1[0], signal.SIGKILL)   # torchrun then ends the other and fails
        assert source.proc.wait(120) != 0
        window.close()
        assert not source.ended_cleanly
        assert (job / "job.log").is_file(), "the failed job's output stays to be read"
    finally:
        for pid in workers:  # nothing outlives the test, whatever failed
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(job, ignore_errors=True)


@pytest.mark.posix_only("data-parallel jobs of several processes are refused on Windows")
def test_a_job_that_finishes_removes_its_folder_while_the_window_stays_open(qtbot, window, tmp_path, monkeypatch):
    source = start_job(window, monkeypatch, tmp_path, train__iterations=8, train__eval_every=0)
    job = source.config_path.parent
    qtbot.waitUntil(lambda: not window.is_active(), timeout=180_000)
    assert source.ended_cleanly and window.model.state == "finished"
    assert not job.exists(), "a job that ended cleanly leaves no temporary folder behind (issue 35 point 17)"

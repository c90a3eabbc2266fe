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


@pytest.mark.posix_only("data-parallel jobs of several processes are refused on Windows")
def test_two_local_processes_followed_and_stopped_cleanly_on_close(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("WGAN_STUDIO_RUNS", str(tmp_path))
    use(window, tiny_config(live=True, model__hidden=16, train__checkpoint_every=0, train__threads=1))
    assert window.start_processes(2)
    source, model = window.model.source, window.model
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
    monkeypatch.setenv("WGAN_STUDIO_RUNS", str(tmp_path))
    use(window, tiny_config(live=True, model__hidden=16, train__checkpoint_every=0, train__threads=1))
    assert window.start_processes(2)
    source, model = window.model.source, window.model
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
    monkeypatch.setenv("WGAN_STUDIO_RUNS", str(tmp_path))
    use(window, tiny_config(model__hidden=16, train__threads=1, train__iterations=8, train__eval_every=0))
    assert window.start_processes(2)
    source = window.model.source
    job = source.config_path.parent
    qtbot.waitUntil(lambda: not window.is_active(), timeout=180_000)
    assert source.ended_cleanly and window.model.state == "finished"
    assert not job.exists(), "a job that ended cleanly leaves no temporary folder behind (issue 35 point 17)"

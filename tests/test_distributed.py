"""Distributed data-parallel training (engine.distributed), on the CPU with gloo.

Two processes run every in-process scenario once (tests/dist_worker.py: torch imported once per
process); one test goes through the real command line (wgan-train --nproc-per-node 2, which starts
torchrun) and kills a rank. No wall-clock assertion: the timeouts are upper bounds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine import ConfigError, Trainer, load_checkpoint
from engine.data.images import ImageData
from engine.distributed import ENTRY_MODULE, ShardedImages, check_config, local_batch, rank_seed
from engine.rundir import read_events
from tests.dist_worker import equivalence_configs
from tests.helpers import child_pids, rank_of, tiny_config, wait_until

ROOT = Path(__file__).resolve().parent.parent
# Jobs of several processes are refused on Windows (engine.distributed.platform_refusal).
JOBS = pytest.mark.posix_only("data-parallel jobs of several processes are refused on Windows")


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, "-m", "tests.dist_worker", str(out)], cwd=ROOT,
                              env=_env(RANK=str(r), WORLD_SIZE="2", LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1",
                                       MASTER_PORT=port),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for r in range(2)]
    try:
        for p in procs:
            p.wait(timeout=600)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    errs = "\n".join(f.read_text() for f in sorted(out.glob("rank*.err")))
    assert all(p.returncode == 0 for p in procs), errs or "\n".join(p.stderr.read() for p in procs)
    return torch.load(out / "results.pt", weights_only=False)


# ------------------------------------------------------------------ the gradient penalty's traps

@JOBS
def test_penalty_input_gradient_out_of_place_and_last_bias_through_the_w_term(two_processes):
    t = two_processes["traps"]
    assert t["untouched"], "autograd.grad(create_graph=True) wrote a parameter's .grad"
    assert t["bias_from_gp_is_none"], "the trap: the penalty alone gives the last bias no gradient"
    assert t["all_have_grad"] and t["grads_identical"], "the one loss reaches every parameter; DDP averaged them"


def test_batchnorm_critic_is_refused_with_the_penalty_and_on_the_cpu():
    with pytest.raises(ConfigError, match="critic_norm"):
        check_config(tiny_config("toy-wgan-gp", model__critic_norm="batch"), 2, "cuda")
    with pytest.raises(ConfigError, match="SyncBatchNorm"):
        check_config(tiny_config("toy-wgan-clip", model__critic_norm="batch"), 2, "cpu")
    assert check_config(tiny_config("toy-wgan-clip", model__critic_norm="batch"), 2, "cuda") == []


def test_global_batch_must_divide():
    assert local_batch(128, 2) == 64
    with pytest.raises(ConfigError) as e:
        local_batch(100, 3)
    msg = str(e.value)
    assert "batch_size" in msg and "100" in msg and "3" in msg


# ------------------------------------------------------------------ N processes train as one

@JOBS
@pytest.mark.parametrize("name", ["gp-autograd", "gp-hand", "clip", "conditional"])
def test_two_processes_of_64_train_as_one_of_128(two_processes, name):
    got = two_processes["equivalence"][name]
    assert got["identical"], "the ranks' weights differ"
    assert got["hand"] == ("HandDerivedGradients" if name == "gp-hand" else "AutogradGradients")
    one = Trainer(equivalence_configs()[name])
    one.run()
    for net in ("generator", "critic"):
        mine = getattr(one, net).state_dict()
        for k, v in mine.items():
            torch.testing.assert_close(got[net][k], v, rtol=1e-4, atol=2e-5, msg=f"{name} {net}.{k}")


@JOBS
def test_own_streams_sharded_images_and_exact_resume(two_processes):
    r = two_processes["resume"]
    assert r["sharded"] == "ShardedImages" and r["shards_disjoint"]
    assert r["identical"], "the ranks' weights differ"
    assert r["exact"] and r["bit_exact_flag"], "resume with the same number of processes is not exact"
    o = r["other_n"]
    assert o["bit_exact"] is False and "not bit-exact" in o["note"] and o["identical"]


@JOBS
def test_control_reaches_every_rank_at_the_same_iteration(two_processes):
    a, b = two_processes["control"]
    assert a == b
    assert a["edits"] and a["edits"][0][1] == "lr_critic"
    paused = [it for s, it in a["states"] if s == "paused"]
    assert paused and a["gen_iter"] == paused[-1] + 2  # two steps while paused, then the stop


@JOBS
def test_nan_on_one_rank_rolls_every_rank_back(two_processes):
    a, b = two_processes["nan"]
    assert a == b
    assert a["nonfinite"]["first_bad"] == 5 and a["gen_iter"] == a["nonfinite"]["rolled_back_to"] == 4


# ------------------------------------------------------------------ pieces

def test_image_shards_are_disjoint_in_an_epoch_and_change_between_epochs():
    data = ImageData("x", torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.arange(10) % 3)
    shards = [ShardedImages(data, r, 3, seed=5) for r in range(3)]
    e0 = [set(s.indices(0).tolist()) for s in shards]
    assert sum(map(len, e0)) == 9 and len(set.union(*e0)) == 9
    assert [set(s.indices(1).tolist()) for s in shards] != e0
    g = torch.Generator().manual_seed(0)
    assert set(shards[1]._draw(50, g).tolist()) <= e0[1]
    assert shards[1].state() == 50


def test_rank_zero_keeps_the_seed_and_other_ranks_get_their_own():
    assert rank_seed(7, 0) == 7
    assert len({rank_seed(7, r) for r in range(4)}) == 4
    assert rank_seed(7, 0, 11) != 7


# ------------------------------------------------------------------ the real command line

@pytest.mark.linux_only("finds the ranks through /proc")
def test_wgan_train_nproc_per_node_kill_one_rank_then_resume(tmp_path):
    run = tmp_path / "run"
    launcher = [sys.executable, "-c", "import sys; from engine.cli import train_main; sys.exit(train_main())"]
    args = ["--preset", "toy-wgan-gp", "--out", str(run), "--iters", "100000", "--quiet", "--device", "cpu",
            "--set", "model.hidden=16", "--set", "train.batch_size=32", "--set", "train.eval_every=0",
            "--set", "train.sample_every=0", "--set", "train.checkpoint_every=10", "--set", "train.threads=1",
            "--nproc-per-node", "2"]
    p = subprocess.Popen(launcher + args, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: (run / "checkpoints" / "iter_0000020.pt").exists(), timeout=180, proc=p,
                   what="two checkpoints")
        workers = [w for a in child_pids(p.pid) for w in child_pids(a)]
        rank1 = [w for w in workers if rank_of(w) == 1]
        assert rank1, f"no rank 1 among {workers}"
        os.kill(rank1[0], signal.SIGKILL)
        # The others end instead of hanging (torchrun's own failure detection: seconds). The bound is
        # generous for a loaded machine; a hang would run into it.
        rc = p.wait(timeout=120)
        assert rc != 0
    finally:
        if p.poll() is None:
            p.kill()
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    it = state["gen_iter"]
    assert it >= 20 and state["dist"]["world_size"] == 2 and len(state["dist"]["rng"]) == 2
    # --resume as 2 "machines" on localhost (--nnodes 2, c10d rendezvous), one process each: the same
    # number of processes, so it continues exactly; one run folder, written by rank 0 alone. Plain torchrun on the
    # module the README names (what wgan-train --nproc-per-node --nnodes --rdzv-endpoint runs).
    port = str(_free_port())
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "1", "--nnodes", "2",
                "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "resume-test"]
    nodes = [subprocess.Popen(torchrun + ["--node-rank", str(k), "-m", ENTRY_MODULE, "--resume", str(run), "--iters",
                                          str(it + 5), "--quiet"],
                              cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for k in range(2)]
    try:
        errs = [n.communicate(timeout=300)[1] for n in nodes]
    finally:
        for n in nodes:
            if n.poll() is None:
                n.kill()
    assert [n.returncode for n in nodes] == [0, 0], errs
    assert "not bit-exact" not in "".join(errs)
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert state["gen_iter"] == it + 5 and state["dist"]["world_size"] == 2
    kinds = [e["type"] for e in read_events(run / "events.jsonl")]
    assert kinds.count("resume_run") == 1 and kinds[-1] == "finish"


def test_wgan_train_refuses_a_batch_that_does_not_divide_before_starting_torchrun(tmp_path, capsys):
    from engine.cli import train_main

    rc = train_main(["--preset", "toy-wgan-gp", "--out", str(tmp_path / "r"), "--set", "train.batch_size=30",
                     "--device", "cpu", "--nproc-per-node", "4"])
    err = capsys.readouterr().err
    assert rc == 2 and "[train] batch_size = 30" in err and "4 processes" in err
    assert not (tmp_path / "r").exists()

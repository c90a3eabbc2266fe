"""One process of tests/test_distributed.py's 2-process job (gloo on the CPU): every scenario in
one pair of processes, so torch is imported once per process. Rank 0 writes what it found to
``OUT/results.pt``; a failure writes ``OUT/rank<R>.err`` and exits 1.

    RANK=r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=p python -m tests.dist_worker OUT
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from engine import Trainer
from engine.distributed import DataParallel, context_of_group, distributed_trainer
from engine.models.mlp import MLPCritic
from engine.objectives.wgan_gp import draw_eps
from tests.helpers import tiny_config

GLOBAL_BATCH = 128  # 2 processes x 64 against 1 process x 128 (the parent test)


def equivalence_configs() -> dict:
    """The runs the parent trains in one process with the global batch. Adam and RMSProp divide by
    sqrt(v) + eps: a gradient that is ~1e-9 by the order of a sum (2 x 64 or 1 x 128) becomes a
    whole learning-rate step of either sign, so these runs take a large eps, which keeps the
    comparison about the gradients."""
    base = dict(train__batch_size=GLOBAL_BATCH, train__iterations=3, train__checkpoint_every=0,
                train__sample_every=0, train__eval_every=0, train__threads=1, optimiser__eps=1e-2)
    return {
        "gp-autograd": tiny_config("toy-wgan-gp", model__critic_norm="layer", **base),
        "gp-hand": tiny_config("toy-wgan-gp", **base),
        "clip": tiny_config("toy-wgan-clip", **base),
        "conditional": tiny_config("toy-wgan-gp", model__conditional="projection", **base),
    }


def flat_params(*nets) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for n in nets for p in n.parameters()])


def same_on_every_rank(t: torch.Tensor) -> bool:
    got = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(got, t)
    return all(torch.equal(got[0], g) for g in got[1:])


def gathered(obj) -> list:
    got = [None] * dist.get_world_size()
    dist.all_gather_object(got, obj)
    return got


def equivalence(ctx, res: dict) -> None:
    """2 x 64 on the slices of 1 x 128's samples; every rank's weights identical."""
    out = {}
    for name, cfg in equivalence_configs().items():
        t = distributed_trainer(cfg, None, dist_ctx=ctx, slice_global_batch=True)
        t.run()
        out[name] = {"generator": t.generator.state_dict(), "critic": t.critic.state_dict(),
                     "hand": type(t.algorithm.critic_gradients).__name__,
                     "identical": same_on_every_rank(flat_params(t.generator, t.critic))}
    res["equivalence"] = out


def exact_resume(ctx, res: dict, root: Path) -> None:
    """Own streams per rank and sharded images (the digits): ranks identical; a resume from the
    middle checkpoint (same number of processes) ends where the straight run ended."""
    cfg = tiny_config("digits-wgan-gp", model__features=4, train__batch_size=16, objective__n_critic=2,
                      train__iterations=4, train__checkpoint_every=2, train__sample_every=0, train__eval_every=0,
                      train__threads=1)
    run = root / "digits"
    a = distributed_trainer(cfg, run, dist_ctx=ctx)
    a.run()
    straight = flat_params(a.generator, a.critic)
    b = Trainer.from_checkpoint(run / "checkpoints" / "iter_0000002.pt", None, strategy=DataParallel(ctx))
    b.run(4)
    res["resume"] = {"identical": same_on_every_rank(straight), "exact": torch.equal(straight, flat_params(
        b.generator, b.critic)), "bit_exact_flag": b.strategy.bit_exact_resume,
        "sharded": type(a.strategy.train_data).__name__, "shards_disjoint": None}
    # a checkpoint of another number of processes (here: one, without "dist"): continues, not bit-exact
    other = run / "checkpoints" / "one_process.pt"
    if ctx.is_main:
        state = torch.load(run / "checkpoints" / "iter_0000002.pt", weights_only=True)
        del state["dist"]
        torch.save(state, other)
    dist.barrier()
    c = Trainer.from_checkpoint(other, None, strategy=DataParallel(ctx))
    c.run(3)
    res["resume"]["other_n"] = {"bit_exact": c.strategy.bit_exact_resume, "note": c.resume_note,
                                "identical": same_on_every_rank(flat_params(c.generator, c.critic))}
    idx = a.strategy.train_data.indices(0)
    res["resume"]["shards_disjoint"] = len(set(torch.cat(gathered(idx)).tolist())) == 2 * len(idx)


def control(ctx, res: dict) -> None:
    """Live edit, pause, steps while paused and stop, asked of rank 0 from another thread: every
    rank applies them at the same iteration."""
    cfg = tiny_config("toy-wgan-gp", live=True, train__threads=1)
    t = distributed_trainer(cfg, None, dist_ctx=ctx, report_interval_s=0.0)
    log = []

    class Watch:
        def on_state(self, state):
            log.append((state, t.gen_iter))

    t.observers.append(Watch())

    def drive():
        def until(cond):
            end = time.monotonic() + 60
            while not cond() and time.monotonic() < end:
                time.sleep(0.002)
        until(lambda: t.gen_iter >= 3)
        t.request_edit(lr_critic=5e-5)
        until(lambda: t.gen_iter >= 6)
        t.pause()
        until(lambda: t.state == "paused")
        t.request_step(2)
        until(lambda: t.gen_iter >= log[-1][1] + 2)
        t.stop()

    th = threading.Thread(target=drive, daemon=True) if ctx.is_main else None
    if th:
        th.start()
    t.run()
    mine = {"gen_iter": t.gen_iter, "edits": [(e["gen_iter"], e["key"]) for e in t.edit_log], "states": log}
    res["control"] = gathered(mine)


def nan_on_one_rank(ctx, res: dict, root: Path) -> None:
    """A NaN in rank 1's losses only: every rank rolls back to the same checkpoint and pauses."""
    cfg = tiny_config("toy-wgan-gp", live=True, train__threads=1, train__checkpoint_every=2)
    t = distributed_trainer(cfg, root / "nan", dist_ctx=ctx, report_interval_s=0.0, on_nonfinite="pause")
    if ctx.rank == 1:
        inner = t.algorithm.iteration

        def poisoned(hp, n_critic, stats):
            inner(hp, n_critic, stats)
            if t.gen_iter == 4:  # the row of iteration 5
                stats[0] = float("nan")
                stats[-1] = 1.0
        t.algorithm.iteration = poisoned

    def drive():
        end = time.monotonic() + 60
        while t.nonfinite is None and time.monotonic() < end:
            time.sleep(0.002)
        t.stop()

    if ctx.is_main:
        threading.Thread(target=drive, daemon=True).start()
    t.run()
    res["nan"] = gathered({"gen_iter": t.gen_iter, "nonfinite": t.nonfinite})


def penalty_traps(ctx, res: dict) -> None:
    """The gradient penalty through a DDP critic."""
    torch.manual_seed(0)
    critic = MLPCritic(2, hidden=8, layers=2)
    ddp = DDP(critic)
    g = torch.Generator().manual_seed(ctx.rank)
    real, fake = torch.randn(16, 2, generator=g), torch.randn(16, 2, generator=g)
    x_hat = torch.lerp(fake, real, draw_eps(real, g)).requires_grad_(True)
    # trap 1: the input gradient out of place touches no parameter's .grad (no DDP hook fires)
    (gx,) = torch.autograd.grad(ddp(x_hat).sum(), x_hat, create_graph=True)
    untouched = all(p.grad is None for p in critic.parameters())
    gp = ((gx.norm(2, dim=1) - 1) ** 2).mean()
    # trap 2: the last bias gets no gradient from the penalty alone...
    last_bias = critic.net[-1].bias
    from_gp = torch.autograd.grad(gp, last_bias, retain_graph=True, allow_unused=True)[0]
    # ...but takes part through the W term of the one loss, so DDP (find_unused_parameters=False) completes
    f = ddp(torch.cat((real, fake)))
    loss = f[16:].mean() - f[:16].mean() + 10 * gp
    loss.backward()
    grads = torch.cat([p.grad.reshape(-1) for p in critic.parameters()])
    res["traps"] = {"untouched": untouched, "bias_from_gp_is_none": from_gp is None,
                    "all_have_grad": all(p.grad is not None for p in critic.parameters()),
                    "grads_identical": same_on_every_rank(grads)}


def main(out: str) -> int:
    root = Path(out)
    rank = int(os.environ["RANK"])
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)  # the digits' generator batch-norm note, twice
    try:
        dist.init_process_group("gloo")
        ctx = context_of_group("cpu")
        res: dict = {}
        penalty_traps(ctx, res)
        equivalence(ctx, res)
        exact_resume(ctx, res, root)
        control(ctx, res)
        nan_on_one_rank(ctx, res, root)
        if rank == 0:
            torch.save(res, root / "results.pt")
        dist.destroy_process_group()
        return 0
    except BaseException:
        (root / f"rank{rank}.err").write_text(traceback.format_exc())
        return 1


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # not through the interpreter's teardown: gloo's threads may abort it ("terminate called")

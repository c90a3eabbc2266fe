"""Distributed data-parallel training: one run trained by N processes (``torchrun``), on one machine
or several.

PyTorch's own machinery does the work: ``torch.distributed`` (nccl between CUDA devices, gloo on
the CPU, chosen from the device), ``DistributedDataParallel`` around the critic and the generator
of the training step, ``torchrun`` (``torch.distributed.run``) to start and watch the processes.
What this module adds is the run's policy across processes: :class:`DataParallel`, the strategy
(:mod:`engine.strategy`) a :class:`~engine.trainer.Trainer` is given in each process
(:func:`distributed_trainer`, :func:`resume_distributed`), so that every process takes the same
decisions at the same generator iteration:

- ``[train] batch_size`` stays the GLOBAL batch: each of the N processes draws ``batch_size / N``
  samples (refused when it does not divide), from its own RNG stream (:func:`rank_seed`: rank 0
  keeps the seed, so one process under torchrun trains exactly as ``wgan-train`` does); image data
  are sharded (:class:`ShardedImages`): in each epoch the processes see disjoint parts of the set.
- DDP averages the gradients, so N x (m / N) trains as one process with batch m (the losses are
  means over samples; ``tests/test_distributed.py`` compares the weights).
- Rank 0 alone writes the run folder and reads its requests. The others follow: a
  :class:`FollowerRunDir` reads checkpoints (rollback, resume) but writes nothing.
- The statistics in metrics.csv are means over the processes: one all-reduce of the recorded rows
  at report time (:class:`~engine.recorder.MetricsRecorder` ``reduce``), never a per-step sync. A
  NaN on any process is in that mean, so every process sees it in the same report and rolls back
  to the same checkpoint.
- Pause, step, stop, live edits, sample requests and "report now" are decided by rank 0 and sent
  to every process at each generator-iteration boundary (:meth:`DataParallel.serve`: one
  broadcast of a small CPU tensor over a gloo group, :mod:`engine.distributed_control`), so they
  apply everywhere at the same iteration.
- Checkpoints hold every rank's RNG state (``state["dist"]``): a resume with the same number of
  processes continues exactly; with another number it continues from fresh per-rank streams and
  says it is not bit-exact. Rank 0 chooses the checkpoint a resumed run continues from and tells
  the others.
- Several processes on one machine with ``[train] threads = 0`` share its cores out evenly
  instead of each tuning its thread count.

The gradient penalty under DDP (the three traps, each tested):

1. ``grad_x f(x_hat)`` is taken OUT OF PLACE with ``torch.autograd.grad(create_graph=True,
   inputs=x_hat)`` (:func:`engine.objectives.wgan_gp.gradient_penalty`), never with
   ``backward(create_graph=True)``: the latter would accumulate into the parameters' ``.grad`` and
   fire DDP's all-reduce hooks in the middle of the loss.
2. Parameters the penalty gives no gradient (the critic's last bias: ``grad_x f`` does not depend on
   it) would make DDP wait for a gradient that never comes if the penalty were backpropagated on its
   own. The loss is structured so that EVERY parameter takes part: one backward of
   ``-W_est + lambda * GP`` (:class:`engine.algorithm.AutogradGradients`), where the W term reaches
   every parameter. So ``find_unused_parameters`` stays False: it would cost a graph traversal per
   backward and hide a real bug (a parameter that does not take part at all).
3. Batch-norm in the critic: with the penalty it is refused (the penalty is per sample and BN couples
   the samples: docs/algorithm.md, "WGAN-GP"; SyncBatchNorm has no double backward for the penalty's second-order
   term either). Without the penalty it becomes SyncBatchNorm on CUDA (statistics over the global
   batch, as one process would have); on the CPU it is refused, since SyncBatchNorm has no CPU
   kernel and per-process statistics would train another model than the configuration says.
   A generator's batch-norm becomes SyncBatchNorm on CUDA; on the CPU it keeps per-process
   statistics (with a warning).

The hand-derived MLP penalty step (:mod:`engine.objectives.mlp_gp`) writes ``.grad`` itself, without
autograd, so no DDP hook fires: :class:`AllReduceGradients` averages its gradients the same way, in
one flat all-reduce, before the optimiser step (:mod:`engine.distributed_step`: the step's pieces).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from .algorithm import TrainingStep
from .checkpoint import load_checkpoint
from .config import Config, ConfigError
from .data.images import ImageData
from .distributed_control import MAX_OPS, MESSAGE_LEN, RequestOutbox, apply, encode
from .distributed_step import AllReduceGradients, ShardedImages, SliceOfGlobalBatch, rank_seed, wrap
from .objective_traits import traits
from .objectives.mlp_gp import HandDerivedGradients
from .rng import capture_rng, restore_rng
from .run_report import ResumePoint, prepare_resume
from .rundir import RunDir
from .trainer import Trainer

# the module torchrun starts (docs/guide/distributed.md):
#   torchrun --nproc-per-node N -m engine.cli_dist CONFIG --out RUN
ENTRY_MODULE = "engine.cli_dist"
TIMEOUT_ENV = "WGAN_DIST_TIMEOUT_S"


class DistributedError(RuntimeError):
    pass


# ============================================================================ the process group

@dataclass
class DistContext:
    """This process's place in the job, and the groups it talks through."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str
    control_group: object = None  # a gloo group for the control messages (the default one on gloo)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def backend_for(device: torch.device) -> str:
    """nccl between CUDA devices, gloo on the CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_from_env(device: str = "auto", timeout_s: float | None = None) -> DistContext:
    """Join the job torchrun started (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT in the
    environment). ``device``: the config's ``train.device``; CUDA processes take the device of
    their local rank. The timeout (default 300 s, ``WGAN_DIST_TIMEOUT_S``) bounds how long a
    collective waits for a process that is gone; torchrun itself ends the job when a process dies."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise DistributedError("not started by torchrun (RANK and WORLD_SIZE are not set): run "
                               f"torchrun --nproc-per-node N -m {ENTRY_MODULE} ... or wgan-train --nproc-per-node N")
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "mps":
        raise DistributedError("train.device = \"mps\": torch.distributed has no backend for Apple GPUs; use cpu")
    dev = torch.device(f"cuda:{local}") if device.startswith("cuda") else torch.device("cpu")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = backend_for(dev)
    timeout = timedelta(seconds=float(timeout_s or os.environ.get(TIMEOUT_ENV, 300)))
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timeout)
    control = dist.new_group(backend="gloo", timeout=timeout) if backend != "gloo" else None
    return DistContext(rank, world, local, dev, backend, control)


def context_of_group(device: torch.device | str = "cpu") -> DistContext:
    """A context for a process group already initialised (tests spawn their own)."""
    dev = torch.device(device)
    return DistContext(dist.get_rank(), dist.get_world_size(), dist.get_rank(), dev, dist.get_backend(), None)


def local_batch(global_batch: int, world_size: int, source=None) -> int:
    """``batch_size / N``; a clear refusal when it does not divide."""
    if global_batch % world_size:
        lo = global_batch // world_size * world_size
        hint = f"{lo} or {lo + world_size}" if lo else f"{world_size}"
        raise ConfigError(f"is the global batch, split evenly over the {world_size} processes, and "
                          f"{global_batch} is not a multiple of {world_size}", file=source,
                          key="[train] batch_size", value=global_batch, allowed=f"a multiple of {world_size}, "
                          f"e.g. {hint}")
    return global_batch // world_size


def platform_refusal(platform: str | None = None) -> str | None:
    """Why a job of several processes (torchrun) cannot start on ``platform`` (``sys.platform``), or
    None. Windows is refused: torchrun's process handling there (no process groups or termination signals, a
    console's Ctrl+C reaching every process) is untested, and a job it could not stop cleanly would
    leave processes behind (docs/guide/platforms.md)."""
    import sys

    if (sys.platform if platform is None else platform) == "win32":
        return ("runs of several processes (torchrun) are not supported on Windows: train with one process "
                "(without --nproc-per-node), or start the job on Linux or macOS (WSL works) and open its run folder")
    return None


def check_config(cfg: Config, world_size: int, device_type: str = "cpu") -> list[str]:
    """What this configuration does under N processes: raises ConfigError for what cannot be
    trained data-parallel (batch size, batch-norm in the critic), returns warnings."""
    local_batch(cfg.train.batch_size, world_size, cfg.source)
    notes = []
    if cfg.model.critic_norm == "batch":
        if traits(cfg.objective.kind).uses_penalty:
            raise ConfigError("batch-norm in a gradient-penalty critic cannot be trained data-parallel: the "
                              "penalty is per sample and batch-norm couples the samples (per-process "
                              "statistics would change it; SyncBatchNorm has no double backward)",
                              file=cfg.source, key="[model] critic_norm", value="batch", allowed="'layer' or 'none'")
        if device_type != "cuda":
            raise ConfigError("batch-norm in the critic needs SyncBatchNorm to train data-parallel (statistics over "
                              "the global batch), which runs on CUDA devices only; on the CPU each process would "
                              "normalise its own share and train another model", file=cfg.source,
                              key="[model] critic_norm", value="batch", allowed="'layer' or 'none' (or CUDA devices)")
    if cfg.model.generator_norm == "batch" and device_type != "cuda" and world_size > 1:
        notes.append("the generator's batch-norm uses each process's own share of the batch on the CPU "
                     "(SyncBatchNorm runs on CUDA only): close to, not exactly, one process with the global batch")
    return notes


# ============================================================================ the run folder

class FollowerRunDir(RunDir):
    """The run folder as ranks other than 0 see it: they read its checkpoints (rollback, resume)
    and write nothing."""

    def create(self):
        return self

    def write_config(self, cfg):
        pass

    def start_metrics(self, columns, keep_until=None):
        pass

    def append_metrics(self, rows):
        pass

    def append_event(self, event):
        return event

    def write_summary(self, summary):
        pass

    def write_measures(self, record):
        pass

    def link_latest(self, src):
        pass


# ============================================================================ the strategy

class DataParallel:
    """The trainer's strategy (:mod:`engine.strategy`) in one process of a data-parallel job (see
    the module's docstring). ``slice_global_batch``: draw as one process would and keep this
    rank's slice (tests). One strategy per trainer."""

    wakes_while_paused = True  # a paused loop comes back to the boundary to hear rank 0

    def __init__(self, dist_ctx: DistContext, slice_global_batch: bool = False):
        self.dist = dist_ctx
        self.slice_global_batch = slice_global_batch
        self.leads = dist_ctx.is_main       # rank 0 writes the folder, evaluates and samples
        self.device = dist_ctx.device
        self.outbox = RequestOutbox()       # rank 0's requests until the next boundary
        self.report_now = False             # rank 0's "report at this iteration", heard at the boundary
        self._msg = torch.zeros(MESSAGE_LEN, dtype=torch.float64)
        self._gathered: dict | None = None  # every rank's RNG, gathered for the coming checkpoint
        self.bit_exact_resume: bool | None = None
        self.resume_note: str | None = None
        self.trainer: Trainer | None = None
        self.train_data = None              # this process's data: a share of an image set
        self.ddp_generator = self.ddp_critic = None

    # ------------------------------------------------------------------ before and while building
    def check(self, config: Config) -> list[str]:
        return check_config(config, self.dist.world_size, self.dist.device.type)

    def folder(self, path) -> RunDir | None:
        if path is None:
            return None
        return RunDir(path) if self.dist.is_main else FollowerRunDir(path)

    def choose_resume(self, run_dir) -> ResumePoint:
        """Rank 0 chooses the checkpoint (:func:`engine.run_report.prepare_resume`, which may repair
        latest.pt); the others continue from the one it chose."""
        point = None
        if self.dist.is_main:
            try:
                point = prepare_resume(run_dir)
            except Exception as e:  # every process must hear of it
                point = e
        if self.dist.world_size > 1:
            box = [point]
            dist.broadcast_object_list(box, 0, group=self.dist.control_group)
            point = box[0]
        if isinstance(point, Exception):
            raise point
        return point

    def attach(self, trainer: Trainer) -> None:
        """This rank's stream and share of the data (rank 0 keeps the seed: N = 1 trains as one
        process), DDP around both nets of the training step (the trainer keeps the plain modules:
        state dicts without "module.", the moving average, samples, evaluation), and the
        report-time reduction of the recorded rows."""
        ctx, cfg = self.dist, trainer.config
        self.trainer = trainer
        self.train_data = trainer.data
        if not self.slice_global_batch:
            trainer.rng.manual_seed(rank_seed(cfg.train.seed, ctx.rank))
            if isinstance(trainer.data, ImageData) and ctx.world_size > 1:
                self.train_data = ShardedImages(trainer.data, ctx.rank, ctx.world_size, cfg.train.seed)
        trainer.algorithm = self._step(trainer, local_batch(cfg.train.batch_size, ctx.world_size, cfg.source))
        trainer.recorder.reduce = self.reduce_rows

    def _step(self, trainer: Trainer, m: int) -> TrainingStep:
        ctx, cfg, old = self.dist, trainer.config, trainer.algorithm
        gens = old.critic_gradients
        self.ddp_generator, self.ddp_critic = wrap(trainer.generator, ctx.device), wrap(trainer.critic, ctx.device)
        if isinstance(gens, HandDerivedGradients):
            gens.after = AllReduceGradients(list(trainer.critic.parameters()), ctx.world_size)
        else:
            gens.critic = self.ddp_critic
        # the same mixed precision (autocast around the DDP modules' passes, the same scalers: their
        # found-inf is taken from the all-reduced gradients, so every process skips the same steps)
        step_cls = SliceOfGlobalBatch if self.slice_global_batch else TrainingStep
        step = step_cls(self.ddp_generator, self.ddp_critic, trainer.opt_generator, trainer.opt_critic,
                        trainer.objective, self.train_data, trainer.rng, batch_size=m, z_dim=cfg.model.z_dim,
                        conditional=trainer.conditional, clip_before_step=cfg.objective.clip_before_step,
                        critic_gradients=gens, amp=old.amp)
        if self.slice_global_batch:
            step.setup_slice(ctx.rank, ctx.world_size)
            gens.eps_draw = step.eps
        return step

    def thread_share(self) -> int | None:
        """[train] threads = 0 with several processes on one machine: no per-process tuning (each
        would take the cores the others need); the cores shared out evenly instead."""
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return max(1, (os.cpu_count() or 1) // local) if local > 1 else None

    # ------------------------------------------------------------------ requests: rank 0 decides
    def request_target(self, control):
        return self.outbox

    def serve(self, channel) -> None:
        """At every generator-iteration boundary (and every POLL_S while paused), on every process:
        rank 0 reads the folder's requests, then sends what was asked and whether to report at
        this iteration; every process applies the same message to its own control."""
        if self.dist.is_main:
            if channel is not None:
                channel.serve()
            msg = encode(self._msg, self.trainer.report_time(), self.outbox.take(MAX_OPS))
        else:
            msg = self._msg
        if self.dist.world_size > 1:
            dist.broadcast(msg, 0, group=self.dist.control_group)
        self.report_now = apply(msg, self.trainer.control)

    def report_rule(self, trainer: Trainer):
        return self._report_flag  # rank 0's clock decides for every process

    def _report_flag(self) -> bool:
        return self.report_now

    def reduce_rows(self, rows: torch.Tensor) -> None:
        """Means over the processes of the recorded rows (the NaN flag too: > 0 if any had one)."""
        dist.all_reduce(rows)
        rows.div_(self.dist.world_size)

    def on_start(self, trainer: Trainer) -> None:
        if self.resume_note and self.dist.is_main:
            trainer.log_event("resume_not_bit_exact", message=self.resume_note)
            warnings.warn(self.resume_note, stacklevel=4)

    # ------------------------------------------------------------------ checkpoints
    def before_checkpoint(self, trainer: Trainer) -> None:
        """Every rank's RNG states and data position, on every rank (a collective: every process
        calls it before each checkpoint, whether it writes or not)."""
        sharded = isinstance(self.train_data, ShardedImages)
        mine = {"rng": capture_rng(trainer.rng), "data": self.train_data.state() if sharded else 0}
        if self.dist.world_size == 1:
            got = [mine]
        else:
            got = [None] * self.dist.world_size
            dist.all_gather_object(got, mine, group=self.dist.control_group)
        self._gathered = {"world_size": self.dist.world_size, "gen_iter": trainer.gen_iter,
                          "slice": self.slice_global_batch, "rng": [g["rng"] for g in got],
                          "data": [int(g["data"]) for g in got]}

    def checkpoint_state(self, gen_iter: int) -> dict:
        if self._gathered is not None and self._gathered["gen_iter"] == gen_iter:
            return {"dist": self._gathered}
        return {}

    def load_state(self, trainer: Trainer, state: dict) -> None:
        """This rank's stream and data position from a checkpoint of as many processes (exact);
        from another number, fresh streams from (seed, rank, iteration) and the data from the
        epoch's start (not bit-exact: :attr:`resume_note` says so)."""
        d, ctx = state.get("dist"), self.dist
        sharded = isinstance(self.train_data, ShardedImages)
        if d is not None and int(d["world_size"]) == ctx.world_size and bool(d.get("slice")) == self.slice_global_batch:
            restore_rng(d["rng"][ctx.rank], trainer.rng)
            if sharded:
                self.train_data.load(d["data"][ctx.rank])
            self.bit_exact_resume = True
        elif d is None and ctx.world_size == 1:
            self.bit_exact_resume = True  # a one-process checkpoint: rank 0's stream is the run's own
        else:
            self._fresh_streams(trainer, int(d["world_size"]) if d is not None else 1)

    def _fresh_streams(self, trainer: Trainer, was: int) -> None:
        ctx = self.dist
        trainer.rng.manual_seed(rank_seed(trainer.config.train.seed, ctx.rank, trainer.gen_iter + 1))
        if isinstance(self.train_data, ShardedImages):
            self.train_data.load(0)
        self.bit_exact_resume = False
        self.resume_note = (f"the checkpoint was written by {was} process{'es' if was != 1 else ''}, this run has "
                            f"{ctx.world_size}: it continues from fresh random streams, not bit-exact")


# ============================================================================ making one

def distributed_trainer(config: Config, run_dir, *, dist_ctx: DistContext, slice_global_batch: bool = False,
                        **kwargs) -> Trainer:
    """The :class:`~engine.trainer.Trainer` of this process of a data-parallel job
    (:class:`DataParallel`); ``kwargs`` as for ``Trainer``."""
    return Trainer(config, run_dir, strategy=DataParallel(dist_ctx, slice_global_batch), **kwargs)


def resume_distributed(run_dir, *, dist_ctx: DistContext, iterations: int | None = None, **kwargs) -> Trainer:
    """This process's trainer continuing a run (:meth:`Trainer.resume_run`): rank 0 chooses the
    checkpoint, every process continues from it."""
    return Trainer.resume_run(run_dir, iterations, strategy=DataParallel(dist_ctx), **kwargs)


def checkpoint_world_size(path) -> int:
    """How many processes wrote a checkpoint (1: one process, or written before this module)."""
    d = load_checkpoint(path).get("dist")
    return int(d["world_size"]) if d else 1


__all__ = ["ENTRY_MODULE", "MESSAGE_LEN", "AllReduceGradients", "DataParallel", "DistContext", "FollowerRunDir",
           "ShardedImages", "SliceOfGlobalBatch", "backend_for", "check_config", "checkpoint_world_size",
           "context_of_group", "distributed_trainer", "init_from_env", "local_batch", "rank_seed",
           "resume_distributed"]

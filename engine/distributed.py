"""Distributed data-parallel training: one run trained by N processes (``torchrun``), on one machine
or several.

PyTorch's own machinery does the work: ``torch.distributed`` (nccl between CUDA devices, gloo on
the CPU, chosen from the device), ``DistributedDataParallel`` around the critic and the generator
of the training step, ``torchrun`` (``torch.distributed.run``) to start and watch the processes.
What this module adds is the run's policy across processes; :class:`DistributedTrainer` is a
:class:`~engine.trainer.Trainer` whose every process takes the same decisions at the same
generator iteration:

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
  to every process at each generator-iteration boundary (:meth:`DistributedTrainer.serve_requests`:
  one broadcast of a small CPU tensor over a gloo group), so they apply everywhere at the same
  iteration.
- Checkpoints hold every rank's RNG state (``state["dist"]``): a resume with the same number of
  processes continues exactly; with another number it continues from fresh per-rank streams and
  says it is not bit-exact.

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
one flat all-reduce, before the optimiser step.
"""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from .algorithm import TrainingStep
from .checkpoint import load_checkpoint
from .config import LIVE_KEYS, Config, ConfigError
from .control import RunControl
from .data.base import DataSource
from .data.images import ImageData
from .models import has_batchnorm
from .objectives.mlp_gp import HandDerivedGradients
from .rng import capture_rng, restore_rng
from .rundir import RunDir
from .trainer import Trainer

# the module torchrun starts (README): torchrun --nproc-per-node N -m engine.cli_dist CONFIG --out RUN
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


def rank_seed(seed: int, rank: int, salt: int = 0) -> int:
    """The seed of rank ``rank``'s stream: the run's own seed for rank 0 (one process trains as
    ``wgan-train`` does), independent streams from (seed, rank, salt) for the others. ``salt``:
    the generator iteration of a resume with another number of processes (fresh streams)."""
    if rank == 0 and salt == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**63, rank, salt]).generate_state(1, np.uint64)[0] >> 1)


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


def check_config(cfg: Config, world_size: int, device_type: str = "cpu") -> list[str]:
    """What this configuration does under N processes: raises ConfigError for what cannot be
    trained data-parallel (batch size, batch-norm in the critic), returns warnings."""
    local_batch(cfg.train.batch_size, world_size, cfg.source)
    notes = []
    if cfg.model.critic_norm == "batch":
        if cfg.objective.kind == "wgan-gp":
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


# ============================================================================ data

class ShardedImages(DataSource):
    """One process's share of an image set, like ``DistributedSampler``: in epoch e the set is
    permuted (the same permutation on every process, from the seed and e) and rank r draws from
    positions r, r + N, r + 2N... (``len // N`` images; the rest wait for another epoch), so the
    processes see disjoint images in an epoch. An epoch is ``len // N`` draws of this process; the
    count is in the checkpoint (:meth:`state`)."""

    def __init__(self, data: ImageData, rank: int, world_size: int, seed: int):
        self.data, self.rank, self.world_size, self.seed = data, rank, world_size, seed
        self.name, self.kind, self.shape = data.name, data.kind, data.shape
        self.num_classes, self.device = data.num_classes, data.device
        self.shard_len = len(data) // world_size
        if self.shard_len == 0:
            raise ConfigError(f"has {len(data)} images, fewer than the {world_size} processes",
                              key="[data] name", value=data.name)
        self.drawn = 0
        self._epoch = -1
        self._idx: torch.Tensor | None = None

    def indices(self, epoch: int) -> torch.Tensor:
        """This process's images of ``epoch`` (indices into the set)."""
        g = torch.Generator().manual_seed(rank_seed(self.seed, 0, 1_000_003 + epoch))
        perm = torch.randperm(len(self.data), generator=g)
        return perm[self.rank:self.shard_len * self.world_size:self.world_size].to(self.device)

    def _draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        epoch = self.drawn // self.shard_len
        if epoch != self._epoch:
            self._idx, self._epoch = self.indices(epoch), epoch
        self.drawn += n
        return self._idx[torch.randint(0, self.shard_len, (n,), generator=generator, device=self.device)]

    def sample(self, n, generator):
        i = self._draw(n, generator)
        return self.data.batch(i), (self.data.labels[i] if self.data.labels is not None else None)

    def sample_labels(self, n, generator):
        return self.data.labels[self._draw(n, generator)]

    def to(self, device):
        return ShardedImages(self.data.to(device), self.rank, self.world_size, self.seed)

    def state(self) -> int:
        return self.drawn

    def load(self, drawn: int) -> None:
        self.drawn, self._epoch = int(drawn), -1


# ============================================================================ the training step

class AllReduceGradients:
    """Average the critic's ``.grad`` over the processes in ONE flat all-reduce: what DDP's hooks do
    for autograd, for the hand-derived penalty step that bypasses autograd."""

    def __init__(self, params: list[torch.Tensor], world_size: int, group=None):
        self.params, self.world_size, self.group = params, world_size, group

    def __call__(self, _out=None) -> None:
        grads = [p.grad for p in self.params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, group=self.group)
        flat.div_(self.world_size)
        off = 0
        for g in grads:
            g.copy_(flat[off:off + g.numel()].view_as(g))
            off += g.numel()


class SliceOfGlobalBatch(TrainingStep):
    """Every process draws the GLOBAL batch from the run's one seed stream and keeps its slice:
    the same samples as one process with the global batch, for checking that N processes train as
    one (``tests/test_distributed.py``). Costs N times the draws; not what a run does."""

    def setup_slice(self, rank: int, world_size: int) -> None:
        self.rank, self.world = rank, world_size

    def _slice(self, t):
        return None if t is None else t.chunk(self.world)[self.rank]

    def draw_real(self, n):
        x, y = self.data.sample(n * self.world, self.rng)
        return self._slice(x), self._slice(y)

    def draw_noise(self, n):
        return self._slice(torch.randn(n * self.world, self.z_dim, generator=self.rng, device=self.rng.device))

    def draw_labels(self, n):
        return self._slice(self.data.sample_labels(n * self.world, self.rng))

    def eps(self, real):
        shape = (real.shape[0] * self.world,) + (1,) * (real.dim() - 1)
        return self._slice(torch.rand(shape, device=real.device, generator=self.rng))


def wrap(module: nn.Module, ctx: DistContext) -> DDP:
    """DistributedDataParallel around ``module``; batch-norm becomes SyncBatchNorm on CUDA."""
    if ctx.device.type == "cuda" and has_batchnorm(module):
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    # Channels-last networks of grey images: a weight with one input or output channel has a layout
    # the format leaves ambiguous (a size-1 dimension), and the convolution kernels return its
    # gradient with either stride for that dimension. DDP compares strides literally and would warn
    # at every backward that it copies this 16-float gradient into its bucket; the copy is correct.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    # find_unused_parameters=False: every parameter takes part in each backward (see the module's
    # docstring, trap 2); broadcast_buffers: rank 0's batch-norm statistics everywhere.
    return DDP(module, device_ids=ids, find_unused_parameters=False)


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

    def link_latest(self, src):
        pass


class _NoInbox:
    """Followers read no request files (rank 0 does and tells them)."""

    def restart(self):
        pass

    def take(self, force: bool = False):
        return []


# ============================================================================ control messages

_PAUSE, _RESUME, _STOP, _STEP, _SAMPLES, _EDIT = 1, 2, 3, 4, 5, 6
_LIVE = list(LIVE_KEYS)
MAX_OPS = 16
MESSAGE_LEN = 2 + 3 * MAX_OPS  # [report due, number of ops, (op, a, b) x MAX_OPS]


class _Outbox:
    """Requests made to rank 0 (any thread), kept in order until the next boundary sends them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ops: list[tuple[int, float, float]] = []

    def put(self, op: int, a: float = 0.0, b: float = 0.0) -> None:
        with self._lock:
            self._ops.append((op, float(a), float(b)))

    def take(self, n: int) -> list[tuple[int, float, float]]:
        with self._lock:
            ops, self._ops = self._ops[:n], self._ops[n:]
        return ops


# ============================================================================ the trainer

class DistributedTrainer(Trainer):
    """A :class:`Trainer` for one process of a data-parallel job (see the module's docstring).
    ``slice_global_batch``: draw as one process would and keep this rank's slice (tests)."""

    def __init__(self, config: Config, run_dir=None, *, dist_ctx: DistContext, slice_global_batch: bool = False,
                 **kwargs):
        self.dist = ctx = dist_ctx
        notes = check_config(config, ctx.world_size, ctx.device.type)
        kwargs.setdefault("device", ctx.device)
        super().__init__(config, run_dir if ctx.is_main else None, **kwargs)
        self.warnings = list(self.warnings) + notes
        if not ctx.is_main:
            self.run_dir = FollowerRunDir(run_dir) if run_dir is not None else None
            if self.config.train.eval_every:  # rank 0 evaluates
                self.evaluator.close()
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        self._shared_threads = None
        if self._threads is not None and local > 1:
            # [train] threads = 0 with several processes on one machine: no per-process tuning (each
            # would take the cores the others need); the cores shared out evenly instead
            self._threads = None
            self._shared_threads = max(1, (os.cpu_count() or 1) // local)
        if self._inbox is None:  # a paused loop must still come back to the boundary to hear rank 0
            self._inbox = _NoInbox()
        self._outbox = _Outbox()
        self._report_now = False
        self._msg = torch.zeros(MESSAGE_LEN, dtype=torch.float64)
        self._dist_state: dict | None = None
        self.bit_exact_resume: bool | None = None
        cfg, seed = self.config, self.config.train.seed
        m = local_batch(cfg.train.batch_size, ctx.world_size, cfg.source)

        # per-rank stream and data share (rank 0 keeps the seed: N = 1 trains as one process)
        self.slice_global_batch = slice_global_batch
        self.train_data: DataSource = self.data
        if not slice_global_batch:
            self.rng.manual_seed(rank_seed(seed, ctx.rank))
            if isinstance(self.data, ImageData) and ctx.world_size > 1:
                self.train_data = ShardedImages(self.data, ctx.rank, ctx.world_size, seed)

        # DDP around both nets of the training step; the trainer keeps the plain modules (state
        # dicts without "module.", the moving average, samples, evaluation)
        old = self.algorithm
        gens = old.critic_gradients
        step_cls = SliceOfGlobalBatch if slice_global_batch else TrainingStep
        self.ddp_generator, self.ddp_critic = wrap(self.generator, ctx), wrap(self.critic, ctx)
        if isinstance(gens, HandDerivedGradients):
            gens.after = AllReduceGradients(list(self.critic.parameters()), ctx.world_size)
        else:
            gens.critic = self.ddp_critic
        # the same mixed precision (autocast around the DDP modules' passes, the same scalers: their
        # found-inf is taken from the all-reduced gradients, so every process skips the same steps)
        self.algorithm = step_cls(self.ddp_generator, self.ddp_critic, self.opt_generator, self.opt_critic,
                                  self.objective, self.train_data, self.rng, batch_size=m, z_dim=cfg.model.z_dim,
                                  conditional=self.conditional, clip_before_step=cfg.objective.clip_before_step,
                                  critic_gradients=gens, amp=old.amp)
        if slice_global_batch:
            self.algorithm.setup_slice(ctx.rank, ctx.world_size)
            gens.eps_draw = self.algorithm.eps
        self.recorder.reduce = self._reduce_rows

    # ------------------------------------------------------------------ report-time all-reduce
    def _reduce_rows(self, rows: torch.Tensor) -> None:
        """Means over the processes of the recorded rows (the NaN flag too: > 0 if any had one)."""
        dist.all_reduce(rows)
        rows.div_(self.dist.world_size)

    # ------------------------------------------------------------------ requests: rank 0 decides
    def pause(self):
        self._outbox.put(_PAUSE)

    def resume(self):
        self._outbox.put(_RESUME)

    def stop(self):
        self._outbox.put(_STOP)

    def request_step(self, n: int = 1):
        self._outbox.put(_STEP, n)

    def request_samples(self):
        self._outbox.put(_SAMPLES)

    def request_edit(self, **changes):
        scratch = RunControl()
        scratch.request_edit(**changes)  # ConfigError at once, as Trainer.request_edit
        for key, value in scratch.take_edits():
            self._outbox.put(_EDIT, _LIVE.index(key), value)

    @property
    def stop_requested(self) -> bool:
        return self.control.stop_requested

    def serve_requests(self) -> None:
        """At every generator-iteration boundary (and every POLL_S while paused), on every process:
        rank 0 reads the folder's requests, then sends what was asked and whether to report at
        this iteration; every process applies the same message to its own control."""
        if self.dist.is_main:
            super().serve_requests()
            ops = self._outbox.take(MAX_OPS)
            msg = self._msg.zero_()
            msg[0] = float(self._report_now_due())
            msg[1] = len(ops)
            for i, op in enumerate(ops):
                msg[2 + 3 * i:5 + 3 * i] = torch.tensor(op, dtype=torch.float64)
        else:
            msg = self._msg
        if self.dist.world_size > 1:
            dist.broadcast(msg, 0, group=self.dist.control_group)
        vals = msg.tolist()
        self._report_now = vals[0] > 0
        c = self.control
        for i in range(int(vals[1])):
            op, a, b = vals[2 + 3 * i:5 + 3 * i]
            if op == _PAUSE:
                c.pause()
            elif op == _RESUME:
                c.resume()
            elif op == _STOP:
                c.stop()
            elif op == _STEP:
                c.request_step(int(a))
            elif op == _SAMPLES:
                c.request_samples()
            elif op == _EDIT:
                c.request_edit(**{_LIVE[int(a)]: b})

    def _report_now_due(self) -> bool:
        return super()._report_due()

    def _report_due(self) -> bool:
        return self._report_now

    def _heartbeat(self, force: bool = False) -> None:
        if self.dist.is_main:
            super()._heartbeat(force)

    # ------------------------------------------------------------------ rank 0's jobs
    def _evaluate_async(self) -> Future:
        if self.dist.is_main:
            return super()._evaluate_async()
        f: Future = Future()
        f.set_result(None)
        return f

    def make_samples(self, write: bool = True) -> dict:
        if self.dist.is_main:
            return super().make_samples(write)
        self.control.take_samples_request()
        return {}

    # ------------------------------------------------------------------ checkpoints
    def _gather_dist_state(self) -> dict:
        """Every rank's RNG states and data position, on every rank (a collective)."""
        mine = {"rng": capture_rng(self.rng),
                "data": self.train_data.state() if isinstance(self.train_data, ShardedImages) else 0}
        if self.dist.world_size == 1:
            got = [mine]
        else:
            got = [None] * self.dist.world_size
            dist.all_gather_object(got, mine, group=self.dist.control_group)
        return {"world_size": self.dist.world_size, "gen_iter": self.gen_iter, "slice": self.slice_global_batch,
                "rng": [g["rng"] for g in got], "data": [int(g["data"]) for g in got]}

    def save_checkpoint(self, numbered: bool = False) -> Path | None:
        """Every process: gather the RNG states (a collective), flush (a collective), the same
        NaN check; rank 0 writes."""
        self._dist_state = self._gather_dist_state()
        if self.dist.is_main:
            return super().save_checkpoint(numbered)
        if self.run_dir is None:
            return None
        self._rolled_back = False
        self._flush(wait=True)
        if not self._rolled_back and not self._weights_finite():
            self._on_nonfinite(self.gen_iter, what="weights")
        return None

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self._dist_state is not None and self._dist_state["gen_iter"] == self.gen_iter:
            state["dist"] = self._dist_state
        return state

    def load_state(self, state: dict, source="checkpoint") -> None:
        super().load_state(state, source)
        d = state.get("dist")
        ctx = self.dist
        if d is not None and int(d["world_size"]) == ctx.world_size and bool(d.get("slice")) == self.slice_global_batch:
            restore_rng(d["rng"][ctx.rank], self.rng)
            if isinstance(self.train_data, ShardedImages):
                self.train_data.load(d["data"][ctx.rank])
            self.bit_exact_resume = True
            return
        if d is None and ctx.world_size == 1:
            self.bit_exact_resume = True  # a one-process checkpoint: rank 0's stream is the run's own
            return
        # another number of processes: fresh streams from (seed, rank, iteration), data from the epoch start
        was = int(d["world_size"]) if d is not None else 1
        self.rng.manual_seed(rank_seed(self.config.train.seed, ctx.rank, self.gen_iter + 1))
        if isinstance(self.train_data, ShardedImages):
            self.train_data.load(0)
        self.bit_exact_resume = False
        self.resume_note = (f"the checkpoint was written by {was} process{'es' if was != 1 else ''}, this run has "
                            f"{ctx.world_size}: it continues from fresh random streams, not bit-exact")

    @classmethod
    def resume_run(cls, run_dir, iterations: int | None = None, *, dist_ctx: DistContext, **kwargs):
        """Rank 0 chooses the checkpoint (:func:`engine.runfolder.prepare_resume`, which may repair
        latest.pt); the others load the one it chose."""
        from .runfolder import prepare_resume
        point = None
        if dist_ctx.is_main:
            try:
                point = prepare_resume(run_dir)
            except Exception as e:  # every process must hear of it
                point = e
        if dist_ctx.world_size > 1:
            box = [point]
            dist.broadcast_object_list(box, 0, group=dist_ctx.control_group)
            point = box[0]
        if isinstance(point, Exception):
            raise point
        trainer = cls.from_checkpoint(point.checkpoint, run_dir=point.run_dir, dist_ctx=dist_ctx, **kwargs)
        if iterations is not None:
            trainer.total_iters = iterations
        trainer._resumed = True
        trainer.resumed_from = point
        return trainer

    def _take_threads(self) -> None:
        super()._take_threads()
        if self._shared_threads is not None:
            torch.set_num_threads(self._shared_threads)

    def _start(self) -> None:
        super()._start()
        note = getattr(self, "resume_note", None)
        if note and self.dist.is_main:
            self._event("resume_not_bit_exact", message=note)
            warnings.warn(note, stacklevel=3)


def checkpoint_world_size(path) -> int:
    """How many processes wrote a checkpoint (1: one process, or written before this module)."""
    d = load_checkpoint(path).get("dist")
    return int(d["world_size"]) if d else 1


__all__ = ["ENTRY_MODULE", "AllReduceGradients", "DistContext", "DistributedTrainer", "FollowerRunDir",
           "ShardedImages", "SliceOfGlobalBatch", "backend_for", "check_config", "checkpoint_world_size",
           "context_of_group", "init_from_env", "local_batch", "rank_seed"]

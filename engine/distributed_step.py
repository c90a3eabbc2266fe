"""The pieces of a data-parallel training step (:mod:`engine.distributed`): each process's own
random stream (:func:`rank_seed`) and share of an image set (:class:`ShardedImages`), DDP around a
network (:func:`wrap`), the gradient average of the hand-derived penalty step
(:class:`AllReduceGradients`), and the step that draws one process's global batch and keeps its
slice (:class:`SliceOfGlobalBatch`, for the tests).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from .algorithm import TrainingStep
from .config import ConfigError
from .data.base import DataSource
from .data.images import ImageData
from .models import has_batchnorm


def rank_seed(seed: int, rank: int, salt: int = 0) -> int:
    """The seed of rank ``rank``'s stream: the run's own seed for rank 0 (one process trains as
    ``wgan-train`` does), independent streams from (seed, rank, salt) for the others. ``salt``:
    the generator iteration of a resume with another number of processes (fresh streams)."""
    if rank == 0 and salt == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**63, rank, salt]).generate_state(1, np.uint64)[0] >> 1)


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


def wrap(module: nn.Module, device: torch.device) -> DDP:
    """DistributedDataParallel around ``module`` on ``device``; batch-norm becomes SyncBatchNorm on
    CUDA."""
    if device.type == "cuda" and has_batchnorm(module):
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    ids = [device.index] if device.type == "cuda" else None
    # Channels-last networks of grey images: a weight with one input or output channel has a layout
    # the format leaves ambiguous (a size-1 dimension), and the convolution kernels return its
    # gradient with either stride for that dimension. DDP compares strides literally and would warn
    # at every backward that it copies this 16-float gradient into its bucket; the copy is correct.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    # find_unused_parameters=False: every parameter takes part in each backward (engine.distributed's
    # docstring, trap 2); broadcast_buffers: rank 0's batch-norm statistics everywhere.
    return DDP(module, device_ids=ids, find_unused_parameters=False)

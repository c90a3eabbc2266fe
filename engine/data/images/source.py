"""The image data source: every image of a set kept as ONE uint8 tensor, batches drawn on the
training device (or gathered on the host for a set too large for the GPU)."""

from __future__ import annotations

import numpy as np
import torch

from ..base import DataError, DataSource


class ImageData(DataSource):
    """Images kept as ONE uint8 tensor ``[N, C, H, W]``; batches are indexed and scaled to float32
    in [-1, 1] on the training device (no NumPy per batch).

    Where the images live (``resident``):

    - ``"device"``: on the training device, where batches are gathered (the usual case; on the
      CPU the device IS the host);
    - ``"host"``: in host memory, for a set too large for the GPU: each batch is gathered on the
      host into a staging buffer, page-locked (pinned) when ``pin_memory`` and CUDA, and copied to
      the device with ``non_blocking=True``. The batch indices are drawn on the device from the
      run's generator as before (the same batches as device-resident data for the same seed), so
      each batch costs one small device-to-host copy of its indices;
    - ``"auto"``: on the device unless it is a CUDA device and the set would take more than
      :data:`DEVICE_SHARE` of its free memory.

    ``memory_format``: the layout of the batches (``torch.channels_last`` for networks in that
    layout; the trainer sets it)."""

    kind = "image"

    def __init__(self, name: str, images, labels=None, device="cpu", *, resident: str = "auto",
                 pin_memory: bool = True):
        self.name = name
        self.device = torch.device(device)
        if isinstance(images, np.ndarray):
            if images.dtype != np.uint8 or images.ndim != 4:
                raise DataError(f"{name}: images must be uint8 [N, C, H, W], got {images.dtype} {images.shape}")
            if not images.flags.writeable:
                images = images.copy()
            images = torch.from_numpy(np.ascontiguousarray(images))
        elif not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
            raise DataError(f"{name}: images must be uint8 [N, C, H, W]")
        if images.shape[0] == 0:
            raise DataError(f"{name}: no images")
        if resident not in ("auto", "device", "host"):
            raise ValueError(f"resident must be 'auto', 'device' or 'host', got {resident!r}")
        self.pin_memory = pin_memory
        self.requested = resident  # kept by to() and split(): "auto" decides again for the new device
        self.on_host = (resident == "host" or
                        (resident == "auto" and not fits_on_device(images.numel() * images.element_size(),
                                                                   self.device)))
        self.resident = "host" if self.on_host else "device"
        self.images = images.cpu() if self.on_host else images.to(self.device)
        self.memory_format = torch.contiguous_format
        self._staging: torch.Tensor | None = None
        self._copied = None  # the CUDA event of the last copy out of the staging buffer
        self.shape = tuple(int(s) for s in images.shape[1:])
        if labels is not None:
            if not isinstance(labels, torch.Tensor):
                labels = torch.from_numpy(np.array(labels, dtype=np.int64))
            labels = labels.to(dtype=torch.int64)
            if labels.shape != (images.shape[0],):
                raise DataError(f"{name}: {tuple(labels.shape)} labels for {images.shape[0]} images")
            self.labels = labels.to(self.device)  # small: on the device wherever the images are
            self.num_classes = int(self.labels.max().item()) + 1
        else:
            self.labels = None
            self.num_classes = 0

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def to(self, device) -> ImageData:
        out = ImageData(self.name, self.images, self.labels, device=device, resident=self.requested,
                        pin_memory=self.pin_memory)
        out.memory_format = self.memory_format
        return out

    @property
    def pinned(self) -> bool:
        """Host-resident batches go through page-locked memory: only with CUDA, whose copies from
        pinned memory run asynchronously; the CPU trains from host memory as it is, and MPS
        shares it, so there is nothing to pin for there."""
        return self.on_host and self.pin_memory and self.device.type == "cuda"

    def _gather_on_host(self, idx: torch.Tensor) -> torch.Tensor:
        """``images[idx]`` gathered on the host and copied to the device (uint8)."""
        idx = idx.cpu()  # a device-to-host copy of the indices (the run's generator draws them on the device)
        n = idx.shape[0]
        if not self.pinned:
            return self.images[idx].to(self.device)
        shape = (n,) + tuple(self.images.shape[1:])
        if self._staging is None or tuple(self._staging.shape) != shape:
            self._staging = torch.empty(shape, dtype=torch.uint8).pin_memory()
            self._copied = None
        if self._copied is not None:
            self._copied.synchronize()  # the previous batch has left the buffer
        torch.index_select(self.images, 0, idx, out=self._staging)
        x = self._staging.to(self.device, non_blocking=True)
        self._copied = torch.cuda.Event()
        self._copied.record()
        return x

    def batch(self, idx: torch.Tensor) -> torch.Tensor:
        """The images at ``idx`` (indices on the device) as float32 in [-1, 1] on the device, in
        :attr:`memory_format`."""
        raw = self._gather_on_host(idx) if self.on_host else self.images[idx]
        return raw.to(torch.float32, memory_format=self.memory_format).div_(127.5).sub_(1.0)

    def sample_labels(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Labels of ``n`` random images: the data set's own class frequencies."""
        idx = torch.randint(0, len(self), (n,), generator=generator, device=self.device)
        return self.labels[idx]

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = torch.randint(0, len(self), (n,), generator=generator, device=self.device)
        return self.batch(idx), (self.labels[idx] if self.labels is not None else None)

    def split(self, share: float, seed: int) -> tuple[ImageData, ImageData | None]:
        """``(training, held_out)``: ``share`` of the images (at least one, rounded) kept out of
        training, chosen by a permutation seeded from ``seed`` (the same run keeps the same
        images out, on any device). ``held_out`` is None when ``share`` is 0 or fewer than two
        images would be left. Both keep the full set's ``num_classes``."""
        n = len(self)
        k = int(round(share * n))
        if share <= 0 or n < 2:
            return self, None
        k = min(max(k, 1), n - 1)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + HOLDOUT_SEED_OFFSET))
        held_idx, train_idx = perm[:k].sort().values, perm[k:].sort().values
        parts = []
        for idx in (train_idx, held_idx):
            part = ImageData(self.name, self.images[idx.to(self.images.device)],
                             self.labels[idx.to(self.device)] if self.labels is not None else None,
                             device=self.device, resident=self.requested, pin_memory=self.pin_memory)
            part.num_classes = self.num_classes
            part.memory_format = self.memory_format
            parts.append(part)
        return parts[0], parts[1]


#: Added to the run's seed for the held-out split (independent of every other stream).
HOLDOUT_SEED_OFFSET = 15485863

#: Image sets are kept on a CUDA device when they take at most this share of its free memory
#: (the rest is the networks', their activations' and the penalty's double backward's).
DEVICE_SHARE = 0.5


def fits_on_device(nbytes: int, device: torch.device, share: float = DEVICE_SHARE) -> bool:
    """Whether ``nbytes`` of images stay on ``device``: always on the CPU and MPS (the host's
    memory either way), on CUDA when they take at most ``share`` of its free memory."""
    if device.type != "cuda":
        return True
    free, _total = torch.cuda.mem_get_info(device)
    return nbytes <= share * free

"""The interface every data set implements."""

from __future__ import annotations

import torch


class DataError(ValueError):
    """Data that cannot be used (missing, corrupt, wrong shape). The message names the file."""


class DataWarning(UserWarning):
    """Some of the data could not be used (e.g. unreadable files skipped) but the rest can."""


class DataSource:
    """Draws batches on ``self.device``.

    kind: "toy" (points in the plane) or "image" (``[C, H, W]`` in [-1, 1]).
    shape: shape of one sample. num_classes: 0 when unlabelled.
    """

    kind: str = ""
    name: str = ""
    shape: tuple[int, ...] = ()
    num_classes: int = 0
    device: torch.device

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return ``(x, labels)``: ``x`` float32 on the device, labels int64 or None."""
        raise NotImplementedError

    def sample_labels(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` labels drawn as the data's labels are (for the generator step of conditional
        training); only for labelled data."""
        return self.sample(n, generator)[1]

    def to(self, device) -> DataSource:  # pragma: no cover - overridden
        raise NotImplementedError

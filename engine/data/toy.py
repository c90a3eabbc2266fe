"""2-D toy data, exactly as the WGAN-GP reference ``gan_toy.py`` builds it, drawn on the device.

- 8gaussians: centres 2*{(±1,0),(0,±1),(±1/√2,±1/√2)}, std 0.02, everything / 1.414
- 25gaussians: centres 2*{-2..2}^2, std 0.05, everything / 2.828
- swissroll: scikit-learn's swiss roll (noise 0.25), columns (x, z), / 7.5
- parallel-lines: Example 1 of the WGAN paper, the law of (theta, Z) with Z ~ U[0, 1]
- points: a file's points (engine.data.points), drawn uniformly with replacement
"""

from __future__ import annotations

import math

import torch

from .base import DataSource
from .points import PointSet

_S = 1 / math.sqrt(2)
_EIGHT = [(1, 0), (-1, 0), (0, 1), (0, -1), (_S, _S), (_S, -_S), (-_S, _S), (-_S, -_S)]


def mixture_spec(name: str) -> tuple[torch.Tensor, float] | None:
    """Centres ``[K, 2]`` and per-coordinate std of a Gaussian mixture toy set, in data space
    (after the reference code's rescaling), or None for sets without modes."""
    if name == "8gaussians":
        c = torch.tensor(_EIGHT, dtype=torch.float64) * 2.0
        return c / 1.414, 0.02 / 1.414
    if name == "25gaussians":
        c = torch.tensor([(2.0 * i, 2.0 * j) for i in range(-2, 3) for j in range(-2, 3)], dtype=torch.float64)
        return c / 2.828, 0.05 / 2.828
    return None


class ToyData(DataSource):
    kind = "toy"
    shape = (2,)

    def __init__(self, name: str, device="cpu", theta: float = 1.0, points: PointSet | None = None):
        self.name = name
        self.device = torch.device(device)
        self.theta = float(theta)
        self.points = points
        self._table = self._modes = None
        if points is not None:
            self._table = torch.from_numpy(points.points).to(self.device)
            if points.modes is not None:
                self._modes = torch.from_numpy(points.modes).to(self.device)
                # The points of each mode, for drawing the modes in turn (stratified_sample).
                order = torch.argsort(self._modes, stable=True)
                self._by_mode = order
                self._mode_counts = torch.bincount(self._modes)
                self._mode_starts = torch.cumsum(self._mode_counts, 0) - self._mode_counts
        spec = mixture_spec(name) if points is None else points.centres()
        if spec is not None:
            centres, std = spec
            self.centres = torch.as_tensor(centres).to(torch.float32).to(self.device)
            self.std = std
            self.num_classes = len(centres)
        else:
            self.centres = None
            self.std = 0.0
            self.num_classes = 0

    def to(self, device) -> ToyData:
        return ToyData(self.name, device=device, theta=self.theta, points=self.points)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """A square (xmin, xmax, ymin, ymax) that frames the data with a margin, for plots."""
        if self.points is not None:
            return self.points.extent()
        if self.name == "parallel-lines":
            r = max(1.5, abs(self.theta) + 1.0)
            return (-r, r, 0.5 - r, 0.5 + r)
        r = {"8gaussians": 2.0, "25gaussians": 2.2, "swissroll": 2.0}.get(self.name, 2.0)
        return (-r, r, -r, r)

    def stratified_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` points of a mixture with the modes taken in turn (equal counts up to one)."""
        k = torch.arange(n, device=self.device) % len(self.centres)
        if self._table is not None:  # a random point of each mode in turn
            u = torch.rand(n, generator=generator, device=self.device)
            j = self._mode_starts[k] + (u * self._mode_counts[k]).long().clamp_max(self._mode_counts[k] - 1)
            return self._table[self._by_mode[j]]
        return self.centres[k] + self.std * torch.randn(n, 2, generator=generator, device=self.device)

    def sample_labels(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Mixture components as :meth:`sample` draws them."""
        if self._table is not None:
            return self.sample(n, generator)[1]
        return torch.randint(0, len(self.centres), (n,), generator=generator, device=self.device)

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        dev, g = self.device, generator
        if self._table is not None:
            i = torch.randint(0, len(self._table), (n,), generator=g, device=dev)
            return self._table[i], (self._modes[i] if self._modes is not None else None)
        if self.centres is not None:
            k = torch.randint(0, len(self.centres), (n,), generator=g, device=dev)
            x = self.centres[k] + self.std * torch.randn(n, 2, generator=g, device=dev)
            return x, k
        if self.name == "swissroll":
            t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g, device=dev))
            noise = 0.25 * torch.randn(n, 2, generator=g, device=dev)
            x = torch.stack((t * torch.cos(t), t * torch.sin(t)), dim=1) + noise
            return x / 7.5, None
        if self.name == "parallel-lines":
            z = torch.rand(n, generator=g, device=dev)
            return torch.stack((torch.full_like(z, self.theta), z), dim=1), None
        raise ValueError(f"unknown toy data set {self.name!r}")  # pragma: no cover

"""Mode coverage for the bundled digits: a small classifier shipped in ``resources/``.

docs/algorithm.md, "Quality measures": for the bundled digits a classifier gives mode coverage, the
same idea as stacked-MNIST mode counting. Generated images (any size, 1 or 3 channels, in
[-1, 1]) are averaged to grey, area-pooled to the digits' native 8x8 and classified by a small
MLP trained on the bundled 1,797 digits after the same round trip through the data pipeline's
resize (so it sees what the generator is trained on, not the raw 8x8 arrays).

- ``classes_hit``: classes predicted for at least 1% of the samples (as modes are counted on
  the toy mixtures);
- ``class_kl``: KL divergence of the predicted class histogram to the uniform one, in nats
  (0 for perfectly balanced classes, log 10 = 2.30 when everything is one digit).

The weights live in ``resources/digit_classifier.npz`` (plain arrays, no pickle);
``scripts/train_digit_classifier.py`` rebuilds them with :func:`train` (seeded, ~10 s on a CPU).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

NUM_CLASSES = 10
MIN_SHARE = 0.01
WEIGHTS = "digit_classifier.npz"
TRAIN_SIZES = (8, 16, 28, 32, 64)  # pipeline sizes the classifier is trained through


class DigitClassifier(nn.Module):
    def __init__(self, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, NUM_CLASSES))

    @staticmethod
    def prepare(images: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` in [-1, 1] -> ``[N, 64]``: grey, area-pooled to 8x8."""
        x = images.float()
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = x.mean(dim=1, keepdim=True)
        if x.shape[-2:] != (8, 8):
            x = F.adaptive_avg_pool2d(x, 8)
        return x.flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.prepare(images))


def load(path=None) -> DigitClassifier:
    """The shipped classifier (``resources/digit_classifier.npz``), in eval mode on the CPU."""
    if path is None:
        import resources
        path = resources.path(WEIGHTS)
    with np.load(path, allow_pickle=False) as z:
        state = {k: torch.from_numpy(z[k].copy()) for k in z.files if not k.startswith("meta_")}
        hidden = int(z["meta_hidden"])
    model = DigitClassifier(hidden)
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    return model


_CACHED: DigitClassifier | None = None


def shipped() -> DigitClassifier:
    global _CACHED
    if _CACHED is None:
        _CACHED = load()
    return _CACHED


@torch.no_grad()
def predict(images, model: DigitClassifier | None = None) -> np.ndarray:
    model = model or shipped()
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
    out = [model(chunk.cpu()).argmax(1) for chunk in x.split(1024)]
    return torch.cat(out).numpy()


def coverage(images, model: DigitClassifier | None = None) -> tuple[int, float]:
    """``(classes_hit, class_kl)`` of a batch of generated digits (see the module docstring)."""
    pred = predict(images, model)
    if len(pred) == 0:
        return 0, float("nan")
    p = np.bincount(pred, minlength=NUM_CLASSES) / len(pred)
    hit = int((p >= MIN_SHARE).sum())
    nz = p > 0
    kl = float((p[nz] * np.log(p[nz] * NUM_CLASSES)).sum())
    return hit, kl


# ----------------------------------------------------------------------------- training
def pipeline_views(images: np.ndarray, sizes=TRAIN_SIZES) -> np.ndarray:
    """The 8x8 uint8 digits as the data pipeline shows them at each size, back in [-1, 1]
    float32, stacked: ``[len(sizes) * N, 1, size, size]`` pooled to 8x8 -> ``[len(sizes) * N, 64]``."""
    from .data.images import crop_and_resize
    views = []
    for s in sizes:
        x = torch.from_numpy(crop_and_resize(images[:, None], s).astype(np.float32) / 127.5 - 1.0)
        views.append(DigitClassifier.prepare(x))
    return torch.cat(views).numpy()


def train(seed: int = 0, epochs: int = 60, hidden: int = 128, holdout: float = 0.2):
    """Train on the bundled digits; returns ``(model, held_out_accuracy)``. The held-out images
    (a seeded 20%) are never seen in training, in any of their resized views."""
    from .data.images import load_digits
    images, labels = load_digits()
    images = images.reshape(-1, 8, 8)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    n_test = int(round(holdout * len(images)))
    test, tr = order[:n_test], order[n_test:]
    k = len(TRAIN_SIZES)
    x_tr = torch.from_numpy(pipeline_views(images[tr]))
    y_tr = torch.from_numpy(np.tile(labels[tr], k))
    x_te = torch.from_numpy(pipeline_views(images[test]))
    y_te = torch.from_numpy(np.tile(labels[test], k))
    torch.manual_seed(seed)
    model = DigitClassifier(hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x_tr), generator=gen)
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            noise = 0.1 * torch.randn(len(idx), 64, generator=gen)  # generated digits are noisy
            loss = F.cross_entropy(model.net(x_tr[idx] + noise), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval().requires_grad_(False)
    with torch.no_grad():
        acc = float((model.net(x_te).argmax(1) == y_te).float().mean())
    return model, acc


def save(model: DigitClassifier, path, accuracy: float) -> None:
    from .io import atomic_open
    arrays = {k: v.numpy() for k, v in model.state_dict().items()}
    arrays["meta_hidden"] = np.array(model.net[0].out_features)
    arrays["meta_holdout_accuracy"] = np.array(accuracy)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)


def uniform_kl_max() -> float:
    return math.log(NUM_CLASSES)

"""An image quality measure that follows what the eye sees, with nothing to download.

FID (Heusel et al. 2017) is the Fréchet distance between Gaussians fitted to Inception-v3
features of real and generated images. Its weights are a ~100 MB download, and Inception was
trained on 299x299 photographs, not on 32x32 digits. Here the same distance,

    FD = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)),

is taken in the feature space of a small network shipped in ``resources/`` as plain arrays:

- ``digits``: the bundled digit classifier's last hidden layer (128 features; see
  :mod:`engine.digits_classifier`), for digit-like data (the bundled digits, MNIST);
- ``random``: a fixed, randomly initialised convolutional network (3 stride-2 convolutions
  with ReLU, 128 features after global average pooling; ``resources/random_features.npz``)
  for any other images. Random convolutional features do not know any data set, yet their
  statistics separate noise, blobs and structured images.

Values are comparable within one feature network and one sample size only (FD has a bias that
shrinks with the number of samples), never with published FID figures.

For digits, ``confident_share`` is the share of samples the classifier puts in one class with
probability >= 0.9: noise and blends of digits are not confidently classified.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

RANDOM_FEATURES = "random_features.npz"
CONFIDENT = 0.9
FEATURE_NETS = ("digits", "random")
FEATURE_DIMS = {"digits": 128, "random": 128}
KID_SUBSETS = 100   # KID: the mean and spread over this many subsets ...
KID_SUBSET = 1000   # ... of at most this many samples a side


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``[N, D]`` features (float64)."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(stats_a: tuple[np.ndarray, np.ndarray], stats_b: tuple[np.ndarray, np.ndarray]) -> float:
    """The Fréchet distance between the Gaussians ``(mu, sigma)`` a and b."""
    mu1, s1 = stats_a
    mu2, s2 = stats_b
    with warnings.catch_warnings():  # singular products (dead ReLU features) are handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():  # regularise, as the reference FID code does
            eps = 1e-6 * np.eye(len(s1))
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)  # imaginary parts are numerical noise
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean), 0.0))


def kid(feats_a: np.ndarray, feats_b: np.ndarray, subsets: int = KID_SUBSETS, subset_size: int | None = None,
        seed: int = 0) -> tuple[float, float]:
    """The kernel inception distance (Binkowski et al. 2018) between ``[N, D]`` feature sets a and
    b, in whatever features they are: the unbiased estimate of the squared MMD with the kernel
    k(x, y) = (x.y / D + 1)^3, averaged over ``subsets`` random subsets of ``subset_size`` of each
    side (drawn without replacement); returns (mean, standard deviation over the subsets).

    ``subset_size`` defaults to min(1000, N/2): with 1,000 samples a side, subsets of all of them
    would all be the same set and give no spread, so each subset takes half."""
    a, b = np.asarray(feats_a, dtype=np.float64), np.asarray(feats_b, dtype=np.float64)
    n = min(len(a), len(b))
    m = subset_size if subset_size is not None else min(KID_SUBSET, max(n // 2, 2))
    if n < 2 or m > n:
        return float("nan"), float("nan")
    rng = np.random.RandomState(seed)
    d = a.shape[1]
    out = np.empty(subsets)
    for i in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((p @ q.T / d + 1.0) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        out[i] = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2.0 * kxy.mean()
    return float(out.mean()), float(out.std())


class RandomFeatures(nn.Module):
    """Three stride-2 convolutions with ReLU on 32x32 RGB, global average pooled: 128 features."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(3, 32, 3, 2, 1), nn.Conv2d(32, 64, 3, 2, 1), nn.Conv2d(64, 128, 3, 2, 1)])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (32, 32):
            x = F.interpolate(x, size=(32, 32), mode="area" if x.shape[-1] > 32 else "bilinear", align_corners=None)
        for conv in self.convs:
            x = F.relu(conv(x))
        return x.mean(dim=(2, 3))


def make_random_features(seed: int = 0) -> RandomFeatures:
    """The network behind ``resources/random_features.npz`` (He-normal weights, zero biases)."""
    g = torch.Generator().manual_seed(seed)
    net = RandomFeatures()
    with torch.no_grad():
        for conv in net.convs:
            fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            conv.bias.zero_()
    return net.eval().requires_grad_(False)


def save_random_features(net: RandomFeatures, path) -> None:
    from .io import atomic_open
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **{k: v.numpy() for k, v in net.state_dict().items()})


_NETS: dict[str, nn.Module] = {}


def load_random_features() -> RandomFeatures:
    import resources
    net = RandomFeatures()
    with np.load(resources.path(RANDOM_FEATURES), allow_pickle=False) as z:
        net.load_state_dict({k: torch.from_numpy(z[k].copy()) for k in z.files})
    return net.eval().requires_grad_(False)


def feature_net(name: str) -> nn.Module:
    """The shipped feature network ``name`` (one of :data:`FEATURE_NETS`), on the CPU, cached."""
    if name not in _NETS:
        if name == "digits":
            from .digits_classifier import shipped
            _NETS[name] = shipped()
        elif name == "random":
            _NETS[name] = load_random_features()
        else:
            raise ValueError(f"unknown feature network {name!r} (allowed: {', '.join(FEATURE_NETS)})")
    return _NETS[name]


@torch.no_grad()
def features(images, name: str) -> np.ndarray:
    """``[N, D]`` features of images ``[N, C, H, W]`` in [-1, 1] (NumPy or CPU tensor). ``name``:
    one of :data:`FEATURE_NETS`, or an object with ``features(images)`` (a classifier trained on
    the data set, Inception-v3: :mod:`engine.fitted_features`, :mod:`engine.inception`)."""
    if not isinstance(name, str):
        return name.features(images)
    net = feature_net(name)
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.cpu()
    out = []
    for chunk in x.split(500):
        if name == "digits":
            h = net.prepare(chunk)
            for layer in list(net.net)[:-1]:  # up to the last hidden layer's ReLU
                h = layer(h)
            out.append(h)
        else:
            out.append(net(chunk))
    return torch.cat(out).double().numpy() if out else np.zeros((0, 128))


@torch.no_grad()
def confident_share(images, threshold: float = CONFIDENT) -> float:
    """Share of images the digit classifier assigns to one class with probability >= threshold."""
    net = feature_net("digits")
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.cpu()
    if len(x) == 0:
        return float("nan")
    p = torch.cat([F.softmax(net(chunk), dim=1).amax(dim=1) for chunk in x.split(500)])
    return float((p >= threshold).double().mean())

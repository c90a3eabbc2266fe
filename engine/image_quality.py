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
    """The Fréchet distance between the Gaussians ``(mu, sigma)`` a and b.

    Tr((S_a S_b)^(1/2)) is taken as the sum of the square roots of the eigenvalues of the
    symmetric S_a^(1/2) S_b S_a^(1/2) (the same eigenvalues), by two symmetric eigendecompositions:
    exact for covariances, and many times faster than a general matrix square root at Inception's
    2,048 features."""
    mu1, s1 = stats_a
    mu2, s2 = stats_b
    w, v = linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root1 @ s2 @ root1
    tr_covmean = float(np.sqrt(np.clip(linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean, 0.0))


def frechet_distance_of_features(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to ``[N, D]`` features a and b. With fewer
    samples than features (Inception's 2,048), Tr((S_a S_b)^(1/2)) is the sum of the singular values
    of A B^T (A, B the centred features over sqrt(N - 1)), an N x N problem instead of D x D."""
    a, b = np.asarray(feats_a, dtype=np.float64), np.asarray(feats_b, dtype=np.float64)
    if max(len(a), len(b)) >= a.shape[1]:
        return frechet_distance(feature_stats(a), feature_stats(b))
    ca, cb = (a - a.mean(0)) / np.sqrt(len(a) - 1), (b - b.mean(0)) / np.sqrt(len(b) - 1)
    tr_covmean = float(linalg.svdvals(ca @ cb.T).sum())
    diff = a.mean(0) - b.mean(0)
    return float(max(diff @ diff + (ca * ca).sum() + (cb * cb).sum() - 2.0 * tr_covmean, 0.0))


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

    def k(p, q):
        return (p @ q.T / d + 1.0) ** 3

    picks = [(rng.choice(len(a), m, replace=False), rng.choice(len(b), m, replace=False)) for _ in range(subsets)]
    if max(len(a), len(b)) <= 4000:  # the kernel matrices once; each subset's sums as quadratic forms
        va, vb = np.zeros((subsets, len(a))), np.zeros((subsets, len(b)))
        for i, (ia, ib) in enumerate(picks):
            va[i, ia], vb[i, ib] = 1.0, 1.0
        kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
        xx = ((va @ kaa) * va).sum(1) - va @ np.diag(kaa)
        yy = ((vb @ kbb) * vb).sum(1) - vb @ np.diag(kbb)
        xy = ((va @ kab) * vb).sum(1)
        out = (xx + yy) / (m * (m - 1)) - 2.0 * xy / (m * m)
    else:
        out = np.empty(subsets)
        for i, (ia, ib) in enumerate(picks):
            kxx, kyy, kxy = k(a[ia], a[ia]), k(b[ib], b[ib]), k(a[ia], b[ib])
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

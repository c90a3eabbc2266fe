"""Features that fit the user's data: a small classifier trained on a labelled image set's own
real images, whose last hidden layer the image measures are taken in (docs/guide/quality.md).

The FID authors advise a classifier's features for data Inception does not know; a classifier
trained on the set itself knows what tells its classes apart (letters, clothes, symbols, ...),
where fixed random features know nothing. It is trained once per data set, in the background
(:func:`fitted_features` returns at once; the first measurement waits for it), with progress
reported to a callback, and kept in a cache folder (``$WGAN_FEATURES_CACHE_DIR`` or
``~/.cache/wgan-studio/features``) under the data set's content hash (the images and labels as
loaded), so later runs of the same set, ``wgan-eval`` and Compare reuse it. Its held-out accuracy
(on a tenth of the images it never trained on) goes with the measure's name.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .io import user_cache_dir

CACHE_VERSION = 1
FEATURE_DIM = 64
SIZE = 32               # images are resized to this many pixels a side
MAX_TRAIN = 20_000      # at most this many training images (a random subset of larger sets)
EPOCHS = 4
HOLDOUT = 0.1


def cache_dir() -> Path:
    return user_cache_dir("features", "WGAN_FEATURES_CACHE_DIR")


def content_key(images: np.ndarray, labels: np.ndarray) -> str:
    """The data set's content hash: its uint8 images and labels as loaded, with their shapes."""
    h = hashlib.sha256(f"v{CACHE_VERSION} {images.shape} {images.dtype} {labels.shape}".encode())
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return h.hexdigest()


class FittedClassifier(nn.Module):
    """Two stride-2 convolutions and a hidden layer of :data:`FEATURE_DIM` units (the features),
    then the classes; images in [-1, 1], resized to 32x32."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.convs = nn.Sequential(nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                   nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.hidden = nn.Sequential(nn.Linear(64 * 16, FEATURE_DIM), nn.ReLU())
        self.out = nn.Linear(FEATURE_DIM, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if x.shape[-1] != SIZE:
            x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        return self.hidden(self.convs(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def train_classifier(images: np.ndarray, labels: np.ndarray, seed: int = 0, epochs: int = EPOCHS,
                     progress: Callable[[float], None] | None = None) -> tuple[FittedClassifier, float]:
    """Train on uint8 ``[N, C, H, W]`` images and their labels; returns the network and its
    accuracy on the held-out tenth. ``progress(share)`` after each epoch."""
    g = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(images)).float().div(127.5).sub(1.0)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    order = torch.randperm(len(x), generator=g)
    n_test = max(1, int(len(x) * HOLDOUT))
    test, train = order[:n_test], order[n_test:][:MAX_TRAIN]
    net = FittedClassifier(x.shape[1], int(y.max()) + 1)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for epoch in range(epochs):
        net.train()
        for idx in train[torch.randperm(len(train), generator=g)].split(128):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
        if progress is not None:
            progress((epoch + 1) / epochs)
    net.eval().requires_grad_(False)
    with torch.no_grad():
        pred = torch.cat([net(x[i]).argmax(1) for i in test.split(500)])
    return net, float((pred == y[test]).float().mean())


def save_classifier(net: FittedClassifier, accuracy: float, path: Path) -> None:
    from .io import atomic_open
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: v.numpy() for k, v in net.state_dict().items()}
    arrays["meta_accuracy"] = np.array(accuracy)
    arrays["meta_shape"] = np.array([net.convs[0].in_channels, net.out.out_features])
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_classifier(path: Path) -> tuple[FittedClassifier, float] | None:
    """The cached classifier, or None when absent or unusable (it is trained again)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            channels, classes = (int(v) for v in z["meta_shape"])
            net = FittedClassifier(channels, classes)
            net.load_state_dict({k: torch.from_numpy(z[k].copy()) for k in z.files if not k.startswith("meta_")})
            return net.eval().requires_grad_(False), float(z["meta_accuracy"])
    except (OSError, ValueError, KeyError, RuntimeError):
        return None


class FittedFeatures:
    """The features of a classifier trained on one data set: ready at once when cached, else
    trained on a background thread (:meth:`features` waits for it). ``progress(share)`` (0 to
    1) reports the training from that thread."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, progress: Callable[[float], None] | None = None,
                 background: bool = True):
        self.key = content_key(images, labels)
        self.path = cache_dir() / f"classifier-{self.key[:40]}.npz"
        self.progress = progress
        self.share = 0.0              # the share of the training done (1.0 when cached or trained)
        self.cached = load_classifier(self.path) is not None
        self._future: Future = Future()
        if self.cached:
            self.share = 1.0
            self._future.set_result(load_classifier(self.path))
        elif background:
            threading.Thread(target=self._train, args=(images, labels), name="wgan-features", daemon=True).start()
        else:
            self._train(images, labels)

    def _train(self, images, labels) -> None:
        try:
            net, acc = train_classifier(images, labels, progress=self._progress)
            try:
                save_classifier(net, acc, self.path)
            except OSError:
                pass  # a cache that cannot be written is no error: the next run trains again
            self._future.set_result((net, acc))
            self.share = 1.0
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits for the features
            self._future.set_exception(e)

    def _progress(self, share: float) -> None:
        self.share = min(share, 0.99)  # 1.0 once the classifier is there (tested and saved)
        if self.progress is not None:
            self.progress(share)

    @property
    def ready(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float | None = None) -> tuple[FittedClassifier, float]:
        return self._future.result(timeout)

    def space(self, samples: int):
        from .measures import FeatureSpace
        acc = self.wait()[1] if self.ready else None
        return FeatureSpace("fitted", FEATURE_DIM, samples, acc)

    @torch.no_grad()
    def features(self, images) -> np.ndarray:
        net = self.wait()[0]
        x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.cpu()
        out = [net.features(c) for c in x.split(500)]
        return torch.cat(out).double().numpy() if out else np.zeros((0, FEATURE_DIM))


def features_for(cfg, data_labels_known: bool = True, progress=None, background: bool = True):
    """The feature network of ``cfg``'s image measures: "digits" for the bundled digits, a
    :class:`FittedFeatures` for another set with labels, "random" for one without
    (``data_labels_known`` False: the run's data has none, nothing is loaded)."""
    if cfg.data.name == "digits" and cfg.data.channels in (0, 1):
        return "digits"
    if not data_labels_known:
        return "random"
    from .data.images import load_images
    images, labels = load_images(cfg)
    if labels is None or len(np.unique(labels)) < 2:
        return "random"
    return FittedFeatures(images, labels, progress, background)

"""FID's Inception-v3 features, from a weights file the user supplies (``[train] inception_weights``).

FID and KID compare with published figures only in the standard network: TensorFlow's Inception-v3
of 2015-12-05 ported to PyTorch, the file pytorch-fid and torch-fidelity load. The app never
downloads it. The file is checked by its SHA-256 before it is read (a wrong, damaged or missing
file is refused with a message naming the expected file and where it comes from), and the
network is torch-fidelity's own (the optional extra ``fid``): its 2,048 pool features of images
resized to 299x299 as TensorFlow 1 resized them, which is what the published figures used.

torch-fidelity's package imports torchvision at import time for feature networks this module
does not use; where torchvision cannot be installed beside the app's torch, the Inception module
and the few modules it needs are imported from the installed package without that package-level
import (:func:`_fidelity_inception_class`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import torch

#: The standard FID weights: file names, where they come from, and their SHA-256 (the name's
#: suffix is its first 8 hex digits, the torch.hub convention).
WEIGHTS_FILES = ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth")
WEIGHTS_SOURCES = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                   "pt_inception-2015-12-05-6726825d.pth",
                   "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                   "weights-inception-2015-12-05-6726825d.pth")
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
FEATURE_DIM = 2048
EXTRA_HINT = "pip install 'wgan-studio[fid]' (torch-fidelity; see docs/guide/quality.md)"


class InceptionWeightsError(ValueError):
    """The ``[train] inception_weights`` file is missing, unreadable or not the standard one."""


def expected_text() -> str:
    return (f"the standard FID Inception-v3 weights, {WEIGHTS_FILES[0]} (SHA-256 {WEIGHTS_SHA256}), "
            f"from pytorch-fid's release ({WEIGHTS_SOURCES[0]}) or torch-fidelity's "
            f"({WEIGHTS_SOURCES[1]}); the app never downloads it")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_weights(path: str | Path) -> Path:
    """``path`` when it is the standard weights file; InceptionWeightsError (naming the file,
    what is expected and where it comes from) otherwise."""
    p = Path(path)
    where = f"[train] inception_weights = {str(p)!r}"
    if not p.is_file():
        raise InceptionWeightsError(f"{where}: no such file. Expected {expected_text()}")
    try:
        digest = sha256_of(p)
    except OSError as e:
        raise InceptionWeightsError(f"{where}: cannot be read ({e.strerror or e}). Expected {expected_text()}") from e
    if digest != WEIGHTS_SHA256:
        raise InceptionWeightsError(f"{where}: not the standard weights (its SHA-256 is {digest}). Expected "
                                    f"{expected_text()}")
    return p


def import_fidelity():
    """Make torch-fidelity's Inception module importable (see :func:`_fidelity_inception_class`);
    InceptionWeightsError when torch-fidelity is not installed."""
    return _fidelity_inception_class()


def _fidelity_inception_class():
    """torch-fidelity's ``FeatureExtractorInceptionV3``. When the package cannot be imported as a
    whole (its ``__init__`` imports torchvision), its modules are imported from the installed
    package under a bare package object: the Inception module needs only torch."""
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        return FeatureExtractorInceptionV3
    except ModuleNotFoundError as e:
        if e.name == "torch_fidelity":
            raise InceptionWeightsError(f"[train] inception_weights needs torch-fidelity: {EXTRA_HINT}") from e
        if e.name != "torchvision":
            raise
    spec = importlib.util.find_spec("torch_fidelity")
    for name in [k for k in sys.modules if k == "torch_fidelity" or k.startswith("torch_fidelity.")]:
        del sys.modules[name]  # the half-imported package
    pkg = types.ModuleType("torch_fidelity")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["torch_fidelity"] = pkg
    module = importlib.import_module("torch_fidelity.feature_extractor_inceptionv3")
    return module.FeatureExtractorInceptionV3


def _build(path: Path) -> torch.nn.Module:
    """The network with the weights of ``path`` (checked already, or a test's own file)."""
    cls = _fidelity_inception_class()
    return cls("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))


class InceptionFeatures:
    """FID's 2,048 Inception-v3 pool features of images in [-1, 1] (grey ones repeated to RGB),
    on the CPU, made when first used."""

    def __init__(self, path: str | Path):
        self.path = check_weights(path)
        self._net: torch.nn.Module | None = None

    @classmethod
    def from_unchecked_file(cls, path: str | Path) -> InceptionFeatures:
        """For tests only (no configuration reaches it): a file of the same architecture with other
        weights, read without the SHA-256 check."""
        obj = cls.__new__(cls)
        obj.path, obj._net = Path(path), None
        return obj

    @property
    def net(self) -> torch.nn.Module:
        if self._net is None:
            self._net = _build(self.path)
        return self._net

    def space(self, samples: int):
        from .measures import FeatureSpace
        return FeatureSpace("inception", FEATURE_DIM, samples)

    @torch.no_grad()
    def features(self, images, chunk: int = 100) -> np.ndarray:
        x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.cpu()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x8 = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # the uint8 images FID reads
        out = [self.net(c)[0] for c in x8.split(chunk)]
        return torch.cat(out).double().numpy() if out else np.zeros((0, FEATURE_DIM))


def inception_for(cfg) -> InceptionFeatures | None:
    """The Inception features ``cfg`` asks for (``[train] inception_weights``), checked now; None
    when unset."""
    path = cfg.resolved_path(cfg.train.inception_weights, key="[train] inception_weights")
    return None if path is None else InceptionFeatures(path)

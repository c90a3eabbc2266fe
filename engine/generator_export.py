"""Take a trained generator elsewhere: one self-contained file that plain PyTorch loads.

``wgan-export RUN_OR_CHECKPOINT --format torchscript|exported-program|onnx --out FILE [--raw]``

The file holds the generator (the moving average of its weights unless ``--raw``) as a module
``g(z)`` (conditional runs: ``g(z, y)``, ``y`` int64 class numbers) that returns samples in data
space: 2-D points for toy sets, images ``[N, C, H, W]`` in [-1, 1] for image sets. It needs no
WGAN Studio to load:

- TorchScript: ``torch.jit.load(path)``; the metadata is the extra file ``wgan_studio.json``
  (``torch.jit.load(path, _extra_files={"wgan_studio.json": ""})``).
- ExportedProgram: ``torch.export.load(path).module()``; the metadata is the extra file
  ``wgan_studio.json`` (``torch.export.load(path, extra_files={"wgan_studio.json": ""})``).
- ONNX (needs ``pip install 'wgan-studio[onnx]'`` to write; any ONNX runtime runs it): inputs
  ``z`` (and ``y``), the metadata in the model's ``metadata_props`` under ``wgan_studio.json``.

Batch-norm generators are trained and sampled with the statistics of each batch (as
``wgan-sample`` and the studio do); the exported module keeps that behaviour (it normalises each
call's batch and keeps no running statistics), so it reproduces ``wgan-sample``'s samples for
the same noise, batch for batch.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from .config import dumps_config
from .export import weights_label
from .inference import LoadedModel
from .io import atomic_open

FORMATS = ("torchscript", "exported-program", "onnx")
META_FILE = "wgan_studio.json"


class _Sampler(nn.Module):
    """The generator as it samples: batch-norm on each call's batch, nothing updated."""

    def __init__(self, generator: nn.Module, conditional: bool):
        super().__init__()
        g = copy.deepcopy(generator).cpu().float()
        for m in g.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.track_running_stats = False
                m.running_mean = m.running_var = m.num_batches_tracked = None
        self.generator = g.eval().requires_grad_(False)
        self.conditional = conditional

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, y) if self.conditional else self.generator(z)


class _Conditional(nn.Module):
    def __init__(self, sampler: _Sampler):
        super().__init__()
        self.sampler = sampler

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.sampler(z, y)


class _Unconditional(nn.Module):
    def __init__(self, sampler: _Sampler):
        super().__init__()
        self.sampler = sampler

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.sampler(z)


def metadata(model: LoadedModel, fmt: str) -> dict:
    from . import __version__
    from .measures import measures_of_checkpoint

    cfg = model.config
    images = not cfg.is_toy
    inputs = {"z": {"shape": ["N", cfg.model.z_dim], "dtype": "float32", "distribution": "standard normal"}}
    if model.conditional:
        inputs["y"] = {"shape": ["N"], "dtype": "int64", "range": [0, model.num_classes - 1]}
    return {
        "software": f"WGAN Studio {__version__}",
        "format": fmt,
        "inputs": inputs,
        "output": {"shape": ["N", *model.sample_shape], "dtype": "float32",
                   "range": [-1.0, 1.0] if images else None,
                   "meaning": "images, channels first, -1 black to 1 white" if images else "2-D points"},
        "num_classes": model.num_classes,
        "weights": weights_label(model.averaged),
        "gen_iter": model.gen_iter,
        "checkpoint": str(model.path),
        "data": cfg.data.name,
        "measures": measures_of_checkpoint(model.path),  # the run's quality measures, named (engine.measures)
        "config": dumps_config(cfg),
    }


def export_generator(model: LoadedModel, out: str | Path, fmt: str) -> dict:
    """Write ``model``'s generator to ``out`` (atomically) in format ``fmt``; returns the metadata."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
    sampler = _Sampler(model.generator, model.conditional)
    module = _Conditional(sampler) if model.conditional else _Unconditional(sampler)
    z = torch.randn(4, model.config.model.z_dim, generator=torch.Generator().manual_seed(0))
    args = (z, torch.arange(4) % max(model.num_classes, 1)) if model.conditional else (z,)
    meta = metadata(model, fmt)
    extra = {META_FILE: json.dumps(meta, indent=1)}
    out = Path(out)
    if fmt == "torchscript":
        with warnings.catch_warnings():  # TorchScript is deprecated in PyTorch 2.10+, still loads everywhere
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # batch-norm's batch-size check
            traced = torch.jit.trace(module, args, check_trace=False)
            with atomic_open(out, "wb") as fh:
                torch.jit.save(traced, fh, _extra_files=extra)
    else:
        batch = torch.export.Dim("batch", min=1)
        shapes = ({"z": {0: batch}, "y": {0: batch}} if model.conditional else {"z": {0: batch}})
        if fmt == "exported-program":
            program = torch.export.export(module, args, dynamic_shapes=shapes)
            with atomic_open(out, "wb") as fh:
                torch.export.save(program, fh, extra_files=extra)
        else:
            proto = _onnx_proto(module, args, shapes)
            entry = proto.metadata_props.add()
            entry.key, entry.value = META_FILE, extra[META_FILE]
            with atomic_open(out, "wb") as fh:
                fh.write(proto.SerializeToString())
    return meta


ONNX_INSTALL = "pip install 'wgan-studio[onnx]' (or: pip install onnx onnxscript)"


def _onnx_proto(module: nn.Module, args: tuple, shapes: dict):
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise RuntimeError(f"--format onnx needs the onnx and onnxscript packages: {ONNX_INSTALL}") from None
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():  # the exporter's progress chatter
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, args, dynamo=True, dynamic_shapes=shapes)
    return program.model_proto

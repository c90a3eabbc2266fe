"""wgan-export: a generator file that plain PyTorch loads and that reproduces wgan-sample."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import Trainer
from engine.cli import export_main
from engine.inference import load_model
from tests.helpers import tiny_config

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "toy": dict(preset="toy-wgan-gp", model__generator_norm="batch"),
    "digits": dict(preset="digits-wgan-gp"),
    "conditional": dict(preset="digits-cwgan-gp"),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``trained(kind)``: the run folder of a 3-iteration run of that kind (trained once per module)."""
    folders = {}

    def get(kind):
        if kind not in folders:
            kw = dict(CASES[kind])
            folder = tmp_path_factory.mktemp(kind) / "run"
            cfg = tiny_config(kw.pop("preset"), train__iterations=3, train__checkpoint_every=3, train__eval_every=0,
                              train__sample_every=0, model__ema_decay=0.9, **kw)
            Trainer(cfg, folder).run()
            folders[kind] = folder
        return folders[kind]
    return get


class _OnnxModule:
    """An ONNX Runtime session called like the PyTorch module."""

    def __init__(self, path):
        import onnxruntime

        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def __call__(self, z, y=None):
        feed = {"z": z.numpy()} | ({"y": y.numpy()} if y is not None else {})
        return torch.from_numpy(self.session.run(None, feed)[0])


def _load_plain(path, fmt):
    """Load as a user would, with plain PyTorch (or ONNX Runtime): the module and its metadata."""
    if fmt == "onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        return _OnnxModule(path), json.loads(props["wgan_studio.json"])
    if fmt == "torchscript":
        extra = {"wgan_studio.json": ""}
        module = torch.jit.load(str(path), _extra_files=extra)
    else:
        extra = {"wgan_studio.json": ""}
        module = torch.export.load(str(path), extra_files=extra).module()
    return module, json.loads(extra["wgan_studio.json"])


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("fmt, raw", [("torchscript", False), ("exported-program", False), ("exported-program", True),
                                      ("onnx", False)])
def test_exported_generator_reproduces_wgan_sample(trained, tmp_path, kind, fmt, raw):
    folder = trained(kind)
    out = tmp_path / f"g-{fmt}.pt"
    assert export_main([str(folder), "--format", fmt, "--out", str(out)] + (["--raw"] if raw else [])) == 0
    module, meta = _load_plain(out, fmt)
    model = load_model(folder, raw=raw)
    assert meta["weights"] == ("as trained" if raw else "moving average") and meta["gen_iter"] == 3
    assert meta["inputs"]["z"]["shape"] == ["N", model.config.model.z_dim]
    assert meta["output"]["shape"] == ["N", *model.sample_shape]
    seed, n = 5, 24
    want = model.sample(n, seed)  # wgan-sample's samples: the noise torch.randn(n, z_dim) with this seed
    z = torch.randn(n, model.config.model.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        if model.conditional:
            assert meta["inputs"]["y"]["range"] == [0, model.num_classes - 1]
            got = np.concatenate([module(z, torch.full((n,), c, dtype=torch.int64)).numpy()
                                  for c in range(model.num_classes)])
        else:
            got = module(z).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    if kind != "toy":
        assert meta["output"]["range"] == [-1.0, 1.0] and got.min() >= -1 and got.max() <= 1


@pytest.mark.parametrize("kind", ["digits", "conditional"])
def test_the_readme_example_loads_it_without_wgan_studio(trained, tmp_path, kind):
    """The user guide's ten lines (docs/guide/command-line.md), run as written with WGAN Studio made
    unimportable, save a grid."""
    folder = trained(kind)
    out = tmp_path / "generator.pt2"
    assert export_main([str(folder), "--format", "exported-program", "--out", str(out)]) == 0
    assert export_main([str(folder), "--format", "exported-program", "--out", str(out)]) == 2  # exists: refused
    guide = (ROOT / "docs" / "guide" / "command-line.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(import json, torch +# wgan-export example.*?)```", guide, re.S).group(1)
    code = 'import sys\nsys.modules["engine"] = sys.modules["studio"] = None  # not installed\n' + example
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "grid.png") as img:
        assert img.size == (8 * 32, 8 * 32)
        assert len(img.convert("L").getcolors(256) or []) > 4  # a picture, not a blank


def test_onnx_without_its_packages_says_what_to_install(trained, tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name in ("onnx", "onnxscript"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    out = tmp_path / "g.onnx"
    assert export_main([str(trained("toy")), "--format", "onnx", "--out", str(out)]) == 2
    assert "pip install 'wgan-studio[onnx]'" in capsys.readouterr().err and not out.exists()

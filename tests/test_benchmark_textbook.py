"""The textbook DCGAN loop the image benchmarks compare the engine with (benchmarks/textbook_dcgan.py):
a ratio is only meaningful if both train the same networks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from benchmarks.textbook_dcgan import TextbookWGANGP, dcgan_nets
from engine import load_preset
from engine.models import build_models

ROOT = Path(__file__).resolve().parents[1]


def _count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("preset, size", [("digits-wgan-gp", 32), ("dcgan64-wgan-gp", 64)])
def test_textbook_networks_have_the_presets_parameters_and_shapes(preset, size):
    cfg = load_preset(preset)
    cfg.model.features = 8  # small and quick; the layout is what matters
    channels = 1 if preset.startswith("digits") else 3
    g, d = build_models(cfg, (channels, size, size))
    tg, td = dcgan_nets(cfg.model.z_dim, channels, 8, size, cfg.model.critic_norm)
    assert (_count(tg), _count(td)) == (_count(g), _count(d))
    z = torch.randn(4, cfg.model.z_dim, 1, 1)
    assert tg(z).shape == (4, channels, size, size)
    assert td(torch.zeros(4, channels, size, size)).shape == (4, 1)


def test_textbook_loop_trains_from_an_engine_config():
    cfg = load_preset("digits-wgan-gp")
    cfg.model.features, cfg.train.batch_size = 4, 8
    images = torch.randint(0, 256, (32, 1, 32, 32), dtype=torch.uint8)
    loop = TextbookWGANGP.from_config(cfg, images, torch.device("cpu"))
    before = [p.detach().clone() for p in loop.G.parameters()]
    loop.run(1)
    assert len(loop.log) == cfg.objective.n_critic + 1
    assert all(torch.isfinite(torch.tensor(loop.log)))
    assert any(not torch.equal(a, b) for a, b in zip(before, loop.G.parameters(), strict=True))


def test_the_gpu_benchmark_runs_both_loops_on_the_cpu_when_asked(capsys, tmp_path):
    """``--device cpu`` is the smoke check of benchmarks/gpu.py that a GPU machine would run for real."""
    spec = importlib.util.spec_from_file_location("gpu_benchmark_cpu", ROOT / "benchmarks" / "gpu.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "gpu.json"
    assert mod.main(["--device", "cpu", "--iters", "1", "--repeats", "1", "--batch", "4", "--features", "4",
                     "--images", "16", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "textbook loop (fp32, NCHW)" in text and "ratio engine / textbook" in text
    assert out.exists()

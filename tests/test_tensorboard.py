"""[train] tensorboard: the run's metrics, pictures, events and config, read back with TensorBoard's
own reader."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from engine import ConfigError, Trainer
from engine.rundir import read_metrics
from engine.tensorboard_log import TensorBoardLog, require_tensorboard
from tests.helpers import tiny_config


def _read(folder):
    acc = EventAccumulator(str(folder / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_every_metrics_column_pictures_edits_and_config_reach_tensorboard(tmp_path):
    cfg = tiny_config(train__iterations=10, train__sample_every=5, train__eval_every=5, train__checkpoint_every=0,
                      train__tensorboard=True)
    folder = tmp_path / "run"
    t = Trainer(cfg, folder)
    assert any(isinstance(o, TensorBoardLog) for o in t.observers)
    t.request_edit(lr_critic=3e-4)
    t.run()
    acc = _read(folder)
    tags = acc.Tags()
    metrics = read_metrics(folder / "metrics.csv")
    for col in ("w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "lr_critic", "n_critic"):
        events = acc.Scalars(f"train/{col}")
        assert [e.step for e in events] == metrics["gen_iter"]
        np.testing.assert_allclose([e.value for e in events], metrics[col], rtol=1e-6)
    w1 = acc.Scalars("eval/w1_exact")
    assert [e.step for e in w1] == [5, 10]
    assert [e.step for e in acc.Images("samples")] == [5, 10]
    assert acc.Images("samples")[0].width > 100
    texts = {tag for tag in tags["tensors"]}
    assert "config/text_summary" in texts and "events/edit/text_summary" in texts
    edit = acc.Tensors("events/edit/text_summary")[0]
    assert b"lr_critic" in edit.tensor_proto.string_val[0]


def test_without_the_package_a_run_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ConfigError, match=r"\[train\] tensorboard = True: needs the tensorboard package.*"
                                          r"pip install 'wgan-studio\[tensorboard\]'"):
        require_tensorboard()


def test_wgan_train_tensorboard_flag(tmp_path):
    from engine.cli import train_main

    out = tmp_path / "run"
    assert train_main(["--preset", "toy-wgan-gp", "--out", str(out), "--iters", "3", "--tensorboard", "--quiet",
                       "--set", "model.hidden=16", "--set", "train.batch_size=16", "--device", "cpu"]) == 0
    assert "tensorboard = true" in (out / "config.toml").read_text()
    assert [e.step for e in _read(out).Scalars("train/w_estimate")] == [1, 2, 3]

"""Issue 33, point 5: ``wgan-eval`` scores a checkpoint against its data set, or two image sets,
with clear messages for bad input."""

from __future__ import annotations

import json

import numpy as np

from engine import Trainer
from engine.cli import eval_main
from engine.config import load_preset
from engine.data.images import load_images
from tests.helpers import tiny_config


def test_wgan_eval_scores_a_runs_best_checkpoint_with_the_runs_measures(tmp_path, capsys):
    cfg = tiny_config("digits-wgan-gp", train__iterations=2, train__eval_every=2, train__checkpoint_every=0,
                      train__sample_every=0, objective__n_critic=1)
    Trainer(cfg, tmp_path / "run").run()
    assert eval_main([str(tmp_path / "run"), "--best", "-n", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["checkpoint"].endswith("best.pt") and out["gen_iter"] == 2 and out["samples"] == 200
    for col in ("frechet_distance", "kid", "kid_std", "sliced_w", "confident_share", "classes_hit"):
        assert out["measures"][col] is not None
    assert out["labels"]["frechet_distance"] == "FD, digit classifier features (128-d), 200 samples"
    assert eval_main([str(tmp_path / "run"), "-n", "200"]) == 0
    text = capsys.readouterr().out
    assert "(iteration 2)" in text and "KID, digit classifier features (128-d), 200 samples:" in text and "±" in text


def test_wgan_eval_scores_two_sets_and_says_when_the_features_are_random(tmp_path, capsys):
    imgs, labels = load_images(load_preset("digits-wgan-gp"))
    np.savez(tmp_path / "real.npz", images=imgs[:300, 0])
    np.savez(tmp_path / "fake.npz", images=255 - imgs[300:600, 0])
    assert eval_main(["--real", str(tmp_path / "real.npz"), "--fake", str(tmp_path / "fake.npz"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["samples"] == 300 and out["measures"]["frechet_distance"] > 0
    assert "random convolutional features" in out["labels"]["frechet_distance"]


def test_wgan_eval_refuses_bad_input_with_a_message(tmp_path, capsys):
    cases = [([], "give a run folder"), (["--real", "a.npz"], "--real and --fake go together"),
             ([str(tmp_path / "nothing")], "no such run folder"),
             ([str(tmp_path), "--best"], "no checkpoints/best.pt yet"),
             (["--real", str(tmp_path / "missing.npz"), "--fake", str(tmp_path / "missing.npz")], "missing.npz")]
    for argv, words in cases:
        assert eval_main(argv) == 2, argv
        assert words in capsys.readouterr().err, argv

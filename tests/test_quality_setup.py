"""Issue 33, points 1, 3, 4 and 7: what a run says it measures (measures.json, summary.json), FID's
Inception weights refused unless they are the standard file, a classifier trained on a labelled
set's own images (cached by content), and the best checkpoint chosen by any evaluated column."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine import Trainer, read_metrics
from engine.config import ConfigError, validate
from engine.evaluation import Evaluator, is_better
from engine.fitted_features import FittedFeatures
from engine.inception import WEIGHTS_FILES, WEIGHTS_SHA256, InceptionFeatures, InceptionWeightsError, check_weights
from engine.measures import read_measures
from tests.helpers import tiny_config


def _digits_run(tmp_path, **over):
    cfg = tiny_config("digits-wgan-gp", train__iterations=4, train__eval_every=2, train__checkpoint_every=0,
                      train__sample_every=0, objective__n_critic=1, **over)
    Trainer(cfg, tmp_path / "run").run()
    return tmp_path / "run"


def test_a_digits_run_names_its_measures_and_logs_kid_with_its_spread(tmp_path):
    run = _digits_run(tmp_path, train__best_by="kid")
    labels = read_measures(run)
    assert labels["frechet_distance"] == "FD, digit classifier features (128-d), 1,000 samples"
    assert labels["kid"].startswith("KID, digit classifier features (128-d)")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["measures"]["columns"]["kid"]["label"] == labels["kid"]
    assert summary["measures"]["columns"]["confident_share"]["better"] == "higher"
    m = {k: np.asarray(v) for k, v in read_metrics(run / "metrics.csv").items()}
    ev = np.isfinite(m["kid"])
    assert m["gen_iter"][ev].tolist() == [2, 4] and (m["kid_std"][ev] > 0).all()
    # [train] best_by = "kid": the best checkpoint is the evaluation with the lowest KID
    best = summary["best"]
    assert best["measure"] == "kid" and best["value"] == pytest.approx(float(np.min(m["kid"][ev])), rel=1e-6)
    # exported generators carry the names too
    from engine.generator_export import metadata
    from engine.inference import load_model
    assert metadata(load_model(run / "checkpoints" / "best.pt"), "torchscript")["measures"]["kid"] == labels["kid"]


def test_best_by_is_checked_against_the_data_and_follows_the_columns_direction():
    with pytest.raises(ConfigError, match=r"best_by.*'w1_exact'"):
        validate(tiny_config("digits-wgan-gp", train__best_by="w1_exact"))
    with pytest.raises(ConfigError, match="confident_share"):
        validate(tiny_config("toy-wgan-gp", train__best_by="confident_share"))
    validate(tiny_config("digits-wgan-gp", train__best_by="confident_share"))
    assert is_better(0.9, 0.8, "confident_share") and not is_better(0.9, 0.8, "kid")
    assert not is_better(float("nan"), None, "kid")


def test_inception_weights_other_than_the_standard_file_are_refused_by_name(tmp_path):
    wrong = tmp_path / "weights.pth"
    wrong.write_bytes(b"not the weights")
    for path, why in ((tmp_path / "missing.pth", "no such file"), (wrong, "not the standard weights")):
        with pytest.raises(InceptionWeightsError) as e:
            check_weights(path)
        text = str(e.value)
        assert why in text and WEIGHTS_FILES[0] in text and WEIGHTS_SHA256 in text and "pytorch-fid" in text
    cfg = tiny_config("digits-wgan-gp", train__inception_weights=str(wrong))
    with pytest.raises(ConfigError, match="inception_weights.*not the standard weights"):
        Trainer(cfg, tmp_path / "run")


def _random_inception_file(path):
    """A weights file of FID's Inception-v3 architecture with random weights (never the real one)."""
    from engine.inception import import_fidelity
    cls = import_fidelity()

    class Shell(cls):
        def load_state_dict(self, *args, **kwargs):  # the file below is empty: keep the random weights
            return None

    torch.save({}, path)
    torch.manual_seed(0)
    net = Shell("shell", ["2048"], feature_extractor_weights_path=str(path))
    torch.save(net.state_dict(), path)
    return path


def test_an_evaluation_measures_fid_and_kid_in_the_inception_network_of_the_file(tmp_path):
    inc = InceptionFeatures.from_unchecked_file(_random_inception_file(tmp_path / "random.pth"))
    g = torch.Generator().manual_seed(0)
    real = (torch.rand(3, 1, 32, 32, generator=g) * 2 - 1).numpy()  # few: Inception on the CPU is slow
    fake = np.clip(real + 0.5 * torch.randn(real.shape, generator=g).numpy(), -1, 1)
    ev = Evaluator(False, feature_net="random", inception=inc)
    try:
        res = ev.submit(1, fake, real).result()
    finally:
        ev.close()
    assert {"inception_fid", "inception_kid", "inception_kid_std"} <= set(res)
    assert all(np.isfinite(res[c]) for c in ("inception_fid", "inception_kid", "inception_kid_std"))
    assert ev.inception_space(3).words() == "Inception-v3 pool features (FID's) (2048-d), 3 samples"


def test_a_labelled_set_is_measured_in_a_classifier_trained_on_it_once(tmp_path):
    from engine.config import load_preset
    from engine.data.images import load_images
    imgs, labels = load_images(load_preset("digits-wgan-gp"))
    imgs, labels = imgs[:600], labels[:600]
    seen = []
    first = FittedFeatures(imgs, labels, progress=seen.append)
    net, acc = first.wait(timeout=120)
    assert seen and seen[-1] >= 0.9 and first.share == 1.0 and acc > 0.5
    again = FittedFeatures(imgs, labels)
    assert again.cached and again.ready and again.wait()[1] == acc  # the cache: the same classifier
    assert again.space(1000).words() == (f"features of a classifier trained on this data set (64-d, held-out "
                                         f"accuracy {acc:.0%}), 1,000 samples")
    assert again.features(imgs[:5].astype(np.float32) / 127.5 - 1).shape == (5, 64)
    other = FittedFeatures(imgs, (labels + 1) % 10, background=False)
    assert not other.cached, "another data set (other labels) gets its own classifier"


def test_an_npz_set_with_labels_gets_fitted_features_and_no_digit_share(tmp_path):
    from engine.config import load_preset
    from engine.data.images import load_images
    imgs, labels = load_images(load_preset("digits-wgan-gp"))
    np.savez(tmp_path / "set.npz", images=imgs[:400, 0], labels=labels[:400])
    cfg = tiny_config("digits-wgan-gp", data__name="npz", data__path=str(tmp_path / "set.npz"),
                      train__iterations=2, train__eval_every=2, train__checkpoint_every=0, train__sample_every=0,
                      objective__n_critic=1)
    Trainer(cfg, tmp_path / "run").run()
    m = read_metrics(tmp_path / "run" / "metrics.csv")
    assert "confident_share" not in m and np.isfinite(m["kid"][-1])
    assert read_measures(tmp_path / "run")["frechet_distance"].startswith(
        "FD, features of a classifier trained on this data set (64-d, held-out accuracy")
    # the run says so in its log (the studio's log panel and wgan-train print this line)
    from engine.measures import feature_classifier_text
    from engine.rundir import read_events
    evs = [e for e in read_events(tmp_path / "run" / "events.jsonl") if e["type"] == "feature_classifier"]
    assert evs and "held-out accuracy" in feature_classifier_text(evs[-1])


def test_a_job_rank_that_never_evaluates_trains_no_classifier(tmp_path, monkeypatch):
    """Ranks other than 0 of a job never measure quality: a classifier trained on the data set
    would take minutes of CPU from their training, on every one of them."""
    import threading

    from engine.config import load_preset
    from engine.data.images import load_images
    from engine.distributed import FollowerRunDir
    from engine.strategy import SingleProcess

    class Follower(SingleProcess):   # a rank other than 0, as engine.distributed sets one up
        leads = False

        def folder(self, path):
            return FollowerRunDir(path)

    monkeypatch.setenv("WGAN_FEATURES_CACHE_DIR", str(tmp_path / "cache"))
    imgs, labels = load_images(load_preset("digits-wgan-gp"))
    np.savez(tmp_path / "set.npz", images=imgs[:300, 0], labels=labels[:300])
    cfg = tiny_config("digits-wgan-gp", data__name="npz", data__path=str(tmp_path / "set.npz"),
                      train__iterations=2, train__eval_every=1, train__checkpoint_every=0, train__sample_every=0,
                      objective__n_critic=1)
    follower = Trainer(cfg, tmp_path / "run", strategy=Follower())
    follower.run()
    assert follower.gen_iter == 2
    assert not isinstance(follower.evaluator.feature_net, FittedFeatures)
    assert not any(t.name == "wgan-features" for t in threading.enumerate())
    assert not list((tmp_path / "cache").glob("classifier-*")), "no classifier was trained"
    assert not (tmp_path / "run").exists(), "a follower writes nothing in the run folder"

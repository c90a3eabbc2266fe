"""Quality metrics: the shipped digit classifier's mode coverage, and metrics computed off the
training thread without changing what metrics.csv holds."""

from __future__ import annotations

import math
import threading

import numpy as np
import torch

from engine import Trainer, read_metrics
from engine import digits_classifier as dc
from engine import evaluation as evaluation_mod
from engine.data.images import crop_and_resize, load_digits
from tests.helpers import tiny_config


def _metrics(path) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in read_metrics(path).items()}


def _as_pipeline(images8: np.ndarray, size: int) -> torch.Tensor:
    return torch.from_numpy(crop_and_resize(images8, size).astype(np.float32) / 127.5 - 1.0)


def test_shipped_classifier_reads_the_digits_as_the_pipeline_shows_them():
    images, labels = load_digits()
    for size in (8, 32, 64):
        pred = dc.predict(_as_pipeline(images, size))
        assert (pred == labels).mean() >= 0.95, f"accuracy at {size}x{size}"
    # RGB copies of the same digits (3 channels) are read the same way
    rgb = _as_pipeline(images, 32).repeat(1, 3, 1, 1)
    assert (dc.predict(rgb) == labels).mean() >= 0.95


def test_coverage_of_balanced_real_digits_and_of_a_collapsed_generator():
    images, labels = load_digits()
    x = _as_pipeline(images, 32)
    hit, kl = dc.coverage(x)
    assert hit == 10 and kl < 0.02
    ones = x[torch.from_numpy(labels == 1)]
    hit, kl = dc.coverage(ones)
    assert hit <= 2 and kl > 0.8 * math.log(10), "one digit only: one class hit, KL near log 10"
    # a mix of two digits: 2 classes, KL = log 5
    two = x[torch.from_numpy((labels == 3) | (labels == 7))]
    hit, kl = dc.coverage(two)
    assert hit in (2, 3) and abs(kl - math.log(5)) < 0.15


def test_digits_run_logs_classes_hit_and_kl(tmp_path):
    cfg = tiny_config("digits-wgan-gp")
    cfg.train.iterations = 4
    cfg.train.eval_every = 2
    cfg.train.checkpoint_every = cfg.train.sample_every = 0
    Trainer(cfg, tmp_path / "run").run()
    m = _metrics(tmp_path / "run" / "metrics.csv")
    ev = np.isfinite(m["classes_hit"])
    assert m["gen_iter"][ev].tolist() == [2, 4]
    assert ((m["classes_hit"][ev] >= 1) & (m["classes_hit"][ev] <= 10)).all()
    assert ((m["class_kl"][ev] >= 0) & (m["class_kl"][ev] <= math.log(10) + 1e-9)).all()
    assert np.isfinite(m["sliced_w"][ev]).all()


def test_metrics_are_computed_off_the_training_thread_and_land_in_their_row(tmp_path, monkeypatch):
    threads, release = [], threading.Event()
    real = evaluation_mod.quality_metrics

    def slow(*args, **kw):  # the first evaluation outlasts several reports
        threads.append(threading.current_thread().name)
        release.wait(timeout=5)
        return real(*args, **kw)

    monkeypatch.setattr(evaluation_mod, "quality_metrics", slow)
    cfg = tiny_config(**{"train__iterations": 30, "train__eval_every": 10, "train__checkpoint_every": 0})
    trainer = Trainer(cfg, tmp_path / "a", report_interval_s=0.0)
    seen = []

    class Obs:
        def on_metrics(self, cols):
            seen.append(cols["gen_iter"].tolist())
            if cols["gen_iter"][-1] >= 9:
                release.set()

    trainer.observers.append(Obs())
    trainer.run()
    assert threads and all(name.startswith("wgan-eval") for name in threads)
    assert threading.current_thread().name not in threads
    rows = [it for batch in seen for it in batch]
    assert rows == list(range(1, 31)), "every row reported once, in order"
    m = _metrics(tmp_path / "a" / "metrics.csv")
    assert m["gen_iter"].tolist() == list(range(1, 31))
    assert m["gen_iter"][np.isfinite(m["w1_exact"])].tolist() == [10, 20, 30]
    # the same numbers as a run whose evaluations are instantaneous
    monkeypatch.setattr(evaluation_mod, "quality_metrics", real)
    Trainer(cfg, tmp_path / "b").run()
    b = _metrics(tmp_path / "b" / "metrics.csv")
    for k in ("w_estimate", "w1_exact", "modes_covered"):
        np.testing.assert_array_equal(m[k], b[k])

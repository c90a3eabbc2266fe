"""Exports: sample grids of the requested size with the config, iteration and seed in the PNG
metadata; grids from a checkpoint; metrics CSV; plots; never overwrite without asking."""

from __future__ import annotations

import csv
import tomllib

import pytest
from PIL import Image

from tests.helpers import tiny_config

from .helpers import use


@pytest.fixture
def finished_digits(qtbot, window):
    """A tiny DCGAN run on the bundled digits, trained to the end (3 iterations)."""
    use(window, tiny_config("digits-wgan-gp", live=True, train__iterations=3))
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as done:
        window.start()
    assert done.args == ["finished"]
    return window


def export(qtbot, window, fn, *args, **kwargs):
    with qtbot.waitSignal(window.export_finished, timeout=60_000) as sig:
        assert fn(*args, **kwargs) is True
    return sig.args[0]


def test_export_grid_has_requested_size_and_metadata(qtbot, finished_digits, tmp_path):
    window = finished_digits
    out = tmp_path / "grid.png"
    written = export(qtbot, window, window.export_grid, out, count=12, nrow=4, seed=7, size=300)
    assert written == str(out)
    with Image.open(out) as img:
        assert img.size[0] == 300
        # 3 rows of 4 samples (32 px + 2 px padding): the aspect ratio of the grid is kept
        assert img.size[1] == round(300 * (3 * 34 + 2) / (4 * 34 + 2))
        meta = dict(img.text)
    assert meta["gen_iter"] == "3" and meta["seed"] == "7" and meta["count"] == "12"
    cfg = tomllib.loads(meta["config"])
    assert cfg["data"]["name"] == "digits" and cfg["model"]["features"] == 8

    # the same seed gives the same picture; another seed does not
    same = export(qtbot, window, window.export_grid, tmp_path / "same.png", count=12, nrow=4, seed=7, size=300)
    other = export(qtbot, window, window.export_grid, tmp_path / "other.png", count=12, nrow=4, seed=8, size=300)
    pixels = [Image.open(p).tobytes() for p in (out, same, other)]
    assert pixels[0] == pixels[1] != pixels[2]


def test_export_never_overwrites_without_asking(qtbot, finished_digits, tmp_path):
    window = finished_digits
    out = tmp_path / "grid.png"
    out.write_bytes(b"precious")
    asked = []
    window.question_handler = lambda title, text: asked.append(text) or False
    assert window.export_grid(out, count=4, nrow=2, size=64) is False
    assert window.export_metrics(out) is False
    assert out.read_bytes() == b"precious" and len(asked) == 2 and "grid.png" in asked[0]

    window.question_handler = lambda title, text: True
    export(qtbot, window, window.export_grid, out, count=4, nrow=2, size=64)
    assert Image.open(out).size[0] == 64


def test_export_from_checkpoint(qtbot, finished_digits, tmp_path):
    window = finished_digits
    ckpt = window.run_path / "checkpoints" / "latest.pt"
    out = export(qtbot, window, window.export_checkpoint_grid, ckpt, tmp_path / "ck.png", count=9, nrow=3, seed=1,
                 size=150)
    with Image.open(out) as img:
        assert img.size[0] == 150
        assert img.text["source"] == str(ckpt) and img.text["gen_iter"] == "3"
        assert img.text["weights"] == "as trained"  # digits-wgan-gp keeps no moving average


def test_export_metrics_csv_and_plots(qtbot, finished_digits, tmp_path):
    window = finished_digits
    export(qtbot, window, window.export_metrics, tmp_path / "m.csv")
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert [int(r["gen_iter"]) for r in rows] == [1, 2, 3] and "w_estimate" in rows[0]
    export(qtbot, window, window.export_plots, tmp_path / "plots.png")
    assert Image.open(tmp_path / "plots.png").size[0] >= 800
    export(qtbot, window, window.export_plots, tmp_path / "plots.svg")
    assert "<svg" in (tmp_path / "plots.svg").read_text()[:2000]


def test_export_toy_grid_while_running(qtbot, window, tmp_path):
    use(window, tiny_config(live=True))
    window.start()
    qtbot.waitUntil(lambda: window.samples.payload is not None, timeout=30_000)
    out = export(qtbot, window, window.export_grid, tmp_path / "toy.png", count=200, seed=2, size=256)
    assert window.is_active(), "exporting does not stop the run"
    with Image.open(out) as img:
        assert img.size == (256, 256) and int(img.text["gen_iter"]) > 0
        assert img.text["weights"] == "moving average"  # toy-wgan-gp samples its averaged generator
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)

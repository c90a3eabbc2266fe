"""Your own 2-D points ([data] name = "points"): the loader, its messages, and the data source."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from engine.config import ConfigError, load_preset, validate
from engine.data import DataError, make_data
from engine.data import points as pts
from engine.data.points import PointSet, load_points, write_points


def ring(n_per=50, seed=0, radius=1.5):
    rng = np.random.default_rng(seed)
    ang = np.arange(8) * np.pi / 4
    centres = np.stack([np.cos(ang), np.sin(ang)], 1) * radius
    modes = np.repeat(np.arange(8), n_per)
    return centres[modes] + 0.05 * rng.standard_normal((8 * n_per, 2)), modes, centres


def points_config(path, **kw):
    cfg = load_preset("toy-wgan-gp")
    cfg.data.name = "points"
    cfg.data.path = str(path)
    for k, v in kw.items():
        setattr(cfg.model, k, v)
    return cfg


@pytest.mark.parametrize("text, sep", [("x,y\n", ","), ("", "\t"), ("# my ring\n", " "), ("a;b\n", ";")])
def test_text_tables_with_or_without_header(tmp_path, text, sep):
    p = tmp_path / "p.csv"
    p.write_text(text + "\n".join(f"{x}{sep}{y}" for x, y in [(0.5, 1.0), (-2.0, 3.25), (1e-3, -4)]) + "\n\n")
    s = load_points(p)
    np.testing.assert_array_equal(s.points, np.array([[0.5, 1.0], [-2.0, 3.25], [1e-3, -4]], np.float32))
    assert s.modes is None and s.centres() is None


def test_written_points_read_back_exactly_with_modes_and_centres(tmp_path):
    x, m, centres = ring()
    write_points(tmp_path / "r.csv", x, m)
    s = load_points(tmp_path / "r.csv")
    np.testing.assert_array_equal(s.points, x.astype(np.float32))
    np.testing.assert_array_equal(s.modes, m)
    c, spread = s.centres()
    np.testing.assert_allclose(c, centres, atol=0.03)
    assert 0.03 < spread < 0.07  # the blobs' std, 0.05
    np.save(tmp_path / "r.npy", np.column_stack([x, m + 10]))  # any whole numbers name the modes
    s2 = load_points(tmp_path / "r.npy")
    np.testing.assert_array_equal(s2.modes, m)


@pytest.mark.parametrize("content, message", [
    ("1.0\n2.0\n3.0\n", r"line 1: 1 value; allowed: x, y"),
    ("x,y\n1,2\nhello,3\n", r"line 3: 'hello' is not a number"),
    ("1,2\n3,nan\n", r"line 2: not a finite number \(3.0, nan\)"),
    ("1,2\n", r"1 point; at least 2 are needed"),
    ("x,y\n", r"0 points; at least 2 are needed"),
    ("1,2\n3,4,5,6\n", r"line 2: 4 values; allowed"),
    ("1,2,0\n3,4\n", r"line 2: 2 values, the lines before have 3"),
    ("1,2,0\n3,4,1.5\n", r"line 2: mode 1.5 is not a whole number >= 0"),
])
def test_bad_text_files_name_file_line_and_what_is_wrong(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=rf"bad.csv: {message}"):
        load_points(p)


def test_bad_npy_files_and_binary_text(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros((5, 1)))
    with pytest.raises(DataError, match=r"one.npy: an array of shape \(5, 1\); allowed"):
        load_points(tmp_path / "one.npy")
    np.save(tmp_path / "nan.npy", np.array([[0, 0], [1, np.inf], [2, 2]], float))
    with pytest.raises(DataError, match=r"nan.npy: row 1: not a finite number"):
        load_points(tmp_path / "nan.npy")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(DataError, match=r"bin.csv: not a text file"):
        load_points(tmp_path / "bin.csv")


def test_ten_million_rows_are_refused_without_reading_them_all(tmp_path, monkeypatch):
    monkeypatch.setattr(pts, "MAX_POINTS", 1_000)  # the same rule, at a size a test can write
    p = tmp_path / "huge.csv"
    p.write_text("0.5,0.25\n" * 10_000)
    with pytest.raises(DataError, match=r"huge.csv: more than the 1,000 points allowed \(line 1001\)"):
        load_points(p)
    if os.path.exists("/dev/zero"):  # Linux and macOS
        with pytest.raises(DataError, match="is not a regular file"):
            load_points("/dev/zero")


def test_the_points_data_source_draws_the_files_points_and_modes(tmp_path):
    x, m, centres = ring()
    write_points(tmp_path / "r.csv", x, m)
    data = make_data(points_config(tmp_path / "r.csv"))
    assert data.kind == "toy" and data.num_classes == 8
    g = torch.Generator().manual_seed(0)
    batch, labels = data.sample(256, g)
    table = torch.from_numpy(x.astype(np.float32))
    hit = (batch[:, None, :] == table[None]).all(-1)
    assert hit.any(1).all(), "every sample is one of the file's points"
    assert torch.equal(labels, torch.from_numpy(m)[hit.float().argmax(1)])
    strat = data.stratified_sample(80, g)
    near = torch.cdist(strat.double(), torch.from_numpy(centres)).argmin(1)
    assert torch.equal(torch.bincount(near, minlength=8), torch.full((8,), 10)), "the modes in turn"
    lo_x, hi_x, lo_y, hi_y = data.extent
    assert lo_x < x[:, 0].min() and hi_x > x[:, 0].max() and lo_y < x[:, 1].min() and hi_y > x[:, 1].max()


def test_points_need_a_path_and_modes_for_conditional_runs(tmp_path):
    cfg = points_config("")
    with pytest.raises(ConfigError, match=r"\[data\] path"):
        validate(cfg)
    p = tmp_path / "plain.csv"
    write_points(p, ring()[0])
    with pytest.raises(DataError, match="conditional training needs a mode column"):
        make_data(points_config(p, conditional="concat"))


def test_points_all_in_one_place_still_get_a_frame():
    lo_x, hi_x, lo_y, hi_y = PointSet(np.ones((2, 2), np.float32)).extent()
    assert lo_x < 1 < hi_x and lo_y < 1 < hi_y


def test_a_run_learns_points_from_a_csv(tmp_path):
    """A ring of 8 blobs in a CSV file: exact W1 against the file's points falls by at least half
    in 100 generator iterations (the WGAN-GP toy preset, smaller and with a faster step)."""
    from engine import Trainer
    from tests.helpers import tiny_config

    x, m, _ = ring(n_per=100)
    write_points(tmp_path / "ring.csv", x, m)
    cfg = tiny_config(data__name="points", data__path=str(tmp_path / "ring.csv"), train__iterations=100,
                      train__eval_every=0, train__checkpoint_every=0, train__sample_every=0, model__hidden=64,
                      model__layers=3, model__init="pytorch", train__batch_size=64, optimiser__lr_critic=1e-3,
                      optimiser__lr_generator=1e-3)
    t = Trainer(cfg, None)
    before = t.evaluate()["w1_exact"]
    t.run()
    after = t.evaluate()
    assert after["w1_exact"] <= 0.5 * before, (before, after)


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_the_run_folder_keeps_its_points_and_resumes_and_repeats_without_the_original(tmp_path, suffix):
    """The points are copied into RUN/data/ and config.toml names the copy relative to the folder:
    --resume and a repeat from RUN/config.toml work after the original file is deleted."""
    from engine.cli import train_main
    from engine.config import load_config
    from engine.rundir import read_metrics

    x, m, _ = ring(n_per=10)
    src = tmp_path / "elsewhere" / f"mine{suffix}"
    src.parent.mkdir()
    if suffix == ".npy":
        np.save(src, np.column_stack([x, m]))
    else:
        write_points(src, x, m)
    original = src.read_bytes()
    tiny = ["--set", "model.hidden=16", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=5",
            "--set", "train.sample_every=0", "--set", "train.eval_every=5", "--device", "cpu", "--quiet"]
    run = tmp_path / "run"
    assert train_main(["--preset", "toy-wgan-gp", "--set", 'data.name="points"', "--set", f'data.path="{src}"',
                       "--out", str(run), "--iters", "5", *tiny]) == 0
    kept = run / "data" / f"points{suffix}"
    assert kept.read_bytes() == original
    cfg = load_config(run / "config.toml")
    assert cfg.data.path == f"data/points{suffix}" and cfg.resolved_data_path() == kept
    src.unlink()
    shutil.rmtree(src.parent)

    assert train_main(["--resume", str(run), "--iters", "10", "--quiet"]) == 0
    assert read_metrics(run / "metrics.csv")["gen_iter"][-1] == 10
    assert kept.read_bytes() == original
    assert sorted(p.name for p in (run / "data").iterdir()) == [kept.name]

    again = tmp_path / "again"  # repeated from the run's own config, from another working folder
    assert train_main([str(run / "config.toml"), "--out", str(again), "--iters", "5", *tiny]) == 0
    assert (again / "data" / f"points{suffix}").read_bytes() == original
    first, second = read_metrics(run / "metrics.csv"), read_metrics(again / "metrics.csv")
    np.testing.assert_array_equal(first["w_estimate"][:5], second["w_estimate"][:5])


# ---------------------------------------------------------------- drawn points (the studio's Draw mode)

def draw_ring(drawing, radius=1.5, blobs=8):
    """Eight clicks on a ring: what a user's mouse does, through the calls the view makes."""
    for k in range(blobs):
        a = 2 * np.pi * k / blobs
        drawing.press(radius * np.cos(a), radius * np.sin(a))
        drawing.release()


def test_drawing_paints_erases_clears_and_undoes_stroke_by_stroke():
    from engine.data.drawing import Drawing

    d = Drawing(radius=0.2, density=10, seed=1)
    d.press(0, 0)
    d.release()
    assert len(d) == 10 and d.modes() is None  # one blob: a single mode is no mixture
    d.press(1, 0)
    d.move(1.05, 0)  # within the radius: still a blob
    d.release()
    assert len(d) == 20 and list(np.bincount(d.modes())) == [10, 10]
    d.press(-2, 0)  # a line: dabs every half radius, a slow and a fast drag alike
    for x in np.linspace(-2, -0.98, 50)[1:]:
        d.move(x, 0)
    d.release()
    assert len(d) == 20 + 10 * (1 + 10) and d.modes() is None
    assert np.abs(d.points[20:, 1]).max() < 0.2 * 3
    d.press(1, 0, erase=True)
    d.move(1.05, 0)
    d.release()
    assert 110 <= len(d) < 130 and not np.any(np.hypot(*(d.points - [1, 0]).T) <= 0.2)
    assert not np.any(np.hypot(*(d.points - [1.05, 0]).T) <= 0.2)
    n = len(d)
    d.press(5, 5, erase=True)  # erased nothing: no undo step
    d.release()
    assert d.clear() and len(d) == 0 and not d.clear()
    assert d.undo() and len(d) == n
    assert d.undo() and len(d) == 130  # the erase
    assert d.undo() and d.undo() and len(d) == 10  # the line, the second blob
    assert d.undo() and len(d) == 0 and not d.can_undo and not d.undo()


def test_a_run_learns_a_drawn_ring_of_eight_blobs(tmp_path):
    """A drawn ring of 8 blobs, saved as the studio saves it: 8 modes, and exact W1 against the
    drawing falls by at least half in 100 generator iterations."""
    from engine import Trainer
    from engine.data.drawing import Drawing
    from tests.helpers import tiny_config

    d = Drawing(radius=0.1, density=100, seed=0)
    draw_ring(d)
    d.save(tmp_path / "drawing.csv")
    s = load_points(tmp_path / "drawing.csv")
    assert len(s.points) == 800 and len(s.centres()[0]) == 8
    cfg = tiny_config(data__name="points", data__path=str(tmp_path / "drawing.csv"), train__iterations=100,
                      train__eval_every=0, train__checkpoint_every=0, train__sample_every=0, model__hidden=64,
                      model__layers=3, model__init="pytorch", train__batch_size=64, optimiser__lr_critic=1e-3,
                      optimiser__lr_generator=1e-3)
    t = Trainer(cfg, None)
    before = t.evaluate()
    t.run()
    after = t.evaluate()
    assert after["w1_exact"] <= 0.5 * before["w1_exact"], (before, after)
    assert "modes_covered" in after and t.evaluator is not None and t.data.centres is not None


def test_a_config_saved_elsewhere_still_finds_a_runs_points(tmp_path):
    """Save As of an opened points run's configuration (data/points.csv, relative to the run
    folder) into another folder keeps pointing at the run's points."""
    from engine import load_config, save_config

    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    (run / "data" / "points.csv").write_text("0,0\n1,1\n")
    (run / "config.toml").write_text('[data]\nname = "points"\npath = "data/points.csv"\n')
    cfg = load_config(run / "config.toml")
    (tmp_path / "elsewhere").mkdir()
    save_config(cfg, tmp_path / "elsewhere" / "copy.toml")
    again = load_config(tmp_path / "elsewhere" / "copy.toml")
    assert again.resolved_data_path() == (run / "data" / "points.csv").resolve()
    save_config(cfg, run / "config-2.toml")  # beside it: stays relative, as the run folder has it
    assert load_config(run / "config-2.toml").data.path == "data/points.csv"


def three_blobs(centres, n_per: int = 150, std: float = 0.8, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(c, std, size=(n_per, 2)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(len(centres)), n_per)


def test_points_far_from_the_origin_train_as_well_as_near_it_and_come_back_in_their_units(tmp_path, monkeypatch):
    """Issue 35 point 4: three blobs around (10-25, 10-25), std 0.8, collapsed onto a line while the
    same blobs near the origin trained. Now the networks train in standardised coordinates kept
    with the run: the W1 in the file's units, divided by the scale, matches the blobs at the
    origin's, and the samples come back where the file's points are."""
    from engine import Trainer
    from engine.checkpoint import load_checkpoint
    from engine.inference import generate, load_model
    from tests.helpers import tiny_config

    monkeypatch.setattr("engine.build.EVAL_POINTS", 300)  # exact W1 is cubic in the points
    far, modes = three_blobs([(10.0, 10.0), (25.0, 12.0), (17.0, 25.0)])
    centre, scale = PointSet(far, modes).standardisation()
    near = ((far - centre) / scale).astype(np.float32)   # the same blobs, at the origin, unit scale
    w1 = {}
    for name, x in (("far", far), ("near", near)):
        write_points(tmp_path / f"{name}.csv", x, modes)
        cfg = tiny_config(data__name="points", data__path=str(tmp_path / f"{name}.csv"), train__iterations=30,
                          train__eval_every=0, train__checkpoint_every=30, train__sample_every=0, model__hidden=64,
                          model__layers=3, model__init="pytorch", train__batch_size=64, optimiser__lr_critic=1e-3,
                          optimiser__lr_generator=1e-3)
        t = Trainer(cfg, tmp_path / f"run-{name}")
        before = t.evaluate()["w1_exact"]
        t.run()
        w1[name] = t.evaluate()["w1_exact"]
        assert w1[name] < 0.9 * before, (name, before, w1[name])
    # The same training: before, the far blobs ended at 0.81 x the scale against 0.57 (100 iterations).
    assert abs(w1["far"] / scale - w1["near"]) < 0.1 * w1["near"] + 0.01, (w1, scale)
    # The scale used is said at the start, and kept with the run: its generator, loaded from the
    # checkpoint alone, draws points in the file's units.
    start = next(e for e in map(__import__("json").loads, (tmp_path / "run-far" / "events.jsonl").read_text()
                                .splitlines()) if e["type"] == "start")
    assert "standardised coordinates" in start["data_scale"] and f"{scale:.4g}" in start["data_scale"]
    state = load_checkpoint(tmp_path / "run-far" / "checkpoints" / "latest.pt")
    assert torch.allclose(state["generator"]["data_centre"], torch.as_tensor(centre, dtype=torch.float32))
    loaded = load_model(tmp_path / "run-far")
    pts_drawn = generate(loaded.generator, 2000, loaded.config.model.z_dim, seed=1)
    assert np.abs(pts_drawn.mean(0) - far.mean(0)).max() < 2.5, pts_drawn.mean(0)

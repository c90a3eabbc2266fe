"""Conditional runs in the studio: one grid row per class, labelled; live toy points coloured by
class; the export dialog's class picker writes only the chosen classes' rows."""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine import Trainer
from studio.export_grid_dialog import ExportGridDialog
from studio.worker import live_toy_payload
from tests.helpers import tiny_config

from .helpers import use


def test_conditional_grid_rows_and_export_of_chosen_classes(qtbot, window, tmp_path):
    use(window, tiny_config("digits-cwgan-gp", live=True, train__iterations=3, train__sample_every=3,
                            train__sample_count=20))
    with qtbot.waitSignal(window.run_finished, timeout=120_000) as done:
        window.start()
    assert done.args == ["finished"]
    grid = window.samples.grid
    qtbot.waitUntil(lambda: grid.images is not None and grid.gen_iter == 3, timeout=30_000)
    # 20 fixed samples, 10 digits: one row per digit, 2 per row, each row labelled with its digit
    assert len(grid.images) == 20 and grid.nrow == 2
    assert [t.toPlainText() for t in grid.row_labels] == [str(k) for k in range(10)]
    assert "10 classes" in grid.caption.text()
    grid.select(5)
    assert "class 2" in grid.zoom_label.text()

    # the export dialog offers the class picker for a conditional run, and checks what is typed
    assert window.export_num_classes() == 10
    dlg = ExportGridDialog(window, tmp_path / "x.png", is_toy=False, num_classes=10)
    qtbot.addWidget(dlg)
    dlg.classes.setText("3, 12")
    dlg._accept()
    assert dlg.result() == 0 and dlg.classes_error.isVisibleTo(dlg) and "out of range" in dlg.classes_error.text()
    dlg.classes.setText("3,7")
    dlg._accept()
    assert dlg.result() == 1 and dlg.values()["classes"] == [3, 7]
    plain = ExportGridDialog(window, tmp_path / "y.png", is_toy=False)
    qtbot.addWidget(plain)
    assert "classes" not in plain.values()

    out = tmp_path / "classes.png"
    with qtbot.waitSignal(window.export_finished, timeout=60_000):
        assert window.export_grid(out, count=3, seed=1, size=300, classes=[3, 7]) is True
    with Image.open(out) as img:
        assert img.text["classes"] == "3,7" and img.size[0] == 300
        assert img.size[1] == round(300 * (2 * 34 + 2) / (3 * 34 + 2))   # 2 rows (classes) of 3
    # the same from the run's checkpoint
    ckpt = window.run_path / "checkpoints" / "latest.pt"
    with qtbot.waitSignal(window.export_finished, timeout=60_000):
        assert window.export_checkpoint_grid(ckpt, tmp_path / "ck.png", count=4, seed=1, size=200, classes=[0]) is True
    with Image.open(tmp_path / "ck.png") as img:
        assert img.text["classes"] == "0" and img.size[1] == round(200 * 36 / (4 * 34 + 2))


def test_live_toy_points_are_coloured_by_class(qtbot, window):
    t = Trainer(tiny_config(model__conditional="concat", train__sample_count=32))
    t.step()
    payload = live_toy_payload(t)
    assert set(payload) == set(t.make_samples(write=False))
    window.samples.set_payload(payload)
    brushes = {b.color().getRgb()[:3] for b in window.samples.toy.fake_item.data["brush"]}
    assert len(brushes) == 8  # one colour per mixture component
    assert np.array_equal(np.unique(payload["labels"]), np.arange(8))

"""Your own 2-D data in the studio: Draw mode with the mouse (paint, erase, undo, clear, train on
the drawing) and File > Open points."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine.config import load_config
from engine.data.points import load_points, write_points
from tests.gui.helpers import stop, use, wait_state
from tests.helpers import tiny_config


def _at(toy, x: float, y: float) -> QPoint:
    """The viewport pixel of data point (x, y)."""
    scene = toy.plot.vb.mapViewToScene(QPointF(x, y))
    return toy.view.mapFromScene(scene)


def _mouse(toy, kind, x, y, button=Qt.MouseButton.LeftButton):
    held = button if kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
    pos = QPointF(_at(toy, x, y))
    event = QMouseEvent(kind, pos, toy.view.viewport().mapToGlobal(pos), button if kind != QEvent.Type.MouseMove
                        else Qt.MouseButton.NoButton, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(toy.view.viewport(), event)


def stroke(toy, path, button=Qt.MouseButton.LeftButton):
    """Press at the first point of ``path``, move through the rest, release: a user's stroke."""
    (x0, y0), rest = path[0], path[1:]
    _mouse(toy, QEvent.Type.MouseButtonPress, x0, y0, button)
    for x, y in rest:
        _mouse(toy, QEvent.Type.MouseMove, x, y, button)
    _mouse(toy, QEvent.Type.MouseButtonRelease, *path[-1], button)


def test_draw_erase_undo_clear_with_the_mouse_and_keys(qtbot, window):
    toy = window.samples.toy
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert toy.draw_mode and toy.draw.bar.isVisible()
    toy.plot.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    toy.draw.density_spin.setValue(30)
    stroke(toy, [(1.0, 1.0)])                       # a click: one blob
    stroke(toy, [(-1.0, -1.0), (-1.02, -1.0)])      # a tiny drag: still a blob
    assert len(toy.drawing) == 60 and toy.drawing.modes() is not None
    assert "60 points, 2 blobs" in toy.draw.drawing_label.full_text and "x₁" in toy.draw.drawing_label.full_text
    assert toy.draw.item.isVisible() and len(toy.draw.item.data) == 60
    r = toy.draw.brush_radius()
    assert 0 < r < 1

    stroke(toy, [(1.0, 1.0), (1.01, 1.0)], Qt.MouseButton.RightButton)  # the right button erases
    left = toy.drawing.points
    assert 30 <= len(left) < 60 and not (np.hypot(*(left - [1.0, 1.0]).T) <= r).any()
    qtbot.keyClick(window, Qt.Key.Key_E)                                # the Erase tool
    assert toy.draw.erase_tool.isChecked()
    stroke(toy, [(-1.0, -1.0)])
    assert len(toy.drawing) < len(left)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(toy.drawing) == 60
    qtbot.mouseClick(toy.draw.clear_button, Qt.MouseButton.LeftButton)
    assert len(toy.drawing) == 0 and not toy.draw.train_button.isEnabled()
    qtbot.mouseClick(toy.draw.undo_button, Qt.MouseButton.LeftButton)
    assert len(toy.drawing) == 60 and toy.draw.train_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_B)
    toy.plot.setRange(xRange=(-20, 20), yRange=(-20, 20), padding=0)   # zoomed out: the brush covers more data
    assert toy.draw.brush_radius() > 5 * r
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert not toy.draw_mode and not toy.draw.item.isVisible() and len(toy.drawing) == 60


def test_train_on_the_drawing_keeps_it_in_the_run_folder(qtbot, window):
    use(window, tiny_config(live=True))
    toy = window.samples.toy
    toy.set_draw_mode(True)
    toy.plot.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    for k in range(8):  # a ring of 8 blobs
        a = 2 * np.pi * k / 8
        stroke(toy, [(1.5 * np.cos(a), 1.5 * np.sin(a))])
    drawn = toy.drawing.points.copy()
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_state(qtbot, window, "running")
    assert not toy.draw_mode
    run = window.run_path
    assert run.name.endswith("-drawing")
    qtbot.waitUntil(lambda: window.model.samples is not None, timeout=60_000)
    qtbot.waitUntil(lambda: toy.payload is not None, timeout=60_000)
    assert toy.field_item.isVisible() and toy.fake_item.isVisible() and toy.real_item.isVisible()
    assert "x₁" in toy.caption.text()  # the data's scale
    stop(qtbot, window)
    cfg = load_config(run / "config.toml")
    assert cfg.data.name == "points" and cfg.data.path == "data/points.csv"
    kept = load_points(run / "data" / "points.csv")
    np.testing.assert_array_equal(kept.points, drawn)
    assert kept.modes is not None and kept.modes.max() == 7


def test_open_points_shows_them_at_their_scale_and_names_a_bad_files_line(qtbot, window, tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "mine.csv"
    write_points(good, rng.normal(0, 50, (200, 2)) + [300, -100])
    use(window, tiny_config(live=True))
    assert window.open_points(good)
    cfg = window.config_panel.config()
    assert cfg.data.name == "points" and cfg.data.path == str(good)
    toy = window.samples.toy
    assert "mine.csv: 200 real points" in toy.caption.text() and "x₁ 1" in toy.caption.text()  # the scale
    (x0, x1), _ = toy.plot.vb.viewRange()
    assert x0 < 200 and x1 > 400  # framed at the data's own scale
    window.start()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: toy.payload is not None, timeout=60_000)
    assert toy.payload["extent"][1] > 350
    stop(qtbot, window)

    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\nhello,3\n")
    messages = []
    window._warn = lambda title, text: messages.append((title, text))
    assert not window.open_points(bad)
    assert messages and messages[0][0] == "Cannot open points"
    assert "bad.csv: line 3: 'hello' is not a number" in messages[0][1]
    assert window.config_panel.config().data.path == str(good)  # the form is unchanged

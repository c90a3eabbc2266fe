"""Issue 35: the studio as a newcomer finds it, third pass. One test (or a few) per numbered point."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

from studio.panels.keys import takes_free_text
from studio.panels.plots.column import MIN_DATA_PX
from studio.panels.plots.export_plots import PNG_SCALE, export_size
from studio.settings import Settings

from .helpers import pause, start_live, stop, stopped_run, wait_state


def focusable_widgets(window) -> list[QWidget]:
    """The window's widgets a user can put the text cursor or the focus in, as shown now."""
    return [w for w in window.findChildren(QWidget)
            if w.window() is window and w.isVisible() and w.isEnabled() and w.focusProxy() is None
            and w.focusPolicy() & Qt.FocusPolicy.TabFocus]


# ---------------------------------------------------------------------- 3. shortcuts in every field
def test_space_and_ctrl_right_reach_the_run_from_every_focusable_widget(qtbot, window):
    start_live(qtbot, window)
    pause(qtbot, window)
    steps, toggles = [], []
    window.act_step.triggered.connect(lambda *_: steps.append(1))
    window.act_pause.triggered.connect(lambda *_: toggles.append(1))
    window.activateWindow()
    walked, spaced = 0, 0
    for tab in range(window.tabs.count()):   # the Samples panel's boxes, the Distances form's
        window.tabs.setCurrentIndex(tab)
        widgets = focusable_widgets(window)
        assert widgets
        for w in widgets:
            w.setFocus()
            text = w.text() if isinstance(w, QAbstractSpinBox) else None
            qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
            walked += 1
            assert len(steps) == walked, f"Ctrl+Right did not step from {type(w).__name__} {w.objectName()!r}"
            if takes_free_text(w):
                continue  # a path or a name keeps its blanks
            for state in ("running", "paused"):   # and back: Step needs a paused run
                qtbot.keyClick(w, Qt.Key.Key_Space)
                spaced += 1
                assert len(toggles) == spaced, f"Space did not reach Pause from {type(w).__name__} {w.objectName()!r}"
                wait_state(qtbot, window, state)
            assert text is None or w.text() == text, "a shortcut key edited the field"
    assert walked > 20
    stop(qtbot, window)


# ---------------------------------------------------------------------- 2. readable plots
def tick_label_rects(axis):
    """The on-screen rectangles of an axis' tick labels, as pyqtgraph lays them out to paint."""
    img = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [rect for rect, _flags, _text in specs[2]]


def test_every_plot_shown_is_readable_at_1366x768_and_exports_at_its_own_size(qtbot, window, tmp_path):
    window.resize(1366, 768)
    assert window.open_path(stopped_run(tmp_path))
    qtbot.waitUntil(lambda: window.plots.buf.n == 6, timeout=30_000)
    plots = window.plots
    plots.refresh(force=True)
    qtbot.wait(50)
    shown = plots.shown_plots()
    assert len(shown) >= 5
    for p in shown:
        assert p.vb.height() >= MIN_DATA_PX, (p.titleLabel.text, p.vb.height())
        rects = sorted(tick_label_rects(p.getAxis("left")), key=lambda r: r.top())
        assert len(rects) >= 2, p.titleLabel.text
        for a, b in zip(rects, rects[1:], strict=False):
            assert b.top() >= a.bottom(), f"tick labels overlap in {p.titleLabel.text}"
    # The rest is one scroll away; the user picks the plots shown, per kind of run, remembered.
    assert plots.scroll.verticalScrollBar().maximum() > 0
    plots.column.actions["grad"].setChecked(False)
    assert plots.grad_plot not in plots.shown_plots()
    assert plots.lr_plot.getAxis("bottom").style["showValues"], "the bottom plot carries the x values"
    plots.reset("wgan-gp", is_toy=False)
    assert plots.grad_plot in plots.shown_plots(), "an image run has its own choice"
    plots.reset("wgan-gp", is_toy=True)
    assert plots.grad_plot not in plots.shown_plots()
    window.layout_.save()
    assert Settings(window.settings.q).list_value("plots/hidden_toy") == ["grad"]

    # Export plots: the same legible size whatever the window's.
    sizes = []
    for w, h in ((1366, 768), (900, 600)):
        window.resize(w, h)
        qtbot.wait(20)
        window.plots.export_plots(str(tmp_path / f"plots-{w}.png"))
        with Image.open(tmp_path / f"plots-{w}.png") as img:
            sizes.append(img.size)
    want = export_size(len(plots.shown_plots()))
    assert sizes == [(int(want[0] * PNG_SCALE), int(want[1] * PNG_SCALE))] * 2

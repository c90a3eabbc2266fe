"""Issue 35: the studio as a newcomer finds it, third pass. One test (or a few) per numbered point."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QAbstractSpinBox, QDockWidget, QToolButton, QWidget

from studio.panels.keys import takes_free_text
from studio.panels.plots.column import MIN_DATA_PX
from studio.panels.plots.export_plots import PNG_SCALE, export_size
from studio.panels.samples.draw_tool import DRAWING_CAPTION
from studio.settings import Settings

from .helpers import pause, start_live, stop, stopped_run


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
    # Where Space goes is what is walked here (what Pause does is test_new_user's): the run stays
    # paused, so Step stays enabled, and no widget waits for the run to change state.
    window.act_pause.triggered.disconnect()
    window.act_pause.triggered.connect(lambda *_: toggles.append(1))
    window.activateWindow()
    walked, spaced, seen = 0, 0, set()
    views = [lambda: window.tabs.setCurrentIndex(0),
             lambda: window.samples.set_kind(False),          # the image grid's "per row" box
             lambda: (window.samples.set_kind(True), window.samples.toy.set_draw_mode(True)),  # brush, density
             lambda: window.tabs.setCurrentIndex(1)]           # the Distances form
    for show in views:
        show()
        widgets = [w for w in focusable_widgets(window) if id(w) not in seen]
        assert widgets
        seen.update(id(w) for w in widgets)
        for w in widgets:
            w.setFocus()
            text = w.text() if isinstance(w, QAbstractSpinBox) else None
            qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
            walked += 1
            assert len(steps) == walked, f"Ctrl+Right did not step from {type(w).__name__} {w.objectName()!r}"
            if takes_free_text(w):
                continue  # a path or a name keeps its blanks
            qtbot.keyClick(w, Qt.Key.Key_Space)
            spaced += 1
            assert len(toggles) == spaced, f"Space did not reach Pause from {type(w).__name__} {w.objectName()!r}"
            assert text is None or w.text() == text, "a shortcut key edited the field"
    assert walked > 20
    assert {"brushSize", "brushDensity"} <= {w.objectName() for w in window.findChildren(QWidget) if id(w) in seen}
    assert id(window.samples.grid.nrow_spin) in seen
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


# ---------------------------------------------------------------------- 6. what a running run's panels say
def test_a_running_run_is_not_told_to_start(qtbot, window):
    from studio.panels.samples.captions import NO_SAMPLES
    from studio.panels.steer import ACTIVE_STATUS, IDLE_STATUS

    assert window.steer.status.text() == IDLE_STATUS
    start_live(qtbot, window)
    assert window.steer.status.text() == ACTIVE_STATUS
    assert NO_SAMPLES not in window.samples.toy.caption.text()
    stop(qtbot, window)
    assert window.steer.status.text() == IDLE_STATUS


# ---------------------------------------------------------------------- 8. a followed run's picture
def test_a_followed_runs_picture_shows_as_a_picture_not_a_grid_of_one(qtbot, tmp_path):
    from studio.panels.samples import SamplesPanel
    from studio.sources import png_payload

    Image.new("RGB", (120, 90), (200, 120, 40)).save(tmp_path / "iter_0000300.png")
    panel = SamplesPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_payload(png_payload(tmp_path / "iter_0000300.png"))
    grid = panel.grid
    assert not grid.nrow_spin.isVisible() and not grid.nrow_label.isVisible()
    assert grid.caption.text() == "The run's picture at generator iteration 300 (samples/iter_0000300.png)"
    assert "1 samples" not in grid.caption.text()
    panel.clear()
    assert grid.nrow_spin.isVisible()


# ---------------------------------------------------------------------- 7 and 15. Steer's requests and refusals
def test_one_return_sends_one_edit_and_a_refusal_goes_when_the_run_stops(qtbot, window):
    start_live(qtbot, window)
    qtbot.waitUntil(lambda: window.steer.lr_critic.isEnabled(), timeout=30_000)
    pause(qtbot, window)
    steer, field = window.steer, window.steer.lr_critic
    sent = []
    steer.edit_requested.connect(lambda key, value: sent.append((key, value)))
    window.activateWindow()
    field.setFocus()
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "0.0003")
    qtbot.keyClick(field, Qt.Key.Key_Return)   # Enter, then the focus leaves the field: one request
    assert sent == [("lr_critic", 3e-4)]
    field.setFocus()
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "-5")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert steer.errors["lr_critic"].isVisible()
    stop(qtbot, window)
    assert not steer.errors["lr_critic"].isVisible() and steer.field_error("lr_critic") == ""


def test_the_log_says_what_a_request_from_the_folder_asked_and_what_came_of_it():
    from studio.panels.log import describe_event

    line = describe_event({"type": "request", "gen_iter": 40, "action": "set", "key": "lr_critic", "value": 3e-4,
                           "by": "wgan-ctl", "outcome": "applied"})
    assert "set lr_critic (α_D) = 0.0003 from wgan-ctl: applied" in line
    line = describe_event({"type": "request", "gen_iter": 40, "action": "pause", "outcome": "refused",
                           "reason": "the run has stopped"})
    assert line.endswith("request pause: refused: the run has stopped")


# ---------------------------------------------------------------------- 12. Ctrl+D on an image preset
def test_ctrl_d_on_an_image_preset_says_why_there_is_nothing_to_draw(qtbot, window):
    assert window.load_preset("digits-wgan-gp")
    assert window.samples.currentWidget() is window.samples.grid
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert "Draw mode is for 2-D points" in window.statusBar().currentMessage()


# ---------------------------------------------------------------------- 18. Compare in front
def test_compare_comes_in_front_of_the_main_window(qtbot, window):
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    compare = window.show_compare()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is compare, timeout=5_000)
    window.activateWindow()   # the main window in front again (a dialog closed, a click)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    window.show_compare()     # Window > Compare runs, again
    qtbot.waitUntil(lambda: QApplication.activeWindow() is compare, timeout=5_000)


# ---------------------------------------------------------------------- 11. unsaved form edits
def test_switching_preset_asks_before_throwing_away_the_forms_edits(qtbot, window):
    assert window.load_preset("toy-wgan-gp")
    field = window.config_panel.field_widget("train.iterations")
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "777")
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert window.config_panel.is_modified()
    asked = []
    window.question_handler = lambda title, text: asked.append(title) or False
    assert not window.load_preset("digits-wgan-gp")
    assert asked and window.config_panel.config().train.iterations == 777
    assert window.preset_combo.currentText() == "toy-wgan-gp"
    window.question_handler = lambda title, text: True
    assert window.load_preset("digits-wgan-gp")
    assert window.config_panel.config().data.name == "digits"


# ---------------------------------------------------------------------- 9. marker labels keep off ★ best
def test_marker_labels_are_not_drawn_over_the_best_label(qtbot, monkeypatch):
    from studio.panels.plots import PlotsPanel

    monkeypatch.setattr("studio.panels.plots.column.MIN_DATA_PX", 24)  # a W plot as short as before point 2
    plots = PlotsPanel()
    qtbot.addWidget(plots)
    plots.resize(700, 200)   # the markers' one height reaches down to the ★ label's
    plots.show()
    plots.reset("wgan-gp", is_toy=True)
    import numpy as np
    it = np.arange(1, 101)
    plots.append_metrics({"gen_iter": it, "w_estimate": 1 / np.sqrt(it)})
    plots.refresh(force=True)
    for k in range(6):
        plots.add_event({"type": "pause" if k % 2 == 0 else "resume", "gen_iter": 40 + k})
    plots.add_event({"type": "best", "gen_iter": 40, "measure": "w1_exact", "value": 0.25})
    qtbot.wait(20)
    best = plots.marks.best_line.label
    best_rect = best.mapRectToScene(best.boundingRect())
    for line in plots.marks.labelled:
        if line.label.isVisible():
            rect = line.label.mapRectToScene(line.label.boundingRect())
            assert not rect.intersects(best_rect), line.label.toPlainText()


# ---------------------------------------------------------------------- 10. nothing moves under the mouse
def test_the_cannot_start_banner_moves_no_field(qtbot, window):
    form = window.config_panel
    field, other = form.field_widget("train.iterations"), form.field_widget("optimiser.lr_critic")  # above it
    qtbot.wait(20)
    y = other.mapTo(window, other.rect().topLeft()).y()
    form.set_field_text("train.iterations", "-3")
    assert form.banner.isVisible() and form.banner.text().startswith("Cannot start")
    qtbot.wait(20)
    assert other.mapTo(window, other.rect().topLeft()).y() == y
    assert field.isVisible()


def dock_widths(window) -> dict[str, int]:
    return {d.objectName(): d.width() for d in window.findChildren(QDockWidget) if d.isVisible()}


def on_screen(widget, window) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def test_draw_mode_and_painting_move_no_dock_and_cut_no_text(qtbot, window):
    """Points 9 and 10: at 1366x768, entering Draw mode and painting a long count narrows no side
    panel; the drawing hint wraps clear of the Draw button; the count ends in "…" where it does not
    fit, whole in its tooltip, and is never drawn under the bar's buttons."""
    window.resize(1366, 768)
    qtbot.wait(50)
    toy = window.samples.toy
    before = dock_widths(window)
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    toy.plot.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    toy.draw.density_spin.setValue(200)
    for x in np.linspace(-1.7, 1.7, 12):      # many blobs and points: a long count and scale
        toy.draw.draw_stroke([(x, -1.3 * x)])
    qtbot.wait(50)
    assert len(toy.drawing) == 2400 and dock_widths(window) == before
    hint = toy.caption
    assert hint.text() == DRAWING_CAPTION and hint.height() >= hint.heightForWidth(hint.width())
    assert not on_screen(hint, window).intersects(on_screen(toy.draw_button, window))
    count = toy.draw.drawing_label
    assert count.full_text.startswith("2400 points, 12 blobs") and "x₂" in count.full_text
    if count.elided:
        assert count.text().endswith("…") and count.full_text in count.toolTip()
    else:
        assert count.fontMetrics().horizontalAdvance(count.text()) <= count.width()
    bar = [on_screen(b, window) for b in toy.draw.bar.findChildren(QToolButton)] + \
          [on_screen(s, window) for s in (toy.draw.brush_spin, toy.draw.density_spin)]
    assert not any(on_screen(count, window).intersects(r) for r in bar)
    window.resize(1000, 700)                  # narrower still: the count shortens, the docks keep theirs
    qtbot.wait(50)
    assert count.elided and count.full_text in count.toolTip()


# ---------------------------------------------------------------------- 19. the digit grid uses the space
def test_the_digit_grid_fills_a_wide_short_panel(qtbot, window):
    window.load_preset("digits-wgan-gp")
    grid = window.samples.grid
    images = np.random.default_rng(0).uniform(-1, 1, (64, 1, 32, 32)).astype(np.float32)

    def tile_px():
        return grid.vb.mapViewToDevice(grid.item.boundingRect()).boundingRect().width() / grid.columns

    columns = {}
    for w, h in ((1366, 768), (1600, 1000)):
        window.resize(w, h)
        qtbot.wait(50)
        grid.set_images(images, 100)
        qtbot.wait(50)
        width, height = grid.vb.width(), grid.vb.height()
        assert width > 1.5 * height, "the grid's panel is wide and short at the default layout"
        auto = tile_px()
        best = max(min(width / (c * 34 + 2), height / (-(-64 // c) * 34 + 2)) for c in range(1, 65)) * 34
        assert auto >= 0.95 * best, (w, h, grid.columns)
        columns[w, h] = grid.columns
        grid.nrow_spin.setValue(8)            # the square grid it drew before: far smaller
        qtbot.wait(50)
        assert grid.columns == 8 and tile_px() * 1.25 < auto
        grid.nrow_spin.setValue(0)
        assert grid.nrow_spin.text() == "auto"
    window.resize(1366, 768)                  # back to the small window: auto lays the grid out again
    qtbot.waitUntil(lambda: grid.columns == columns[1366, 768], timeout=5_000)
    window.layout_.save()
    assert Settings(window.settings.q).int_value("samples/nrow", -1) == 0


def test_the_cannot_start_banner_text_keeps_inside_its_box(qtbot, window):
    """Point 9: the form's red banner, in full, with its text off the box's edges (it touched the
    left border)."""
    window.resize(1366, 768)
    form = window.config_panel
    form.set_field_text("train.iterations", "-3")
    qtbot.wait(20)
    banner = form.banner
    dock = window.config_dock
    assert on_screen(banner, window).left() >= on_screen(dock, window).left()
    assert on_screen(banner, window).right() <= on_screen(dock, window).right()
    img = banner.grab().toImage()
    ground = img.pixelColor(img.width() // 2, img.height() - 3).lightness()
    inked = [x for x in range(img.width()) for y in range(2, img.height() - 2)
             if img.pixelColor(x, y).lightness() < ground - 80]
    assert inked, "the banner shows its text"
    assert min(inked) >= 5 and max(inked) <= img.width() - 5, (min(inked), max(inked), img.width())


# ---------------------------------------------------------------------- 13. a data path that is not there
def test_a_missing_image_folder_says_where_it_looked_and_the_log_links_no_folder(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the preset's relative "images" is read against the current folder
    messages = []
    window.runs.ui.warn = lambda title, text: messages.append(text)
    window.question_handler = lambda title, text: True
    assert window.load_preset("dcgan64-wgan-gp")
    window.start()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)
    qtbot.waitUntil(lambda: window.runs.error_box is not None, timeout=10_000)
    text = window.runs.error_box.text() + window.runs.error_box.informativeText()
    assert "images: no such folder (looked for " in text and str(tmp_path) in text, text
    assert "No run folder" in window.log_panel.run_link.text()

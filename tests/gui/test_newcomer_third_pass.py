"""Issue 35: the studio as a newcomer finds it, third pass. One test (or a few) per numbered point."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

from studio.panels.keys import takes_free_text

from .helpers import pause, start_live, stop, wait_state


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

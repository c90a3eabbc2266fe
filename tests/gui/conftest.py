"""Fixtures of the studio's GUI tests (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest


@pytest.fixture
def window(qtbot):
    from studio.main_window import MainWindow

    w = MainWindow(live_samples_s=0.3)
    w.question_handler = lambda title, text: pytest.fail(f"unexpected question: {title}: {text}")
    qtbot.addWidget(w)
    w.show()
    return w


"""Fixtures of the studio's GUI tests (pytest-qt, offscreen)."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _collect_earlier_tests_qt_objects():
    """Python's cyclic garbage collector runs in whichever thread allocates when it triggers. An
    earlier test's closed windows, left to it, can then be destroyed on a training thread, and Qt
    warns ("QBasicTimer::start: Timers cannot be started from another thread"): the likely cause
    of one failure of test_conditional_samples in a fresh-clone CI run (not reproduced in 6
    reruns). Collect them here, on the GUI thread, before this test starts any thread."""
    gc.collect()
    yield


@pytest.fixture
def window(qtbot):
    from studio.main_window import MainWindow

    w = MainWindow(live_samples_s=0.3)
    w.question_handler = lambda title, text: pytest.fail(f"unexpected question: {title}: {text}")
    qtbot.addWidget(w)
    w.show()
    return w


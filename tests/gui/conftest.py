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


def _modal_refused(what: str):
    def refuse(*args, **kwargs):
        texts = [a for a in args if isinstance(a, str)]
        if args and hasattr(args[0], "windowTitle"):   # a dialog's own exec(): say which dialog
            box = args[0]
            texts = [box.windowTitle()] + ([box.text()] if hasattr(box, "text") else [])
        raise AssertionError(f"a modal {what} opened during a test: {texts}. Its event loop would hold the "
                             "test where no timeout reaches it; give the code a handler the test can answer")
    return refuse


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch):
    """A modal dialog's exec() runs Qt's own event loop: nobody clicks it offscreen, and no
    SIGALRM reaches Python inside it, so a dialog a test did not expect held a CI run until its
    90 minutes ran out. Every modal entry point the studio uses fails the test at once instead,
    naming the dialog; code that asks the user has a handler the tests replace."""
    from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMenu, QMessageBox

    for cls, names in ((QDialog, ("exec",)), (QMessageBox, ("exec", "question", "information", "warning", "critical")),
                       (QInputDialog, ("exec", "getInt", "getDouble", "getText", "getItem")),
                       (QFileDialog, ("exec", "getOpenFileName", "getSaveFileName", "getExistingDirectory")),
                       (QMenu, ("exec",))):
        for name in names:
            monkeypatch.setattr(cls, name, _modal_refused(f"{cls.__name__}.{name}"))
    yield


@pytest.fixture
def window(qtbot):
    from studio.main_window import MainWindow

    w = MainWindow(live_samples_s=0.3)
    w.question_handler = lambda title, text: pytest.fail(f"unexpected question: {title}: {text}")
    qtbot.addWidget(w)
    w.show()
    return w


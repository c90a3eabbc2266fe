"""Work-arounds for bugs in the libraries the studio runs on.

PySide6 6.12 on CPython 3.11: every Qt method that returns ``None`` (``QPainter.setPen``,
``QLabel.setText``, ``QWidget.update``, ...) gives back a reference to ``None`` it never took
(the bindings seem to assume the immortal ``None`` of Python >= 3.12). Each call lowers
``None``'s reference count by one; pyqtgraph makes thousands of such calls per repaint, so after
a minute of live plotting the count reaches zero and the interpreter aborts with "Fatal Python
error: none_dealloc: deallocating None". Measured: 100 calls of ``QLabel.setText`` lower
``sys.getrefcount(None)`` by exactly 100.

``True`` and ``False`` leak the same way on some paths (a run of a few minutes then aborts with
"bool_dealloc: deallocating True or False").

These are static objects that are never freed, so the cure is to make them as good as immortal,
which is what Python 3.12 does: add a huge constant to their reference counts once. The same is
done for the other interpreter-lifetime singletons (small ints, ``()``, ``""``, ``b""``,
``Ellipsis``, ``NotImplemented``) in case a binding returns one of them the same way. Nothing
reads those counts except ``sys.getrefcount``. Not needed (and not done) on Python >= 3.12.
"""

from __future__ import annotations

import ctypes
import sys

_BOOST = 1 << 48  # ~2.8e14 leaked references: centuries of repainting


def _singletons() -> list:
    return [None, True, False, Ellipsis, NotImplemented, (), "", b"", *range(-5, 257)]


def make_none_immortal() -> bool:
    """Raise the singletons' reference counts far out of reach of the leak. True if done."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if getattr(make_none_immortal, "done", False):
        return True
    before = sys.getrefcount(None)
    # ob_refcnt is the first field of every CPython object (release builds): check on None first.
    refcnt = ctypes.c_ssize_t.from_address(id(None))
    refcnt.value += _BOOST
    if sys.getrefcount(None) - before < _BOOST // 2:  # not the layout we expect: undo, do nothing
        refcnt.value -= _BOOST
        return False
    for obj in _singletons()[1:]:
        ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST
    make_none_immortal.done = True
    return True

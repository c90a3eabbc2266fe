"""Text fields and the window's shortcuts (issue 18, point 2).

A focused text field claims the keys it could use (Qt's ShortcutOverride): Ctrl+E moves its
cursor to the end, Space types a blank. :class:`WindowShortcutsFirst` lets the window's own
shortcuts through instead, so Export, Step, Stop... work whichever field has the focus, and a
shortcut key never edits a field. Plain keys (Space) pass only from fields where they cannot be
part of a value (numbers, choices, buttons); a path keeps its spaces.

:class:`ShortcutsInEveryField` gives every widget of a window that takes the focus the same rule
(issue 35 point 3: the Samples panel's "per row", brush and density boxes kept Space and Ctrl+Right).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QKeyCombination, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit

_MODIFIERS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier


def is_window_shortcut(widget, event, plain_keys: bool) -> bool:
    """Is ``event`` (a key event sent to ``widget``) the shortcut of an enabled action of its window?"""
    if not plain_keys and not (event.modifiers() & _MODIFIERS):
        return False
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    seq = QKeySequence(QKeyCombination(mods, Qt.Key(event.key())))
    for action in widget.window().actions():
        if action.isEnabled() and any(s.matches(seq) == QKeySequence.SequenceMatch.ExactMatch
                                      for s in action.shortcuts()):
            return True
    return False


class WindowShortcutsFirst(QObject):
    """Event filter for fields: the window's shortcuts win over the field's own key bindings."""

    def __init__(self, parent=None, *, plain_keys: bool = False):
        super().__init__(parent)
        self.plain_keys = plain_keys

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and is_window_shortcut(obj, event, self.plain_keys):
            return True  # not accepted by the field: the window's shortcut fires, the field is untouched
        return False


def takes_free_text(widget) -> bool:
    """Can a blank be part of what ``widget`` holds (a path, a name, a note)? Numbers, choices,
    buttons and read-only text cannot: Space is the window's there."""
    if isinstance(widget, QAbstractSpinBox):
        return False
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    return False


class ShortcutsInEveryField(QObject):
    """The window's shortcuts from whichever of its widgets has the focus: each widget gets the
    filter when it first takes the focus (so panels added later, dialogs' fields aside, are
    covered without each panel remembering to)."""

    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        self._filtered: set[int] = set()
        QApplication.instance().focusChanged.connect(self._on_focus)

    def _on_focus(self, _old, new) -> None:
        if new is None or id(new) in self._filtered or new.window() is not self.window_:
            return
        self._filtered.add(id(new))
        new.installEventFilter(self)
        new.destroyed.connect(lambda *_, key=id(new): self._filtered.discard(key))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ShortcutOverride and is_window_shortcut(obj, event, not takes_free_text(obj)):
            return True  # not accepted by the widget: the window's shortcut fires
        return False

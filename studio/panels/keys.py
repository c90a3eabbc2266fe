"""Text fields and the window's shortcuts (issue 18, point 2).

A focused text field claims the keys it could use (Qt's ShortcutOverride): Ctrl+E moves its
cursor to the end, Space types a blank. :class:`WindowShortcutsFirst` lets the window's own
shortcuts through instead, so Export, Step, Stop... work whichever field has the focus, and a
shortcut key never edits a field. Plain keys (Space) pass only from fields where they cannot be
part of a value (numbers); a path keeps its spaces.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QKeyCombination, QObject, Qt
from PySide6.QtGui import QKeySequence

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

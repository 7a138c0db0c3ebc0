"""Keys typed into a focused editor go to the editor, not to a window shortcut.

The window's actions use single keys (Enter accepts a suggestion, D is the next image,
1-9 pick labels, Space marks done, Tab selects the next box). Qt asks the focused widget
first with a ShortcutOverride event; a spin box or line edit does not claim most of these
keys, so typing "3000" then Enter in the Display dock's Window field would accept a
suggestion instead of applying the value. This filter claims every plain key (no Ctrl,
Alt or Meta) for a focused text editor; F-keys and Esc still reach the window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

_CHORD = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)
_PASS_THROUGH = {Qt.Key.Key_Escape} | {Qt.Key(Qt.Key.Key_F1.value + i) for i in range(35)}


def is_text_editor(widget: QWidget | None) -> bool:
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        return not (isinstance(widget, QLineEdit) and widget.isReadOnly())
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    return False


def editor_claims(widget: QWidget | None, event: QKeyEvent) -> bool:
    """Whether ``event`` (a key pressed while ``widget`` has focus) belongs to the editor."""
    if not is_text_editor(widget):
        return False
    if event.modifiers() & _CHORD:
        return False
    return Qt.Key(event.key()) not in _PASS_THROUGH


class EditorKeyGuard(QObject):
    """Install once on the application (``install``)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and isinstance(watched, QWidget)
            and editor_claims(watched, event)
        ):
            event.accept()  # the editor gets the key press; no shortcut fires
            return True
        return False

    @classmethod
    def install(cls, parent: QObject) -> EditorKeyGuard:
        guard = cls(parent)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(guard)
        return guard

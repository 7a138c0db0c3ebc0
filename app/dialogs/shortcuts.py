"""F1: the keyboard cheat-sheet (LabelImg-compatible keys first)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("W", "Draw a box (drag on the image)"),
    ("A / D", "Previous / next image"),
    ("Space", "Mark the image done (again: back to in progress)"),
    ("Del", "Delete the selected box"),
    ("Ctrl+D", "Duplicate the selected box"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo (also across images)"),
    ("Ctrl+S", "Save (everything is already saved as you work)"),
    (
        "1 … 9",
        "Label of the selected box (e.g. right after drawing it); with no box selected, the label of the next box",
    ),
    ("Arrows (Shift: ×10)", "Nudge the selected box by one pixel"),
    ("Tab / Shift+Tab", "Select the next / previous box"),
    ("Esc", "Cancel drawing or dragging; deselect"),
    ("Ctrl+Shift+D / Ctrl+Shift+T", "Toggle difficult / truncated on the selected box"),
    ("Ctrl+Shift+V", "Copy the boxes of the previous image"),
    ("Alt+0 … Alt+9", "Grade the marked scale; Alt+G marks the next scale"),
    ("Alt+A", "Accept the model's suggested grade"),
    ("Enter / R", "Accept / reject the selected suggestion"),
    ("Ctrl+Enter", "Accept all suggestions above the threshold"),
    ("Ctrl+M", "Suggest boxes for this image"),
    ("N", "Review next: the unreviewed image the active model would learn most from"),
    ("Mouse wheel", "Zoom around the pointer"),
    ("Space+drag / middle drag", "Pan"),
    ("Ctrl+F / Ctrl+0", "Fit the image / show 1:1 (one image pixel per screen pixel)"),
    ("Ctrl+= / Ctrl+-", "Zoom in / out"),
    ("Ctrl+O / Ctrl+N / Ctrl+E", "Open / new project / export"),
    ("Ctrl+I", "Add images"),
    ("F1", "This list"),
)


def shortcuts_html() -> str:
    rows = "".join(
        f"<tr><td style='padding:2px 12px 2px 0'><b>{k}</b></td><td>{v}</td></tr>"
        for k, v in SHORTCUTS
    )
    return f"<table>{rows}</table>"


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.label = QLabel(shortcuts_html())
        area = QScrollArea()
        area.setWidget(self.label)
        area.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(area)
        lay.addWidget(buttons)
        self.resize(560, 620)

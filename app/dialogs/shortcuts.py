"""F1: the keyboard cheat-sheet (LabelImg-compatible keys first).

The text wraps to the dialog's width (never a horizontal scroll bar) and the dialog opens
tall enough to show every row when the screen allows it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

WIDTH = 620  # logical pixels: the longest description fits in two lines

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
    ("Right-drag / right double-click", "Window (across) and level (up/down) / reset them"),
    ("M", "Ruler: drag to measure (mm with pixel spacing, else px)"),
    ("H", "Hyperpigmentation view of a face photo"),
    ("Ctrl+Shift+I", "DICOM tags (never the patient's)"),
    ("N", "Review next: the unreviewed image the active model would learn most from"),
    ("Mouse wheel", "Zoom around the pointer"),
    ("Space+drag / middle drag", "Pan"),
    ("Ctrl+F / Ctrl+0", "Fit the image / show 1:1 (one image pixel per screen pixel)"),
    ("Ctrl+= / Ctrl+-", "Zoom in / out"),
    ("Ctrl+O / Ctrl+N / Ctrl+E", "Open / new project / export"),
    ("Ctrl+I", "Add images"),
    ("F11", "Full screen (again: back)"),
    ("Enter in a field", "Applies the typed value (keys go to the focused field first)"),
    ("F1", "This list"),
)


def shortcuts_html() -> str:
    rows = "".join(
        f"<tr><td style='padding:2px 12px 2px 0; white-space:nowrap'><b>{k}</b></td>"
        f"<td>{v}</td></tr>"
        for k, v in SHORTCUTS
    )
    return f"<table>{rows}</table>"


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        # A text view lays the table out to its own width (a QLabel in a scroll area kept
        # its unwrapped width and scrolled sideways).
        self.text = QTextBrowser()
        self.text.setHtml(shortcuts_html())
        self.text.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.text.setFrameShape(QTextBrowser.Shape.NoFrame)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
        self._fit_to_screen()

    def wanted_height(self, width: int = WIDTH) -> int:
        """The dialog height that shows every row at ``width`` without scrolling."""
        doc = self.text.document().clone()
        doc.setTextWidth(width - 40)  # dialog margins and the text view's own
        return int(doc.size().height()) + 80  # the Close button and margins

    def _fit_to_screen(self) -> None:
        parent = self.parentWidget()
        screen = parent.screen() if parent is not None else self.screen()
        avail = screen.availableGeometry() if screen is not None else None
        width = min(WIDTH, int(avail.width() * 0.9)) if avail is not None else WIDTH
        height = self.wanted_height(width)
        if avail is not None:
            height = min(height, int(avail.height() * 0.9))
        self.resize(width, height)

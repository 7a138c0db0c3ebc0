"""Mouse window/level on the canvas, as in PACS viewers: right-drag.

Horizontal motion changes the window width (right: wider, flatter contrast), vertical
motion the level (down: higher level, darker image) - the convention of OsiriX/Horos,
RadiAnt and Weasis. A right double-click puts the image's own window back. On a colour
photo, which has no window, the same gesture changes contrast (horizontal) and brightness
(vertical: up is brighter).

The helper filters the canvas viewport's mouse events (so the canvas itself needs no new
gesture code) and emits the new values; the reading-room controller turns them into
FilterSettings. Sensitivity scales with the image's value range: one screen pixel moves
the window by ``span / PIXELS_PER_RANGE``, so 512 px of drag sweep the whole range of a
12-bit radiograph as of an 8-bit one.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QWidget

PIXELS_PER_RANGE = 512.0
MIN_WIDTH = 1e-3
DRAG_THRESHOLD_PX = 2  # less than this is a click, not a drag


@dataclass(frozen=True)
class WindowStart:
    """What the drag started from: (center, width) or, on colour, (brightness, contrast)."""

    center: float
    width: float
    span: float  # the image's value range (sensitivity)
    colour: bool = False


def dragged_window(start: WindowStart, dx: float, dy: float) -> tuple[float, float]:
    """(center, width) after a drag of (dx, dy) screen pixels; for colour photos
    (brightness, contrast), clamped to FilterSettings' ranges."""
    if start.colour:
        brightness = min(max(start.center - dy / PIXELS_PER_RANGE, -1.0), 1.0)
        contrast = min(max(start.width * 2.0 ** (dx / 256.0), 0.1), 5.0)
        return brightness, contrast
    step = max(start.span, 1e-6) / PIXELS_PER_RANGE
    center = start.center + dy * step
    width = max(start.width + dx * step, MIN_WIDTH)
    return center, width


class WindowDrag(QObject):
    """Right-drag / right double-click on ``viewport`` -> signals in screen pixels."""

    started = Signal()
    dragged = Signal(float, float)  # dx, dy since the press (device-independent pixels)
    finished = Signal()
    reset_requested = Signal()

    def __init__(self, viewport: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewport = viewport
        self.enabled = True
        self.active = False
        self._moved = False
        self._press = QPointF()
        # The value shows at the top-left corner while dragging, where PACS show it.
        self.overlay = QLabel(viewport)
        self.overlay.setObjectName("windowOverlay")
        self.overlay.setStyleSheet(
            "QLabel#windowOverlay { background: rgba(0,0,0,170); color: #ffd54f;"
            " padding: 3px 6px; font-weight: bold; border-radius: 3px; }"
        )
        self.overlay.hide()
        viewport.installEventFilter(self)

    def show_value(self, text: str) -> None:
        self.overlay.setText(text)
        self.overlay.adjustSize()
        self.overlay.move(8, 8)
        self.overlay.show()
        self.overlay.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.viewport or not self.enabled:
            return False
        kind = event.type()
        if kind == QEvent.Type.ContextMenu:
            return True  # the right button is window/level here, never a menu
        if not isinstance(event, QMouseEvent):
            return False
        if kind == QEvent.Type.MouseButtonDblClick and event.button() == Qt.MouseButton.RightButton:
            self.active = False
            self.reset_requested.emit()
            return True
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.RightButton:
            self.active, self._moved = True, False
            self._press = event.position()
            return True
        if kind == QEvent.Type.MouseMove and self.active:
            delta = event.position() - self._press
            if not self._moved and max(abs(delta.x()), abs(delta.y())) < DRAG_THRESHOLD_PX:
                return True
            if not self._moved:
                self._moved = True
                self.started.emit()
            self.dragged.emit(float(delta.x()), float(delta.y()))
            return True
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.RightButton:
            was_drag = self.active and self._moved
            self.active = False
            self.overlay.hide()
            if was_drag:
                self.finished.emit()
            return True
        return False

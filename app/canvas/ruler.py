"""The ruler: drag a line on the image, read its length (mm with pixel spacing, else px).

Like the window drag, the tool filters the canvas viewport's left-button events while it
is on, so the canvas's box gestures need no change; turning it on puts the canvas in edit
mode, and any other mode (W: draw) turns it off. The last line stays on the image until
the next one, Esc, or another image. Lengths come from ``core.annotations.measure``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPen
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsSimpleTextItem, QGraphicsView

from core.annotations.measure import Calibration, Length, line_length

RULER_COLOUR = "#4dd0e1"


def _alive(item: object) -> bool:
    """False once the scene was cleared under the item (a new image)."""
    import shiboken6

    return item is not None and shiboken6.isValid(item)


class RulerTool(QObject):
    measured = Signal(object)  # Length of the line just drawn
    toggled = Signal(bool)

    def __init__(
        self,
        view: QGraphicsView,
        clamp: Callable[[QPointF], QPointF],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.clamp = clamp  # keeps the ends on the image
        self.calibration = Calibration()
        self.active = False
        self.line: QGraphicsLineItem | None = None
        self.label: QGraphicsSimpleTextItem | None = None
        self.length: Length | None = None
        self._dragging = False
        self._start = QPointF()
        self._viewport = view.viewport()
        self._viewport.installEventFilter(self)
        view.installEventFilter(self)  # Esc

    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        self.active = on
        self._dragging = False
        if _alive(self._viewport):
            self._viewport.setCursor(
                Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor
            )
        self.toggled.emit(on)

    def clear(self) -> None:
        for item in (self.line, self.label):
            if item is not None and _alive(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self.line = self.label = None
        self.length = None

    def measure(self, a: QPointF, b: QPointF) -> Length:
        """Draw the line a-b (image coordinates) and its length; returns the length."""
        if not _alive(self.line) or not _alive(self.label):
            self._make_items()
        assert self.line is not None and self.label is not None
        self.line.setLine(QLineF(a, b))
        self.length = line_length(a.x(), a.y(), b.x(), b.y(), self.calibration)
        self.label.setText(self.length.text())
        self.label.setPos(b)
        return self.length

    def _make_items(self) -> None:
        pen = QPen(QColor(RULER_COLOUR))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        self.line = QGraphicsLineItem()
        self.line.setPen(pen)
        self.line.setZValue(40)
        self.label = QGraphicsSimpleTextItem()
        font = QFont()
        font.setPointSizeF(11.0)
        font.setBold(True)
        self.label.setFont(font)
        self.label.setBrush(QColor(RULER_COLOUR))
        outline = QPen(QColor(0, 0, 0, 220))
        outline.setWidthF(0.6)
        self.label.setPen(outline)
        # Screen-sized text whatever the zoom.
        self.label.setFlag(self.label.GraphicsItemFlag.ItemIgnoresTransformations)
        self.label.setZValue(41)
        self.view.scene().addItem(self.line)
        self.view.scene().addItem(self.label)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.active or not _alive(self.view):
            return False  # off, or the window is being torn down
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape:
                self.clear()
                self.set_active(False)
                return True
            return False
        if watched is not self._viewport or not isinstance(event, QMouseEvent):
            return False
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton):
            return False
        if getattr(self.view, "_space_down", False) and not self._dragging:
            return False  # Space+drag pans, ruler or not
        pos = self.clamp(self.view.mapToScene(event.position().toPoint()))
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            self._dragging = True
            self._start = pos
            self.measure(pos, pos)
            return True
        if kind == QEvent.Type.MouseMove and self._dragging:
            self.measure(self._start, pos)
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._dragging:
            self._dragging = False
            self.measured.emit(self.measure(self._start, pos))
            return True
        return False

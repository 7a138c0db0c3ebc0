"""One annotation box on the canvas: outline in the class colour, label text, handles.

The item only draws; the canvas does the mouse work (select, move, resize) so that clamping
and the single "commit on release" live in one place. Geometry is in scene units = image
pixels (continuous coordinates, see ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

HANDLE_PX = 8.0  # handle size on screen, whatever the zoom

# Handle order: corners then edge midpoints. Each handle moves (left, top, right, bottom).
HANDLES: tuple[tuple[bool, bool, bool, bool], ...] = (
    (True, True, False, False),  # top-left
    (False, True, True, False),  # top-right
    (False, False, True, True),  # bottom-right
    (True, False, False, True),  # bottom-left
    (False, True, False, False),  # top
    (False, False, True, False),  # right
    (False, False, False, True),  # bottom
    (True, False, False, False),  # left
)


@dataclass(frozen=True)
class BoxView:
    """What the canvas needs to draw a stored box."""

    id: int
    rect: QRectF
    label: str
    color: str
    suggested: bool = False  # a model suggestion not yet accepted: dashed, with its score
    score: float | None = None
    difficult: bool = False
    truncated: bool = False
    status: str = "accepted"


def handle_points(rect: QRectF) -> list[QPointF]:
    r = rect
    return [
        r.topLeft(),
        r.topRight(),
        r.bottomRight(),
        r.bottomLeft(),
        QPointF(r.center().x(), r.top()),
        QPointF(r.right(), r.center().y()),
        QPointF(r.center().x(), r.bottom()),
        QPointF(r.left(), r.center().y()),
    ]


class CaptionItem(QGraphicsItem):
    """The box's label on a chip just above its top-left corner, screen-sized.

    The chip is opaque in the theme's plate colour and the text is the label's colour
    made readable on it (WCAG 4.5:1, core.annotations.contrast)."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        # Device-pixel coordinates anchored at pos(): same size at any zoom.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.font = QFont()
        self.font.setPointSizeF(9.0)
        self.font.setBold(True)
        self.text = ""
        self.colour = QColor("white")
        self.plate = QColor("#1e1e1e")
        self._rect = QRectF()

    def set_text(self, text: str, colour: str) -> None:
        from PySide6.QtGui import QFontMetricsF

        from app.theme import current_theme
        from core.annotations.contrast import chip_colours

        self.prepareGeometryChange()
        self.text = text
        plate, readable = chip_colours(colour, current_theme())
        self.plate = QColor(plate)
        self.colour = QColor(readable)
        fm = QFontMetricsF(self.font)
        w, h = fm.horizontalAdvance(text) + 8, fm.height() + 2
        self._rect = QRectF(0, -h, w, h)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self.text:
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.plate)
        painter.drawRoundedRect(self._rect, 3, 3)
        painter.setFont(self.font)
        painter.setPen(self.colour)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class BoxItem(QGraphicsItem):
    def __init__(self, view: BoxView, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self._rect = QRectF(view.rect)
        self._selected = False
        self.setZValue(10)
        self.setAcceptHoverEvents(False)
        self.caption = CaptionItem(self)
        self._update_caption()

    # --- state ----------------------------------------------------------------------------
    @property
    def box_id(self) -> int:
        return self.view.id

    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect.normalized())
        self._update_caption()
        self.update()

    def set_selected(self, selected: bool) -> None:
        if selected != self._selected:
            self._selected = selected
            self.setZValue(20 if selected else 10)
            self.update()

    def is_selected(self) -> bool:
        return self._selected

    def _update_caption(self) -> None:
        v = self.view
        text = v.label
        if v.suggested and v.score is not None:
            text = f"{text} {v.score:.2f}"
        flags = [f for f, on in (("difficult", v.difficult), ("truncated", v.truncated)) if on]
        if flags:
            text = f"{text} ({', '.join(flags)})"
        self.caption.set_text(text, v.color)
        self.caption.setPos(self._rect.topLeft())

    # --- painting -------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        # Room for handles: generous in scene units at low zoom is harmless.
        pad = 2 * HANDLE_PX / max(self._scale_hint(), 1e-3)
        return self._rect.adjusted(-pad, -pad, pad, pad)

    def _scale_hint(self) -> float:
        scene = self.scene()
        if scene is not None and scene.views():
            return float(scene.views()[0].transform().m11())
        return 1.0

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        v = self.view
        colour = QColor(v.color)
        pen = QPen(colour)
        pen.setCosmetic(True)  # width in screen pixels, crisp at any zoom and DPI
        pen.setWidthF(3.0 if self._selected else 2.0)
        if v.suggested:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        if self._selected:
            fill = QColor(colour)
            fill.setAlpha(40)
            painter.setBrush(fill)
        else:
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self._rect)
        if self._selected:
            lod = option.levelOfDetailFromTransform(painter.worldTransform())  # type: ignore[attr-defined]
            size = HANDLE_PX / max(lod, 1e-6)
            hpen = QPen(QColor("white"))
            hpen.setCosmetic(True)
            hpen.setWidthF(1.0)
            painter.setPen(hpen)
            painter.setBrush(colour)
            for p in handle_points(self._rect):
                painter.drawRect(QRectF(p.x() - size / 2, p.y() - size / 2, size, size))

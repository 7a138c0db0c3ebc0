"""Pure rectangle arithmetic of box gestures (image coordinates), kept apart from the view."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from app.canvas.box_item import HANDLES


def clamp_point(p: QPointF, image: QRectF) -> QPointF:
    return QPointF(
        min(max(p.x(), image.left()), image.right()), min(max(p.y(), image.top()), image.bottom())
    )


def moved_rect(start: QRectF, delta: QPointF, image: QRectF) -> QRectF:
    """``start`` translated by ``delta``, pushed back whole inside the image."""
    r = QRectF(start).translated(delta)
    dx = max(0.0, image.left() - r.left()) - max(0.0, r.right() - image.right())
    dy = max(0.0, image.top() - r.top()) - max(0.0, r.bottom() - image.bottom())
    return r.translated(dx, dy)


def resized_rect(start: QRectF, handle: int, pointer: QPointF, image: QRectF) -> QRectF:
    """Move the edges ``handle`` grabs to the (clamped) pointer; edges may cross over, and
    the box never collapses below one image pixel."""
    pos = clamp_point(pointer, image)
    left, top, right, bottom = HANDLES[handle]
    x1, y1, x2, y2 = start.left(), start.top(), start.right(), start.bottom()
    if left:
        x1 = pos.x()
    if right:
        x2 = pos.x()
    if top:
        y1 = pos.y()
    if bottom:
        y2 = pos.y()
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    return QRectF(QPointF(x1, y1), QPointF(max(x2, x1 + 1.0), max(y2, y1 + 1.0)))

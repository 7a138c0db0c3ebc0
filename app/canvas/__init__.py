"""The central canvas (QGraphicsView) and the items it draws."""

from app.canvas.box_item import BoxItem, BoxView
from app.canvas.canvas import Canvas
from app.canvas.image_item import Frame, ImageItem, to_bgra

__all__ = ["BoxItem", "BoxView", "Canvas", "Frame", "ImageItem", "to_bgra"]

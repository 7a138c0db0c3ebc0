"""The image on the canvas, drawn from the best of several resolutions.

While a filter slider moves, the display controller renders at screen resolution; when it
stops, at full resolution. Both renders are kept: the item paints the smallest one that
still has at least one rendered pixel per screen pixel, so zoomed-out repaints stay cheap
and zoomed-in views show every stored pixel (nearest-neighbour above 2x, so a clinician sees
real pixels instead of a blur). Photos are drawn smooth (bilinear) at every zoom: a
dermatologist zooming into skin wants texture, not blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

if TYPE_CHECKING:  # numpy loads with the first picture, not with the window (#17)
    import numpy as np


class Frame:
    """A rendered picture (BGRA uint8 array wrapped by a QImage without a copy)."""

    __slots__ = ("array", "image")

    def __init__(self, array: np.ndarray) -> None:
        import numpy as np

        if array.ndim != 3 or array.shape[2] != 4 or array.dtype != np.uint8:
            raise ValueError("a Frame needs an (h, w, 4) uint8 BGRA array")
        self.array = np.ascontiguousarray(array)
        h, w = self.array.shape[:2]
        # The QImage borrows the numpy buffer; the Frame keeps the array alive.
        self.image = QImage(self.array.data, w, h, 4 * w, QImage.Format.Format_RGB32)

    @property
    def width(self) -> int:
        return int(self.array.shape[1])

    @property
    def height(self) -> int:
        return int(self.array.shape[0])


def to_bgra(rendered: np.ndarray) -> np.ndarray:
    """uint8 grey (h, w) or RGB (h, w, 3) -> BGRA (h, w, 4), the layout of QImage RGB32."""
    import cv2

    if rendered.ndim == 2:
        return cv2.cvtColor(rendered, cv2.COLOR_GRAY2BGRA)
    if rendered.shape[2] == 3:
        return cv2.cvtColor(rendered, cv2.COLOR_RGB2BGRA)
    if rendered.shape[2] == 4:
        return cv2.cvtColor(rendered, cv2.COLOR_RGBA2BGRA)
    raise ValueError(f"cannot display an array of shape {rendered.shape}")


class ImageItem(QGraphicsItem):
    """Paints ``frames`` (any resolutions of the same picture) over the image rectangle."""

    def __init__(self, width: int, height: int, *, smooth: bool = False) -> None:
        super().__init__()
        self.smooth = bool(smooth)
        self.image_width = int(width)
        self.image_height = int(height)
        self.frames: dict[str, Frame] = {}
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def set_frame(self, kind: str, frame: Frame) -> None:
        """kind: "preview" (screen resolution) or "full"."""
        self.frames[kind] = frame
        if kind == "preview":
            # A fresh preview means the settings changed: an older full render is stale.
            self.frames.pop("full", None)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.image_width, self.image_height)

    def _pick(self, device_scale: float) -> Frame | None:
        frames = sorted(self.frames.values(), key=lambda f: f.width)
        if not frames:
            return None
        for f in frames:
            if f.width >= self.image_width * device_scale * 0.999:
                return f
        return frames[-1]

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())  # type: ignore[attr-defined]
        frame = self._pick(lod)
        if frame is None:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth or lod < 2.0)
        exposed = option.exposedRect.intersected(self.boundingRect())  # type: ignore[attr-defined]
        if exposed.isEmpty():
            return
        sx = frame.width / self.image_width
        sy = frame.height / self.image_height
        source = QRectF(
            exposed.x() * sx, exposed.y() * sy, exposed.width() * sx, exposed.height() * sy
        )
        painter.drawImage(exposed, frame.image, source)

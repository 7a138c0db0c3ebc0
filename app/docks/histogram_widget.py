"""A small histogram of the image's modality values with the display window marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:  # numpy loads with the first histogram, not with the window (#17)
    import numpy as np


class HistogramWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None
        self.window_band: tuple[float, float] | None = None  # (center, width)
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(220, 70)

    def set_histogram(self, hist: tuple[np.ndarray, np.ndarray] | None) -> None:
        if hist is None:
            self.counts, self.edges = None, None
        else:
            import numpy as np

            self.counts = np.asarray(hist[0], dtype=np.float64)
            self.edges = np.asarray(hist[1], dtype=np.float64)
        self.update()

    def set_window(self, window: tuple[float, float] | None) -> None:
        self.window_band = window
        self.update()

    @property
    def value_range(self) -> tuple[float, float] | None:
        if self.edges is None or len(self.edges) < 2:
            return None
        return float(self.edges[0]), float(self.edges[-1])

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        p.fillRect(r, self.palette().base())
        if self.counts is None or self.edges is None or self.counts.size == 0:
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "no histogram")
            return
        import numpy as np

        # log scale: the background peak would flatten everything else
        c = np.log1p(self.counts)
        top = float(c.max()) or 1.0
        n = len(c)
        path = QPainterPath(QPointF(r.left(), r.bottom()))
        for i, v in enumerate(c):
            x = r.left() + r.width() * (i + 0.5) / n
            path.lineTo(QPointF(x, r.bottom() - r.height() * float(v) / top))
        path.lineTo(QPointF(r.right(), r.bottom()))
        path.closeSubpath()
        fg = self.palette().text().color()
        fill = QColor(fg)
        fill.setAlpha(90)
        p.fillPath(path, fill)
        vr = self.value_range
        if self.window_band is not None and vr is not None and vr[1] > vr[0]:
            c0, w = self.window_band
            lo, hi = c0 - w / 2.0, c0 + w / 2.0

            def x_of(v: float) -> float:
                return r.left() + r.width() * (v - vr[0]) / (vr[1] - vr[0])

            band = QRectF(QPointF(x_of(lo), r.top()), QPointF(x_of(hi), r.bottom()))
            p.fillRect(band.intersected(r), QColor(255, 193, 7, 60))
            pen = QPen(QColor(255, 160, 0))
            pen.setWidthF(1.5)
            p.setPen(pen)
            for v in (lo, hi):
                x = x_of(v)
                if r.left() <= x <= r.right():
                    p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        p.end()

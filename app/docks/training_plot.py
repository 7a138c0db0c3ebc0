"""A live plot of one training: losses and validation F1 / AP50 per epoch.

Only a widget: the TrainingController hands it the worker's ``epoch`` events on the GUI
thread (``add_epoch``).

Two small charts painted with QPainter, built with the widget (before any training). It
used to be two pyqtgraph PlotWidgets built at the first epoch: even with pyqtgraph imported
in a thread, their construction, legends and autorange/axis repaints stalled the event
loop 100-540 ms per epoch on a loaded 2-core machine (``benchmarks/training_stall.py
--watchdog``). A few polylines of at most a few hundred points need none of that: a repaint
here is well under a millisecond, and nothing is imported.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QVBoxLayout, QWidget

COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0")


def val_scores(metrics: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """(F1, AP50) from ultralytics' validation metrics of one epoch."""
    if not metrics:
        return None, None
    p, r = metrics.get("metrics/precision(B)"), metrics.get("metrics/recall(B)")
    ap50 = metrics.get("metrics/mAP50(B)")
    f1 = None
    if p is not None and r is not None:
        pf, rf = float(p), float(r)
        f1 = 2 * pf * rf / (pf + rf) if pf + rf > 0 else 0.0
    return f1, (None if ap50 is None else float(ap50))


def _tick(value: float) -> str:
    return f"{value:.3g}"


class Chart(QWidget):
    """Curves of (epoch, value) over one y axis, with a title, the y range and a legend."""

    def __init__(
        self, title: str, y_range: tuple[float, float] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.y_range = y_range  # fixed (scores) or None: fitted to the data (losses)
        self.curves: dict[str, tuple[list[float], list[float], QColor]] = {}
        self.setMinimumHeight(90)

    def sizeHint(self) -> QSize:
        return QSize(320, 160)

    def set_curve(self, name: str, xs: list[float], ys: list[float], colour: str) -> None:
        self.curves[name] = (xs, ys, QColor(colour))
        self.update()  # one coalesced repaint, whatever the number of curves changed

    def clear(self) -> None:
        self.curves.clear()
        self.update()

    def _ranges(self) -> tuple[float, float, float, float]:
        xs = [x for c in self.curves.values() for x in c[0]]
        ys = [y for c in self.curves.values() for y in c[1] if math.isfinite(y)]
        x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
        if self.y_range is not None:
            y0, y1 = self.y_range
        else:
            y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
        if x1 <= x0:
            x0, x1 = x0 - 0.5, x0 + 0.5
        if y1 <= y0:
            y0, y1 = y0 - 0.5, y0 + 0.5
        return x0, x1, y0, y1

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().windowText().color()
        height = painter.fontMetrics().height()
        area = QRectF(self.rect()).adjusted(44, height + 6, -8, -(height + 6))
        painter.setPen(text)
        painter.drawText(
            QRectF(0, 2, self.width(), height), Qt.AlignmentFlag.AlignHCenter, self.title
        )
        if area.width() < 10 or area.height() < 10:
            return
        x0, x1, y0, y1 = self._ranges()
        painter.setPen(QPen(text.lighter(150) if text.lightness() < 128 else text.darker(150)))
        painter.drawRect(area)
        painter.setPen(text)
        for value, y in ((y1, area.top()), (y0, area.bottom())):
            painter.drawText(
                QRectF(0, y - height / 2, 40, height), Qt.AlignmentFlag.AlignRight, _tick(value)
            )
        for value, x, align in (
            (x0, area.left(), Qt.AlignmentFlag.AlignLeft),
            (x1, area.right() - 40, Qt.AlignmentFlag.AlignRight),
        ):
            painter.drawText(QRectF(x, area.bottom() + 2, 40, height), align, _tick(value))
        painter.drawText(
            QRectF(area.left(), area.bottom() + 2, area.width(), height),
            Qt.AlignmentFlag.AlignHCenter,
            "epoch",
        )

        def point(x: float, y: float) -> QPointF:
            return QPointF(
                area.left() + (x - x0) / (x1 - x0) * area.width(),
                area.bottom() - (min(max(y, y0), y1) - y0) / (y1 - y0) * area.height(),
            )

        legend_y = area.top() + 2
        for name, (xs, ys, colour) in self.curves.items():
            pts = [point(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
            painter.setPen(QPen(colour, 2))
            if len(pts) == 1:
                painter.drawEllipse(pts[0], 2.0, 2.0)
            elif pts:
                painter.drawPolyline(QPolygonF(pts))
            painter.drawText(
                QRectF(area.right() - 120, legend_y, 114, height),
                Qt.AlignmentFlag.AlignRight,
                name,
            )
            legend_y += height


class TrainingPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # Built now, with the dock: nothing is left to build when the first epoch arrives.
        self.losses = Chart("Training losses")
        self.scores = Chart("Validation F1 / AP50", y_range=(0.0, 1.0))
        layout.addWidget(self.losses)
        layout.addWidget(self.scores)
        # name -> (epochs, values); the curves are drawn from these
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self._plot_of: dict[str, str] = {}  # series name -> "losses" | "scores"
        self._colour: dict[str, str] = {}

    def prefetch(self) -> None:
        """Nothing to load any more (kept for the panel's training_started)."""

    def clear(self) -> None:
        self.series.clear()
        self._plot_of.clear()
        self._colour.clear()
        self.losses.clear()
        self.scores.clear()

    def add_epoch(self, event: dict[str, Any]) -> None:
        """One ``epoch`` event: ``{epoch, losses: {name: value}, metrics: {…} | None}``."""
        epoch = float(event.get("epoch") or 0)
        for key, value in (event.get("losses") or {}).items():
            if value is not None:
                self._record("losses", key.split("/")[-1], epoch, float(value))
        f1, ap50 = val_scores(event.get("metrics"))
        if f1 is not None:
            self._record("scores", "F1", epoch, f1)
        if ap50 is not None:
            self._record("scores", "AP50", epoch, ap50)

    def _record(self, plot: str, name: str, x: float, y: float) -> None:
        xs, ys = self.series.setdefault(name, ([], []))
        xs.append(x)
        ys.append(y)
        self._plot_of[name] = plot
        colour = self._colour.setdefault(name, COLOURS[len(self._colour) % len(COLOURS)])
        chart = self.losses if plot == "losses" else self.scores
        chart.set_curve(name, xs, ys, colour)

    def points(self, name: str) -> list[tuple[float, float]]:
        xs, ys = self.series.get(name, ([], []))
        return list(zip(xs, ys, strict=True))

"""A live plot of one training: losses and validation F1 / AP50 per epoch (pyqtgraph).

Only a widget: the TrainingController hands it the worker's ``epoch`` events on the GUI
thread (``add_epoch``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

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


class TrainingPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._placeholder: QLabel | None = QLabel("The losses and validation scores per epoch.")
        self._layout.addWidget(self._placeholder)
        # The plots are built at the first epoch: pyqtgraph costs ~0.5 s and ~200 modules,
        # which the window's start must not pay for.
        self.losses: Any = None
        self.scores: Any = None
        # name -> (epochs, values); the curves are redrawn from these
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self._curves: dict[str, Any] = {}

    def _ensure_plots(self) -> None:
        if self.losses is not None:
            return
        import pyqtgraph as pg

        self.losses = pg.PlotWidget(title="Training losses")
        self.losses.addLegend(offset=(-10, 10))
        self.losses.setLabel("bottom", "epoch")
        self.scores = pg.PlotWidget(title="Validation F1 / AP50")
        self.scores.addLegend(offset=(-10, 10))
        self.scores.setLabel("bottom", "epoch")
        self.scores.setYRange(0.0, 1.0)
        if self._placeholder is not None:
            self._placeholder.deleteLater()
            self._placeholder = None
        self._layout.addWidget(self.losses)
        self._layout.addWidget(self.scores)

    def clear(self) -> None:
        self.series.clear()
        self._curves.clear()
        if self.losses is not None:
            self.losses.clear()
            self.scores.clear()

    def add_epoch(self, event: dict[str, Any]) -> None:
        """One ``epoch`` event: ``{epoch, losses: {name: value}, metrics: {…} | None}``."""
        self._ensure_plots()
        epoch = float(event.get("epoch") or 0)
        for key, value in (event.get("losses") or {}).items():
            if value is not None:
                self._add(self.losses, key.split("/")[-1], epoch, float(value))
        f1, ap50 = val_scores(event.get("metrics"))
        if f1 is not None:
            self._add(self.scores, "F1", epoch, f1)
        if ap50 is not None:
            self._add(self.scores, "AP50", epoch, ap50)

    def points(self, name: str) -> list[tuple[float, float]]:
        xs, ys = self.series.get(name, ([], []))
        return list(zip(xs, ys, strict=True))

    def _add(self, plot: Any, name: str, x: float, y: float) -> None:
        import pyqtgraph as pg  # already loaded by _ensure_plots

        xs, ys = self.series.setdefault(name, ([], []))
        xs.append(x)
        ys.append(y)
        curve = self._curves.get(name)
        if curve is None:
            colour = COLOURS[len(self._curves) % len(COLOURS)]
            curve = plot.plot([], [], name=name, pen=pg.mkPen(colour, width=2), symbol="o")
            curve.setSymbolSize(5)
            self._curves[name] = curve
        curve.setData(xs, ys)

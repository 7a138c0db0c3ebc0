"""A live plot of one training: losses and validation F1 / AP50 per epoch (pyqtgraph).

Only a widget: the TrainingController hands it the worker's ``epoch`` events on the GUI
thread (``add_epoch``).

pyqtgraph is not imported at the window's start (~200 modules). It is imported in a
background thread when a training starts (``prefetch``), so the first epoch does not stall
the event loop for the import (0.2-1 s measured, seconds on a loaded machine); epochs that
arrive before it is ready are kept and drawn when it is. The plots are built without their
context menus and the curves without point symbols: both cost a stall at the first epoch
(ViewBox menus, the symbol atlas) for nothing a clinician uses here.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

from PySide6.QtCore import QTimer
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


_prefetching: list[threading.Thread] = []


def prefetch_pyqtgraph() -> None:
    """Import pyqtgraph in a background thread (once); the GUI thread keeps running."""
    if "pyqtgraph" in sys.modules or _prefetching:
        return
    thread = threading.Thread(
        target=importlib.import_module, args=("pyqtgraph",), name="pyqtgraph-import", daemon=True
    )
    _prefetching.append(thread)
    thread.start()


def pyqtgraph_ready() -> bool:
    return not any(t.is_alive() for t in _prefetching) and "pyqtgraph" in sys.modules


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
        self._plot_of: dict[str, str] = {}  # series name -> "losses" | "scores"
        self._waiting = False  # a draw is scheduled for when pyqtgraph is loaded

    def prefetch(self) -> None:
        prefetch_pyqtgraph()

    def _ensure_plots(self) -> None:
        if self.losses is not None:
            return
        import pyqtgraph as pg

        self.losses = pg.PlotWidget(title="Training losses", enableMenu=False)
        self.losses.addLegend(offset=(-10, 10))
        self.losses.setLabel("bottom", "epoch")
        self.scores = pg.PlotWidget(title="Validation F1 / AP50", enableMenu=False)
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
        self._plot_of.clear()
        self._curves.clear()
        if self.losses is not None:
            self.losses.clear()
            self.scores.clear()

    def add_epoch(self, event: dict[str, Any]) -> None:
        """One ``epoch`` event: ``{epoch, losses: {name: value}, metrics: {…} | None}``.

        Its values are kept at once (``points``); they are drawn now if pyqtgraph is
        loaded, else as soon as the background import ends."""
        epoch = float(event.get("epoch") or 0)
        for key, value in (event.get("losses") or {}).items():
            if value is not None:
                self._record("losses", key.split("/")[-1], epoch, float(value))
        f1, ap50 = val_scores(event.get("metrics"))
        if f1 is not None:
            self._record("scores", "F1", epoch, f1)
        if ap50 is not None:
            self._record("scores", "AP50", epoch, ap50)
        if self.losses is None and not pyqtgraph_ready():
            prefetch_pyqtgraph()
            if not self._waiting:
                self._waiting = True
                QTimer.singleShot(50, self._draw_when_ready)
            return
        self._draw()

    def _record(self, plot: str, name: str, x: float, y: float) -> None:
        xs, ys = self.series.setdefault(name, ([], []))
        xs.append(x)
        ys.append(y)
        self._plot_of[name] = plot

    def _draw_when_ready(self) -> None:
        if not pyqtgraph_ready():
            QTimer.singleShot(50, self._draw_when_ready)
            return
        self._waiting = False
        self._draw()

    def _draw(self) -> None:
        import pyqtgraph as pg

        self._ensure_plots()
        for name, (xs, ys) in self.series.items():
            curve = self._curves.get(name)
            if curve is None:
                plot = self.losses if self._plot_of[name] == "losses" else self.scores
                colour = COLOURS[len(self._curves) % len(COLOURS)]
                curve = plot.plot([], [], name=name, pen=pg.mkPen(colour, width=2))
                self._curves[name] = curve
            curve.setData(xs, ys)

    def points(self, name: str) -> list[tuple[float, float]]:
        xs, ys = self.series.get(name, ([], []))
        return list(zip(xs, ys, strict=True))

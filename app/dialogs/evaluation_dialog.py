"""Model ▸ Evaluate: a detector measured on the held-out reviewed images (issue 11): the
summary at its operating threshold, the per-class table, the class confusion matrix (with
the background row and column) and each class's precision-recall curve.

It only shows the JSON document ``model evaluate --json --curves`` prints, computed in a
child process (``app.controllers.model_evaluation``), so nothing here loads a model.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

CLASS_COLUMNS = (
    ("truths", "True boxes"),
    ("predictions", "Predicted"),
    ("tp", "TP"),
    ("fp", "FP"),
    ("fn", "FN"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("ap50", "AP50"),
)
# Curve colours distinguishable on both themes (Okabe-Ito).
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _item(text: str, *, number: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def summary_text(doc: dict[str, Any]) -> str:
    return (
        f"{doc.get('model', '?')} on {doc.get('images', 0)} held-out image(s) at score "
        f"≥ {_fmt(doc.get('conf'))}, IoU {_fmt(doc.get('iou'))}: precision "
        f"{_fmt(doc.get('precision'))}, recall {_fmt(doc.get('recall'))}, F1 "
        f"{_fmt(doc.get('f1'))}, AP50 {_fmt(doc.get('ap50'))}"
    )


class EvaluationDialog(QDialog):
    def __init__(self, doc: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Evaluation of {doc.get('model', 'the detector')}")
        self.summary = QLabel(summary_text(doc))
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.per_class = self._per_class_table(doc.get("per_class") or {})
        self.confusion = self._confusion_table(doc.get("confusion") or {})
        self.curves = self._curves(doc.get("pr_curves") or {})
        tabs = QTabWidget()
        tabs.addTab(self.per_class, "Per class")
        tabs.addTab(self.confusion, "Confusion matrix")
        tabs.addTab(self.curves, "Precision–recall")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(tabs, 1)
        lay.addWidget(buttons)
        self.resize(760, 520)

    @staticmethod
    def _per_class_table(per_class: dict[str, Any]) -> QTableWidget:
        table = QTableWidget(len(per_class), len(CLASS_COLUMNS))
        table.setHorizontalHeaderLabels([title for _, title in CLASS_COLUMNS])
        table.setVerticalHeaderLabels(list(per_class))
        for row, metrics in enumerate(per_class.values()):
            for col, (key, _) in enumerate(CLASS_COLUMNS):
                table.setItem(row, col, _item(_fmt(metrics.get(key))))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        return table

    @staticmethod
    def _confusion_table(confusion: dict[str, Any]) -> QTableWidget:
        """Rows: the true class (background: a prediction with no true box); columns: the
        predicted class (background: a true box nothing found). Shaded by row share."""
        labels = list(confusion.get("labels") or [])
        matrix = confusion.get("matrix") or []
        table = QTableWidget(len(labels), len(labels))
        table.setVerticalHeaderLabels([f"true {name}" for name in labels])
        table.setHorizontalHeaderLabels([f"predicted {name}" for name in labels])
        for r, row in enumerate(matrix):
            total = max(1, sum(row))
            for c, count in enumerate(row):
                item = _item(str(count))
                if count:
                    share = count / total
                    colour = QColor(0, 114, 178) if r == c else QColor(213, 94, 0)
                    colour.setAlphaF(0.15 + 0.6 * share)
                    item.setBackground(colour)
                table.setItem(r, c, item)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        return table

    @staticmethod
    def _curves(curves: dict[str, Any]) -> QWidget:
        if not curves:
            return QLabel("No class has true boxes on the held-out images: no curve to draw.")
        import pyqtgraph as pg  # on demand: the dialog, not the window's start, pays for it

        plot = pg.PlotWidget()
        plot.setMenuEnabled(False)
        plot.setLabel("bottom", "Recall")
        plot.setLabel("left", "Precision")
        plot.setXRange(0.0, 1.0)
        plot.setYRange(0.0, 1.05)
        plot.addLegend(offset=(-10, 10))
        for k, (label, curve) in enumerate(curves.items()):
            ap = curve.get("ap")
            name = f"{label} (AP {ap:.3f})" if isinstance(ap, float) else label
            plot.plot(
                curve["recall"],
                curve["precision"],
                pen=pg.mkPen(PALETTE[k % len(PALETTE)], width=2),
                name=name,
            )
        return plot

"""The agreement view: the report of ``core.agreement`` for a scale, a confusion matrix
per pair of readers, a Bland-Altman plot (pyqtgraph, imported only when the view opens)
and the per-image disagreement list."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import ClinLensError


class AgreementDialog(QDialog):
    image_chosen = Signal(int)  # double-click in the disagreement list

    def __init__(self, project: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Reader agreement")
        self.resize(900, 620)
        self.project = project
        self.report: dict[str, Any] | None = None
        self.scale = QComboBox()
        self.scale.addItems([s.name for s in project.definitions.scales()])
        self.pair = QComboBox()
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.confusion = QTableWidget()
        self.disagreements = QTableWidget()
        self.disagreements.cellDoubleClicked.connect(self._double_clicked)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.summary, "Summary")
        self.tabs.addTab(self.confusion, "Confusion matrix")
        self.bland_altman = self._plot_widget()
        self.tabs.addTab(self.bland_altman, "Bland-Altman")
        self.tabs.addTab(self.disagreements, "Disagreements")
        top = QHBoxLayout()
        top.addWidget(QLabel("Scale:"))
        top.addWidget(self.scale, 1)
        top.addWidget(QLabel("Pair:"))
        top.addWidget(self.pair, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        self.scale.currentTextChanged.connect(self.refresh)
        self.pair.currentIndexChanged.connect(self._show_pair)
        self.refresh()

    def _plot_widget(self) -> QWidget:
        import pyqtgraph as pg  # only when the view opens: the window's start stays light

        plot = pg.PlotWidget()
        plot.setLabel("bottom", "mean of the two readers")
        plot.setLabel("left", "difference (first - second)")
        return plot

    def refresh(self) -> None:
        from core.agreement.report import agreement_report
        from core.agreement.text import agreement_text

        self.pair.blockSignals(True)
        self.pair.clear()
        self.pair.blockSignals(False)
        name = self.scale.currentText()
        try:
            self.report = agreement_report(self.project, name) if name else None
        except ClinLensError as exc:
            self.report = None
            self.summary.setPlainText(str(exc))
        if self.report is None:
            if not name:
                self.summary.setPlainText("This project has no grading scale.")
            self.confusion.clear()
            self.disagreements.clear()
            self.bland_altman.clear()  # type: ignore[attr-defined]
            return
        self.summary.setPlainText(agreement_text(self.report))
        for p in self.report["pairs"]:
            self.pair.addItem(f"{p['readers'][0]} vs {p['readers'][1]}")
        self._show_disagreements()
        self._show_pair()

    def _show_pair(self) -> None:
        if self.report is None or self.pair.currentIndex() < 0:
            return
        pair = self.report["pairs"][self.pair.currentIndex()]
        values = [f"{v:g}" for v in self.report["values"]]
        matrix = pair["confusion"]
        self.confusion.clear()
        self.confusion.setRowCount(len(values))
        self.confusion.setColumnCount(len(values))
        self.confusion.setVerticalHeaderLabels([f"{pair['readers'][0]}: {v}" for v in values])
        self.confusion.setHorizontalHeaderLabels([f"{pair['readers'][1]}: {v}" for v in values])
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                self.confusion.setItem(i, j, QTableWidgetItem(str(count) if count else ""))
        self.confusion.resizeColumnsToContents()
        self._plot_bland_altman(pair)

    def _plot_bland_altman(self, pair: dict[str, Any]) -> None:
        import pyqtgraph as pg

        plot = self.bland_altman
        plot.clear()  # type: ignore[attr-defined]
        a, b = pair["readers"]
        grades = self.project.readers.reader_grades(self.report["scale"] if self.report else "")
        both = [(g[a], g[b]) for g in grades.values() if a in g and b in g]
        if not both:
            return
        x = np.array(both, dtype=float)
        mean, diff = x.mean(axis=1), x[:, 0] - x[:, 1]
        plot.plot(mean, diff, pen=None, symbol="o", symbolSize=7)  # type: ignore[attr-defined]
        ba = pair.get("bland_altman")
        if ba is None and len(diff) > 1:
            from core.agreement.stats import bland_altman

            ba = bland_altman(x[:, 0], x[:, 1])
        if ba:
            for key, style in (("bias", "w"), ("lower", "r"), ("upper", "r")):
                if ba.get(key) is not None:
                    line = pg.InfiniteLine(ba[key], angle=0, pen=pg.mkPen(style, width=1))
                    plot.addItem(line)  # type: ignore[attr-defined]

    def _show_disagreements(self) -> None:
        assert self.report is not None
        rows = self.report["disagreements"]
        readers = self.report["readers"]
        self.disagreements.clear()
        self.disagreements.setColumnCount(len(readers) + 2)
        self.disagreements.setHorizontalHeaderLabels(["image", *readers, "spread"])
        self.disagreements.setRowCount(len(rows))
        for row, d in enumerate(rows):
            self.disagreements.setItem(row, 0, QTableWidgetItem(d["image"]))
            for col, reader in enumerate(readers, start=1):
                v = d["grades"].get(reader)
                self.disagreements.setItem(
                    row, col, QTableWidgetItem("" if v is None else f"{v:g}")
                )
            self.disagreements.setItem(row, len(readers) + 1, QTableWidgetItem(f"{d['spread']:g}"))
        self.disagreements.resizeColumnsToContents()

    def _double_clicked(self, row: int, _column: int) -> None:
        if self.report is not None and 0 <= row < len(self.report["disagreements"]):
            self.image_chosen.emit(int(self.report["disagreements"][row]["image_id"]))

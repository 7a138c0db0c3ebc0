"""The adjudication queue: images whose readers disagree, their grades side by side, and
the final grade the adjudicator sets."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import ClinLensError


class AdjudicationDialog(QDialog):
    """Pick a scale; the table lists the queue (``project.readers.adjudication_queue``),
    one column per reader. Select a row, choose the final grade, press Set."""

    image_chosen = Signal(int)  # double-click: show that image in the window

    def __init__(self, project: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adjudication")
        self.resize(720, 420)
        self.project = project
        self.scales = {s.name: s for s in project.definitions.scales()}
        self.scale = QComboBox()
        self.scale.addItems(list(self.scales))
        self.table = QTableWidget()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.value = QComboBox()
        self.set_button = QPushButton("Set final grade")
        self.set_button.clicked.connect(self.set_final)
        self.message = QLabel()
        self.message.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Scale:"))
        top.addWidget(self.scale, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Final grade:"))
        bottom.addWidget(self.value, 1)
        bottom.addWidget(self.set_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.message)
        self.scale.currentTextChanged.connect(self.refresh)
        self.queue: list[Any] = []
        self.refresh()

    def refresh(self) -> None:
        name = self.scale.currentText()
        self.value.clear()
        if not name:
            self.message.setText("This project has no grading scale.")
            return
        for v in self.scales[name].values:
            text = f"{v.value:g}" + (f" ({v.label})" if v.label != f"{v.value:g}" else "")
            self.value.addItem(text, float(v.value))
        try:
            self.queue = self.project.readers.adjudication_queue(name)
        except ClinLensError as exc:
            self.message.setText(str(exc))
            return
        readers = sorted({r for q in self.queue for r in q.readers})
        self.table.clear()
        self.table.setColumnCount(len(readers) + 2)
        self.table.setHorizontalHeaderLabels(["image", *readers, "spread"])
        self.table.setRowCount(len(self.queue))
        for row, q in enumerate(self.queue):
            self.table.setItem(row, 0, QTableWidgetItem(q.path))
            for col, reader in enumerate(readers, start=1):
                value = q.readers.get(reader)
                item = QTableWidgetItem("" if value is None else f"{value:g}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, col, item)
            self.table.setItem(row, len(readers) + 1, QTableWidgetItem(f"{q.spread:g}"))
        self.table.resizeColumnsToContents()
        if self.queue:
            self.table.selectRow(0)
        self.message.setText(f"{len(self.queue)} image(s) to adjudicate on {name}.")
        self.set_button.setEnabled(bool(self.queue) and not self.project.read_only)

    def set_final(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.queue):
            self.message.setText("Select an image in the list first.")
            return
        item = self.queue[row]
        try:
            final = self.project.readers.adjudicate(
                item.image_id, self.scale.currentText(), self.value.currentData()
            )
        except ClinLensError as exc:
            self.message.setText(str(exc))
            return
        self.refresh()
        self.message.setText(
            f"{item.path}: final grade {final.value:g} ({final.reason}). " + self.message.text()
        )

    def _double_clicked(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.queue):
            self.image_chosen.emit(self.queue[row].image_id)

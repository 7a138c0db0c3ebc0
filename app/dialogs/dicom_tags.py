"""The DICOM tags viewer: the header of the image on screen, never a patient tag.

The rows come from ``core.imaging.dicom_tags`` (patient tags, person names and private
tags are left out before their values are decoded); the dialog only lists and filters them.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.imaging.dicom_tags import TagRow

NOTE = (
    "Patient tags (name, IDs, dates, institution, physicians…), person names and private "
    "tags are never shown here, as they are never exported."
)


class DicomTagsDialog(QDialog):
    def __init__(self, title: str, rows: list[TagRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"DICOM tags — {title}")
        self.rows = rows
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by tag, name or value…")
        self.filter.textChanged.connect(self._apply_filter)
        self.table = QTableWidget(len(rows), 4)
        self.table.setHorizontalHeaderLabels(("Tag", "Name", "VR", "Value"))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for r, row in enumerate(rows):
            indent = "    " * row.depth
            for c, text in enumerate((row.tag, indent + row.keyword, row.vr, row.value)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        note = QLabel(NOTE)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.filter)
        lay.addWidget(self.table, 1)
        lay.addWidget(note)
        lay.addWidget(buttons)
        self.resize(760, 560)

    def shown_text(self) -> str:
        """Everything the table shows (tests check it for patient data)."""
        return "\n".join(
            " ".join(i.text() for c in range(4) if (i := self.table.item(r, c)) is not None)
            for r in range(self.table.rowCount())
            if not self.table.isRowHidden(r)
        )

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for r, row in enumerate(self.rows):
            hay = f"{row.tag} {row.keyword} {row.value}".lower()
            self.table.setRowHidden(r, bool(needle) and needle not in hay)

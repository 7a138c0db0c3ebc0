"""Boxes dock: the current image's boxes in a table, to select, hide, delete and edit.

Columns: shown (tick), label, source (human / model), score, status, the corners x1 y1 x2
y2 in image pixels (editable by number) and the size (mm when the image has a pixel
spacing, else px). The panel only shows and asks: selecting a row, a typed coordinate or
Delete become signals the reading-room controller sends down the canvas's own paths, so a
typed edit is saved and undone exactly like a dragged one. Hiding is a view matter (never
stored): hidden boxes are not drawn until shown again or another image comes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.annotations.measure import Calibration, box_size, size_text

COLUMNS = ("", "Label", "Source", "Score", "Status", "x1", "y1", "x2", "y2", "Size")
SHOW, LABEL, SOURCE, SCORE, STATUS, X1, Y1, X2, Y2, SIZE = range(len(COLUMNS))
COORDS = (X1, Y1, X2, Y2)


class _NumberEdit(QLineEdit):
    """A cell editor that keeps its keys: digits, Enter, Del are typing here, not the
    window's shortcuts (label hotkeys, accept suggestion, delete box)."""

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and not event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            event.accept()
            return True
        return super().event(event)


class _CoordDelegate(QStyledItemDelegate):
    def createEditor(
        self,
        parent: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QWidget:
        return _NumberEdit(parent)


class BoxesPanel(QWidget):
    box_selected = Signal(object)  # box id or None
    visibility_changed = Signal()  # read ``hidden_ids()``
    delete_requested = Signal(int)
    coords_edited = Signal(int, float, float, float, float)  # id, x1, y1, x2, y2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(LABEL, QHeaderView.ResizeMode.Stretch)
        self.table.setItemDelegate(_CoordDelegate(self.table))
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemChanged.connect(self._on_item_changed)
        self.hide_all = QCheckBox("Hide all")
        self.hide_all.setToolTip("Hide every box of this image (nothing is deleted)")
        self.hide_all.toggled.connect(lambda _on: self.visibility_changed.emit())
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected box (Del)")
        self.delete_button.clicked.connect(self._on_delete)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.hide_all)
        row.addStretch(1)
        row.addWidget(self.delete_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        lay.addWidget(self.summary)
        self.read_only = False
        self._ids: list[int] = []
        self._boxes: dict[int, Any] = {}
        self._hidden: set[int] = set()
        self._quiet = False
        self.calibration = Calibration()

    # --- from the controller --------------------------------------------------------------
    def set_boxes(
        self,
        boxes: Iterable[Any],
        calibration: Calibration,
        selected: int | None,
        *,
        new_image: bool = False,
    ) -> None:
        """Show ``boxes`` (core Box objects with ids); ``new_image`` forgets what was hidden."""
        self.calibration = calibration
        if new_image:
            self._hidden.clear()
            self._quiet = True
            self.hide_all.setChecked(False)
            self._quiet = False
        boxes = [b for b in boxes if b.id is not None]
        self._boxes = {int(b.id): b for b in boxes}
        self._ids = [int(b.id) for b in boxes]
        self._hidden &= set(self._ids)
        self._quiet = True
        try:
            self.table.setRowCount(len(boxes))
            for r, box in enumerate(boxes):
                self._fill_row(r, box)
        finally:
            self._quiet = False
        self.select(selected)
        unit = "mm" if calibration.known else "px"
        note = f" ({calibration.note})" if calibration.note else ""
        self.summary.setText(f"{len(boxes)} box(es); sizes in {unit}{note}.")
        self.delete_button.setEnabled(not self.read_only and bool(boxes))

    def _fill_row(self, r: int, box: Any) -> None:
        show = QTableWidgetItem()
        show.setFlags(
            Qt.ItemFlag.ItemIsUserCheckable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
        )
        show.setCheckState(
            Qt.CheckState.Unchecked if int(box.id) in self._hidden else Qt.CheckState.Checked
        )
        show.setToolTip("Shown on the image (untick to hide it)")
        self.table.setItem(r, SHOW, show)
        width, height = box_size(box.x1, box.y1, box.x2, box.y2, self.calibration)
        score = "" if box.score is None else f"{box.score:.2f}"
        texts = {
            LABEL: box.label,
            SOURCE: box.source,
            SCORE: score,
            STATUS: box.status,
            X1: f"{box.x1:.1f}",
            Y1: f"{box.y1:.1f}",
            X2: f"{box.x2:.1f}",
            Y2: f"{box.y2:.1f}",
            SIZE: size_text(width, height).split(" (")[0],
        }
        for col, text in texts.items():
            item = QTableWidgetItem(text)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if col in COORDS and not self.read_only:
                flags |= Qt.ItemFlag.ItemIsEditable
                item.setToolTip("Type a coordinate (image pixels) and press Enter")
            item.setFlags(flags)
            if col in COORDS or col in (SCORE, SIZE):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(r, col, item)

    def select(self, box_id: int | None) -> None:
        """Select the row of ``box_id`` (the canvas selection) without echoing it back."""
        self._quiet = True
        try:
            if box_id in self._ids:
                row = self._ids.index(box_id)  # type: ignore[arg-type]
                self.table.selectRow(row)
                item = self.table.item(row, LABEL)
                if item is not None:
                    self.table.scrollToItem(item)
            else:
                self.table.clearSelection()
        finally:
            self._quiet = False

    def hidden_ids(self) -> set[int]:
        """Boxes not to draw: all with "Hide all", else the unticked ones."""
        return set(self._ids) if self.hide_all.isChecked() else set(self._hidden)

    def selected_id(self) -> int | None:
        rows = {i.row() for i in self.table.selectedItems()}
        return self._ids[min(rows)] if rows and min(rows) < len(self._ids) else None

    # --- user edits -----------------------------------------------------------------------
    def _on_selection(self) -> None:
        if not self._quiet:
            self.box_selected.emit(self.selected_id())

    def _on_delete(self) -> None:
        box_id = self.selected_id()
        if box_id is not None:
            self.delete_requested.emit(box_id)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._quiet or item.row() >= len(self._ids):
            return
        box_id = self._ids[item.row()]
        if item.column() == SHOW:
            if item.checkState() == Qt.CheckState.Checked:
                self._hidden.discard(box_id)
            else:
                self._hidden.add(box_id)
            self.visibility_changed.emit()
            return
        if item.column() not in COORDS:
            return
        box = self._boxes[box_id]
        old = [box.x1, box.y1, box.x2, box.y2]
        try:
            value = float(item.text().replace(",", "."))
        except ValueError:
            value = None
        if value is None or value != value or abs(value) == float("inf"):
            self._quiet = True
            item.setText(f"{old[COORDS.index(item.column())]:.1f}")  # back to the stored value
            self._quiet = False
            return
        new = list(old)
        new[COORDS.index(item.column())] = value
        self.coords_edited.emit(box_id, *new)

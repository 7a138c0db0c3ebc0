"""Boxes dock: the current image's boxes in a table, to select, hide, delete and edit.

The table shows, per box: shown (tick), label, source (human / model), score, status and
size (mm when the image has a pixel spacing, else px). Under it, the selected box's
corners x1 y1 x2 y2 (image pixels) can be typed. The panel only shows and asks: a click
on a row, a typed corner or Delete become signals the reading-room controller sends down
the canvas's own paths, so a typed edit is saved and undone exactly like a dragged one.
Hiding is a view matter (never stored): hidden boxes are not drawn until shown again or
another image comes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.annotations.measure import Calibration, box_size, size_text

COLUMNS = ("", "Label", "Source", "Score", "Status", "Size")
SHOW, LABEL, SOURCE, SCORE, STATUS, SIZE = range(len(COLUMNS))
CORNERS = ("x1", "y1", "x2", "y2")


class CornerSpin(QDoubleSpinBox):
    """A corner field that keeps its keys: digits, Enter, arrows and Del are typing here,
    not the window's shortcuts (label hotkeys, accept suggestion, delete box)."""

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and not event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            event.accept()
            return True
        return super().event(event)


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
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Keys stay with the canvas (digits label the selected box, Del deletes it).
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        # Every column as wide as its contents, the last one filling what is left: a
        # stretched Label column got only the remainder and showed "…" in a narrow dock,
        # while the label is what a reader looks for; the table scrolls sideways instead.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemChanged.connect(self._on_item_changed)
        self.corners: dict[str, CornerSpin] = {}
        grid = QGridLayout()
        for i, name in enumerate(CORNERS):
            spin = CornerSpin()
            spin.setRange(-1e6, 1e6)
            spin.setDecimals(1)
            # Its hint is as wide as "-1000000.0": two of them side by side made the panel
            # wider than a dock on a 1280 x 800 screen. Coordinates are rarely over 5 digits.
            spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance("00000.0") + 28)
            spin.setKeyboardTracking(False)  # saved on Enter / leaving the field, not per key
            spin.setToolTip(f"{name} of the selected box, image pixels; type and press Enter")
            spin.valueChanged.connect(self._on_corner)
            self.corners[name] = spin
            grid.addWidget(QLabel(name), i // 2, (i % 2) * 2)
            grid.addWidget(spin, i // 2, (i % 2) * 2 + 1)
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
        lay.addLayout(grid)
        lay.addLayout(row)
        lay.addWidget(self.summary)
        self.read_only = False
        self._ids: list[int] = []
        self._boxes: dict[int, Any] = {}
        self._hidden: set[int] = set()
        self._quiet = False
        self.calibration = Calibration()
        self._show_corners(None)

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
        texts = {
            LABEL: box.label,
            SOURCE: box.source,
            SCORE: "" if box.score is None else f"{box.score:.2f}",
            STATUS: box.status,
            SIZE: size_text(width, height).split(" (")[0],
        }
        for col, text in texts.items():
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if col in (SCORE, SIZE):
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
        self._show_corners(box_id if box_id in self._boxes else None)

    def _show_corners(self, box_id: int | None) -> None:
        box = self._boxes.get(box_id) if box_id is not None else None
        self._quiet = True
        try:
            for name, spin in self.corners.items():
                spin.setEnabled(box is not None and not self.read_only)
                spin.setValue(float(getattr(box, name)) if box is not None else 0.0)
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
        if self._quiet:
            return
        box_id = self.selected_id()
        self._show_corners(box_id)
        self.box_selected.emit(box_id)

    def _on_delete(self) -> None:
        box_id = self.selected_id()
        if box_id is not None:
            self.delete_requested.emit(box_id)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._quiet or item.row() >= len(self._ids) or item.column() != SHOW:
            return
        box_id = self._ids[item.row()]
        if item.checkState() == Qt.CheckState.Checked:
            self._hidden.discard(box_id)
        else:
            self._hidden.add(box_id)
        self.visibility_changed.emit()

    def _on_corner(self, _value: float) -> None:
        box_id = self.selected_id()
        if self._quiet or box_id is None:
            return
        x1, y1, x2, y2 = (self.corners[n].value() for n in CORNERS)
        self.coords_edited.emit(box_id, x1, y1, x2, y2)

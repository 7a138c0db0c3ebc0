"""Label dock: the project's classes with colours and hotkeys; the label for new boxes."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def colour_icon(colour: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(colour))
    return QIcon(pix)


class LabelPanel(QWidget):
    current_changed = Signal(str)  # label for new boxes
    label_chosen = Signal(str)  # the user picked a label (click / hotkey): relabel selection
    add_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setIconSize(QSize(14, 14))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the canvas
        self.list.itemClicked.connect(self._on_clicked)
        self.list.currentRowChanged.connect(self._on_row)
        self.hint = QLabel(
            "Keys 1-9: label of the selected box, or of the next box when none is selected."
        )
        self.hint.setWordWrap(True)
        self.add_button = QPushButton("Add label…")
        self.add_button.clicked.connect(self.add_requested)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.hint)
        self._names: list[str] = []
        self._colours: dict[str, str] = {}
        self._label_set: Any = None
        self._kind: str | None = None

    def set_labels(self, label_set, keep: str | None = None) -> None:  # type: ignore[no-untyped-def]
        self._label_set = label_set
        self._fill(keep)

    def set_kind(self, kind: str | None) -> None:
        """The image on screen is an X-ray / a photo (None: unknown): the labels made for
        its kind come first, so keys 1-9 reach them. Nothing happens if it is unchanged."""
        if kind == self._kind:
            return
        self._kind = kind
        if self._label_set is not None:
            self._fill(None)

    def _fill(self, keep: str | None) -> None:
        from app.theme import current_theme
        from core.annotations.contrast import list_text_colour
        from core.annotations.kinds import kind_first
        from core.annotations.labels import builtin_label_kinds

        keep = keep or self.current()
        self.list.blockSignals(True)
        self.list.clear()
        self._names = []
        self._colours = {}
        # The built-in sets' kinds come from YAML: read only when an image kind orders them
        # (not at the window's start, which must not import PyYAML).
        labels = (
            list(self._label_set.labels)
            if self._kind is None
            else kind_first(self._label_set.labels, builtin_label_kinds(), "name", self._kind)
        )
        for i, lab in enumerate(labels):
            # Keys 1-9 pick by position (choose_index), so the shown key is the position.
            key = f"{i + 1}  " if i < 9 else "    "
            item = QListWidgetItem(colour_icon(lab.color), f"{key}{lab.name}")
            # The name in its own colour, made readable on the list (WCAG 4.5:1).
            item.setForeground(QColor(list_text_colour(lab.color, current_theme())))
            item.setData(Qt.ItemDataRole.UserRole, lab.name)
            self.list.addItem(item)
            self._names.append(lab.name)
            self._colours[lab.name] = lab.color
        row = self._names.index(keep) if keep in self._names else (0 if self._names else -1)
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        if row >= 0:
            self.current_changed.emit(self._names[row])

    def names(self) -> list[str]:
        return list(self._names)

    def colour(self, name: str) -> str:
        return self._colours.get(name, "#ff0000")

    def current(self) -> str | None:
        row = self.list.currentRow()
        return self._names[row] if 0 <= row < len(self._names) else None

    def choose_index(self, index: int) -> bool:
        """Hotkey 1-9 (index 0-8): make it current and announce the choice."""
        if not 0 <= index < len(self._names):
            return False
        self.list.setCurrentRow(index)
        self.label_chosen.emit(self._names[index])
        return True

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self._names):
            self.current_changed.emit(self._names[row])

    def _on_clicked(self, item: QListWidgetItem) -> None:
        self.label_chosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))

"""Grade panel: one row of buttons per project scale; one click (or Alt+digit) grades.

Clicking the grade already set clears it. Required scales are marked; when "done" is
refused the missing ones are highlighted with the reason. A model's suggested grade (when
there is one) is shown beside the expert's with an Accept button. Below the scales, one
row per image-level tag kind (lesion types present: ``app/docks/tag_row.py``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.docks.tag_row import TagRow

_COLUMNS = 10  # hyperpig has 19 values: two rows


class ScaleRow(QGroupBox):
    clicked_value = Signal(str, object)  # scale name, value or None (cleared)
    accept_suggestion = Signal(str)

    def __init__(self, scale, index: int, parent: QWidget | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self.scale = scale
        self.index = index
        self.required = bool(scale.required)
        self.setTitle(self._title(active=False))
        self.buttons: dict[float, QToolButton] = {}
        grid = QGridLayout()
        grid.setSpacing(2)
        for i, v in enumerate(scale.values):
            b = QToolButton()
            b.setCheckable(True)
            b.setText(f"{v.value:g}")
            b.setToolTip(f"{v.label} ({v.value:g})")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _checked=False, val=v.value: self._clicked(val))
            grid.addWidget(b, i // _COLUMNS, i % _COLUMNS)
            self.buttons[float(v.value)] = b
        self.value_label = QLabel("not graded")
        self.suggestion_label = QLabel()
        # Wrapped, so a long line asks for height, not width: the dock stays as wide as
        # the window gives it instead of clipping its right-hand side.
        for label in (self.value_label, self.suggestion_label):
            label.setWordWrap(True)
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("Take the suggested grade as yours")
        self.accept_button.clicked.connect(lambda: self.accept_suggestion.emit(self.scale.name))
        self.accept_button.setVisible(False)
        self.suggestion_label.setVisible(False)
        sug = QHBoxLayout()
        sug.addWidget(self.suggestion_label, 1)
        sug.addWidget(self.accept_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(grid)
        lay.addWidget(self.value_label)
        lay.addLayout(sug)
        self.value: float | None = None

    def _title(self, active: bool) -> str:
        req = " (required)" if self.required else ""
        mark = "▶ " if active else ""
        return f"{mark}{self.scale.title}{req}"

    def set_active(self, active: bool) -> None:
        self.setTitle(self._title(active))

    def _clicked(self, value: float) -> None:
        if self.value is not None and abs(self.value - value) < 1e-9:
            self.clicked_value.emit(self.scale.name, None)
        else:
            self.clicked_value.emit(self.scale.name, value)
        self.set_value(self.value)  # the store decides; until then show what is stored

    def set_value(self, value: float | None) -> None:
        self.value = value
        for v, b in self.buttons.items():
            b.setChecked(value is not None and abs(v - value) < 1e-9)
        if value is None:
            self.value_label.setText("not graded")
        else:
            group = self.scale.group_of(value)
            extra = f" · {group}" if group else ""
            self.value_label.setText(f"{self.scale.label_of(value)} ({value:g}){extra}")

    def set_suggestion(self, value: float | None, confidence: float | None = None) -> None:
        visible = value is not None
        self.suggestion_label.setVisible(visible)
        self.accept_button.setVisible(visible)
        if value is not None:
            conf = f", confidence {confidence:.0%}" if confidence is not None else ""
            self.suggestion_label.setText(
                f"Suggested: {self.scale.label_of(value)} ({value:g}){conf}"
            )

    def set_missing(self, missing: bool) -> None:
        self.setStyleSheet("QGroupBox { color: #d32f2f; font-weight: bold; }" if missing else "")


class GradePanel(QWidget):
    grade_requested = Signal(str, object)  # scale, value or None
    accept_suggestion = Signal(str)  # scale
    tags_requested = Signal(str, object)  # tag kind, tuple of options
    tags_reset = Signal(str)  # tag kind

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, ScaleRow] = {}
        self.tag_rows: dict[str, TagRow] = {}
        self.applicable: set[str] | None = None  # scales of the image's kind (None: all)
        self.active = 0
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(2, 2, 2, 2)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d32f2f;")
        self.message.setVisible(False)
        self.empty = QLabel("This project has no grading scales.")
        self.hint = QLabel("Alt+0…9 grades the marked scale; Alt+G moves the mark.")
        self.hint.setWordWrap(True)
        self._lay.addWidget(self.message)
        self._lay.addWidget(self.empty)
        self._rows_box = QVBoxLayout()
        self._lay.addLayout(self._rows_box)
        self._tags_box = QVBoxLayout()
        self._lay.addLayout(self._tags_box)
        self._lay.addWidget(self.hint)
        self._lay.addStretch(1)

    def set_scales(self, scales) -> None:  # type: ignore[no-untyped-def]
        for row in self.rows.values():
            row.setParent(None)
            row.deleteLater()
        self.rows = {}
        self.applicable = None
        for i, scale in enumerate(scales):
            row = ScaleRow(scale, i)
            row.clicked_value.connect(self.grade_requested)
            row.accept_suggestion.connect(self.accept_suggestion)
            self._rows_box.addWidget(row)
            self.rows[scale.name] = row
        self.empty.setVisible(not self.rows)
        self.hint.setVisible(bool(self.rows))
        self.active = 0
        self._mark_active()
        self.clear_message()

    def set_tag_kinds(self, kinds) -> None:  # type: ignore[no-untyped-def]
        """One row per tag kind the project uses (none for an X-ray project)."""
        for row in self.tag_rows.values():
            row.setParent(None)
            row.deleteLater()
        self.tag_rows = {}
        for kind in kinds:
            row = TagRow(kind)
            row.tags_requested.connect(self.tags_requested)
            row.reset_requested.connect(self.tags_reset)
            self._tags_box.addWidget(row)
            self.tag_rows[kind.name] = row

    def set_tags(self, values) -> None:  # type: ignore[no-untyped-def]
        """Show the image's tags (``ImageTags`` per kind)."""
        for v in values:
            row = self.tag_rows.get(v.kind)
            if row is not None:
                row.set_value(v.tags, v.source, v.auto)

    def set_grades(self, grades) -> None:  # type: ignore[no-untyped-def]
        """Show the stored grades (human ones as values, model ones as suggestions)."""
        human = {g.scale: g.value for g in grades if g.source == "human"}
        model = {g.scale: (g.value, g.confidence) for g in grades if g.source != "human"}
        for name, row in self.rows.items():
            row.set_value(human.get(name))
            sug = model.get(name)
            row.set_suggestion(sug[0] if sug else None, sug[1] if sug else None)
            if name in human:
                row.set_missing(False)
        if not self.missing_required():
            self.clear_message()

    def set_applicable(self, names: set[str] | None) -> None:
        """Show only the scales that apply to the image on screen (its kind: X-ray or
        photo); the others are hidden and never asked for."""
        self.applicable = None if names is None else set(names)
        for name, row in self.rows.items():
            row.setVisible(self._applies(name))
        shown = self._shown()
        self.empty.setText(
            "No grading scale applies to this image."
            if self.rows and not shown
            else "This project has no grading scales."
        )
        self.empty.setVisible(not shown)
        self.hint.setVisible(bool(shown))
        if self.active >= len(shown):
            self.active = 0
        self._mark_active()

    def _applies(self, name: str) -> bool:
        return self.applicable is None or name in self.applicable

    def _shown(self) -> list[ScaleRow]:
        return [r for n, r in self.rows.items() if self._applies(n)]

    def missing_required(self) -> list[str]:
        return [
            n for n, r in self.rows.items() if r.required and r.value is None and self._applies(n)
        ]

    def show_refusal(self, message: str) -> None:
        """Explain why "done" was refused and mark the scales still missing."""
        for name, row in self.rows.items():
            row.set_missing(row.required and row.value is None and self._applies(name))
        self.message.setText(message)
        self.message.setVisible(True)

    def clear_message(self) -> None:
        self.message.setVisible(False)
        for row in self.rows.values():
            row.set_missing(False)

    # --- keyboard ---------------------------------------------------------------------
    def cycle_active(self) -> None:
        shown = self._shown()
        if shown:
            self.active = (self.active + 1) % len(shown)
            self._mark_active()

    def _mark_active(self) -> None:
        shown = self._shown()
        for i, row in enumerate(shown):
            row.set_active(i == self.active and len(shown) > 1)

    def digit(self, d: int) -> bool:
        """Alt+digit: the value d on the marked scale, else its d-th value."""
        shown = self._shown()
        if not shown:
            return False
        row = shown[min(self.active, len(shown) - 1)]
        values = [v.value for v in row.scale.values]
        target = next((v for v in values if abs(v - d) < 1e-9), None)
        if target is None and d < len(values):
            target = values[d]
        if target is None:
            return False
        self.grade_requested.emit(row.scale.name, float(target))
        return True

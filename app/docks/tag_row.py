"""One image-level tag kind in the grade panel: a toggle per option (multi-select).

Shows what the store holds: the boxes' answer ("from the boxes") until the grader clicks
an option, then the grader's choice, with a button to go back to the boxes' answer. A
click asks for the new set; the store decides and the panel shows what it then holds.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class TagRow(QGroupBox):
    tags_requested = Signal(str, object)  # kind name, tuple of options
    reset_requested = Signal(str)  # kind name: back to the boxes' answer

    def __init__(self, kind, parent: QWidget | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(kind.title, parent)
        self.kind = kind
        self.tags: tuple[str, ...] = ()
        self.source = "auto"
        self._auto: tuple[str, ...] = ()
        self.buttons: dict[str, QToolButton] = {}
        row = QHBoxLayout()
        row.setSpacing(2)
        for option in kind.options:
            b = QToolButton()
            b.setCheckable(True)
            b.setText(option)
            b.setToolTip(f"{option}: present on this image (click to change)")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _checked=False, o=option: self._toggle(o))
            row.addWidget(b)
            self.buttons[option] = b
        row.addStretch(1)
        self.source_label = QLabel()
        self.source_label.setWordWrap(True)  # "Your choice: … (boxes say: …)" is long
        self.reset_button = QPushButton("Use boxes")
        self.reset_button.setToolTip("Forget your choice and show what the boxes say again")
        self.reset_button.clicked.connect(lambda: self.reset_requested.emit(self.kind.name))
        bottom = QHBoxLayout()
        bottom.addWidget(self.source_label, 1)
        bottom.addWidget(self.reset_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addLayout(bottom)
        self.set_value((), "auto", ())

    def _toggle(self, option: str) -> None:
        chosen = set(self.tags) ^ {option}
        wanted = tuple(o for o in self.kind.options if o in chosen)
        self.set_value(self.tags, self.source, self._auto)  # until the store answers
        self.tags_requested.emit(self.kind.name, wanted)

    def set_value(self, tags: tuple[str, ...], source: str, auto: tuple[str, ...]) -> None:
        self.tags, self.source, self._auto = tuple(tags), source, tuple(auto)
        for option, b in self.buttons.items():
            b.setChecked(option in self.tags)
        shown = ", ".join(self.tags) or "none"
        if source == "auto":
            self.source_label.setText(f"From the boxes: {shown}")
        else:
            boxes = ", ".join(self._auto) or "none"
            self.source_label.setText(f"Your choice: {shown} (boxes say: {boxes})")
        self.reset_button.setVisible(source != "auto")

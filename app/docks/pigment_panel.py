"""Pigment dock: the hyperpigmentation view's switch, threshold and coverage readout.

The map (``core.filters.hyperpigmentation``) is drawn over the photo by the reading-room
controller; this panel only holds the choices. H toggles it from the keyboard.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

# core.filters.hyperpigmentation.DEFAULT_THRESHOLD (a test keeps them equal): importing
# core.filters here would pull the display pipeline (pydicom, cv2) into the window's start.
DEFAULT_THRESHOLD = 0.165


class PigmentPanel(QWidget):
    changed = Signal()  # read ``enabled`` and ``threshold``

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QCheckBox("Hyperpigmentation view (H)")
        self.toggle.setToolTip(
            "Mark where the HSV brightness stands above the grayscale by more than the "
            "threshold (the hyperpigmentation study's region of interest). The photo's "
            "pixels are never changed."
        )
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.005)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.setKeyboardTracking(False)
        self.threshold.setToolTip(
            f"V − gray above this is marked (study default {DEFAULT_THRESHOLD})"
        )
        self.coverage = QLabel()
        self.coverage.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.toggle)
        form.addRow("Threshold", self.threshold)
        form.addRow(self.coverage)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addStretch(1)
        self.toggle.toggled.connect(lambda _on: self.changed.emit())
        self.threshold.valueChanged.connect(lambda _v: self.changed.emit())

    @property
    def enabled(self) -> bool:
        return self.toggle.isChecked()

    def set_enabled(self, on: bool) -> None:
        self.toggle.setChecked(on)

    @property
    def value(self) -> float:
        return float(self.threshold.value())

    def show_coverage(self, fraction: float | None, reason: str = "") -> None:
        if fraction is None:
            self.coverage.setText(reason)
        else:
            self.coverage.setText(f"{fraction * 100:.1f} % of the photo above the threshold")

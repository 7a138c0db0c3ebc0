"""Model dock: which detector suggests boxes, on which device, and the suggestion actions.

Only widgets and signals; the SuggestionController runs the work through the job runner.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ModelPanel(QWidget):
    suggest_image = Signal()
    suggest_batch = Signal()
    accept_above = Signal(float)
    import_model = Signal()
    auto_changed = Signal(bool)
    roll_back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel("No project open.")
        self.status.setWordWrap(True)
        self.device = QComboBox()
        for key, text in (("auto", "Automatic (GPU if any)"), ("cpu", "CPU"), ("cuda", "CUDA GPU")):
            self.device.addItem(text, key)
        self.device_label = QLabel("")
        self.device_label.setWordWrap(True)
        self.conf = QDoubleSpinBox()
        self.conf.setRange(0.01, 0.99)
        self.conf.setSingleStep(0.05)
        self.conf.setValue(0.25)
        self.conf.setToolTip("Suggestions scoring below this are not shown")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("“Accept all above” takes suggestions scoring at least this")
        self.auto = QCheckBox("Suggest when an image opens")
        self.auto.toggled.connect(self.auto_changed)
        self.suggest_button = QPushButton("Suggest boxes for this image")
        self.suggest_button.clicked.connect(self.suggest_image)
        self.batch_button = QPushButton("Suggest for all unreviewed images")
        self.batch_button.clicked.connect(self.suggest_batch)
        self.accept_button = QPushButton("Accept all above threshold")
        self.accept_button.clicked.connect(lambda: self.accept_above.emit(self.threshold.value()))
        self.import_button = QPushButton("Import a model…")
        self.import_button.clicked.connect(self.import_model)
        self.versions = QListWidget()
        self.versions.setToolTip("The project's detector versions and their status")
        self.versions.setMaximumHeight(120)
        self.rollback_button = QPushButton("Roll back")
        self.rollback_button.setToolTip(
            "Retire the active detector and make the version active before it active again"
        )
        self.rollback_button.setEnabled(False)
        self.rollback_button.clicked.connect(self.roll_back)
        self.help = QLabel(
            "Suggestions are dashed with their score. Enter accepts the selected one, "
            "R rejects it; moving or relabelling it marks it edited."
        )
        self.help.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Device", self.device)
        form.addRow(self.device_label)
        form.addRow("Show scores ≥", self.conf)
        form.addRow("Accept above", self.threshold)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.status)
        lay.addLayout(form)
        lay.addWidget(self.auto)
        lay.addWidget(self.suggest_button)
        lay.addWidget(self.batch_button)
        lay.addWidget(self.accept_button)
        lay.addWidget(self.import_button)
        lay.addWidget(QLabel("Versions"))
        lay.addWidget(self.versions)
        lay.addWidget(self.rollback_button)
        lay.addWidget(self.help)
        lay.addStretch(1)

    def set_available(self, has_model: bool, writable: bool, text: str) -> None:
        """What the panel offers: suggestions need a model and a writable project."""
        self.status.setText(text)
        for b in (self.suggest_button, self.batch_button):
            b.setEnabled(has_model and writable)
        self.accept_button.setEnabled(writable)
        self.import_button.setEnabled(writable)
        self.auto.setEnabled(has_model and writable)

    def set_versions(self, versions: Sequence[tuple[str, str]], writable: bool = True) -> None:
        """``(ref, status)`` of each detector version, oldest first."""
        self.versions.clear()
        for ref, status in versions:
            self.versions.addItem(f"{ref} — {status}")
        self.rollback_button.setEnabled(
            writable
            and sum(1 for _, s in versions if s != "active") > 0
            and any(s == "active" for _, s in versions)
        )

    @property
    def device_choice(self) -> str:
        return str(self.device.currentData())

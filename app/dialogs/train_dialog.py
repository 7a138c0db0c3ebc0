"""The Model ▸ Train detector… form: recipe options, what there is to train on, refusals.

Only widgets: it shows a :class:`TrainingData` and asks ``check(request)`` (the CLI's own
precheck, through the controller) whether the options can start; Start stays disabled,
with the reason and the numbers needed, while they cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.controllers.training import TrainingData, TrainRequest

REMAPS = (
    ("none", "None (every label its own class)"),
    ("agnostic", "One class (any finding)"),
    ("sizes", "By box size"),
    ("binary", "Clothing / anomaly"),
    ("score", "Grouped by the active model's F1"),
)
DEVICES = (("auto", "Automatic (GPU if any)"), ("cpu", "CPU"), ("cuda", "CUDA GPU"))


def counts_text(data: TrainingData) -> str:
    def labels(boxes: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in boxes.items()) or "none"

    return (
        f"Reviewed images: {data.train_images} for training, {data.heldout_images} held out "
        f"(to measure each version).\n"
        f"Reviewed boxes for training: {data.total_train_boxes} ({labels(data.train_boxes)})\n"
        f"Held-out boxes: {sum(data.heldout_boxes.values())} ({labels(data.heldout_boxes)})"
    )


class TrainDialog(QDialog):
    def __init__(
        self,
        data: TrainingData,
        check: Callable[[TrainRequest], str | None],
        versions: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a detector")
        self.check = check
        self.counts = QLabel(counts_text(data))
        self.counts.setWordWrap(True)
        self.preset = QComboBox()
        self.preset.addItem("X-ray (tiles of large images)", "xray")
        self.preset.addItem("Acne (whole photos)", "acne")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10000)
        self.epochs.setValue(50)
        self.start_from = QComboBox()
        self.start_from.addItem("The active detector", "active")
        self.start_from.addItem("Scratch", "scratch")
        if not versions:  # nothing to fine-tune yet: the first model starts from scratch
            self.start_from.setCurrentIndex(1)
        for ref in versions:
            self.start_from.addItem(ref, ref)
        self.remap = QComboBox()
        for key, text in REMAPS:
            self.remap.addItem(text, key)
        self.device = QComboBox()
        for key, text in DEVICES:
            self.device.addItem(text, key)
        self.name = QLineEdit()
        self.name.setPlaceholderText("detector")
        self.refusal = QLabel("")
        self.refusal.setWordWrap(True)
        self.refusal.setStyleSheet("color: #c0392b")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText("Start training")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Preset", self.preset)
        form.addRow("Epochs", self.epochs)
        form.addRow("Start from", self.start_from)
        form.addRow("Class remap", self.remap)
        form.addRow("Device", self.device)
        form.addRow("Model name", self.name)
        lay = QVBoxLayout(self)
        lay.addWidget(self.counts)
        lay.addLayout(form)
        lay.addWidget(self.refusal)
        lay.addWidget(self.buttons)
        for combo in (self.preset, self.start_from, self.remap, self.device):
            combo.currentIndexChanged.connect(self.update_refusal)
        self.update_refusal()

    def request(self) -> TrainRequest:
        return TrainRequest(
            preset=str(self.preset.currentData()),
            epochs=self.epochs.value(),
            start=str(self.start_from.currentData()),
            remap=str(self.remap.currentData()),
            device=str(self.device.currentData()),
            name=self.name.text().strip() or None,
        )

    def update_refusal(self) -> None:
        why = self.check(self.request())
        self.refusal.setText(f"Cannot train yet: {why}" if why else "")
        self.refusal.setVisible(bool(why))
        self.start_button.setEnabled(why is None)


def ask_train_request(
    parent: QWidget | None, project: object, data: TrainingData
) -> TrainRequest | None:
    """Show the form (modal) for ``project``; the request, or None when cancelled."""
    from app.controllers.training import refusal, registered_versions

    folder = getattr(project, "folder", None)
    versions = [m.ref for m in registered_versions(folder)] if folder is not None else []
    dialog = TrainDialog(data, lambda r: refusal(project, r), versions, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.request()

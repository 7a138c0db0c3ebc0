"""Severity dock (face photos): model grade beside the expert's, skin patches overlay,
lesion-count grade, the strip of similar graded faces, and training.

Widgets and signals only; the SeverityController does the work in the job runner.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class SeverityPanel(QWidget):
    grade_requested = Signal()
    train_requested = Signal(str)  # scale
    overlay_toggled = Signal(bool)
    reference_chosen = Signal(int)  # image id
    photo_view_changed = Signal(str)  # "full_face" / "one_side" (the Hayashi count)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = QComboBox()
        self.photo_view = QComboBox()
        self.photo_view.addItem("Full face (count the worse half)", "full_face")
        self.photo_view.addItem("One side (count every lesion)", "one_side")
        self.photo_view.setToolTip(
            "How the project's photos are taken: the Hayashi lesion count is per half face"
        )
        # Long scale names and choices elide in the closed box (the list shows them whole),
        # so the panel fits a dock on a 1280 x 800 screen instead of losing its right edge.
        for box in (self.scale, self.photo_view):
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(14)
        self.photo_view.activated.connect(
            lambda _i: self.photo_view_changed.emit(str(self.photo_view.currentData()))
        )
        self.status = QLabel("No project open.")
        self.status.setWordWrap(True)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lesions = QLabel("")
        self.lesions.setWordWrap(True)
        self.grade_button = QPushButton("Suggest a grade for this photo")
        self.grade_button.clicked.connect(self.grade_requested)
        self.overlay = QCheckBox("Show skin patches")
        self.overlay.setChecked(True)
        self.overlay.toggled.connect(self.overlay_toggled)
        self.references = QListWidget()
        self.references.setViewMode(QListWidget.ViewMode.IconMode)
        self.references.setIconSize(QSize(72, 72))
        self.references.setFlow(QListWidget.Flow.LeftToRight)
        self.references.setWrapping(False)
        self.references.setFixedHeight(118)
        self.references.setToolTip("Similar faces already graded: click one to compare")
        self.references.itemActivated.connect(self._on_reference)
        self.references.itemClicked.connect(self._on_reference)
        # How the next training grades (benchmarks/RESULTS.md, issue 16: on the ACNE04
        # development photos the three are within fold noise of each other; ridge on the
        # frozen features is the default because it is the cheapest).
        self.grader_kind = QComboBox()
        for text, kind, tip in (
            ("Ridge on features", "regression", "Ordinal ridge on the frozen backbone's features"),
            (
                "Ridge, fine-tuned",
                "finetune",
                "Fine-tunes the backbone's last blocks first (minutes on a CPU)",
            ),
            (
                "Most similar faces",
                "similarity",
                "Grades by the nearest graded faces in a learned (triplet-loss) space",
            ),
        ):
            self.grader_kind.addItem(text, kind)
            self.grader_kind.setItemData(
                self.grader_kind.count() - 1, tip, Qt.ItemDataRole.ToolTipRole
            )
        self.grader_kind.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.grader_kind.setMinimumContentsLength(14)
        self.train_button = QPushButton("Train the grader…")
        self.train_button.setToolTip("Train the grader on the project's graded photos")
        self.train_button.clicked.connect(lambda: self.train_requested.emit(self.current_scale()))
        self.train_hint = QLabel()
        self.train_hint.setWordWrap(True)
        self.train_hint.setVisible(False)
        self.marked = QLabel("")  # the lesion boxes on the photo, before any model runs
        self.marked.setWordWrap(True)
        self._titles: dict[str, str] = {}
        form = QFormLayout()
        form.addRow("Scale", self.scale)
        form.addRow("Photos show", self.photo_view)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addWidget(self.grade_button)
        lay.addWidget(self.result)
        lay.addWidget(self.lesions)
        lay.addWidget(self.marked)
        lay.addWidget(self.overlay)
        lay.addWidget(QLabel("Similar graded faces:"))
        lay.addWidget(self.references)
        train_form = QFormLayout()
        train_form.addRow("Grader", self.grader_kind)
        lay.addLayout(train_form)
        lay.addWidget(self.train_button)
        lay.addWidget(self.train_hint)
        lay.addStretch(1)

    def train_options(self) -> dict[str, object]:
        """The worker's ``train`` request options for the chosen grader."""
        kind = str(self.grader_kind.currentData())
        if kind == "finetune":
            return {"grader": "regression", "fine_tune": True}
        return {"grader": kind}

    def set_scales(self, scales) -> None:  # type: ignore[no-untyped-def]
        """The project's scales by title (as the Grades tab names them). A new project
        opens on a photo scale (acne first): the tab grades faces, and a required
        "image quality" scale of every image is not what it is for."""
        keep = self.current_scale()
        self.scale.blockSignals(True)
        self.scale.clear()
        self._titles = {}
        for scale in scales:
            self.scale.addItem(scale.title, scale.name)
            self.scale.setItemData(self.scale.count() - 1, scale.name, Qt.ItemDataRole.ToolTipRole)
            self._titles[scale.name] = scale.title
        idx = self.scale.findData(keep)
        if idx < 0:
            idx = self._preferred(scales)
        self.scale.setCurrentIndex(idx)
        self.scale.blockSignals(False)

    @staticmethod
    def _preferred(scales) -> int:  # type: ignore[no-untyped-def]
        names = [s.name for s in scales]
        if "acne4" in names:
            return names.index("acne4")
        photo = [i for i, s in enumerate(scales) if "photo" in getattr(s, "applies_to", ())]
        return photo[0] if photo else 0

    def title_of(self, name: str) -> str:
        return self._titles.get(name, name)

    def set_train_allowed(self, allowed: bool, reason: str) -> None:
        """Train only when it can succeed; the reason shows on the disabled button."""
        self.train_button.setEnabled(allowed)
        self.train_button.setToolTip(reason)
        self.train_hint.setText("" if allowed else reason)
        self.train_hint.setVisible(not allowed and bool(reason))

    def set_photo_view(self, view: str) -> None:
        idx = self.photo_view.findData(view)
        self.photo_view.setCurrentIndex(max(idx, 0))

    def current_scale(self) -> str:
        return str(self.scale.currentData() or "")

    def clear_result(self) -> None:
        self.result.setText("")
        self.lesions.setText("")
        self.references.clear()

    def add_reference(self, image_id: int | None, text: str, icon=None) -> QListWidgetItem:  # type: ignore[no-untyped-def]
        item = QListWidgetItem(text)
        if icon is not None:
            item.setIcon(icon)
        item.setData(Qt.ItemDataRole.UserRole, image_id)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.references.addItem(item)
        return item

    def _on_reference(self, item: QListWidgetItem) -> None:
        image_id = item.data(Qt.ItemDataRole.UserRole)
        if image_id is not None and int(image_id) >= 0:
            self.reference_chosen.emit(int(image_id))

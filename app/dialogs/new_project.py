"""New-project wizard: name, folder, label set and grading scales (required or optional)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class NewProjectSpec:
    folder: Path
    name: str
    label_set: Any  # LabelSet
    scales: list[Any]  # GradingScale
    # Add the images the folder already holds, as a background job once it is created.
    import_existing: bool = False


class NewProjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, default_folder: Path | None = None) -> None:
        super().__init__(parent)
        from core.annotations import builtin_label_set_names, builtin_scale, builtin_scale_names

        self.setWindowTitle("New project")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Chest X-rays 2024")
        self.folder = QLineEdit(str(default_folder) if default_folder else "")
        self.folder.setPlaceholderText("An empty folder (or one holding your images)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.import_existing = QCheckBox("Add the images already in this folder")
        self.import_existing.setToolTip(
            "Imported in the background (with its subfolders) once the project is created"
        )
        self.import_existing.setChecked(True)
        self.label_set = QComboBox()
        for name in builtin_label_set_names():
            self.label_set.addItem(name, name)
        self.label_set.addItem("From a YAML file…", "__file__")
        self.label_file: Path | None = None
        self.label_set.activated.connect(self._maybe_pick_labels)
        scales_box = QGroupBox("Grading scales")
        grid = QGridLayout(scales_box)
        grid.addWidget(QLabel("Use"), 0, 0)
        grid.addWidget(QLabel("Required for “done”"), 0, 1)
        self.scale_checks: dict[str, tuple[QCheckBox, QCheckBox]] = {}
        for row, name in enumerate(builtin_scale_names(), start=1):
            scale = builtin_scale(name)
            use = QCheckBox(f"{scale.title} ({name})")
            req = QCheckBox()
            req.setChecked(True)
            req.setEnabled(False)
            use.toggled.connect(req.setEnabled)
            grid.addWidget(use, row, 0)
            grid.addWidget(req, row, 1, Qt.AlignmentFlag.AlignCenter)
            self.scale_checks[name] = (use, req)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d32f2f;")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Folder", folder_row)
        form.addRow("", self.import_existing)
        form.addRow("Labels", self.label_set)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(scales_box)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self.spec: NewProjectSpec | None = None
        self.start_folder: Path | None = default_folder  # where Browse… opens

    def _browse(self) -> None:
        start = self.folder.text() or str(self.start_folder or "")
        folder = QFileDialog.getExistingDirectory(self, "Project folder", start)
        if folder:
            self.folder.setText(folder)
            if not self.name.text().strip():
                self.name.setText(Path(folder).name)

    def _maybe_pick_labels(self, index: int) -> None:
        if self.label_set.itemData(index) != "__file__":
            return
        path, _ = QFileDialog.getOpenFileName(self, "Label set", "", "YAML (*.yaml *.yml)")
        if path:
            self.label_file = Path(path)
            self.label_set.setItemText(index, f"From {Path(path).name}")
        else:
            self.label_set.setCurrentIndex(0)

    def build_spec(self) -> NewProjectSpec:
        """Validate the form; raises ClinLensError with a readable message."""
        from core.annotations import builtin_label_set, builtin_scale
        from core.annotations.labels import load_label_set_yaml
        from core.errors import ClinLensError

        folder_text = self.folder.text().strip()
        if not folder_text:
            raise ClinLensError("Choose a folder for the project.")
        folder = Path(folder_text).expanduser()
        name = self.name.text().strip() or folder.name
        choice = self.label_set.currentData()
        if choice == "__file__":
            if self.label_file is None:
                raise ClinLensError("Choose the label set's YAML file.")
            labels = load_label_set_yaml(self.label_file)
        else:
            labels = builtin_label_set(str(choice))
        scales = []
        for scale_name, (use, req) in self.scale_checks.items():
            if use.isChecked():
                scales.append(
                    dataclasses.replace(builtin_scale(scale_name), required=req.isChecked())
                )
        return NewProjectSpec(
            folder=folder,
            name=name,
            label_set=labels,
            scales=scales,
            import_existing=self.import_existing.isChecked(),
        )

    def _accept(self) -> None:
        from core.errors import ClinLensError

        try:
            self.spec = self.build_spec()
        except ClinLensError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

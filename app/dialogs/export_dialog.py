"""Export dialog: VOC, YOLO or COCO with the CLI's options (split, seed, remap, tiles, no-images,
pseudonymised names).

Only "done" is ticked among the review statuses: an unreviewed image's missing boxes are
not "nothing here". Other statuses are exported only when ticked, and the export then
lists those images in ``unreviewed.lst`` (YOLO leaves out the ones without boxes).

The dialog only gathers ``ExportOptions``; the main window runs ``core.project_io``
in the job runner, with progress and cancel in the jobs panel and status bar.

"Pseudonymise file names" is ticked whenever the folder is outside the project (file names
can carry patient names, and such an export is meant to leave), and unticked for a folder
in the project's ``exports/``. It follows the folder each time the folder crosses the
project's edge, and otherwise keeps what the user chose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

REMAPS = (
    ("none", "Keep every label"),
    ("agnostic", "One class (anomaly)"),
    ("sizes", "By object size"),
)


class ExportDialog(QDialog):
    def __init__(
        self,
        default_out: Path,
        parent: QWidget | None = None,
        *,
        project_folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        # The suggested folder is <project>/exports/<name> (free_export_folder): when the
        # caller does not say where the project is, that is where.
        if project_folder is None and default_out.parent.name == "exports":
            project_folder = default_out.parent.parent
        self.project_folder = project_folder
        self.setWindowTitle("Export annotations")
        self.fmt = QComboBox()
        self.fmt.addItem("PASCAL VOC (XML per image)", "voc")
        self.fmt.addItem("YOLO (txt per image + data.yaml)", "yolo")
        self.fmt.addItem("COCO (one annotations.json, for CVAT / X-AnyLabeling)", "coco")
        self.out = QLineEdit(str(default_out))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.train = self._fraction(0.8)
        self.val = self._fraction(0.1)
        self.test = self._fraction(0.1)
        split_row = QHBoxLayout()
        for text, spin in (("train", self.train), ("val", self.val), ("test", self.test)):
            split_row.addWidget(QLabel(text))
            split_row.addWidget(spin)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.remap = QComboBox()
        for key, text in REMAPS:
            self.remap.addItem(text, key)
        self.remap.addItem("From a map file…", "__file__")
        self.remap_file: str | None = None
        self.remap.activated.connect(self._maybe_pick_map)
        self.tiles = QSpinBox()
        self.tiles.setRange(0, 1000)
        self.tiles.setToolTip("Random positive tiles per image (YOLO only); 0 = whole images")
        self.tile_grid = QCheckBox("Fixed tile grid")
        self.tile_size = QSpinBox()
        self.tile_size.setRange(32, 8192)
        self.tile_size.setValue(640)
        self.tile_overlap = QDoubleSpinBox()
        self.tile_overlap.setRange(0.0, 0.9)
        self.tile_overlap.setSingleStep(0.05)
        self.tile_overlap.setValue(0.2)
        self.tile_min = QDoubleSpinBox()
        self.tile_min.setRange(0.01, 1.0)
        self.tile_min.setSingleStep(0.05)
        self.tile_min.setValue(0.3)
        self.tile_min.setToolTip(
            "Drop a clipped box when less than this part of it stays in the tile"
        )
        self.no_images = QCheckBox("Annotations only (no image files)")
        self.statuses: dict[str, QCheckBox] = {}
        status_row = QHBoxLayout()
        for key, text in (
            ("new", "new"),
            ("in_progress", "in progress"),
            ("to_review", "to review"),
            ("done", "done"),
        ):
            box = QCheckBox(text)
            box.setChecked(key == "done")
            if key != "done":
                box.setToolTip(
                    "Not reviewed yet: exported only when ticked, then listed in "
                    "unreviewed.lst (YOLO leaves out such images without boxes)"
                )
            self.statuses[key] = box
            status_row.addWidget(box)
        self.include_suggested = QCheckBox("Also export unreviewed model suggestions")
        # Whose boxes (several readers): every reader's, the majority consensus, or a
        # reader's name typed in.
        self.boxes = QComboBox()
        self.boxes.setEditable(True)
        self.boxes.addItems(["all", "consensus"])
        self.boxes.setToolTip(
            "all: every reader's boxes; consensus: the boxes most of an image's readers "
            "drew, averaged; or type one reader's name"
        )
        self.pseudonymise = QCheckBox("Pseudonymise file names (img-… ids)")
        self.pseudonymise.setToolTip(
            "Name the exported files by opaque ids made from the image content instead of "
            "their own names, which can carry patient names. The project keeps which image "
            "each id is (exports/pseudonyms/); the export does not."
        )
        self._outside: bool | None = None
        self.error = QLabel()
        self.error.setStyleSheet("color: #d32f2f;")
        self.error.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Format", self.fmt)
        form.addRow("Folder", out_row)
        form.addRow("Split", split_row)
        form.addRow("Seed", self.seed)
        form.addRow("Classes", self.remap)
        tiles_row = QHBoxLayout()
        tiles_row.addWidget(self.tiles)
        tiles_row.addWidget(self.tile_grid)
        tiles_row.addWidget(QLabel("size"))
        tiles_row.addWidget(self.tile_size)
        form.addRow("Tiles", tiles_row)
        overlap_row = QHBoxLayout()
        overlap_row.addWidget(QLabel("grid overlap"))
        overlap_row.addWidget(self.tile_overlap)
        overlap_row.addWidget(QLabel("keep boxes ≥"))
        overlap_row.addWidget(self.tile_min)
        form.addRow("", overlap_row)
        form.addRow("Images", status_row)
        form.addRow(self.no_images)
        form.addRow(self.include_suggested)
        form.addRow("Boxes", self.boxes)
        form.addRow(self.pseudonymise)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.fmt.currentIndexChanged.connect(self._sync)
        self._sync()
        self.out.textChanged.connect(self._sync_pseudonymise)
        self._sync_pseudonymise()
        self.options: Any = None

    @staticmethod
    def _fraction(value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(value)
        return spin

    def _sync(self) -> None:
        yolo = self.fmt.currentData() == "yolo"
        for w in (self.tiles, self.tile_grid, self.tile_size, self.tile_overlap, self.tile_min):
            w.setEnabled(yolo)
        split = self.fmt.currentData() != "coco"  # one annotations.json: no split
        for w in (self.train, self.val, self.test):
            w.setEnabled(split)

    def folder_is_outside(self) -> bool:
        """True when the chosen folder (resolved) is not inside the project folder."""
        from core.project_io.destination import is_outside

        text = self.out.text().strip()
        if self.project_folder is None or not text:
            return True  # nothing known to be inside: the careful default
        return is_outside(Path(text).expanduser(), self.project_folder)

    def _sync_pseudonymise(self) -> None:
        outside = self.folder_is_outside()
        if outside != self._outside:  # crossed the project's edge: its default applies
            self._outside = outside
            self.pseudonymise.setChecked(outside)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Export into", str(Path(self.out.text()).parent)
        )
        if folder:
            self.out.setText(str(Path(folder) / Path(self.out.text()).name))

    def _maybe_pick_map(self, index: int) -> None:
        if self.remap.itemData(index) != "__file__":
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Class map", "", "Map files (*.yaml *.yml *.txt *.csv)"
        )
        if path:
            self.remap_file = path
            self.remap.setItemText(index, f"Map: {Path(path).name}")
        else:
            self.remap.setCurrentIndex(0)

    def build_options(self) -> Any:
        from core.errors import ClinLensError
        from core.project_io import ExportOptions

        out = self.out.text().strip()
        if not out:
            raise ClinLensError("Choose a folder to export into.")
        split = (self.train.value(), self.val.value(), self.test.value())
        if abs(sum(split) - 1.0) > 1e-6:
            raise ClinLensError(f"The split fractions must add up to 1 (now {sum(split):g}).")
        remap = self.remap.currentData()
        if remap == "__file__":
            if not self.remap_file:
                raise ClinLensError("Choose the class map file.")
            remap = self.remap_file
        yolo = self.fmt.currentData() == "yolo"
        statuses = tuple(k for k, box in self.statuses.items() if box.isChecked())
        if not statuses:
            raise ClinLensError("Tick at least one review status to export.")
        return ExportOptions(
            fmt=str(self.fmt.currentData()),
            out=Path(out).expanduser(),
            split=split,
            seed=int(self.seed.value()),
            remap=str(remap),
            tiles=int(self.tiles.value()) if yolo else 0,
            tile_grid=bool(self.tile_grid.isChecked()) if yolo else False,
            tile_size=int(self.tile_size.value()),
            tile_overlap=float(self.tile_overlap.value()),
            tile_min_fraction=float(self.tile_min.value()),
            images=not self.no_images.isChecked(),
            statuses=None if len(statuses) == len(self.statuses) else statuses,
            include_suggested=self.include_suggested.isChecked(),
            pseudonymise=self.pseudonymise.isChecked(),
            boxes=self.boxes.currentText().strip() or "all",
        )

    def _accept(self) -> None:
        from core.errors import ClinLensError

        try:
            self.options = self.build_options()
        except ClinLensError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

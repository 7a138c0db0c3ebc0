"""Opens the readers' views for the window and keeps the blinded-reading switch in step
with the open project."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox

from core.errors import ClinLensError


class ReadersController(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.blinded_action: QAction | None = None

    @property
    def project(self) -> Any:
        return getattr(self.window, "project", None)

    def project_changed(self, project: Any) -> None:
        if self.blinded_action is None:
            return
        self.blinded_action.setEnabled(project is not None and not project.read_only)
        self.blinded_action.blockSignals(True)
        self.blinded_action.setChecked(project is not None and project.readers.blinded())
        self.blinded_action.blockSignals(False)

    def set_blinded(self, on: bool) -> None:
        if self.project is None:
            return
        try:
            self.project.readers.set_blinded(on)
        except ClinLensError as exc:
            QMessageBox.warning(self.window, "Blinded reading", str(exc))
            return
        refresh = getattr(getattr(self.window, "annotations", None), "refresh", None)
        if callable(refresh):
            refresh()  # show or hide the others' work on the current image now

    def open_adjudication(self) -> None:
        from app.readers.adjudication_dialog import AdjudicationDialog

        self._open(AdjudicationDialog)

    def open_agreement(self) -> None:
        from app.readers.agreement_dialog import AgreementDialog

        self._open(AgreementDialog)

    # --- reading assignments (files, for readers on other workstations) ------------------
    def export_assignment(self) -> Any:
        """Ask the reader's name and an empty folder; write the assignment in the background."""
        from PySide6.QtWidgets import QInputDialog

        if self.project is None:
            return None
        reader, ok = QInputDialog.getText(self.window, "Reading assignment", "Reader's name:")
        if not ok or not reader.strip():
            return None
        prompts = getattr(self.window, "prompts", None)
        folder = prompts.pick_folder("An empty folder for the assignment") if prompts else None
        if not folder:
            return None
        from pathlib import Path

        from core.project_io.assignment import export_assignment

        project, out = self.project, Path(folder)
        return self._run(
            lambda: export_assignment(project, out, reader.strip()),
            "Export a reading assignment",
            lambda m: (
                f"Assignment for {m['reader']}: {len(m['images'])} image(s) in {out}. "
                f"The reader opens {out / 'project'} in ClinLens."
            ),
        )

    def import_results(self) -> Any:
        """Pick a reader's assignment folder; merge it in the background; show the report."""
        if self.project is None or self.project.read_only:
            return None
        prompts = getattr(self.window, "prompts", None)
        folder = prompts.pick_folder("The reader's assignment folder") if prompts else None
        if not folder:
            return None
        from pathlib import Path

        from core.project_io.assignment import import_results

        project = self.project
        return self._run(
            lambda: import_results(project, Path(folder)),
            "Import a reader's results",
            lambda report: "\n".join(report.summary()),
        )

    def _run(self, work: Any, title: str, describe: Any) -> Any:
        runner = getattr(self.window, "runner", None)
        if runner is None:
            return None
        job = runner.submit(lambda progress, cancel: work(), title=title)
        job.succeeded.connect(lambda result: self._done(title, describe(result)))
        job.failed.connect(lambda message: QMessageBox.warning(self.window, title, message))
        return job

    def _done(self, title: str, text: str) -> None:
        QMessageBox.information(self.window, title, text)
        refresh = getattr(getattr(self.window, "annotations", None), "refresh", None)
        if callable(refresh):
            refresh()
        model = getattr(getattr(self.window, "images", None), "model", None)
        if model is not None and hasattr(model, "reload"):
            model.reload()  # new readers' grades: the list's texts and counts change

    def _open(self, kind: Any) -> None:
        if self.project is None:
            QMessageBox.information(self.window, "Readers", "Open a project first.")
            return
        dialog = kind(self.project, self.window)
        show = getattr(self.window, "show_image", None)
        if callable(show):
            dialog.image_chosen.connect(show)
        dialog.exec()
        refresh = getattr(getattr(self.window, "annotations", None), "refresh", None)
        if callable(refresh):
            refresh()

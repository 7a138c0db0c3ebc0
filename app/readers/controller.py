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

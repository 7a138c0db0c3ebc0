"""The Qt answer to ``Prompts`` and ``ProjectForms``: message boxes, file dialogs, forms.

The window makes one with itself as the parent widget (dialogs centre on it and stay on
top); the controllers only see the protocol. The calls keep the argument order of the
static ``QMessageBox`` / ``QFileDialog`` helpers so tests can monkeypatch those.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

if TYPE_CHECKING:
    from app.dialogs.new_project import NewProjectSpec
    from app.settings import Preferences
    from core.project_io import ExportOptions


class QtPrompts:
    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent
        # The last non-modal report: kept referenced so Python does not drop it while shown.
        self.last_report: QMessageBox | None = None

    # --- Prompts --------------------------------------------------------------------------
    def ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self.parent, title, question)
        return answer == QMessageBox.StandardButton.Yes

    def inform(self, title: str, text: str) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, self.parent
        )
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        self.last_report = box

    def warn(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent, title, text)

    def pick_file(self, caption: str, start: str = "", filter: str = "") -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, caption, start, filter)
        return path or None

    def pick_files(self, caption: str, start: str = "", filter: str = "") -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(self.parent, caption, start, filter)
        return list(files)

    def pick_folder(self, caption: str, start: str = "") -> str | None:
        return QFileDialog.getExistingDirectory(self.parent, caption, start) or None

    # --- ProjectForms ---------------------------------------------------------------------
    def new_project_spec(self) -> NewProjectSpec | None:
        from app.dialogs.new_project import NewProjectDialog

        dialog = NewProjectDialog(self.parent)
        if not dialog.exec():
            return None
        return dialog.spec

    def export_options(self, default_out: Path) -> ExportOptions | None:
        from app.dialogs.export_dialog import ExportDialog

        dialog = ExportDialog(default_out, self.parent)
        if not dialog.exec():
            return None
        options: ExportOptions | None = dialog.options
        return options

    def edit_settings(self, prefs: Preferences) -> bool:
        from app.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(prefs, self.parent)
        if not dialog.exec():
            return False
        dialog.apply()
        return True

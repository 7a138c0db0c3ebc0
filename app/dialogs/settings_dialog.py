"""Preferences: author name (recorded on every edit), theme, automatic suggestions."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QWidget,
)

from app.settings import Preferences


class SettingsDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.prefs = prefs
        self.author = QLineEdit(prefs.author)
        self.author.setPlaceholderText("Your name as it should appear on annotations")
        self.theme = QComboBox()
        self.theme.addItem("Dark", "dark")
        self.theme.addItem("Light", "light")
        self.theme.setCurrentIndex(max(0, self.theme.findData(prefs.theme)))
        self.auto_suggest = QCheckBox("Suggest boxes automatically when an image opens")
        self.auto_suggest.setChecked(prefs.auto_suggest)
        form = QFormLayout(self)
        form.addRow("Author", self.author)
        form.addRow("Theme", self.theme)
        form.addRow(self.auto_suggest)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def apply(self) -> None:
        if self.author.text().strip():
            self.prefs.author = self.author.text()
        self.prefs.theme = str(self.theme.currentData())
        self.prefs.auto_suggest = self.auto_suggest.isChecked()

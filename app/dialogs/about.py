"""Help ▸ About: version, licence, and every bundled third-party licence (the notices)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

PRODUCT_LICENCE = "AGPL-3.0-only (see LICENSE). Third-party components keep their own licences."


def about_html(version: str) -> str:
    return (
        f"<h3>ClinLens {version}</h3>"
        "<p>Annotate and review medical images: X-rays and face photos.</p>"
        f"<p>{PRODUCT_LICENCE}</p>"
        "<p>Qt (PySide6) is used under the LGPL-3.0 as replaceable shared libraries; "
        "ultralytics under the AGPL-3.0; dlib's 68-point landmark model was trained on "
        "iBUG 300-W, whose terms exclude commercial use. The full list follows.</p>"
    )


class AboutDialog(QDialog):
    """Shows the notices once the background job has read them (``set_notices``)."""

    def __init__(self, version: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About ClinLens")
        self.resize(760, 600)
        layout = QVBoxLayout(self)
        header = QLabel(about_html(version))
        header.setWordWrap(True)
        layout.addWidget(header)
        self.notices = QPlainTextEdit("Reading the third-party notices…")
        self.notices.setReadOnly(True)
        self.notices.setObjectName("third_party_notices")
        layout.addWidget(self.notices, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def set_notices(self, text: str) -> None:
        self.notices.setPlainText(text)

"""Start the GUI: sane Qt environment, QApplication, main window."""

from __future__ import annotations

import sys


def run_gui(args: list[str]) -> int:
    from app.qt_env import sanitize_qt_environment

    sanitize_qt_environment()
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle("ClinLens")
    window.setCentralWidget(QLabel("ClinLens — the annotator arrives with the next issue."))
    window.resize(1280, 800)
    window.show()
    return int(app.exec())

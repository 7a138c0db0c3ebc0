"""File-menu work of the main window: new/open project, add images, export, settings.

Functions, not a widget: each takes the main window and uses its session, runner and
status bar. Long work (import, export) runs in the job runner with progress and cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.controllers.project_jobs import export_job, import_job
from core.errors import ClinLensError

if TYPE_CHECKING:
    from app.main_window import MainWindow

IMAGE_FILTER = "Images (*.dcm *.dicom *.tif *.tiff *.png *.jpg *.jpeg);;All files (*)"


def new_project(window: MainWindow) -> bool:
    from app.dialogs.new_project import NewProjectDialog

    dialog = NewProjectDialog(window)
    if not dialog.exec() or dialog.spec is None:
        return False
    try:
        project = window.session.create(dialog.spec)
    except ClinLensError as exc:
        QMessageBox.warning(window, "Cannot create the project", str(exc))
        return False
    window.set_project(project)
    return True


def open_project_dialog(window: MainWindow) -> bool:
    folder = QFileDialog.getExistingDirectory(window, "Open project folder")
    return bool(folder) and window.open_project(folder)


def add_image_files(window: MainWindow) -> None:
    files, _ = QFileDialog.getOpenFileNames(window, "Add images", "", IMAGE_FILTER)
    if files:
        start_import(window, files)


def add_image_folder(window: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Add a folder of images")
    if folder:
        start_import(window, [folder])


def start_import(window: MainWindow, paths: Sequence[str | Path]) -> Any:
    """Import in the background; the list refreshes when it is done."""
    project = window.project
    if project is None or project.read_only:
        window.show_error("Open a project you can edit before adding images.")
        return None
    n = len(paths)
    title = f"Add {Path(paths[0]).name}" if n == 1 else f"Add {n} items"
    job = window.runner.submit(import_job(project, paths), title=title, channel="import")
    window.docks["jobs"].show()

    def done(report: Any) -> None:
        if window.project is not project:
            return
        window.images.model.reload()
        lines = report.summary()
        window.statusBar().showMessage(lines[0], 8000)
        if len(lines) > 1:
            window.inform("Images added", "\n".join(lines[:40]))
        if window.images.current_row() < 0:
            window.images.select_row(0)

    job.succeeded.connect(done)
    job.failed.connect(lambda message: window.inform("Images not added", message))
    job.cancelled.connect(lambda: window.statusBar().showMessage("Import cancelled", 5000))
    return job


def export_dialog(window: MainWindow) -> Any:
    from app.dialogs.export_dialog import ExportDialog

    project = window.project
    if project is None:
        return None
    dialog = ExportDialog(_free_export_folder(project.exports_dir), window)
    if not dialog.exec() or dialog.options is None:
        return None
    return start_export(window, dialog.options)


def start_export(window: MainWindow, options: Any) -> Any:
    project = window.project
    window.canvas.flush_nudge()
    job = window.runner.submit(
        export_job(project, options),
        title=f"Export {options.fmt.upper()} to {Path(options.out).name}",
        channel="export",
    )
    window.docks["jobs"].show()
    job.succeeded.connect(lambda report: window.statusBar().showMessage(report.summary()[0], 10000))
    job.failed.connect(lambda message: window.inform("Export failed", message))
    job.cancelled.connect(
        lambda: window.statusBar().showMessage("Export cancelled: nothing was written", 5000)
    )
    return job


def _free_export_folder(base: Path) -> Path:
    stem = "export"
    candidate = base / stem
    i = 2
    while candidate.exists():
        candidate = base / f"{stem}-{i}"
        i += 1
    return candidate


def settings_dialog(window: MainWindow) -> None:
    from PySide6.QtWidgets import QApplication

    from app.dialogs.settings_dialog import SettingsDialog
    from app.theme import apply_theme

    dialog = SettingsDialog(window.prefs, window)
    if dialog.exec():
        dialog.apply()
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, window.prefs.theme)  # type: ignore[arg-type]
        if window.project is not None:
            window.project.author = window.prefs.author


def show_shortcuts(window: MainWindow) -> None:
    from app.dialogs.shortcuts import ShortcutsDialog

    ShortcutsDialog(window).exec()

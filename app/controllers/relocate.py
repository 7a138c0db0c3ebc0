"""Moved or missing image files: "Locate file…" for one image, "Search a folder…" for all.

Functions over the main window (like ``app.project_actions``). Hashing a picked file and
walking a folder run in the job runner, so a slow network share never freezes the window.
A picked file whose content differs from what was imported is only taken after the user
says so: its boxes were drawn on another picture.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog, QMenu

from app.project_actions import IMAGE_FILTER
from core.errors import ClinLensError

if TYPE_CHECKING:
    from app.jobs import Job
    from app.main_window import MainWindow

LINK_LOCATE = "clinlens:locate"
LINK_SEARCH = "clinlens:search"


def is_missing(window: MainWindow, image_id: int) -> bool:
    try:
        return not window.project.image_path(window.project.image(image_id)).exists()
    except (ClinLensError, OSError):
        return False


def banner_html(message: str) -> str:
    """The canvas banner for a missing file, with the two ways to find it."""
    return (
        f"This image cannot be shown: {html.escape(message)}<br>"
        f'<a href="{LINK_LOCATE}">Locate file…</a> &nbsp;·&nbsp; '
        f'<a href="{LINK_SEARCH}">Search a folder for missing files…</a>'
    )


def on_banner_link(window: MainWindow, link: str) -> None:
    image_id = window.annotations.image_id
    if link == LINK_LOCATE and image_id is not None:
        locate_file(window, image_id)
    elif link == LINK_SEARCH:
        search_folder(window)


def context_menu(window: MainWindow, image_id: int) -> QMenu:
    """Right-click menu of an image list row."""
    menu = QMenu(window)
    writable = window.project is not None and not window.project.read_only
    locate = menu.addAction("Locate file…", lambda: locate_file(window, image_id))
    locate.setEnabled(writable and is_missing(window, image_id))
    locate.setToolTip("The file was moved or renamed: choose where it is now")
    search = menu.addAction("Search a folder for missing files…", lambda: search_folder(window))
    search.setEnabled(writable)
    return menu


def _writable(window: MainWindow) -> bool:
    if window.project is None:
        return False
    if window.project.read_only:
        window.show_error("This project is open read-only: image files cannot be relocated.")
        return False
    return True


# --- one image --------------------------------------------------------------------------
def locate_file(window: MainWindow, image_id: int | None = None) -> Job | None:
    """Ask where the image's file is now; check its content, then relocate it."""
    if not _writable(window):
        return None
    image_id = image_id if image_id is not None else window.annotations.image_id
    if image_id is None:
        return None
    project = window.project
    try:
        record = project.image(image_id)
    except ClinLensError as exc:
        window.show_error(str(exc))
        return None
    old = project.image_path(record)
    start = old.parent if old.parent.is_dir() else project.folder
    path, _ = QFileDialog.getOpenFileName(
        window, f"Locate {old.name}", str(start / old.name), IMAGE_FILTER
    )
    if not path:
        return None

    def check(progress: Any, cancel: Any) -> tuple[str, Any]:
        from core.imaging import read_header
        from core.store.relocate import file_sha256

        digest = file_sha256(path)
        try:
            header = read_header(path)
        except ClinLensError:
            header = None  # shown with an error badge later; the user chose it
        return digest, header

    job = window.runner.submit(check, title=f"Check {Path(path).name}", channel="relocate:check")
    job.succeeded.connect(
        lambda result: _finish_locate(window, project, record, Path(path), *result)
    )
    job.failed.connect(lambda message: window.show_error(f"Cannot use {path}: {message}"))
    return job


def _finish_locate(
    window: MainWindow, project: Any, record: Any, path: Path, digest: str, header: Any
) -> None:
    if window.project is not project:
        return  # the user opened another project meanwhile
    if record.sha256 is not None and digest != record.sha256:
        size = ""
        if (
            header is not None
            and record.width
            and (header.width, header.height)
            != (
                record.width,
                record.height,
            )
        ):
            size = (
                f" It is also {header.width}×{header.height} pixels, not "
                f"{record.width}×{record.height}."
            )
        question = (
            f"{path.name} is not the file that was imported as {Path(record.path).name}: "
            f"its content differs.{size} The image's boxes and grades were made on the "
            "other file.\n\nUse this file for the image anyway?"
        )
        if not window.ask("A different file", question):
            window.statusBar().showMessage(
                "Not relocated: the image still points to its old file", 5000
            )
            return
    try:
        project.relocate_image(record.id, path, sha256=digest)
        if record.error is not None:
            project.set_image_error(record.id, None)
    except ClinLensError as exc:
        window.show_error(f"Not relocated: {exc}")
        return
    window.display.forget()
    if window.images.model.thumbnails is not None:
        window.images.model.thumbnails.forget(record)
    window.images.model.refresh_image(record.id)
    window.statusBar().showMessage(f"{Path(record.path).name} is now read from {path}", 6000)
    if window.annotations.image_id == record.id:
        window.show_image(record.id)


# --- every missing image ----------------------------------------------------------------
def search_folder(window: MainWindow) -> Job | None:
    """Ask for a folder; find every missing image in it (by name and content) in the
    background, relocate those found, then report."""
    if not _writable(window):
        return None
    folder = QFileDialog.getExistingDirectory(
        window, "Search a folder for the missing image files", str(window.project.folder)
    )
    if not folder:
        return None
    project = window.project

    def run(progress: Any, cancel: Any) -> Any:
        from core.store.relocate import relocate_from_folder

        return relocate_from_folder(project, folder, progress=progress, cancel=cancel)

    job = window.runner.submit(
        run, title=f"Search {Path(folder).name} for missing files", channel="relocate:search"
    )
    window.docks["jobs"].show()

    def done(report: Any) -> None:
        if window.project is not project:
            return
        lines = report.summary()
        window.statusBar().showMessage(lines[0], 8000)
        window.display.forget()
        window.images.model.reload()
        current = window.annotations.image_id
        if current is not None:
            window.images.select_image(current, emit=False)
            if any(i == current for i, _ in report.relocated + report.by_name_only):
                window.show_image(current)
        if len(lines) > 1:
            window.inform("Missing files", "\n".join(lines[:40]))

    job.succeeded.connect(done)
    job.failed.connect(lambda message: window.inform("Search failed", message))

    def cancelled() -> None:
        if window.project is project:
            window.images.model.reload()
            window.statusBar().showMessage(
                "Search cancelled (files found before that stay relocated)", 5000
            )

    job.cancelled.connect(cancelled)
    return job

"""Moved or missing image files: "Locate file…" for one image, "Search a folder…" for all.

Hashing a picked file and walking a folder run in the job runner, so a slow network share
never freezes the window. A picked file whose content differs from what was imported is
only taken after the user says so: its boxes were drawn on another picture. The controller
asks through ``Prompts`` and tells the window what to re-read through signals.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMenu

from app.controllers.project_session import ProjectSession
from app.controllers.prompts import IMAGE_FILTER, Prompts
from app.jobs import CancelToken, Job, JobRunner
from app.jobs.runner import ProgressFn
from core.errors import ClinLensError

if TYPE_CHECKING:
    from core.imaging import ImageHeader
    from core.store import ImageRecord, Project
    from core.store.relocate import RelocateReport

LINK_LOCATE = "clinlens:locate"
LINK_SEARCH = "clinlens:search"


def banner_html(message: str) -> str:
    """The canvas banner for a missing file, with the two ways to find it."""
    return (
        f"This image cannot be shown: {html.escape(message)}<br>"
        f'<a href="{LINK_LOCATE}">Locate file…</a> &nbsp;·&nbsp; '
        f'<a href="{LINK_SEARCH}">Search a folder for missing files…</a>'
    )


def _check_file(path: str) -> Callable[[ProgressFn, CancelToken], tuple[str, ImageHeader | None]]:
    """Job: the picked file's fingerprint, and its header to compare sizes with."""

    def run(progress: ProgressFn, cancel: CancelToken) -> tuple[str, ImageHeader | None]:
        from core.hashing import sha256_file
        from core.imaging import read_header

        digest = sha256_file(path)
        try:
            header = read_header(path)
        except ClinLensError:
            header = None  # shown with an error badge later; the user chose it
        return digest, header

    return run


def _difference(path: Path, record: ImageRecord, header: ImageHeader | None) -> str:
    """The question asked before a file with other content replaces the imported one."""
    size = ""
    if (
        header is not None
        and record.width
        and (header.width, header.height) != (record.width, record.height)
    ):
        size = (
            f" It is also {header.width}×{header.height} pixels, not "
            f"{record.width}×{record.height}."
        )
    return (
        f"{path.name} is not the file that was imported as {Path(record.path).name}: "
        f"its content differs.{size} The image's boxes and grades were made on the "
        "other file.\n\nUse this file for the image anyway?"
    )


class RelocateController(QObject):
    file_relocated = Signal(object)  # the ImageRecord as it was before: forget its pixels
    files_relocated = Signal(list)  # image ids a folder search relocated: re-read the list
    list_changed = Signal()  # some images may have moved (search cancelled): re-read the list
    job_started = Signal(object)  # a visible Job (folder search): show the jobs dock
    message = Signal(str, int)
    error = Signal(str)

    def __init__(
        self,
        session: ProjectSession,
        runner: JobRunner,
        prompts: Prompts,
        current_image: Callable[[], int | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.prompts = prompts
        self.current_image = current_image  # the image on screen, if any

    @property
    def project(self) -> Project | None:
        project: Project | None = self.session.project
        return project

    def is_missing(self, image_id: int) -> bool:
        project = self.project
        if project is None:
            return False
        try:
            return not project.image_path(project.image(image_id)).exists()
        except (ClinLensError, OSError):
            return False

    def on_banner_link(self, link: str) -> None:
        image_id = self.current_image()
        if link == LINK_LOCATE and image_id is not None:
            self.locate_file(image_id)
        elif link == LINK_SEARCH:
            self.search_folder()

    def fill_menu(self, menu: QMenu, image_id: int) -> QMenu:
        """The image list row's right-click entries, added to ``menu`` (the caller owns it)."""
        project = self.project
        writable = project is not None and not project.read_only
        locate = menu.addAction("Locate file…", lambda: self.locate_file(image_id))
        locate.setEnabled(writable and self.is_missing(image_id))
        locate.setToolTip("The file was moved or renamed: choose where it is now")
        search = menu.addAction("Search a folder for missing files…", self.search_folder)
        search.setEnabled(writable)
        return menu

    def _writable_project(self) -> Project | None:
        project = self.project
        if project is None:
            return None
        if project.read_only:
            self.error.emit("This project is open read-only: image files cannot be relocated.")
            return None
        return project

    # --- one image ----------------------------------------------------------------------
    def locate_file(self, image_id: int | None = None) -> Job | None:
        """Ask where the image's file is now; check its content, then relocate it."""
        project = self._writable_project()
        if project is None:
            return None
        image_id = image_id if image_id is not None else self.current_image()
        if image_id is None:
            return None
        try:
            record = project.image(image_id)
        except ClinLensError as exc:
            self.error.emit(str(exc))
            return None
        old = project.image_path(record)
        start = old.parent if old.parent.is_dir() else project.folder
        path = self.prompts.pick_file(f"Locate {old.name}", str(start / old.name), IMAGE_FILTER)
        if not path:
            return None
        job = self.runner.submit(
            _check_file(path), title=f"Check {Path(path).name}", channel="relocate:check"
        )
        job.succeeded.connect(
            lambda result: self._finish_locate(project, record, Path(path), *result)
        )
        job.failed.connect(lambda message: self.error.emit(f"Cannot use {path}: {message}"))
        return job

    def _finish_locate(
        self,
        project: Project,
        record: ImageRecord,
        path: Path,
        digest: str,
        header: ImageHeader | None,
    ) -> None:
        if self.project is not project:
            return  # the user opened another project meanwhile
        differs = record.sha256 is not None and digest != record.sha256
        if differs and not self.prompts.ask("A different file", _difference(path, record, header)):
            self.message.emit("Not relocated: the image still points to its old file", 5000)
            return
        try:
            project.relocate_image(record.id, path, sha256=digest)
            if record.error is not None:
                project.set_image_error(record.id, None)
        except ClinLensError as exc:
            self.error.emit(f"Not relocated: {exc}")
            return
        self.message.emit(f"{Path(record.path).name} is now read from {path}", 6000)
        self.file_relocated.emit(record)

    # --- every missing image ------------------------------------------------------------
    def search_folder(self) -> Job | None:
        """Ask for a folder; find every missing image in it (by name and content) in the
        background, relocate those found, then report."""
        project = self._writable_project()
        if project is None:
            return None
        folder = self.prompts.pick_folder(
            "Search a folder for the missing image files", str(project.folder)
        )
        if not folder:
            return None

        def run(progress: ProgressFn, cancel: CancelToken) -> RelocateReport:
            from core.store.relocate import relocate_from_folder

            return relocate_from_folder(project, folder, progress=progress, cancel=cancel)

        job = self.runner.submit(
            run, title=f"Search {Path(folder).name} for missing files", channel="relocate:search"
        )
        self.job_started.emit(job)

        def done(report: RelocateReport) -> None:
            if self.project is not project:
                return
            lines = report.summary()
            self.message.emit(lines[0], 8000)
            self.files_relocated.emit([i for i, _ in report.relocated + report.by_name_only])
            if len(lines) > 1:
                self.prompts.inform("Missing files", "\n".join(lines[:40]))

        def cancelled() -> None:
            if self.project is project:
                self.list_changed.emit()
                self.message.emit("Search cancelled (files found before that stay relocated)", 5000)

        job.succeeded.connect(done)
        job.failed.connect(lambda message: self.prompts.inform("Search failed", message))
        job.cancelled.connect(cancelled)
        return job

"""File-menu work: new/open project, add images, export, settings.

The controller drives the ``ProjectSession`` (which project is open) and the job runner
(import and export run in the background with progress and cancel). It asks the user
through ``Prompts``/``ProjectForms`` and tells the window what changed through signals, so
it never needs the window: tests build it with a runner and a fake prompts object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.controllers.project_jobs import export_job, import_job
from app.controllers.project_session import ProjectSession
from app.controllers.prompts import IMAGE_FILTER, ProjectPrompts
from app.jobs import Job, JobRunner
from core.errors import ClinLensError

if TYPE_CHECKING:
    from core.project_io import ExportOptions, ExportReport, ImportReport
    from core.store import Project


class ProjectController(QObject):
    project_opened = Signal(object)  # the session's new project: the window shows it
    images_added = Signal()  # an import stored images: the image list must re-read
    job_started = Signal(object)  # a visible Job (import, export): show the jobs dock
    message = Signal(str, int)  # text, milliseconds to show
    error = Signal(str)  # a refused action, shown in the status bar

    def __init__(
        self,
        session: ProjectSession,
        runner: JobRunner,
        prompts: ProjectPrompts,
        *,
        flush_edits: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner
        self.prompts = prompts
        # An edit still pending (a keyboard nudge of a box) must be stored before an export
        # reads the project, or the export misses it.
        self.flush_edits = flush_edits or (lambda: None)

    @property
    def project(self) -> Project | None:
        project: Project | None = self.session.project
        return project

    # --- open / new -----------------------------------------------------------------------
    def open_project(self, folder: str | Path, *, read_only: bool = False) -> bool:
        try:
            project = self.session.open(folder, read_only=read_only)
        except ClinLensError as exc:
            self.prompts.warn("Cannot open the project", str(exc))
            return False
        if project is None:
            return False  # the user declined the read-only offer
        self.project_opened.emit(project)
        return True

    def open_project_dialog(self) -> bool:
        last = self.session.prefs.last_project()
        start = str(Path(last).parent) if last else ""
        folder = self.prompts.pick_folder("Open project folder", start)
        return bool(folder) and self.open_project(str(folder))

    def new_project(self) -> bool:
        spec = self.prompts.new_project_spec()
        if spec is None:
            return False
        try:
            project = self.session.create(spec)
        except ClinLensError as exc:
            self.prompts.warn("Cannot create the project", str(exc))
            return False
        self.project_opened.emit(project)
        if getattr(spec, "import_existing", False):
            # The folder's own images (the wizard offers it; a background job: the folder
            # may hold thousands). The project's models/ and exports/ are never scanned.
            self.start_import([spec.folder])
        return True

    # --- import ---------------------------------------------------------------------------
    def _images_start(self) -> str:
        """Where an image picker opens: the folder last added from, else the project's."""
        last = self.session.prefs.folder("images")
        if last:
            return last
        return str(self.project.folder) if self.project is not None else ""

    def add_image_files(self) -> Job | None:
        files = self.prompts.pick_files("Add images", self._images_start(), IMAGE_FILTER)
        if files:
            self.session.prefs.set_folder("images", Path(files[0]).parent)
        return self.start_import(files) if files else None

    def add_image_folder(self) -> Job | None:
        folder = self.prompts.pick_folder("Add a folder of images", self._images_start())
        if folder:
            self.session.prefs.set_folder("images", Path(folder).parent)
        return self.start_import([folder]) if folder else None

    def start_import(self, paths: Sequence[str | Path]) -> Job | None:
        """Import in the background; the list refreshes when it is done."""
        project = self.project
        if project is None or project.read_only:
            self.error.emit("Open a project you can edit before adding images.")
            return None
        n = len(paths)
        title = f"Add {Path(paths[0]).name}" if n == 1 else f"Add {n} items"
        job = self.runner.submit(import_job(project, paths), title=title, channel="import")
        self.job_started.emit(job)

        def done(report: ImportReport) -> None:
            if self.project is not project:
                return  # another project is open now: this list is not on screen
            self.images_added.emit()
            lines = report.summary()
            self.message.emit(lines[0], 8000)
            if len(lines) > 1:
                self.prompts.inform("Images added", "\n".join(lines[:40]))

        job.succeeded.connect(done)
        job.failed.connect(lambda message: self.prompts.inform("Images not added", message))
        job.cancelled.connect(lambda: self.message.emit("Import cancelled", 5000))
        return job

    # --- export ---------------------------------------------------------------------------
    def export_dialog(self) -> Job | None:
        project = self.project
        if project is None:
            return None
        # The folder the last export went into (any project), else the project's exports.
        base = self.session.prefs.folder("export")
        options = self.prompts.export_options(
            free_export_folder(Path(base) if base else project.exports_dir)
        )
        if options is None:
            return None
        self.session.prefs.set_folder("export", Path(options.out).parent)
        return self.start_export(options)

    def start_export(self, options: ExportOptions) -> Job | None:
        project = self.project
        if project is None:
            return None
        self.flush_edits()
        job = self.runner.submit(
            export_job(project, options),
            title=f"Export {options.fmt.upper()} to {Path(options.out).name}",
            channel="export",
        )
        self.job_started.emit(job)

        def done(report: ExportReport) -> None:
            self.message.emit(report.summary()[0], 10000)

        job.succeeded.connect(done)
        job.failed.connect(lambda message: self.prompts.inform("Export failed", message))
        job.cancelled.connect(
            lambda: self.message.emit("Export cancelled: nothing was written", 5000)
        )
        return job

    # --- settings -------------------------------------------------------------------------
    def settings_dialog(self) -> bool:
        prefs = self.session.prefs
        if not self.prompts.edit_settings(prefs):
            return False
        from PySide6.QtWidgets import QApplication

        from app.theme import apply_theme

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, prefs.theme)
        project = self.project
        if project is not None:
            project.author = prefs.author  # edits from now on carry the new name
        return True


def free_export_folder(base: Path) -> Path:
    """``base/export``, or ``export-2``, ``export-3``…: never into an earlier export."""
    stem = "export"
    candidate = base / stem
    i = 2
    while candidate.exists():
        candidate = base / f"{stem}-{i}"
        i += 1
    return candidate

"""The annotator's main window: composes the canvas, the docks and the controllers.

It owns no annotation logic: the AnnotationController saves edits, the DisplayController
reads and renders images, the ProjectController opens projects and imports/exports, the
RelocateController finds moved files, the JobRunner runs long work. Controllers ask the user
through ``self.prompts`` and report back by signals; the window only connects them.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QVBoxLayout, QWidget

from app.actions import build_actions
from app.canvas import Canvas
from app.controllers.annotations import AnnotationController
from app.controllers.model_evaluation import ModelEvaluationController
from app.controllers.project import ProjectController
from app.controllers.project_session import ProjectSession
from app.controllers.qt_prompts import QtPrompts
from app.controllers.reading_room import ReadingRoom
from app.controllers.relocate import RelocateController, banner_html
from app.controllers.severity import SeverityController
from app.controllers.suggestions import SuggestionController
from app.controllers.training import TrainingController, TrainingData, TrainRequest
from app.docks.boxes_panel import BoxesPanel
from app.docks.filter_panel import FilterPanel
from app.docks.grade_panel import GradePanel
from app.docks.image_list_panel import ImageListPanel
from app.docks.label_panel import LabelPanel
from app.docks.model_panel import ModelPanel
from app.docks.pigment_panel import PigmentPanel
from app.docks.severity_panel import SeverityPanel
from app.docks.thumbnails import ThumbnailCache
from app.docks.training_panel import TrainingPanel
from app.jobs import JobRunner
from app.jobs.panel import JobsPanel, JobsStatusIndicator
from app.key_guard import EditorKeyGuard
from app.settings import Preferences
from app.viewer.display import DisplayController, Loaded
from app.viewer.readout import pixel_readout
from app.window_fit import (
    LAYOUT_VERSION,
    fit_window,
    scrollable,
    stack_docks,
    whole_tab_titles,
)
from core.errors import ClinLensError

if TYPE_CHECKING:
    from core.store import ImageRecord

log = logging.getLogger("clinlens.window")

SAVE_FILTERS_MS = 600  # per-image display settings are saved once the sliders rest


class MainWindow(QMainWindow):
    project_changed = Signal(object)
    image_shown = Signal(int)  # image id whose pixels and boxes are on screen

    def __init__(self, prefs: Preferences | None = None, runner: JobRunner | None = None) -> None:
        super().__init__()
        self.setWindowTitle("ClinLens")
        self.setAcceptDrops(True)
        self.prefs = prefs or Preferences()
        self.runner = runner or JobRunner(self)
        self.prompts = QtPrompts(self)
        self.session = ProjectSession(self.prefs, self.prompts.ask)
        # --- centre: banners above the canvas
        self.canvas = Canvas()
        self.banner = QLabel()
        self.banner.setObjectName("readOnlyBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.image_banner = QLabel()
        self.image_banner.setObjectName("banner")
        self.image_banner.setWordWrap(True)
        self.image_banner.setTextFormat(Qt.TextFormat.RichText)  # links to locate a file
        self.image_banner.hide()
        centre = QWidget()
        lay = QVBoxLayout(centre)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(self.image_banner)
        lay.addWidget(self.canvas, 1)
        self.setCentralWidget(centre)
        # --- docks
        self.images = ImageListPanel()
        self.images.set_thumbnails(ThumbnailCache(self.runner, self))
        self.filters = FilterPanel()
        self.labels = LabelPanel()
        self.grades = GradePanel()
        self.jobs_panel = JobsPanel(self.runner)
        self.model_panel = ModelPanel()
        self.severity_panel = SeverityPanel()
        self.training_panel = TrainingPanel()
        self.boxes_panel = BoxesPanel()
        self.pigment_panel = PigmentPanel()
        self.docks: dict[str, QDockWidget] = {}
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self._dock("images", "Images", self.images, left)
        self._dock("jobs", "Jobs", self.jobs_panel, left)
        # Right: in window_fit.RIGHT_STACKS order (added so, the tabs form cleanly).
        self._dock("labels", "Labels", self.labels, right)
        self._dock("boxes", "Boxes", self.boxes_panel, right)
        self._dock("grades", "Grades", self.grades, right)
        self._dock("severity", "Severity", self.severity_panel, right)
        self._dock("filters", "Display", self.filters, right)
        self._dock("pigment", "Pigment", self.pigment_panel, right)
        self._dock("model", "Model", self.model_panel, right)
        self._dock("training", "Training", self.training_panel, right)
        stack_docks(self, self.docks)  # two tab stacks of four: whole titles (window_fit)
        self._tab_titles = whole_tab_titles(self)
        self.docks["jobs"].hide()
        # --- status bar
        self.pixel_label = QLabel()
        self.zoom_label = QLabel()
        self.info_label = QLabel()
        self.jobs_indicator = JobsStatusIndicator(self.runner)
        sb = self.statusBar()
        sb.addPermanentWidget(self.pixel_label)
        sb.addPermanentWidget(self.info_label)
        sb.addPermanentWidget(self.zoom_label)
        sb.addPermanentWidget(self.jobs_indicator)
        # --- controllers
        self.display = DisplayController(self.runner, self.canvas, self)
        self.annotations = AnnotationController(self.canvas, self.labels, self.grades, self)
        self.suggestions = SuggestionController(
            self.runner,
            self.model_panel,
            self.annotations,
            lambda t, q: self.prompts.ask(t, q),
            self,
        )
        self.suggestions.batch_finished = lambda: self.images.model.reload()  # type: ignore[method-assign]
        self.severity = SeverityController(
            self.runner, self.severity_panel, self.canvas, self.annotations, self
        )
        self.training = TrainingController(self.runner, self.prompts, self._ask_train_request, self)
        self.model_evaluation = ModelEvaluationController(self.runner, self, parent=self)
        self.projects = ProjectController(
            self.session,
            self.runner,
            self.prompts,
            flush_edits=self.canvas.flush_nudge,
            parent=self,
        )
        self.relocator = RelocateController(
            self.session, self.runner, self.prompts, lambda: self.annotations.image_id, self
        )
        self.project: Any = None
        self.list_menu: QMenu | None = None  # the image list's right-click menu while shown
        self._previous_image: int | None = None
        self._filters_dirty = False
        self._filters_timer = QTimer(self)
        self._filters_timer.setSingleShot(True)
        self._filters_timer.setInterval(SAVE_FILTERS_MS)
        self._filters_timer.timeout.connect(self.save_filter_settings)
        self.reading_room = ReadingRoom(self)  # mouse W/L, ruler, boxes, pigment, tags
        from app.readers.controller import ReadersController

        self.readers_ui = ReadersController(self)  # several readers (issue #15)
        self.actions_ = build_actions(self, self)
        self.key_guard = EditorKeyGuard.install(self)  # typed keys go to a focused field
        self.project_changed.connect(self.readers_ui.project_changed)
        self._wire()
        from app.active_learning_ui import install as install_active_learning

        self.active_learning = install_active_learning(self)  # review next, the loop (#12)
        self._restore_layout()
        self.set_project(None)

    def _ask_train_request(self, project: object, data: TrainingData) -> TrainRequest | None:
        # The form is built only when asked for: the window's start does not import it.
        from app.dialogs.train_dialog import ask_train_request

        return ask_train_request(self, project, data)

    # --- composition helpers --------------------------------------------------------------
    def _dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")  # saveState needs names
        # Forms scroll inside their dock, so a small screen can still hold the window.
        dock.setWidget(widget if key in ("images", "labels", "jobs") else scrollable(widget))
        self.addDockWidget(area, dock)
        self.docks[key] = dock

    def _wire(self) -> None:
        self.images.image_selected.connect(self.show_image)
        self.images.context_requested.connect(self._show_list_menu)
        self.display.image_loaded.connect(self._on_image_loaded)
        self.display.image_failed.connect(self._on_image_failed)
        self.display.settings_changed.connect(self.filters.show_settings)
        self.filters.settings_changed.connect(self._on_filters_changed)
        self.canvas.mouse_moved.connect(self._on_mouse_moved)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.annotations.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.annotations.error.connect(self.show_error)
        self.annotations.image_changed.connect(self.images.model.refresh_image)
        self.annotations.navigate_to.connect(lambda i: self.images.select_image(i))
        self.annotations.history_changed.connect(self._update_undo_actions)
        self.labels.add_requested.connect(self.add_label)
        self.suggestions.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.suggestions.error.connect(self.show_error)
        self.model_panel.import_model.connect(self.import_model_dialog)
        self.severity.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.severity.error.connect(self.show_error)
        self.severity.navigate_to.connect(lambda i: self.images.select_image(i))
        self.image_shown.connect(self.severity.show_marked_lesions)
        self.annotations.image_changed.connect(self.severity.show_marked_lesions)
        self.annotations.image_changed.connect(lambda _i: self.severity.refresh_training())
        for controller in (self.projects, self.relocator):
            controller.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
            controller.error.connect(self.show_error)
            controller.job_started.connect(lambda _job: self.docks["jobs"].show())
        self.projects.project_opened.connect(self.set_project)
        self._wire_training()
        self.projects.images_added.connect(self._on_images_added)
        self.image_banner.linkActivated.connect(self.relocator.on_banner_link)
        self.relocator.file_relocated.connect(self._on_file_relocated)
        self.relocator.files_relocated.connect(self._on_files_relocated)
        self.relocator.list_changed.connect(self.images.model.reload)

    def _wire_training(self) -> None:
        t, panel = self.training, self.training_panel
        t.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        t.error.connect(self.show_error)
        t.job_started.connect(lambda _job: self.docks["jobs"].show())
        t.started.connect(panel.training_started)
        t.started.connect(self.docks["training"].show)
        t.started.connect(self.docks["training"].raise_)
        t.epoch.connect(panel.plot.add_epoch)
        t.trained.connect(panel.show_result)
        t.stopped.connect(panel.training_stopped)
        t.models_changed.connect(self.suggestions.refresh_status)
        t.models_changed.connect(self._show_versions)
        ev = self.model_evaluation
        ev.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        ev.error.connect(self.show_error)
        self.model_panel.roll_back.connect(t.roll_back)
        panel.cancel_requested.connect(t.cancel)
        panel.promote_requested.connect(
            lambda ref: panel.promoted(ref) if t.promote(ref) is not None else None
        )

    def _show_versions(self) -> None:
        project = self.training.project
        writable = project is not None and not project.read_only
        versions = [(m.ref, m.status) for m in self.training.versions()]
        self.model_panel.set_versions(versions, writable)

    def _show_list_menu(self, image_id: int, pos: QPoint) -> None:
        # popup, not exec: no nested event loop; kept on self so it lives while shown.
        self.list_menu = self.relocator.fill_menu(QMenu(self), image_id)
        self.list_menu.popup(pos)

    # --- messages -------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        """A refused action: the status bar says why (no modal dialog mid-work)."""
        self.statusBar().showMessage(text, 10000)
        log.info("refused: %s", text)

    def show_shortcuts(self) -> None:
        from app.dialogs.shortcuts import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        """Help ▸ About; the notices (a metadata scan from source) load in the background."""
        from app.dialogs.about import AboutDialog
        from core.notices import app_version, notices_text

        dialog = AboutDialog(app_version(), self)
        job = self.runner.submit(
            lambda progress, cancel: notices_text(),
            title="Read the licences",
            channel="about",
            lane="interactive",  # asked for by the user: not behind a demo build
        )
        job.succeeded.connect(dialog.set_notices)
        job.failed.connect(lambda message: dialog.set_notices(f"Notices unavailable: {message}"))
        dialog.show()
        self._about = dialog  # kept while open

    # --- project --------------------------------------------------------------------------
    def open_project(self, folder: str | Path, *, read_only: bool = False) -> bool:
        """Open and show a project (launch, recent list and tests come through here)."""
        return self.projects.open_project(folder, read_only=read_only)

    def set_project(self, project: Any) -> None:
        self.display.forget()
        self.statusBar().clearMessage()  # a message about the previous project misleads
        self.project = project
        self._previous_image = None
        self.annotations.set_project(project)
        self.suggestions.set_project(project)
        self.training.set_project(project)
        self.model_evaluation.set_project(project)
        self.severity.set_project(project)
        self.images.set_project(project)
        self.canvas.clear_image()
        self.image_banner.hide()
        if project is None:
            self.setWindowTitle("ClinLens")
            self.banner.setText("No project open: File → New project… or Open project…")
            self.banner.show()
        else:
            ro = " (read-only)" if project.read_only else ""
            self.setWindowTitle(f"ClinLens — {project.name}{ro}")
            if project.read_only:
                reason = self.session.read_only_reason or "opened read-only"
                self.banner.setText(
                    f"Read-only: {reason}. You can view and export, but not change annotations."
                )
                self.banner.show()
            else:
                self.banner.hide()
            # Back to the image last viewed in this project, else the first one.
            last = self.prefs.last_image(project.folder)
            shown = last is not None and self.images.select_image(last)
            if not shown and self.images.model.rowCount() > 0:
                self.images.select_row(0)
        self._update_actions_enabled()
        self.project_changed.emit(project)

    def _update_actions_enabled(self) -> None:
        has = self.project is not None
        writable = has and not self.project.read_only
        for name in (
            "add_files",
            "add_folder",
            "copy_previous",
            "draw",
            "delete",
            "duplicate",
            "locate",
            "search_missing",
        ):
            self.actions_[name].setEnabled(writable)
        self.actions_["export"].setEnabled(has)
        self._update_undo_actions()

    def _update_undo_actions(self) -> None:
        h = self.annotations.history
        for name, can, text in (
            ("undo", h is not None and h.can_undo, h.undo_text if h else None),
            ("redo", h is not None and h.can_redo, h.redo_text if h else None),
        ):
            act = self.actions_[name]
            act.setEnabled(bool(can))
            act.setText(f"{name.capitalize()} {text}" if text else name.capitalize())

    def add_label(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        if self.project is None or self.project.read_only:
            return
        name, ok = QInputDialog.getText(self, "Add label", "Name of the new label:")
        if ok and name.strip():
            try:
                self.project.add_label(name.strip())
            except ClinLensError as exc:
                self.show_error(str(exc))
                return
            self.labels.set_labels(self.project.label_set(), keep=name.strip())

    # --- images ---------------------------------------------------------------------------
    def show_image(self, image_id: int) -> None:
        if self.project is None:
            return
        self.canvas.flush_nudge()
        self.save_filter_settings()
        current = self.annotations.image_id
        if current is not None and current != image_id:
            self._previous_image = current
        try:
            record = self.project.image(image_id)
        except ClinLensError as exc:
            self.show_error(str(exc))
            return
        self.canvas.clear_image()
        self.pixel_label.clear()  # the readout belonged to the previous image
        self.severity.image_changed()
        self.annotations.set_image(record)
        self.prefs.set_last_image(self.project.folder, image_id)
        self.info_label.setText(self._image_info(record))
        path = self.project.image_path(record)
        if not path.exists():
            message = (
                f"The file {path} is missing (moved or deleted?). Its boxes and grades are "
                "kept; put the file back or locate it to see it."
            )
            self._on_image_failed(image_id, message)
            if not self.project.read_only:
                self.image_banner.setText(banner_html(message))
            return
        self.image_banner.hide()
        self.display.load(image_id, path, self._settings_for(image_id))
        self.suggestions.image_changed(image_id)

    def _image_info(self, record: Any) -> str:
        if not record.width:
            return ""
        modality = f" · {record.modality}" if record.modality else ""
        return f"{record.width}×{record.height} · {record.bit_depth}-bit{modality}"

    def _settings_for(self, image_id: int) -> Any:
        """Keep-for-next, else the image's saved settings (a dict, turned into
        FilterSettings by the loading job), else the project default, else None."""
        if self.filters.keep_for_next and self.display.settings is not None:
            return self.display.settings
        try:
            return self.project.filter_settings(image_id) or self.project.default_filter_settings()
        except ClinLensError:
            return None

    def _on_image_loaded(self, loaded: Loaded) -> None:
        self.filters.set_image(loaded.raw, loaded.settings, loaded.histogram)
        self.annotations.refresh()
        record = self.annotations.record
        if record is not None and record.error and not self.project.read_only:
            self._set_image_error(loaded.image_id, None)  # readable again
        self._prefetch_next()
        self.image_shown.emit(loaded.image_id)

    def _on_image_failed(self, image_id: int, message: str) -> None:
        self.canvas.clear_image()
        self.image_banner.setText(html.escape(f"This image cannot be shown: {message}"))
        self.image_banner.show()
        self.filters.setEnabled(False)
        if self.project is not None and not self.project.read_only:
            self._set_image_error(image_id, message)
        self.image_shown.emit(image_id)

    def _set_image_error(self, image_id: int, message: str | None) -> None:
        try:
            self.project.set_image_error(image_id, message)
        except ClinLensError as exc:
            log.warning("cannot record the image error: %s", exc)
        self.images.model.refresh_image(image_id)

    def _prefetch_next(self) -> None:
        row = self.images.current_row()
        rec = self.images.model.record(row + 1) if row >= 0 else None
        if rec is not None and not rec.error:
            path = self.project.image_path(rec)
            if path.exists():
                self.display.prefetch(path)

    # --- what the project and relocate controllers changed ---------------------------------
    def _on_images_added(self) -> None:
        self.images.model.reload()
        if self.images.current_row() < 0:
            self.images.select_row(0)

    def _on_file_relocated(self, record: ImageRecord) -> None:
        """One image now reads another file: drop what was cached from the old one."""
        self.display.forget()
        if self.images.model.thumbnails is not None:
            self.images.model.thumbnails.forget(record)
        self.images.model.refresh_image(record.id)
        if self.annotations.image_id == record.id:
            self.show_image(record.id)

    def _on_files_relocated(self, image_ids: list[int]) -> None:
        self.display.forget()
        self.images.model.reload()
        current = self.annotations.image_id
        if current is not None:
            self.images.select_image(current, emit=False)
            if current in image_ids:
                self.show_image(current)

    def step_image(self, delta: int) -> None:
        if not self.images.step(delta):
            self.statusBar().showMessage(
                "This is the last image" if delta > 0 else "This is the first image", 2000
            )

    def import_model_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Import a detector", "", "YOLO models (*.pt)")
        if path:
            self.suggestions.import_model_file(path)

    @property
    def suggest_threshold(self) -> float:
        return float(self.model_panel.threshold.value())

    def copy_previous_boxes(self) -> None:
        self.annotations.copy_from(self._previous_image)

    # --- display settings -----------------------------------------------------------------
    def _on_filters_changed(self, settings: Any, interactive: bool) -> None:
        self.display.set_settings(settings, interactive)
        self._filters_dirty = True
        self._filters_timer.start()

    def save_filter_settings(self) -> None:
        """Record the display settings of the image on screen (what a model will see)."""
        self._filters_timer.stop()
        if not self._filters_dirty:
            return
        self._filters_dirty = False
        image_id, settings = self.display.image_id, self.display.settings
        if self.project is None or self.project.read_only or image_id is None or settings is None:
            return
        try:
            self.project.set_filter_settings(image_id, settings.to_dict())
        except ClinLensError as exc:
            log.warning("display settings not saved: %s", exc)

    def _on_mouse_moved(self, pos: Any) -> None:
        info = pixel_readout(self.display.raw, pos.x(), pos.y()) if pos is not None else None
        self.pixel_label.setText(info.text() if info else "")

    # --- save / layout / close ------------------------------------------------------------
    def save_all(self) -> None:
        self.canvas.flush_nudge()
        self.save_filter_settings()
        self.statusBar().showMessage(
            "Everything is saved: each change is stored the moment you make it.", 4000
        )

    def _restore_layout(self) -> None:
        geometry, state = self.prefs.layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        # A layout saved before the two right-hand stacks (version 0) is not restored:
        # its one stack of eight tabs elided their titles.
        restored = state is not None and self.restoreState(state, LAYOUT_VERSION)
        # Never larger than the screen it opens on (high-DPI and small screens).
        fit_window(self, self.docks, restored=geometry is not None, has_state=restored)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.training.confirm_close():
            event.ignore()
            return
        self.canvas.flush_nudge()
        self.save_filter_settings()
        self.prefs.save_layout(self.saveGeometry(), self.saveState(LAYOUT_VERSION))
        # The detector process first: a job waiting on it then ends at once as cancelled,
        # instead of keeping the window's shutdown waiting.
        self.suggestions.close_backend()
        self.severity.close_worker()
        self.runner.shutdown(5000)
        self.session.close()
        super().closeEvent(event)

    # --- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and self.project is not None and not self.project.read_only:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.projects.start_import(paths)
            event.acceptProposedAction()

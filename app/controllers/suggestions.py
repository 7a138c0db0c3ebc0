"""Detector suggestions in the annotator, always through the job runner.

- "Suggest for this image" (and automatically on open, if chosen): one job on the
  ``suggest:image`` channel. Moving to another image cancels it before it stores anything,
  and a result for an image the user has left is never drawn (latest request wins).
- "Suggest for all unreviewed images": a visible batch job with progress and cancel.
- No model yet: the panel says so and how to get one; nothing is started.
- Importing a model asks for confirmation first; the file's pickle is checked against an
  allow-list before anything loads it (a crafted .pt would otherwise run code), and the
  registry records its SHA-256 in the project database and refuses it if it changes.
The detector itself runs in a child process (``ProcessBackend``): torch and ultralytics
are never imported in the window's process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.controllers.suggestion_backends import ProcessBackend, SuggestionBackend
from app.docks.model_panel import ModelPanel
from app.jobs import LANE_BACKGROUND, JobRunner
from core.errors import ClinLensError

log = logging.getLogger("clinlens.suggestions")

UNREVIEWED = ("new", "in_progress", "to_review")
TRUST_WARNING = (
    "A model file made elsewhere could try to run code on this computer. ClinLens checks "
    "the file first and refuses anything that is not plain model data, but import only "
    "files from people you trust.\n\nClinLens copies the file into the project, records "
    "its fingerprint (SHA-256) and will refuse it if it is ever changed.\n\nImport {name}?"
)


class SuggestionController(QObject):
    suggestions_stored = Signal(int, int)  # image id, number of suggestions
    message = Signal(str, int)
    error = Signal(str)

    def __init__(
        self,
        runner: JobRunner,
        panel: ModelPanel,
        annotations: Any,
        ask: Callable[[str, str], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.panel = panel
        self.annotations = annotations
        self.ask = ask
        self.project: Any = None
        # Where the detector runs; made for each project on first use (see backend()).
        self.backend_factory: Callable[[Any], SuggestionBackend] = ProcessBackend
        self._backend: SuggestionBackend | None = None
        self.auto = False
        self.has_model = False
        panel.suggest_image.connect(self.suggest_current)
        panel.suggest_batch.connect(self.suggest_unreviewed)
        panel.accept_above.connect(annotations.accept_all_above)
        panel.auto_changed.connect(self._set_auto)

    # --- state ----------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        for channel in ("suggest:image", "suggest:warmup", "suggest:batch", "model:import"):
            self.runner.cancel_channel(channel)
        self.close_backend()
        self.project = project
        self.refresh_status()

    def backend(self) -> SuggestionBackend:
        """The current project's detector backend (its process starts on the first request)."""
        if self._backend is None:
            self._backend = self.backend_factory(self.project.folder)
        return self._backend

    def set_backend(self, backend: SuggestionBackend) -> None:
        self.close_backend()
        self._backend = backend

    def close_backend(self) -> None:
        """Let the detector process go (project closed or changed, window closing)."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def refresh_status(self) -> None:
        project = self.project
        if project is None:
            self.has_model = False
            self.panel.set_available(False, False, "No project open.")
            return
        writable = not project.read_only
        try:
            from ml import registry

            models = [
                m for m in registry.list_models(project.folder, "detector") if m.status == "active"
            ]
        except ClinLensError as exc:
            models, text = [], f"The model registry cannot be read: {exc}"
        else:
            text = ""
        self.has_model = bool(models)
        if models:
            newest = max(models, key=lambda m: (m.created, m.version))
            classes = ", ".join(newest.classes[:6]) + ("…" if len(newest.classes) > 6 else "")
            text = f"Detector: {newest.ref}" + (f" ({classes})" if classes else "")
        elif not text:
            text = (
                "No detector in this project yet. Import a YOLO model (.pt) with "
                "“Import a model…”, or train one from your reviewed images."
            )
        if not writable:
            text += " The project is read-only: suggestions cannot be stored."
        self.panel.set_available(self.has_model, writable, text)

    def _set_auto(self, on: bool) -> None:
        self.auto = on
        if on:
            self.warm_up()

    def warm_up(self) -> Any:
        """Load the detector now, in the background.

        Loading starts the detector process, which imports torch and reads the model (a
        few seconds on a CPU); better now, when the user asked for automatic suggestions,
        than when they are waiting for the first image's boxes.
        """
        if self.project is None or not self.has_model:
            return None
        project, backend, device = self.project, self.backend(), self.panel.device_choice
        job = self.runner.submit(
            lambda progress, cancel: backend.warm_up(project, device, cancel),
            title="Load the detector",
            channel="suggest:warmup",
        )
        job.succeeded.connect(lambda label: self.panel.device_label.setText(f"Running on: {label}"))
        job.failed.connect(self._on_failed)
        return job

    # --- one image ------------------------------------------------------------------------
    def image_changed(self, image_id: int | None) -> None:
        """The user moved on: a pending suggestion for the old image must not be stored."""
        self.runner.cancel_channel("suggest:image")
        if self.auto and image_id is not None and self.has_model and self._writable():
            record = self.annotations.record
            if record is not None and record.review_status != "done":
                self.suggest_current()

    def _writable(self) -> bool:
        return self.project is not None and not self.project.read_only

    def suggest_current(self) -> Any:
        image_id = self.annotations.image_id
        if self.project is None or image_id is None:
            return None
        if not self._writable():
            self.error.emit("This project is read-only: suggestions cannot be stored.")
            return None
        if not self.has_model:
            self.refresh_status()
            if not self.has_model:
                self.error.emit(self.panel.status.text())
                return None
        job = self._suggest_job([image_id], keep_late=False)
        job_ = self.runner.submit(
            job, title="Suggest boxes", channel="suggest:image", lane=LANE_BACKGROUND
        )
        job_.succeeded.connect(lambda result, i=image_id: self._on_image_done(i, result))
        job_.failed.connect(self._on_failed)
        return job_

    def _suggest_job(self, ids: list[int], *, keep_late: bool) -> Callable[[Any, Any], Any]:
        """A job suggesting for ``ids`` with the panel's settings as they are now.

        ``keep_late=False`` (one image): nothing is stored once the job is cancelled.
        """
        project, backend = self.project, self.backend()
        device, conf = self.panel.device_choice, self.panel.conf.value()

        def job(progress: Any, cancel: Any) -> Any:
            return backend.suggest(
                project,
                ids,
                device=device,
                conf=conf,
                progress=progress,
                cancel=cancel,
                keep_late=keep_late,
            )

        return job

    def _on_image_done(self, image_id: int, summary: Any) -> None:
        self.panel.device_label.setText(f"Running on: {summary.device}")
        if summary.skipped:
            self.error.emit(f"No suggestions: {summary.skipped[0]['error']}")
            return
        n = summary.suggestions
        self.suggestions_stored.emit(image_id, n)
        if image_id == self.annotations.image_id:
            self.annotations.refresh()
            self.annotations.image_changed.emit(image_id)
        extra = f" ({summary.notes[-1]})" if summary.notes else ""
        self.message.emit(f"{n} suggestion(s) on {summary.device}{extra}", 5000)

    def _on_failed(self, message: str) -> None:
        self.error.emit(f"No suggestions: {message}")
        self.refresh_status()

    # --- batch ----------------------------------------------------------------------------
    def suggest_unreviewed(self) -> Any:
        if self.project is None or not self._writable():
            self.error.emit("Open a project you can edit to store suggestions.")
            return None
        self.refresh_status()
        if not self.has_model:
            self.error.emit(self.panel.status.text())
            return None
        ids = [r.id for r in self.project.images(status=UNREVIEWED) if not r.error]
        if not ids:
            self.message.emit("Every image is reviewed: nothing to suggest", 4000)
            return None
        job = self._suggest_job(ids, keep_late=True)
        job_ = self.runner.submit(
            job, title=f"Suggest for {len(ids)} unreviewed image(s)", channel="suggest:batch"
        )
        job_.succeeded.connect(self._on_batch_done)
        job_.failed.connect(self._on_failed)
        job_.cancelled.connect(self._on_batch_cancelled)
        return job_

    def _on_batch_done(self, summary: Any) -> None:
        self.panel.device_label.setText(f"Running on: {summary.device}")
        skipped = f", {len(summary.skipped)} image(s) skipped" if summary.skipped else ""
        self.message.emit(
            f"{summary.suggestions} suggestion(s) on {summary.images} image(s) in "
            f"{summary.seconds:.1f} s{skipped}",
            8000,
        )
        self._after_batch()

    def _on_batch_cancelled(self) -> None:
        self.message.emit("Suggestions stopped; the images already done keep theirs", 5000)
        self._after_batch()

    def _after_batch(self) -> None:
        self.annotations.refresh()
        if self.annotations.image_id is not None:
            self.annotations.image_changed.emit(self.annotations.image_id)
        self.batch_finished()

    def batch_finished(self) -> None:
        """Hook for the window: reload the list (box counts changed everywhere)."""

    # --- import ---------------------------------------------------------------------------
    def import_model_file(self, path: str) -> Any:
        """Confirm, then register ``path`` as the project's detector (in the background)."""
        from pathlib import Path

        if self.project is None or not self._writable():
            self.error.emit("Open a project you can edit to import a model.")
            return None
        if not self.ask("Import a model", TRUST_WARNING.format(name=Path(path).name)):
            return None
        project, backend = self.project, self.backend()

        def job(progress: Any, cancel: Any) -> Any:
            # Describing the model loads it: in the detector process, like every model load.
            return backend.import_model(project, path, cancel)

        job_ = self.runner.submit(job, title=f"Import {Path(path).name}", channel="model:import")

        def done(info: Any) -> None:
            self.refresh_status()
            self.message.emit(f"Model {info.ref} imported (SHA-256 {info.sha256[:12]}…)", 6000)

        job_.succeeded.connect(done)
        job_.failed.connect(lambda message: self.error.emit(f"Model not imported: {message}"))
        return job_

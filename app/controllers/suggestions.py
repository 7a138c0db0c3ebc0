"""Detector suggestions in the annotator, always through the job runner.

- "Suggest for this image" (and automatically on open, if chosen): one job on the
  ``suggest:image`` channel. Moving to another image cancels it before it stores anything,
  and a result for an image the user has left is never drawn (latest request wins).
- "Suggest for all unreviewed images": a visible batch job with progress and cancel.
- No model yet: the panel says so and how to get one; nothing is started.
- Importing a model asks for confirmation first (a .pt file can run code when loaded); the
  registry records its SHA-256 and refuses it if the file later changes.
torch and ultralytics are imported only inside the jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.docks.model_panel import ModelPanel
from app.jobs import LANE_BACKGROUND, JobRunner
from core.errors import ClinLensError

log = logging.getLogger("clinlens.suggestions")

UNREVIEWED = ("new", "in_progress", "to_review")
TRUST_WARNING = (
    "A model file can run code on this computer when it is loaded. Import only files from "
    "people you trust.\n\nClinLens copies the file into the project, records its "
    "fingerprint (SHA-256) and will refuse it if it is ever changed.\n\nImport {name}?"
)


def _offline_ultralytics() -> None:
    from ml import offline

    offline.configure()  # before ultralytics is imported: it reads these settings once


# The detector's imports, made with short interpreter-lock holds (see heavy_imports).
DETECTOR_IMPORTS = ("torch", _offline_ultralytics, "ultralytics", "ml.suggest")


def default_detector_factory(project: Any, device: str) -> Any:
    """The project's active detector (cached between images). Runs in a worker thread."""
    from app.jobs.heavy_imports import import_quietly

    import_quietly(DETECTOR_IMPORTS)
    from ml.suggest import cached_detector

    return cached_detector(project, device=device)


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
        self.detector_factory: Callable[[Any, str], Any] = default_detector_factory
        self.auto = False
        self.has_model = False
        panel.suggest_image.connect(self.suggest_current)
        panel.suggest_batch.connect(self.suggest_unreviewed)
        panel.accept_above.connect(annotations.accept_all_above)
        panel.auto_changed.connect(self._set_auto)

    # --- state ----------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        self.runner.cancel_channel("suggest:image")
        self.project = project
        self.refresh_status()

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

        Loading imports torch, whose C initialisation holds the interpreter lock for a few
        hundred milliseconds once per session; better now, when the user asked for automatic
        suggestions, than in the middle of their work on an image.
        """
        if self.project is None or not self.has_model:
            return None
        project, factory, device = self.project, self.detector_factory, self.panel.device_choice
        job = self.runner.submit(
            lambda progress, cancel: factory(project, device).device.label,
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
        project, factory = self.project, self.detector_factory
        device, conf = self.panel.device_choice, self.panel.conf.value()

        def job(progress: Any, cancel: Any) -> Any:
            from ml.suggest import suggest_image

            progress(0.0, None, "loading the model")
            detector = factory(project, device)
            detector.conf = conf
            progress(0.3, None, "looking for anomalies")
            outcome = suggest_image(project, image_id, detector, cancel=cancel)
            return outcome, detector.device.label, list(detector.notes)

        job_ = self.runner.submit(
            job, title="Suggest boxes", channel="suggest:image", lane=LANE_BACKGROUND
        )
        job_.succeeded.connect(lambda result, i=image_id: self._on_image_done(i, result))
        job_.failed.connect(self._on_failed)
        return job_

    def _on_image_done(self, image_id: int, result: Any) -> None:
        outcome, device, notes = result
        self.panel.device_label.setText(f"Running on: {device}")
        n = len(outcome.boxes)
        self.suggestions_stored.emit(image_id, n)
        if image_id == self.annotations.image_id:
            self.annotations.refresh()
            self.annotations.image_changed.emit(image_id)
        extra = f" ({notes[-1]})" if notes else ""
        self.message.emit(f"{n} suggestion(s) on {device}{extra}", 5000)

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
        project, factory = self.project, self.detector_factory
        device, conf = self.panel.device_choice, self.panel.conf.value()
        ids = [r.id for r in project.images(status=UNREVIEWED) if not r.error]
        if not ids:
            self.message.emit("Every image is reviewed: nothing to suggest", 4000)
            return None

        def job(progress: Any, cancel: Any) -> Any:
            from ml.suggest import suggest_images

            progress(0, len(ids), "loading the model")
            detector = factory(project, device)
            return suggest_images(
                project, ids, detector, conf=conf, progress=progress, cancel=cancel
            )

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
        folder = self.project.folder

        def job(progress: Any, cancel: Any) -> Any:
            from app.jobs.heavy_imports import import_quietly

            import_quietly(DETECTOR_IMPORTS)  # the inspector loads the model with them
            from ml import registry

            return registry.import_model(folder, path, "detector")

        job_ = self.runner.submit(job, title=f"Import {Path(path).name}", channel="model:import")

        def done(info: Any) -> None:
            self.refresh_status()
            self.message.emit(f"Model {info.ref} imported (SHA-256 {info.sha256[:12]}…)", 6000)

        job_.succeeded.connect(done)
        job_.failed.connect(lambda message: self.error.emit(f"Model not imported: {message}"))
        return job_

"""Severity grading of face photos in the annotator (issue 6), through the job runner.

"Suggest a grade" grades the photo on screen with the project's model for the chosen
scale: the model grade is stored as a suggestion (``source="model"``; the expert's grade is
never touched) and shows beside the expert's in the grade panel (Accept, or Alt+A); the skin
patches it used are drawn over the photo; the lesion-count (Hayashi) grade is shown when
the photo has lesion boxes; the most similar graded faces appear as a strip of thumbnails.
Training runs as a visible job with progress and cancel. Grading and training run in the
project's severity process (``main.py severity-worker DIR``, ``ml.severity_worker``):
torch and the EfficientNet-Lite0 backbone never load in the window's process; the job
threads here only send requests and store what comes back.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap

from app.canvas import BoxView, Canvas
from app.docks.severity_panel import SeverityPanel
from app.jobs import JobRunner
from core.errors import ClinLensError

log = logging.getLogger("clinlens.severity")

PATCH_COLOUR = "#00e5ff"
THUMB = 72
# ml.severity.train.MIN_GRADED (a test keeps them equal; the GUI must not import ml):
# fewer human-graded photos cannot be split into folds that say anything.
MIN_GRADED = 10
SEVERITY_KIND = "severity"  # ml.severity.model_io.KIND (a test keeps them equal)


def graded_scales(folder: Any) -> list[str]:
    """``ml.severity.model_io.graded_scales`` read from the JSON registry alone: that module
    brings numpy, scikit-learn's arrays and the regressor, which the status line at project
    open (before the window is first painted) does not need (#17). A test keeps them equal."""
    from ml import registry

    return sorted(
        {
            str((m.extra or {}).get("scale"))
            for m in registry.list_models(folder, SEVERITY_KIND)
            if m.status == "active" and (m.extra or {}).get("scale")
        }
    )


def _grade_job(worker: Any, project: Any, scale: str, image_id: int) -> Any:
    def run(progress: Any, cancel: Any) -> Any:
        # The severity process grades (torch lives there); this thread stores the grade.
        done = worker.request(
            "grade", image_id=image_id, scale=scale, progress=progress, cancel=cancel
        )
        result = done["result"]
        cancel.raise_if_cancelled()  # the user left this photo: store nothing
        project.grading.set_grade(
            image_id,
            scale,
            float(result["value"]),
            source="model",
            model_version=str(result["model"]),
            confidence=round(float(result["confidence"]), 3),
        )
        refs = [r.get("image_id") for r in result.get("references") or []]
        return result, _thumbnails(project, refs)

    return run


def severity_worker(folder: Any) -> Any:
    """The severity child process of a project (started on its first request)."""
    from core.workers import WorkerProcess, clinlens_argv
    from ml.severity_worker import COMMAND

    return WorkerProcess(clinlens_argv(COMMAND, str(folder)), name="severity")


def _thumbnails(project: Any, image_ids: list[int | None]) -> dict[int, Any]:
    """Small RGB previews of the reference faces (made in the worker)."""
    from core.filters import default_settings, render
    from core.imaging import read

    thumbs: dict[int, Any] = {}
    for image_id in image_ids:
        if image_id is None or image_id < 0:
            continue
        try:
            raw = read(project.image_path(project.image(image_id)))
            thumbs[image_id] = render(raw, default_settings(raw), THUMB)
        except (ClinLensError, OSError) as exc:
            log.info("no thumbnail for image %s: %s", image_id, exc)
    return thumbs


def _icon(rendered: Any) -> QIcon:
    import numpy as np

    arr = np.ascontiguousarray(rendered)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        img = QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QIcon(QPixmap.fromImage(img.copy()))


class SeverityController(QObject):
    message = Signal(str, int)
    error = Signal(str)
    navigate_to = Signal(int)

    def __init__(
        self,
        runner: JobRunner,
        panel: SeverityPanel,
        canvas: Canvas,
        annotations: Any,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.panel = panel
        self.canvas = canvas
        self.annotations = annotations
        self.project: Any = None
        self.worker: Any = None  # the project's severity process (ml.severity_worker)
        # Patch features for training: "auto" = EfficientNet-Lite0 (else builtin, said so).
        self.train_backbone = "auto"
        self.models: list[str] = []
        self.last_result: Any = None
        panel.grade_requested.connect(self.grade_current)
        panel.train_requested.connect(self.train)
        panel.overlay_toggled.connect(self._show_overlay)
        panel.reference_chosen.connect(self.navigate_to)
        panel.photo_view_changed.connect(self.set_photo_view)
        panel.scale.currentIndexChanged.connect(lambda _i: self.refresh_status())

    # --- state ----------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        self.runner.cancel_channel("severity:image")
        if self.worker is not None:
            self.worker.close()
        self.project = project
        self.worker = severity_worker(project.folder) if project is not None else None
        self.panel.set_scales(project.definitions.scales() if project else [])
        self.panel.set_photo_view(project.definitions.photo_view() if project else "full_face")
        self.panel.photo_view.setEnabled(project is not None and not project.read_only)
        self.image_changed()
        self.refresh_status()

    def set_photo_view(self, view: str) -> None:
        """The project's "photo shows" setting (one meta row; the next count uses it)."""
        if self.project is None or self.project.read_only:
            return
        try:
            self.project.definitions.set_photo_view(view)
        except ClinLensError as exc:
            self.error.emit(f"Photo view not changed: {exc}")
            return
        self.message.emit(
            "Lesion counts now take every lesion on the photo"
            if view == "one_side"
            else "Lesion counts now take the worse half of the face",
            5000,
        )

    def close_worker(self) -> None:
        """Let the severity process go (window closing): a job waiting on it ends."""
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.close()

    def training_readiness(self, scale: str) -> tuple[bool, str]:
        """Whether training the grader of ``scale`` can succeed, and why not (the Train
        button's tooltip): enough human-graded photos, with at least two grades."""
        from core.store.images import GRADED

        title = self.panel.title_of(scale)
        try:
            graded = self.project.image_count(grade=(scale, GRADED))
            scale_def = next(s for s in self.project.definitions.scales() if s.name == scale)
            distinct = 0
            for v in scale_def.values:  # two different grades are enough to know
                distinct += bool(self.project.image_count(grade=(scale, v.value)))
                if distinct >= 2:
                    break
        except (ClinLensError, StopIteration) as exc:
            return False, f"Cannot count the graded photos: {exc}"
        if graded < MIN_GRADED:
            return False, (
                f"Training needs at least {MIN_GRADED} photos graded on {title}; "
                f"{graded} so far (grade {MIN_GRADED - graded} more)."
            )
        if distinct < 2:
            return (
                False,
                f"All {graded} graded photos have the same {title} grade; training needs two different grades.",
            )
        return True, f"Train on the {graded} photos graded on {title}."

    def refresh_status(self) -> None:
        if self.project is None:
            self.panel.status.setText("No project open.")
            for b in (self.panel.grade_button, self.panel.train_button):
                b.setEnabled(False)
            return
        scale = self.panel.current_scale()
        try:
            self.models = graded_scales(self.project.folder)
        except ClinLensError as exc:
            self.models = []
            log.warning("severity models unreadable: %s", exc)
        writable = not self.project.read_only
        has = scale in self.models
        title = self.panel.title_of(scale)
        if not scale:
            text = "This project has no grading scale to suggest."
        elif has:
            text = f"The {title} grader is ready."
        else:
            text = f"No {title} grader yet: grade some photos, then train one."
        self.panel.status.setText(text)
        self.panel.grade_button.setEnabled(has and writable)
        self.refresh_training()

    def refresh_training(self) -> None:
        """Train enabled only when it can succeed (after each grade: cheap counts)."""
        if self.project is None:
            self.panel.set_train_allowed(False, "")
            return
        scale = self.panel.current_scale()
        writable = not self.project.read_only
        if not scale:
            self.panel.set_train_allowed(False, "")
        elif not writable:
            self.panel.set_train_allowed(False, "This project is open read-only.")
        else:
            self.panel.set_train_allowed(*self.training_readiness(scale))

    def show_marked_lesions(self, image_id: int) -> None:
        """The lesion boxes of the photo on screen, counted by label, before any model
        runs (the Hayashi grade from them comes with a suggested grade)."""
        if self.project is None or image_id != self.annotations.image_id:
            return
        try:
            if self.project.grading.image_kind(image_id) == "xray":
                self.panel.marked.setText("")
                return
            boxes = [b for b in self.project.boxes(image_id) if b.status != "rejected"]
        except ClinLensError:
            return
        counts: dict[str, int] = {}
        for box in boxes:
            counts[box.label] = counts.get(box.label, 0) + 1
        detail = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        self.panel.marked.setText(
            f"Lesions marked on this photo: {len(boxes)}" + (f" ({detail})" if detail else "")
        )

    def image_changed(self) -> None:
        """A new image is on screen: old overlays and results no longer apply."""
        self.runner.cancel_channel("severity:image")
        self.last_result = None
        self.panel.clear_result()
        self.canvas.set_overlays([])

    # --- grading one photo ----------------------------------------------------------------
    def grade_current(self) -> Any:
        image_id = self.annotations.image_id
        scale = self.panel.current_scale()
        if self.project is None or image_id is None or not scale:
            return None
        if self.project.read_only:
            self.error.emit("This project is read-only: a suggested grade cannot be stored.")
            return None
        readers = getattr(self.project, "readers", None)
        if readers is not None and not readers.revealed(image_id):
            # Blinded reading: the model's grade (and the similar faces' graded references)
            # would show this reader what others think before they have graded.
            self.error.emit(
                "Blinded reading: grade this image yourself first; then the model's "
                "suggestion can be shown."
            )
            return None
        job = self.runner.submit(
            _grade_job(self.worker, self.project, scale, image_id),
            title=f"Suggest a {scale} grade",
            channel="severity:image",
        )
        job.succeeded.connect(lambda result, i=image_id, sc=scale: self._on_graded(i, result, sc))
        job.failed.connect(lambda message: self.error.emit(f"No grade suggested: {message}"))
        return job

    def _against_human(self, image_id: int, scale: str, suggested: float) -> str:
        """The expert's grade beside the model's: the line a grader compares first."""
        try:
            human = next(
                (
                    g
                    for g in self.project.grading.grades(image_id)
                    if g.scale == scale
                    and g.source == "human"
                    and (g.author or "") in ("", self.project.author or "")
                ),
                None,
            )
            definition = next(s for s in self.project.definitions.scales() if s.name == scale)
        except (ClinLensError, StopIteration):
            return ""
        if human is None:
            return "Your grade: not graded yet (Accept or Alt+A takes the model's)"
        verdict = (
            "the model agrees"
            if abs(human.value - suggested) < 1e-9
            else f"the model says {suggested - human.value:+g}"
        )
        return f"Your grade: {definition.label_of(human.value)} ({human.value:g}) — {verdict}"

    def _on_graded(self, image_id: int, payload: Any, scale: str = "") -> None:
        if image_id != self.annotations.image_id:
            return
        result, thumbs = payload
        self.last_result = result
        group = f" · {result['group']}" if result.get("group") else ""
        warnings = "".join(f"\n⚠ {w}" for w in result.get("warnings") or [])
        against = self._against_human(
            image_id, scale or self.panel.current_scale(), float(result["value"])
        )
        self.panel.result.setText(
            f"{against}\n"
            f"Model ({result['model']}): {result['label']} ({result['value']:g}){group}, "
            f"confidence {result['confidence']:.0%} · from {len(result['patches'])} patch(es), "
            f"{str(result['method']).replace('_', ' ')}" + warnings
        )
        lc = result.get("lesion_count")
        if lc is not None and lc.get("grade") is None:
            self.panel.lesions.setText("Lesion count: " + "; ".join(lc.get("notes") or []))
        elif lc is not None:
            halves = (
                f" (right {lc['right_half']}, left {lc['left_half']})" if lc["by_midline"] else ""
            )
            side = " · one-side photo, counted whole" if lc.get("view") == "one_side" else ""
            self.panel.lesions.setText(
                f"Lesion count {lc['count']}{halves} → Hayashi {lc['label']} ({lc['grade']})" + side
            )
        self.panel.references.clear()
        for ref in result.get("references") or []:
            ref_id = ref.get("image_id")
            icon = _icon(thumbs[ref_id]) if ref_id in thumbs else None
            self.panel.add_reference(ref_id, f"{ref['label']} ({ref['grade']:g})", icon)
        self._show_overlay(self.panel.overlay.isChecked())
        self.annotations.refresh()  # the grade panel shows the model grade beside the expert's
        self.annotations.image_changed.emit(image_id)
        self.message.emit(
            f"Suggested {result['label']} ({result['value']:g}) — Alt+A or Accept takes it", 6000
        )

    def _show_overlay(self, on: bool) -> None:
        if not on or self.last_result is None:
            self.canvas.set_overlays([])
            return
        views = []
        for i, p in enumerate(self.last_result["patches"]):
            x1, y1, x2, y2 = p["box"]
            views.append(
                BoxView(
                    id=-(i + 1),
                    rect=QRectF(x1, y1, x2 - x1, y2 - y1),
                    label=str(p["region"]).replace("_", " "),
                    color=PATCH_COLOUR,
                    suggested=True,
                )
            )
        self.canvas.set_overlays(views)

    def accept_suggestion(self) -> None:
        """Alt+A: take the model's grade on the chosen scale as the expert's."""
        scale = self.panel.current_scale() or (
            next(iter(self.annotations.grades.rows), "") if self.annotations.grades.rows else ""
        )
        if scale:
            self.annotations.accept_grade_suggestion(scale)

    # --- training -------------------------------------------------------------------------
    def train(self, scale: str) -> Any:
        if self.project is None or not scale:
            return None
        folder, worker, backbone = self.project.folder, self.worker, self.train_backbone
        options = self.panel.train_options()

        def run(progress: Any, cancel: Any) -> Any:
            from ml import registry

            # Features and training in the severity process; it only reads the project,
            # so the model's checksum is recorded here (a static check, nothing runs).
            done = worker.request(
                "train",
                scale=scale,
                backbone=backbone,
                progress=progress,
                cancel=cancel,
                **options,
            )
            if done.get("model"):
                registry.confirm_import(folder, registry.ModelInfo.from_dict(done["model"]))
            return done["summary"]

        job = self.runner.submit(
            run, title=f"Train the {scale} grader", channel=f"severity:train:{scale}"
        )

        def done(summary: Any) -> None:
            self.refresh_status()
            metrics = summary.get("metrics") or {}
            mae = metrics.get("mae") or (metrics.get("regression") or {}).get("mae")
            extra = f", cross-validated MAE {mae:.2f}" if isinstance(mae, int | float) else ""
            self.message.emit(
                f"Trained {summary.get('model')} on {summary['training']['faces']} faces{extra}",
                8000,
            )

        job.succeeded.connect(done)
        job.failed.connect(lambda message: self.error.emit(f"Not trained: {message}"))
        return job

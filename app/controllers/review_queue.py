"""Review next (key N): open the most informative unreviewed image, from stored scores.

The scores are computed by the detector process (``score`` request, ``ml.active``) for
the active detector version and stored here (``project.scores``) by a background job, as
suggestions are; "Review next" itself only reads them (one query) and orders the
candidates with ``core.active.queue.build_queue``: the unreviewed images the image list's
filters let through, held-out images never ranked but offered at the held-out rate. No
model work on the GUI thread; without an active detector the queue is file order and the
status bar says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.jobs import LANE_IDLE, JobRunner
from core.errors import ClinLensError
from core.jobs import check_cancel

if TYPE_CHECKING:
    from core.active.queue import Queue

KIND = "detector"
UNREVIEWED = ("new", "in_progress", "to_review")
CHANNEL = "active:score"
LOAD_CHANNEL = "active:load-scores"
SCORE_CHUNK = 4  # images per request to the shared detector process


def active_detector_ref(folder: Any) -> str | None:
    from ml.registry.versions import active_model  # the JSON registry: no torch

    try:
        info = active_model(folder, "detector")
    except ClinLensError:
        return None
    return info.ref if info else None


class ReviewQueueController(QObject):
    message = Signal(str, int)
    error = Signal(str)
    navigate_to = Signal(int)
    scores_changed = Signal()

    def __init__(
        self,
        runner: JobRunner,
        backend: Callable[[], Any],
        filters: Callable[[], dict[str, Any]] = dict,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.backend = backend  # the suggestion controller's detector backend
        self.filters = filters  # the image list's filters now
        self.project: Any = None
        self.device = "auto"
        self.job: Any = None
        self.last_ms = 0.0
        self._model: str | None = None
        self._scores: dict[int, Any] | None = None

    def set_project(self, project: Any) -> None:
        self.runner.cancel_channel(CHANNEL)
        self.runner.cancel_channel(LOAD_CHANNEL)
        self.project = project
        self._model, self._scores = None, None

    # --- reading ---------------------------------------------------------------------------
    def model(self) -> str | None:
        return None if self.project is None else active_detector_ref(self.project.folder)

    def scores(self) -> dict[int, Any]:
        """The active version's stored scores (cached until they change)."""
        model = self.model()
        if model is None:
            return {}
        if self._scores is None or self._model != model:
            self._model, self._scores = model, self.project.scores.scores(KIND, model)
        return self._scores

    def invalidate(self) -> None:
        """Drop the cached scores; they are read again by a background job (20,000 rows
        and their reasons: a few hundred ms, never on the GUI thread), then
        ``scores_changed``. Review next itself never needs them (``next_image``)."""
        self._scores = None
        model = self.model()
        if self.project is None or model is None or self.runner is None:
            self.scores_changed.emit()
            return
        project = self.project

        def load(progress: Any, cancel: Any) -> Any:
            return project, model, project.scores.scores(KIND, model)

        job = self.runner.submit(
            load, title="Read review scores", channel=LOAD_CHANNEL, visible=False
        )
        job.succeeded.connect(self._on_loaded)

    def _on_loaded(self, got: tuple[Any, str, dict[int, Any]]) -> None:
        project, model, scores = got
        if project is self.project and self._scores is None:
            self._model, self._scores = model, scores
            self.scores_changed.emit()

    def _filters(self) -> dict[str, Any] | None:
        """The image list's filters with the status narrowed to unreviewed ones (None:
        the filters let no unreviewed image through)."""
        f = dict(self.filters())
        status = f.pop("status", None)
        wanted = [s for s in ([status] if isinstance(status, str) else status or UNREVIEWED)]
        wanted = [s for s in wanted if s in UNREVIEWED]
        return {**f, "status": wanted} if wanted else None

    def next_image(self, exclude: int | None = None) -> Queue:
        """The first queue item (or none), with the notes; never touches a model. Read from
        the store with a few indexed LIMIT-1 queries (``next_from_store``), not from every
        score: the same answer as ``build_queue`` over all candidates, at 20,000 images in
        milliseconds from a cold start."""
        model = self.model()
        # numpy (through core.active.queue): not on the window's start path (#17).
        from core.active.queue import Queue, next_from_store

        filters = self._filters()
        if filters is None:
            return Queue([], model, ["every image is reviewed: nothing left to review"])
        return next_from_store(self.project, KIND, model, filters, exclude=exclude)

    def review_next(self, current: int | None = None) -> int | None:
        """Open the most informative unreviewed image; the status bar says why."""
        if self.project is None:
            self.error.emit("Open a project first.")
            return None
        start = time.perf_counter()
        queue = self.next_image(exclude=current)
        self.last_ms = (time.perf_counter() - start) * 1000
        if not queue.items:
            self.message.emit(
                "Nothing left to review"
                + (" with these filters" if self.filters() else "")
                + ": every image is reviewed",
                8000,
            )
            return None
        item = queue.items[0]
        path = self.project.image(item.image_id).path
        why = "; ".join(item.reasons)
        score = "" if item.score is None else f"score {item.score:.2f}: "
        note = f" ({queue.notes[0]})" if queue.notes and queue.model is None else ""
        self.message.emit(f"Review next: {path}: {score}{why}{note}", 8000)
        self.navigate_to.emit(item.image_id)
        return item.image_id

    # --- computing -------------------------------------------------------------------------
    def missing(self) -> list[int]:
        """The unreviewed training images the active version has no score for (one query)."""
        model = self.model()
        if self.project is None or model is None:
            return []
        return self.project.scores.unscored(KIND, model, UNREVIEWED)

    def refresh_scores(self) -> Any:
        """Score, in the detector process, the unreviewed images the active version has no
        score for yet (after a promotion: all of them). Idle lane, cancellable."""
        if self.project is None or self.project.read_only:
            return None
        ids = self.missing()
        if not ids:
            return None
        backend = self.backend()
        if not hasattr(backend, "score"):  # a stand-in detector without scoring (tests)
            return None
        project, device = self.project, self.device

        def job(progress: Any, cancel: Any) -> Any:
            # Small requests: the detector process is shared with suggestions, and a
            # suggestion the user asks for gets its turn between two of them.
            total: dict[str, Any] = {"scored": 0, "skipped": 0, "model": None}
            for start in range(0, len(ids), SCORE_CHUNK):
                check_cancel(cancel)
                done = backend.score(
                    project,
                    ids[start : start + SCORE_CHUNK],
                    kind=KIND,
                    device=device,
                    progress=lambda d, t, m, s=start: progress(s + d, len(ids), m),
                    cancel=cancel,
                )
                total["model"] = done.get("model")
                total["scored"] += int(done.get("scored") or 0)
                total["skipped"] += int(done.get("skipped") or 0)
            # The list shows every score: read them here, off the GUI thread (20,000 rows
            # and their reasons take a few hundred ms under load).
            if total["model"]:
                total["scores"] = project.scores.scores(KIND, str(total["model"]))
            return total

        self.job = self.runner.submit(
            job, title=f"Score {len(ids)} image(s) for review next", channel=CHANNEL, lane=LANE_IDLE
        )
        self.job.succeeded.connect(self._on_scored)
        self.job.failed.connect(lambda text: self.error.emit(f"Scoring stopped: {text}"))
        self.job.cancelled.connect(self.invalidate)  # what was stored before is kept
        return self.job

    def _on_scored(self, done: dict[str, Any]) -> None:
        if "scores" in done:  # read by the job: no query on the GUI thread
            self._model, self._scores = str(done["model"]), done.pop("scores")
            self.scores_changed.emit()
        else:
            self.invalidate()
        skipped = int(done.get("skipped") or 0)
        text = f"Review next: {done.get('scored', 0)} image(s) scored with {done.get('model')}"
        if skipped:
            text += f"; {skipped} skipped (the model failed on them)"
        self.message.emit(text, 6000)

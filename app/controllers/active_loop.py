"""The active-learning loop: retrain after K newly reviewed images (off by default).

Per project (``core.active.loop``): when switched on, every ``every`` images reviewed
(status done) since it was armed start one detector training through the training
controller (its job runs in the background lane, the ``train-worker`` child at low
priority does the work, the held-out gate decides); after a promotion the review-next
scores are refreshed. The same for each severity scale after ``severity_every`` new human
grades (the grader's training is cheap). The status bar says what the loop is doing. A
failed or refused retraining pauses the loop with its reason; the active model stays.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from core.active import loop
from core.active.loop import LoopSettings


class ActiveLoopController(QObject):
    status = Signal(str)  # the loop's line in the status bar ("" = nothing to say)
    message = Signal(str, int)

    def __init__(
        self, training: Any, queue: Any, severity: Any = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.training = training
        self.queue = queue
        self.severity = severity  # has train(scale) -> job, or None
        self.project: Any = None
        self.settings = LoopSettings()
        self._mine = False  # the running training was started by the loop
        self._images = 0  # reviewed images the running training learns from
        self._last_error = ""
        training.epoch.connect(self._on_epoch)
        training.trained.connect(self._on_trained)
        training.stopped.connect(self._on_stopped)
        training.error.connect(self._remember_error)

    # --- settings --------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        self.project = project
        self._mine = False
        self.settings = loop.load(project) if project is not None else LoopSettings()
        self._say_state()

    def reviewed(self) -> int:
        return int(self.project.image_count(status="done")) if self.project is not None else 0

    def graded(self, scale: str) -> int:
        return int(self.project.image_count(grade=(scale, "graded")))

    def configure(self, *, enabled: bool, every: int | None = None) -> None:
        """Switch the loop on or off (arming it at the count reviewed now)."""
        if self.project is None or self.project.read_only:
            return
        s = self.settings
        s.enabled = bool(enabled)
        if every is not None:
            s.every = s.severity_every = max(1, int(every))
        s.paused = None
        s.baseline = self.reviewed() if enabled else None
        s.severity_baseline = (
            {sc.name: self.graded(sc.name) for sc in self.project.definitions.scales()}
            if enabled
            else {}
        )
        loop.save(self.project, s)
        self._say_state()

    def resume(self) -> None:
        self.configure(enabled=True)

    def _pause(self, why: str) -> None:
        self.settings.paused = why
        if self.project is not None and not self.project.read_only:
            loop.save(self.project, self.settings)
        self.status.emit(f"Active learning paused: {why}")

    def _say_state(self) -> None:
        s = self.settings
        if not s.enabled:
            self.status.emit("")
        elif s.paused:
            self.status.emit(f"Active learning paused: {s.paused}")
        else:
            left = s.every - loop.new_since(self.reviewed(), s.baseline)
            self.status.emit(
                f"Active learning: retraining after {max(0, left)} more reviewed image(s)"
            )

    # --- the trigger -----------------------------------------------------------------------
    def on_reviewed(self, *_args: Any) -> Any:
        """Called whenever an image's status / boxes / grades changed."""
        s = self.settings
        if self.project is None or not s.enabled or s.paused or self.project.read_only:
            return None
        job = None
        if not self.training.running and loop.due(self.reviewed(), s.baseline, s.every):
            job = self._retrain()
        if self.severity is not None:
            for scale in [sc.name for sc in self.project.definitions.scales()]:
                if loop.due(self.graded(scale), s.severity_baseline.get(scale), s.severity_every):
                    s.severity_baseline[scale] = self.graded(scale)
                    loop.save(self.project, s)
                    self.message.emit(f"Active learning: retraining the {scale} grader", 6000)
                    self.severity.train(scale)
        if job is None:
            self._say_state()
        return job

    def _retrain(self) -> Any:
        from app.controllers.training import TrainRequest

        s = self.settings
        self._images = self.reviewed()
        s.baseline = self._images
        loop.save(self.project, s)
        preset = "acne" if self.project.label_set().name == "acne" else "xray"
        self._last_error = ""
        job = self.training.start(TrainRequest(preset=preset, start="active"))
        if job is None:  # refused (too few held-out images, a training elsewhere ...)
            self._pause(self._last_error or "the retraining could not start")
            return None
        self._mine = True
        job.failed.connect(self._on_failed)
        self.status.emit(f"Active learning: retraining on {self._images} reviewed images")
        return job

    # --- the training's signals ------------------------------------------------------------
    def _remember_error(self, text: str) -> None:
        self._last_error = text

    def _on_epoch(self, event: dict[str, Any]) -> None:
        if self._mine:
            self.status.emit(
                f"Active learning: retraining on {self._images} reviewed images, "
                f"epoch {event.get('epoch')}/{event.get('epochs')}"
            )

    def _on_trained(self, result: dict[str, Any]) -> None:
        if not self._mine:
            return
        self._mine = False
        if result.get("status") == "active":
            self.message.emit(f"Active learning: {result['model']} passed the gate", 8000)
            self.queue.invalidate()
            self.queue.refresh_scores()
        else:
            self.message.emit(
                f"Active learning: {result.get('model')} did not beat the active model "
                "on the held-out images; the active model stays",
                8000,
            )
        self._say_state()

    def _on_failed(self, text: str) -> None:
        if self._mine:
            self._mine = False
            self._pause(f"the retraining failed ({text}); the active model stays")

    def _on_stopped(self, outcome: str) -> None:
        if self._mine and outcome == "cancelled":
            self._mine = False
            self._pause("the retraining was cancelled")

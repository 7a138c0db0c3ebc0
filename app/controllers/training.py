"""Train a detector from the annotator (Model ▸ Train detector…), through the job runner.

- Before anything starts, the form shows the reviewed images (training / held-out roles
  from ``project.heldout``) and their reviewed boxes per label, and refuses, with the
  numbers needed, what the CLI would refuse (``ml.cli_training.precheck``: the same
  thresholds as ``model train``).
- The training runs as one visible job in the background lane; the job drives
  ``ml.training.session.run_training``, which runs the ``train-worker`` child (torch loads
  there, never here) and registers the result with this process's writable project (the
  writer) through ``register_result`` and its held-out gate. Cancel stops the child
  between batches and registers nothing. One training at a time.
- Per-epoch events reach the GUI thread through a queued signal (``epoch``) for the plot;
  the end result (``trained``) carries the CLI's JSON document (new and previous version
  on the held-out images, the gate's verdict in ``status``).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.controllers.prompts import Prompts
from app.jobs import LANE_BACKGROUND, JobRunner
from core.errors import ClinLensError

log = logging.getLogger("clinlens.training")

CHANNEL = "model:train"


@dataclass
class TrainingData:
    """What the project has to train on: reviewed images per role, boxes per label."""

    train_images: int = 0
    heldout_images: int = 0
    train_boxes: dict[str, int] = field(default_factory=dict)
    heldout_boxes: dict[str, int] = field(default_factory=dict)

    @property
    def total_train_boxes(self) -> int:
        return sum(self.train_boxes.values())


@dataclass(frozen=True)
class TrainRequest:
    """What the train form asks for (the CLI's options of ``model train``)."""

    preset: str = "xray"
    epochs: int | None = None
    start: str = "active"
    remap: str = "none"
    device: str = "auto"
    name: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # imgsz, tiles, arch, …

    def recipe(self) -> Any:
        from ml.training.recipe import preset

        return preset(
            self.preset,
            epochs=self.epochs,
            start=self.start,
            remap=self.remap,
            device=self.device,
            **self.overrides,
        )


def training_data(project: Any) -> TrainingData:
    from ml.training.dataset import HELDOUT, reviewed_images

    data = TrainingData()
    train: Counter[str] = Counter()
    held: Counter[str] = Counter()
    for im in reviewed_images(project):
        counter = held if im.role == HELDOUT else train
        if im.role == HELDOUT:
            data.heldout_images += 1
        else:
            data.train_images += 1
        counter.update(b.label for b in im.boxes)
    data.train_boxes, data.heldout_boxes = dict(sorted(train.items())), dict(sorted(held.items()))
    return data


def refusal(project: Any, request: TrainRequest) -> str | None:
    """Why ``model train`` would refuse this (one line), or None when it can start."""
    from ml.cli_training import precheck

    try:
        precheck(project, request.recipe())
    except ClinLensError as exc:
        return str(exc)
    return None


def registered_versions(folder: Any) -> list[Any]:
    from ml import registry

    return sorted(registry.list_models(folder, "detector"), key=lambda m: (m.created, m.version))


class TrainingController(QObject):
    message = Signal(str, int)
    error = Signal(str)
    job_started = Signal(object)
    started = Signal()
    epoch = Signal(object)  # the worker's "epoch" event (a dict), on the GUI thread
    trained = Signal(object)  # run_training's document
    stopped = Signal(str)  # "succeeded" | "failed" | "cancelled"
    models_changed = Signal()

    _event_from_job = Signal(object)  # emitted in the job's thread, queued to this one

    def __init__(
        self,
        runner: JobRunner,
        prompts: Prompts,
        ask_request: Callable[[Any, TrainingData], TrainRequest | None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.prompts = prompts
        # Shows the train form; None means the user cancelled it.
        self.ask_request = ask_request
        self.project: Any = None
        self.job: Any = None
        self.last_result: dict[str, Any] | None = None
        self._versions: list[Any] | None = None  # fresh from a job; None: read when asked
        self._event_from_job.connect(self._on_event)

    # --- state ----------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        if self.running:
            self.cancel()
        self.project = project
        self.last_result = None
        self._versions = None
        self.models_changed.emit()

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def versions(self) -> list[Any]:
        if self.project is None:
            return []
        if self._versions is not None:  # read by the training job as it ended
            return list(self._versions)
        try:
            return registered_versions(self.project.folder)
        except ClinLensError as exc:
            self.error.emit(f"The model registry cannot be read: {exc}")
            return []

    # --- start ----------------------------------------------------------------------------
    def open_dialog(self) -> Any:
        """Model ▸ Train detector…: the counts, the form, the refusal check, then the job.

        The counts (every reviewed box) and the refusal check (the first use of
        ``ml.training`` in the process) run as jobs: on the GUI thread they stalled the
        click by 70-414 ms (benchmarks/training_stall.py). Returns the counting job.
        """
        if not self._can_start() or self.ask_request is None:
            return None
        project = self.project
        job = self.runner.submit(
            lambda _progress, _cancel: training_data(project),
            title="Count the reviewed images for training",
            channel=f"{CHANNEL}:form",
        )
        job.succeeded.connect(lambda data: self._ask(project, data))
        job.failed.connect(lambda text: self.error.emit(f"Cannot train: {text}"))
        return job

    def _ask(self, project: Any, data: TrainingData) -> None:
        if project is not self.project or self.ask_request is None:
            return  # the project changed while counting
        request = self.ask_request(project, data)
        if request is None:
            return
        try:
            request.recipe()
        except ClinLensError as exc:
            self.error.emit(f"Cannot train: {exc}")
            return
        check = self.runner.submit(
            lambda _progress, _cancel: refusal(project, request),
            title="Check the training data",
            channel=f"{CHANNEL}:check",
        )
        check.succeeded.connect(lambda why: self._start_checked(project, request, why))
        check.failed.connect(lambda text: self.error.emit(f"Cannot train: {text}"))

    def _start_checked(self, project: Any, request: TrainRequest, why: str | None) -> None:
        if project is not self.project:
            return
        if why is not None:
            self.error.emit(f"Cannot train: {why}")
            return
        self.start(request, checked=True)

    def _can_start(self) -> bool:
        if self.project is None:
            self.error.emit("Open a project first.")
            return False
        if self.project.read_only:
            self.error.emit("This project is read-only: a trained model cannot be registered.")
            return False
        if self.running:
            self.error.emit(
                "A training is already running: wait for it to finish or cancel it first."
            )
            return False
        return True

    def start(self, request: TrainRequest, *, checked: bool = False) -> Any:
        """Start the training job; ``checked``: ``refusal`` already said yes (in a job)."""
        if not self._can_start():
            return None
        try:
            recipe = request.recipe()
        except ClinLensError as exc:
            self.error.emit(f"Cannot train: {exc}")
            return None
        why = None if checked else refusal(self.project, request)
        if why is not None:
            self.error.emit(f"Cannot train: {why}")
            return None
        from ml.training.lock import LOCK_NAME, _alive, _owner

        lock = self.project.folder / LOCK_NAME
        if lock.exists() and _alive(_owner(lock)):
            self.error.emit(
                f"A training of this project is already running (pid {_owner(lock)}): wait "
                "for it to finish or cancel it."
            )
            return None
        project, name = self.project, request.name
        emit_event = self._event_from_job.emit

        def job(progress: Any, cancel: Any) -> Any:
            from ml.training.session import run_training

            def on_event(event: dict[str, Any]) -> None:
                if event.get("event") == "batch":
                    epochs, batches = int(event["epochs"]), max(1, int(event["batches"]))
                    done = (int(event["epoch"]) - 1) * batches + int(event["batch"])
                    progress(
                        done,
                        epochs * batches,
                        f"epoch {event['epoch']}/{epochs}, batch {event['batch']}/{batches}",
                    )
                emit_event(dict(event))

            result = run_training(
                project.folder,
                recipe,
                # This process holds the writer: the result is registered through it.
                open_writer=lambda: contextlib.nullcontext(project),
                name=name,
                on_event=on_event,
                progress=progress,
                cancel=cancel,
            )
            # The version list the window shows next, read here: the registry's files are
            # not read on the GUI thread when the training ends.
            return result, registered_versions(project.folder)

        self.last_result = None
        self.job = self.runner.submit(
            job, title=f"Train a detector ({recipe.preset})", channel=CHANNEL, lane=LANE_BACKGROUND
        )
        self.job.succeeded.connect(self._on_done)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        self.started.emit()
        self.job_started.emit(self.job)
        self.message.emit("Training started: progress in the Jobs panel", 5000)
        return self.job

    def cancel(self) -> None:
        if self.running:
            self.job.cancel()

    # --- events and outcome ---------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "epoch":
            self.epoch.emit(event)
        elif kind == "note":
            self.message.emit(f"Training: {event.get('text')}", 5000)

    def _on_done(self, payload: tuple[dict[str, Any], list[Any]]) -> None:
        result, versions = payload
        self.last_result = result
        # Only for the listeners of this models_changed (direct, same thread): any later
        # ask reads the registry again, so an import elsewhere is never hidden.
        self._versions = versions
        self.trained.emit(result)
        try:
            self.models_changed.emit()
        finally:
            self._versions = None
        self.stopped.emit("succeeded")
        self.message.emit(f"Trained {result['model']} ({result['status']})", 8000)

    def _on_failed(self, text: str) -> None:
        self.stopped.emit("failed")
        self.error.emit(f"Training failed: {text}")

    def _on_cancelled(self) -> None:
        self.stopped.emit("cancelled")
        self.message.emit("Training cancelled: nothing was registered", 5000)

    # --- versions -------------------------------------------------------------------------
    def promote(self, ref: str) -> Any:
        from ml import registry
        from ml.registry.versions import promote_version

        if self.project is None or self.project.read_only:
            self.error.emit("Open a project you can edit to promote a model.")
            return None
        try:
            info = registry.find_model(self.project.folder, "detector", ref)
            if registry.trust_state(self.project.folder, info) != "trusted":
                raise ClinLensError(f"{info.ref} is not a trusted model of this project")
            new = promote_version(self.project, info, reason="by hand")
        except ClinLensError as exc:
            self.error.emit(f"Cannot promote {ref}: {exc}")
            return None
        if self.last_result is not None and self.last_result.get("model") == new.ref:
            self.last_result = {**self.last_result, "status": new.status}
        self._versions = None
        self.models_changed.emit()
        self.message.emit(f"{new.ref} is now the active detector", 6000)
        return new

    def roll_back(self) -> Any:
        from ml.registry.versions import active_model, rollback

        if self.project is None or self.project.read_only:
            self.error.emit("Open a project you can edit to roll back a model.")
            return None
        current = active_model(self.project.folder, "detector")
        if current is None:
            self.error.emit("This project has no active detector to roll back.")
            return None
        if not self.prompts.ask(
            "Roll back the detector",
            f"Retire {current.ref} and make the version active before it the active one again?",
        ):
            return None
        try:
            old, new = rollback(self.project, "detector")
        except ClinLensError as exc:
            self.error.emit(f"Cannot roll back: {exc}")
            return None
        self._versions = None
        self.models_changed.emit()
        self.message.emit(f"Rolled back: {old.ref} retired, {new.ref} is active again", 8000)
        return new

    # --- window closing -------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """False when a training runs and the user wants to keep the window open."""
        if not self.running:
            return True
        if not self.prompts.ask(
            "A training is running",
            "Quit and cancel the training? Nothing of it will be registered.",
        ):
            return False
        self.cancel()
        return True

"""Model ▸ Evaluate: measure the active detector on the held-out reviewed images in a
child process (``model evaluate --json --curves``: torch never loads in the window) and
show the result (``app.dialogs.evaluation_dialog``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.jobs import LANE_BACKGROUND, JobRunner

CHANNEL = "model:evaluate"

Evaluate = Callable[[str, Any], dict[str, Any]]  # (project folder, cancel) -> document


def evaluate_in_child(folder: str, cancel: Any) -> dict[str, Any]:
    from core.workers.oneshot import run_json_command

    return run_json_command("model", "evaluate", folder, "--json", "--curves", cancel=cancel)


class ModelEvaluationController(QObject):
    message = Signal(str, int)
    error = Signal(str)
    evaluated = Signal(dict)

    def __init__(
        self,
        runner: JobRunner,
        dialog_parent: QWidget | None,
        evaluate: Evaluate = evaluate_in_child,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.dialog_parent = dialog_parent
        self.evaluate_fn = evaluate
        self.project: Any = None
        self.dialog: Any = None
        self.show_dialogs = True  # tests read ``evaluated`` instead

    def set_project(self, project: Any) -> None:
        self.project = project

    def evaluate(self) -> Any:
        if self.project is None:
            self.error.emit("Open a project to evaluate its detector.")
            return None
        folder, run = str(self.project.folder), self.evaluate_fn
        job = self.runner.submit(
            lambda progress, cancel: run(folder, cancel),
            title="Evaluate the active detector on the held-out images",
            channel=CHANNEL,
            lane=LANE_BACKGROUND,
        )
        job.succeeded.connect(self._show)
        job.failed.connect(lambda text: self.error.emit(f"Not evaluated: {text}"))
        self.message.emit("Evaluating the detector on the held-out images…", 5000)
        return job

    def _show(self, doc: dict[str, Any]) -> None:
        self.evaluated.emit(doc)
        if not self.show_dialogs:
            return
        from app.dialogs.evaluation_dialog import EvaluationDialog

        self.dialog = EvaluationDialog(doc, self.dialog_parent)
        self.dialog.show()  # not modal: the reader can keep annotating beside it

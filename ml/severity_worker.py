"""The GUI's severity process: grades face photos and trains graders, storing no grades.

Started by the annotator as ``main.py severity-worker DIR`` (``core.workers``) and kept for
the session, so torch (EfficientNet-Lite0, the ResNets) is imported and the backbone
loaded once, away from the window's interpreter. It opens the project read-only beside
the GUI, which owns the writing: the GUI stores the model grade each ``grade`` answer
carries, and confirms (records the checksum of) each model ``train`` registers.

Requests (besides ``cancel`` / ``quit``):

- ``grade`` ``{image_id, scale}`` -> done ``{result}``: ``SeverityResult.to_dict()``
  (suggestion, patches, references, Hayashi lesion count, warnings);
- ``train`` ``{scale, backbone?, grader?, fine_tune?}`` -> progress events, then done
  ``{summary, model}``: the training summary and the registry entry to confirm
  (``ml.registry.confirm_import``). ``grader``: ``regression`` (default) or
  ``similarity``; ``fine_tune``: true, or ``{blocks, epochs, input_size}``, to fine-tune
  the last blocks of EfficientNet-Lite0 (on the CPU; progress per batch, cancel between
  batches).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import ClinLensError
from core.jobs import CancelToken
from core.workers import Emitter, fatal, protocol_streams, serve

COMMAND = "severity-worker"


class SeverityService:
    """The handlers, over one read-only project."""

    def __init__(self, project: Any) -> None:
        self.project = project

    def handlers(self) -> dict[str, Any]:
        return {"grade": self.grade, "train": self.train}

    def grade(self, request: dict[str, Any], emit: Emitter, cancel: CancelToken) -> dict[str, Any]:
        from ml.severity.grader import SeverityGrader

        emit.progress(0.1, None, "finding the face")
        grader = SeverityGrader.for_project(self.project.folder, str(request["scale"]))
        result = grader.grade_image(self.project, int(request["image_id"]))
        return {"result": result.to_dict()}

    def train(self, request: dict[str, Any], emit: Emitter, cancel: CancelToken) -> dict[str, Any]:
        from ml.severity.train import TrainConfig, train_severity

        config = TrainConfig(
            scale=str(request["scale"]),
            backbone=str(request.get("backbone") or "auto"),
            variant=variant_of(request),
        )
        summary = train_severity(
            self.project.folder, config, progress=emit.progress, cancel=cancel, confirm=False
        )
        return {"summary": summary, "model": summary.get("model_info")}


def variant_of(request: dict[str, Any]) -> Any:
    """The grader and fine-tuning a ``train`` request asks for."""
    from ml.severity.finetune import FineTuneConfig
    from ml.severity.train_variants import VariantConfig

    ft = request.get("fine_tune")
    config = None
    if ft:
        given = ft if isinstance(ft, dict) else {}
        allowed = ("blocks", "epochs", "input_size")
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            raise ClinLensError(f"unknown fine-tuning setting(s): {', '.join(unknown)}")
        base = FineTuneConfig()
        config = FineTuneConfig(
            blocks=int(given.get("blocks", base.blocks)),
            epochs=int(given.get("epochs", base.epochs)),
            input_size=int(given.get("input_size", base.input_size)),
        )
    return VariantConfig(grader=str(request.get("grader") or "regression"), fine_tune=config)


def run(folder: str | Path) -> int:
    """The command: serve grading and training on stdin/stdout until told to quit."""
    requests, replies = protocol_streams()
    from core.store import Project

    try:
        project = Project.open(Path(folder), read_only=True)
    except ClinLensError as exc:
        return fatal(replies, f"the severity process cannot open the project: {exc}")
    try:
        return serve(SeverityService(project).handlers(), requests, replies)
    finally:
        project.close()

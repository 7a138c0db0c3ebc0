"""The training process: ``main.py train-worker DIR`` (not meant to be typed).

Speaks the JSON lines of ``core.workers`` and opens the project read-only: it builds the
dataset in a run folder outside the project, trains, and evaluates the new weights and
the active version on the held-out reviewed images; the parent (CLI or GUI) registers the
result (``ml.training.session``). A cancelled or crashed run leaves the project as it was.

Request ``train`` ``{recipe: Recipe.to_dict()}`` -> events ``note`` ``{text}``,
``progress`` (dataset, evaluation), ``epoch_start`` ``{epoch, epochs}``, ``batch``
``{epoch, epochs, batch, batches, losses}``, ``epoch`` ``{epoch, epochs, losses,
validated, metrics, lr}``, then done ``{weights, run_dir, metadata, candidate, active,
active_ref, epochs, best_epoch, seconds, device}``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from core.errors import ClinLensError, JobCancelled
from core.jobs import CancelToken
from core.workers import Emitter, fatal, protocol_streams, serve

COMMAND = "train-worker"


class TrainingService:
    def __init__(self, project: Any) -> None:
        self.project = project

    def handlers(self) -> dict[str, Any]:
        return {"train": self.train}

    def train(self, request: dict[str, Any], emit: Emitter, cancel: CancelToken) -> dict[str, Any]:
        from ml.training.recipe import Recipe

        recipe = Recipe.from_dict(dict(request.get("recipe") or {}))
        recipe.check()
        run_dir = Path(tempfile.mkdtemp(prefix="clinlens-train-"))
        try:
            return self._train(recipe, run_dir, emit, cancel)
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise

    def _train(
        self, recipe: Any, run_dir: Path, emit: Emitter, cancel: CancelToken
    ) -> dict[str, Any]:
        from ml import registry
        from ml.registry.versions import active_model
        from ml.training import gate, runner
        from ml.training.dataset import HELDOUT, build_dataset, reviewed_images
        from ml.training.recipe import remap_to_dict, training_remap

        project = self.project
        folder = project.folder
        label_set = project.label_set()
        active = active_model(folder, "detector")
        start_info = None
        if recipe.start == "active":
            start_info = active
            if start_info is None:
                emit("note", text="no active model yet: training from scratch")
        elif recipe.start != "scratch":
            start_info = registry.find_model(folder, "detector", recipe.start)
        f1 = None
        if recipe.remap == "score" and active is not None:
            per_class = ((active.metrics or {}).get("heldout") or {}).get("per_class") or {}
            f1 = {k: v.get("f1") for k, v in per_class.items() if isinstance(v, dict)}
        remap = training_remap(recipe.remap, label_set, per_class_f1=f1)
        data, summary = build_dataset(
            project, recipe, remap, run_dir / "data", progress=emit.progress, cancel=cancel
        )
        start_module = None
        if start_info is not None:
            start_module = _load_module(folder, start_info)
        result = runner.train(
            data,
            recipe,
            run_dir,
            start_module=start_module,
            event=lambda kind, **kw: emit(kind, **kw),
            cancel=cancel,
        )
        heldout = [im.image_id for im in reviewed_images(project) if im.role == HELDOUT]
        candidate = gate.evaluate_detector(
            project,
            _candidate_detector(result.weights, recipe),
            heldout,
            remap,
            progress=emit.progress,
            cancel=cancel,
        )
        active_score = None
        if active is not None:
            from ml.detector.predict import Detector

            detector = Detector.from_registry(folder, active.ref, device=recipe.device)
            active_score = gate.evaluate_detector(
                project,
                detector,
                heldout,
                gate.truth_remap(active, detector.names, label_set),
                progress=emit.progress,
                cancel=cancel,
            )
        names = [remap.names[k] for k in sorted(remap.names)]
        agnostic = not set(names) <= set(label_set.names())
        metadata = {
            "classes": names,
            "imgsz": recipe.imgsz,
            "tiling": recipe.tiling(),
            "training": {
                **summary.to_dict(),
                "recipe": recipe.to_dict(),
                "start": start_info.ref if start_info is not None else "scratch",
                "curves": result.curves,
                "best_epoch": result.best_epoch,
                "epochs": result.epochs,
                "seconds": round(result.seconds, 2),
                "device": result.device,
            },
            "metrics": {"heldout": candidate.report, "validation": result.best_metrics},
            "extra": {
                "operating_threshold": candidate.threshold,
                "remap": remap_to_dict(remap),
                "class_agnostic": agnostic,
            },
        }
        return {
            "weights": str(result.weights),
            "run_dir": str(run_dir),
            "metadata": metadata,
            "candidate": candidate.summary(),
            "active": active_score.summary() if active_score is not None else None,
            "active_ref": active.ref if active is not None else None,
            "epochs": result.epochs,
            "best_epoch": result.best_epoch,
            "seconds": round(result.seconds, 2),
            "device": result.device,
        }


def _load_module(folder: Path, info: Any) -> Any:
    """The start model's (unfused) module, through the registry's hash check and
    ``ml.model_safety`` (a restricted ``weights_only`` load; nothing else unpickles)."""
    import torch

    from ml import model_safety, registry

    data = registry.read_verified(folder, info)
    ckpt = model_safety.load_checkpoint(data, f"models/{info.file}")
    module = (ckpt.get("ema") or ckpt.get("model")) if isinstance(ckpt, dict) else None
    if not isinstance(module, torch.nn.Module):
        raise ClinLensError(f"{info.ref} holds no complete model to start from")
    return module.float()


def _candidate_detector(weights: Path, recipe: Any) -> Any:
    from ml.detector.checkpoint import load_detector_bytes
    from ml.detector.predict import Detector
    from ml.detector.tiling import TilingSpec

    loaded = load_detector_bytes(weights.read_bytes(), "the new model")
    return Detector(loaded, device=recipe.device, tiling=TilingSpec.from_dict(recipe.tiling()))


TRAINING_NICE = 10  # niceness added to the training child (POSIX; CLINLENS_TRAINING_NICE)


def _lower_priority() -> None:
    """A training is background work: on a machine with few cores its torch threads must
    not take the CPU from the annotator's event loop (a late GUI tick is a stall)."""
    try:
        step = int(os.environ.get("CLINLENS_TRAINING_NICE", TRAINING_NICE))
    except ValueError:
        step = TRAINING_NICE
    if hasattr(os, "nice") and step > 0:
        with contextlib.suppress(OSError):
            os.nice(step)


def run(folder: str | Path) -> int:
    _lower_priority()
    requests, replies = protocol_streams()
    from core.store import Project

    try:
        project = Project.open(Path(folder), read_only=True)
    except ClinLensError as exc:
        return fatal(replies, f"the training process cannot open the project: {exc}")
    try:
        with contextlib.suppress(JobCancelled):
            return serve(TrainingService(project).handlers(), requests, replies)
        return 0
    finally:
        project.close()

"""The GUI's detector process: runs the project's detector and reports boxes, storing nothing.

Started by the annotator as ``main.py detector-worker DIR`` (see ``core.workers``)
and kept for the session, so torch is imported and the model loaded once, away from the
window's interpreter. It opens the project read-only beside the GUI, which owns the
writing: the GUI stores the boxes each ``image`` event carries.

Requests (besides ``cancel`` / ``quit``):

- ``warmup`` ``{device, model?}`` -> done ``{device, model}``: load the detector now.
- ``suggest`` ``{images: [id...], device, conf?, model?}`` -> per image an ``image`` event
  ``{image_id, path, boxes: [box...], model, seconds}`` or a ``skipped`` event
  ``{image_id, path, error}``, a ``note`` event ``{text}`` when the detector changes course
  (e.g. it fell back to the CPU), then done ``{device, model, notes}``.
- ``score`` ``{images: [id...], kind: "detector" | "severity:SCALE", device, flip?}`` ->
  per image a ``scored`` event ``{image_id, path, score, reasons, features, terms, model}``
  or a ``skipped`` event ``{image_id, path, error}``, then done ``{model, kind, scored,
  skipped}``: the informativeness scores of the active model (``ml.active``), which the
  GUI stores with that model's ``NAME:V`` (``project.scores.put``).
- ``import_model`` ``{file, kind, name?}`` -> done ``{model: registry entry, notes,
  confirmed}``: check the file (its pickle against the allow-list, then a
  ``weights_only`` load to describe it) and store it with its JSON in ``models/``. This
  process only reads the project, so it cannot record the model's checksum in the project
  database (``confirmed`` is False when it did not): until the writer calls
  ``ml.registry.confirm_import(folder, ModelInfo.from_dict(model))``, which checks the file
  again without running it and records it, the model is listed but never loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from core.annotations import Box
from core.errors import ClinLensError
from core.jobs import CancelToken
from core.workers import Emitter, fatal, protocol_streams, serve

COMMAND = "detector-worker"
BOX_FIELDS = tuple(f.name for f in dataclasses.fields(Box))


def box_to_json(box: Box) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(box).items() if v is not None}


def box_from_json(data: dict[str, Any]) -> Box:
    """A box as the worker sent it; unknown keys (a newer worker) are ignored."""
    return Box(**{k: v for k, v in data.items() if k in BOX_FIELDS})


class DetectorService:
    """The handlers, over one read-only project."""

    def __init__(self, project: Any) -> None:
        self.project = project

    def handlers(self) -> dict[str, Any]:
        return {
            "warmup": self.warmup,
            "suggest": self.suggest,
            "score": self.score,
            "import_model": self.import_model,
        }

    def _detector(self, request: dict[str, Any]) -> Any:
        from ml.suggest import cached_detector

        return cached_detector(
            self.project, request.get("model"), device=str(request.get("device") or "auto")
        )

    def warmup(self, request: dict[str, Any], emit: Emitter, cancel: CancelToken) -> dict[str, Any]:
        detector = self._detector(request)
        return {"device": detector.device.label, "model": detector.model_ref}

    def suggest(
        self, request: dict[str, Any], emit: Emitter, cancel: CancelToken
    ) -> dict[str, Any]:
        from ml.suggest import iter_detections

        ids = [int(i) for i in request.get("images") or []]
        emit.progress(0, len(ids), "loading the model")
        detector = self._detector(request)
        if request.get("conf") is not None:
            detector.conf = float(request["conf"])
        notes_seen = len(detector.notes)
        emit.progress(0, len(ids), f"suggesting boxes with {detector.model_ref or 'the model'}")
        for done, outcome in enumerate(
            iter_detections(self.project, ids, detector, cancel=cancel), 1
        ):
            if outcome.ok:
                emit(
                    "image",
                    image_id=outcome.image_id,
                    path=outcome.path,
                    boxes=[box_to_json(b) for b in outcome.boxes],
                    model=detector.model_ref,
                    seconds=round(outcome.seconds, 4),
                )
            else:
                emit("skipped", image_id=outcome.image_id, path=outcome.path, error=outcome.error)
            for note in detector.notes[notes_seen:]:
                emit("note", text=note)
            notes_seen = len(detector.notes)
            emit.progress(done, len(ids), outcome.path)
        return {
            "device": detector.device.label,
            "model": detector.model_ref,
            "notes": list(detector.notes),
        }

    def score(self, request: dict[str, Any], emit: Emitter, cancel: CancelToken) -> dict[str, Any]:
        from ml.active.opening import open_scorer
        from ml.active.service import iter_scores

        ids = [int(i) for i in request.get("images") or []]
        kind = str(request.get("kind") or "detector")
        emit.progress(0, len(ids), "loading the model")
        scorer = open_scorer(
            self.project,
            kind,
            device=str(request.get("device") or "auto"),
            flip=str(request.get("flip") or "all"),
        )
        scored = skipped = 0
        try:
            emit.progress(0, len(ids), f"scoring images with {scorer.model}")
            for done, out in enumerate(iter_scores(self.project, scorer, ids, cancel=cancel), 1):
                if out.ok:
                    scored += 1
                    emit(
                        "scored",
                        image_id=out.image_id,
                        path=out.path,
                        score=round(float(out.score or 0.0), 6),
                        reasons=list(out.reasons),
                        features=None
                        if out.features is None
                        else [round(float(v), 5) for v in out.features],
                        terms=out.terms,
                        model=scorer.model,
                    )
                else:
                    skipped += 1
                    emit("skipped", image_id=out.image_id, path=out.path, error=out.error)
                emit.progress(done, len(ids), out.path)
        finally:
            scorer.close()
        return {"model": scorer.model, "kind": kind, "scored": scored, "skipped": skipped}

    def import_model(
        self, request: dict[str, Any], emit: Emitter, cancel: CancelToken
    ) -> dict[str, Any]:
        from ml import registry
        from ml.cli_models import class_notes

        info = registry.import_model(
            self.project.folder,
            str(request["file"]),
            str(request.get("kind") or "detector"),
            request.get("name"),
            confirm=False,  # the writer records it (see the module docstring)
        )
        notes = class_notes(info, self.project.label_set()) if info.kind == "detector" else []
        confirmed = registry.trust_state(self.project.folder, info) == "trusted"
        return {"model": info.to_dict(), "notes": notes, "confirmed": confirmed}


def run(folder: str | Path) -> int:
    """The command: serve the project's detector on stdin/stdout until told to quit."""
    requests, replies = protocol_streams()
    from core.store import Project

    try:
        project = Project.open(Path(folder), read_only=True)
    except ClinLensError as exc:
        return fatal(replies, f"the detector process cannot open the project: {exc}")
    try:
        return serve(DetectorService(project).handlers(), requests, replies)
    finally:
        project.close()

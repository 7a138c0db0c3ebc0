"""Cross-validation of the two other graders, on the folds ``evaluate.cross_validate`` uses.

- ``cross_validate_finetuned``: per fold, a copy of EfficientNet-Lite0 has its last
  blocks fine-tuned on the training faces' cached front maps (``ml.severity.finetune``);
  the tuned features of every face then go to the usual ridge head fitted on the
  training faces (what a registered fine-tuned model does), and the tuned network's own
  linear head is scored beside it.
- ``cross_validate_similarity``: per fold, the triplet embedding is trained on the
  training faces' patch rows and the test faces are graded by their nearest training
  faces (``ml.severity.similarity``).

The folds are the same as the ridge head's for the same faces (same seed, same source
groups), so the rows of a comparison differ only in the grader.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.annotations import GradingScale
from core.jobs import CancelToken, ProgressFn, check_cancel
from ml.severity.dataset import FaceDataset
from ml.severity.evaluate import (
    CVResult,
    _fold_groups,
    fit_regressor,
    fold_splits,
    grade_metrics,
    predict_faces,
    regression_metrics,
)
from ml.severity.finetune import FineTuneConfig, Lite0Front, TunedTail, fine_tune
from ml.severity.regressor import RegressorConfig
from ml.severity.similarity import SimilarityConfig, SimilarityGrader


@dataclass
class FoldPlan:
    graded: np.ndarray  # face indices with a grade
    splits: list[tuple[np.ndarray, np.ndarray]]  # indices into ``graded``
    groups: np.ndarray | None
    notes: list[str]


def fold_plan(ds: FaceDataset, folds: int, seed: int = 0) -> FoldPlan:
    """The folds ``cross_validate`` makes for ``ds`` (grouped by source)."""
    graded = np.flatnonzero(~np.isnan(ds.grades))
    groups, notes = _fold_groups(ds, graded, folds)
    return FoldPlan(graded, fold_splits(ds.grades[graded], folds, seed, groups), groups, notes)


def result_of(
    ds: FaceDataset, plan: FoldPlan, scores: np.ndarray, scale: GradingScale, *, smote: bool
) -> CVResult:
    """A CVResult from out-of-fold face scores (grades: the scale's nearest values)."""
    y_true = ds.grades[plan.graded]
    y_score = np.clip(scores[plan.graded], scale.allowed.min(), scale.allowed.max())
    y_grade = np.array([scale.to_grade(s) for s in y_score])
    return CVResult(
        smote=smote,
        folds=len(plan.splits),
        y_true=y_true,
        y_score=y_score,
        y_grade=y_grade,
        regression=regression_metrics(y_true, y_score, low=float(scale.allowed.min())),
        grades=grade_metrics(y_true, y_grade, scale),
        groups=None if plan.groups is None else int(np.unique(plan.groups).size),
        notes=list(plan.notes),
    )


def _fold_progress(progress: ProgressFn | None, k: int, n: int) -> ProgressFn | None:
    if progress is None:
        return None

    def report(done: int, total: int, message: str) -> None:
        progress(k * total + done, n * total, f"fold {k + 1} of {n}, {message}")

    return report


def targets(ds: FaceDataset, rows: np.ndarray, scale: GradingScale) -> np.ndarray:
    lo, hi = float(scale.allowed.min()), float(scale.allowed.max())
    return ((ds.grades[ds.face[rows]] - lo) / max(hi - lo, 1e-9)).astype(np.float32)


def tune_on(
    ds: FaceDataset,
    front: Lite0Front,
    faces: np.ndarray,
    scale: GradingScale,
    config: FineTuneConfig,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> TunedTail:
    """Fine-tune a fresh copy of the front's network on every row of ``faces``."""
    rows = np.isin(ds.face, faces)
    return fine_tune(
        copy.deepcopy(front.model),
        ds.X[rows],
        front.shape,
        targets(ds, rows, scale),
        config,
        progress=progress,
        cancel=cancel,
    )


def tuned_dataset(ds: FaceDataset, tail: TunedTail, shape: tuple[int, ...]) -> FaceDataset:
    """``ds`` with its front maps replaced by the tuned network's 1,280 features."""
    return replace(ds, X=tail.features(ds.X, shape).astype(np.float32))


def cross_validate_finetuned(
    ds: FaceDataset,
    front: Lite0Front,
    scale: GradingScale,
    *,
    folds: int = 5,
    config: FineTuneConfig | None = None,
    smote: bool = True,
    regressor: RegressorConfig | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, CVResult]:
    """``{"ridge": ..., "head": ...}``: ridge on the tuned features, and the tuned head."""
    config = config or FineTuneConfig(seed=seed)
    plan = fold_plan(ds, folds, seed)
    ridge = np.full(ds.n_faces, np.nan)
    head = np.full(ds.n_faces, np.nan)
    lo, hi = float(scale.allowed.min()), float(scale.allowed.max())
    for k, (tr, te) in enumerate(plan.splits):
        check_cancel(cancel)
        train_faces, test_faces = plan.graded[tr], plan.graded[te]
        tail = tune_on(
            ds,
            front,
            train_faces,
            scale,
            config,
            progress=_fold_progress(progress, k, len(plan.splits)),
            cancel=cancel,
        )
        tuned = tuned_dataset(ds, tail, front.shape)
        reg = fit_regressor(tuned, train_faces, scale, smote=smote, config=regressor, seed=seed)
        ridge[test_faces] = predict_faces(reg, tuned, test_faces)
        rows = np.isin(tuned.face, test_faces) & ~tuned.augmented
        s = tail.head_scores(tuned.X[rows]) * (hi - lo) + lo
        remap = {int(f): i for i, f in enumerate(test_faces)}
        index = np.array([remap[int(f)] for f in tuned.face[rows]], dtype=int)
        head[test_faces] = np.bincount(index, weights=s) / np.maximum(np.bincount(index), 1)
    return {
        "ridge": result_of(ds, plan, ridge, scale, smote=smote),
        "head": result_of(ds, plan, head, scale, smote=False),
    }


def fit_similarity(
    ds: FaceDataset,
    faces: np.ndarray,
    scale: GradingScale,
    config: SimilarityConfig | None = None,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> SimilarityGrader:
    """A similarity grader trained on every row of ``faces``; references: their faces."""
    rows = np.isin(ds.face, faces)
    return SimilarityGrader(scale, config or SimilarityConfig()).fit(
        ds.X[rows],
        ds.grades[ds.face[rows]],
        ds.face[rows],
        ref_rows=~ds.augmented[rows],
        progress=progress,
        cancel=cancel,
    )


def similarity_faces(grader: SimilarityGrader, ds: FaceDataset, faces: np.ndarray) -> np.ndarray:
    """Face scores of ``faces`` (original patches), in their order."""
    rows = np.isin(ds.face, faces) & ~ds.augmented
    remap = {int(f): i for i, f in enumerate(faces)}
    index = np.array([remap[int(f)] for f in ds.face[rows]], dtype=int)
    return grader.face_scores(ds.X[rows], index)


def cross_validate_similarity(
    ds: FaceDataset,
    scale: GradingScale,
    *,
    folds: int = 5,
    config: SimilarityConfig | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> CVResult:
    plan = fold_plan(ds, folds, seed)
    scores = np.full(ds.n_faces, np.nan)
    for k, (tr, te) in enumerate(plan.splits):
        check_cancel(cancel)
        grader = fit_similarity(
            ds,
            plan.graded[tr],
            scale,
            config,
            progress=_fold_progress(progress, k, len(plan.splits)),
            cancel=cancel,
        )
        scores[plan.graded[te]] = similarity_faces(grader, ds, plan.graded[te])
    return result_of(ds, plan, scores, scale, smote=False)


def describe(result: CVResult) -> dict[str, Any]:
    """The four headline numbers (grades as grades, RMSE/MAE of the grade)."""
    err = result.y_grade - result.y_true
    return {
        "accuracy": result.grades["accuracy"],
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "f1_macro": result.grades["f1_macro"],
        "confusion_matrix": result.grades["confusion_matrix"],
    }

"""Evaluation as in the acne-grading study, with scikit-learn's metrics.

Regression (continuous face score vs human grade): RMSE, MAE, MedAE, explained variance,
MAPE, R², mean Poisson deviance, mean gamma deviance. Poisson and gamma deviance need
positive values and MAPE divides by the truth, but grades start at 0: these three are
computed on values shifted so the scale's lowest grade is 1 (y + 1 - min). The shift is
reported with the numbers. Predictions are already clipped to the scale's range.

Classification (after mapping scores to grades): accuracy, error rate, macro precision,
recall and F1 (over the grades present in truth or prediction; 0 for a grade never
predicted), confusion matrix (rows truth, columns prediction, every grade of the scale).

Cross-validation: folds over *faces* (all patches of a face, and their augmented copies,
stay in one fold), stratified by grade where every grade has enough faces; SMOTE and
augmentation only ever touch the training folds.

Lesion counting: MAE, RMSE, mean and SD of (predicted - true count), overall and per
Hayashi group of the true count.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.annotations import GradingScale
from core.errors import ClinLensError
from core.jobs import CancelToken, ProgressFn, check_cancel
from ml.severity.dataset import FaceDataset
from ml.severity.imbalance import smote_balance
from ml.severity.lesion_count import HAYASHI_LABELS, hayashi_grade
from ml.severity.ordinal import apply_edges, fit_edges
from ml.severity.regressor import PatchRegressor, RegressorConfig

REGRESSION_KEYS = (
    "rmse",
    "mae",
    "medae",
    "explained_variance",
    "mape",
    "r2",
    "mean_poisson_deviance",
    "mean_gamma_deviance",
)


def regression_metrics(
    y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray, *, low: float = 0.0
) -> dict[str, float]:
    """The eight regression metrics; ``low`` = the scale's lowest grade (for the shift)."""
    from sklearn import metrics as m

    yt = np.asarray(y_true, dtype=np.float64)
    yp = np.asarray(y_pred, dtype=np.float64)
    shift = 1.0 - min(low, float(yt.min()), float(yp.min()))
    ts, ps = yt + shift, yp + shift
    return {
        "rmse": float(m.root_mean_squared_error(yt, yp)),
        "mae": float(m.mean_absolute_error(yt, yp)),
        "medae": float(m.median_absolute_error(yt, yp)),
        "explained_variance": float(m.explained_variance_score(yt, yp)),
        "mape": float(m.mean_absolute_percentage_error(ts, ps)),
        "r2": float(m.r2_score(yt, yp)),
        "mean_poisson_deviance": float(m.mean_poisson_deviance(ts, ps)),
        "mean_gamma_deviance": float(m.mean_gamma_deviance(ts, ps)),
        "shift": shift,
    }


def grade_metrics(
    true_grades: Sequence[float] | np.ndarray,
    pred_grades: Sequence[float] | np.ndarray,
    scale: GradingScale,
) -> dict[str, Any]:
    """Accuracy, error rate, macro precision/recall/F1 and the confusion matrix."""
    from sklearn import metrics as m

    allowed = scale.allowed
    t = np.array([int(np.argmin(np.abs(allowed - v))) for v in true_grades])
    p = np.array([int(np.argmin(np.abs(allowed - v))) for v in pred_grades])
    acc = float(m.accuracy_score(t, p))
    prec, rec, f1, _ = m.precision_recall_fscore_support(t, p, average="macro", zero_division=0)
    cm = m.confusion_matrix(t, p, labels=list(range(allowed.size)))
    return {
        "accuracy": acc,
        "error_rate": 1.0 - acc,
        "precision_macro": float(prec),
        "recall_macro": float(rec),
        "f1_macro": float(f1),
        "confusion_matrix": cm.tolist(),
        "labels": [float(v) for v in allowed],
    }


def _error_stats(err: np.ndarray) -> dict[str, float | int]:
    return {
        "n": int(err.size),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "mean_error": float(err.mean()),
        "sd_error": float(err.std(ddof=1)) if err.size > 1 else 0.0,
    }


def lesion_count_metrics(true_counts: Sequence[int], pred_counts: Sequence[int]) -> dict[str, Any]:
    """Counting error overall and per Hayashi group of the true count (None when empty)."""
    t = np.asarray(true_counts, dtype=np.float64)
    p = np.asarray(pred_counts, dtype=np.float64)
    if t.shape != p.shape or t.size == 0:
        raise ClinLensError("lesion count evaluation needs the same, non-zero number of counts")
    err = p - t
    groups: dict[str, Any] = {}
    true_grade = np.array([hayashi_grade(int(c)) for c in t])
    for g, label in enumerate(HAYASHI_LABELS):
        mask = true_grade == g
        groups[label] = _error_stats(err[mask]) if mask.any() else None
    return {"overall": _error_stats(err), "groups": groups}


# --- cross-validation ----------------------------------------------------------------------
@dataclass
class CVResult:
    smote: bool
    folds: int
    y_true: np.ndarray
    y_score: np.ndarray
    y_grade: np.ndarray
    regression: dict[str, float]
    grades: dict[str, Any]
    groups: int | None = None  # source groups the folds kept whole (None: not grouped)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "smote": self.smote,
            "folds": self.folds,
            "groups": self.groups,
            "notes": self.notes,
            "faces": int(self.y_true.size),
            "regression": self.regression,
            "grades": self.grades,
        }


def fit_regressor(
    ds: FaceDataset,
    faces: np.ndarray,
    scale: GradingScale,
    *,
    smote: bool,
    config: RegressorConfig | None = None,
    seed: int = 0,
) -> PatchRegressor:
    """A regressor fitted on every row (augmented included) of the given faces."""
    rows = np.isin(ds.face, faces)
    X, y = ds.X[rows], ds.grades[ds.face[rows]]
    X, y, _report = smote_balance(X, y, scale, enabled=smote, random_state=seed)
    return PatchRegressor(scale, config or RegressorConfig(seed=seed)).fit(X, y)


def predict_faces(reg: PatchRegressor, ds: FaceDataset, faces: np.ndarray) -> np.ndarray:
    """Mean score of each face's original patches, in the order of ``faces``."""
    rows = np.isin(ds.face, faces) & ~ds.augmented
    remap = {int(f): i for i, f in enumerate(faces)}
    index = np.array([remap[int(f)] for f in ds.face[rows]], dtype=int)
    return reg.predict_faces(ds.X[rows], index)


def fold_splits(
    grades: np.ndarray, folds: int, seed: int = 0, groups: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Face index splits; stratified by grade when the largest grade has ``folds`` faces.

    ``groups`` (one source group per face, ``ml.severity.groups``): a group is never split
    between a training and a test fold (StratifiedGroupKFold; GroupKFold when grades
    cannot be stratified). Fewer groups than folds: ClinLensError.
    """
    from sklearn.model_selection import (
        GroupKFold,
        KFold,
        StratifiedGroupKFold,
        StratifiedKFold,
    )

    n = grades.size
    if folds < 2 or folds > n:
        raise ClinLensError(f"{folds}-fold evaluation needs between 2 and {n} folds for {n} faces")
    _vals, counts = np.unique(grades, return_counts=True)
    dummy = np.zeros(n)
    with warnings.catch_warnings():
        # "The least populated class has only 1 member": expected with rare grades.
        warnings.simplefilter("ignore", UserWarning)
        if groups is not None and np.unique(groups).size < n:
            n_groups = int(np.unique(groups).size)
            if n_groups < folds:
                raise ClinLensError(
                    f"{folds}-fold evaluation needs at least {folds} source groups; these "
                    f"{n} faces come from {n_groups} (copies of one face stay in one fold)"
                )
            labels = np.searchsorted(_vals, grades)
            if counts.max() >= folds and counts.size > 1:
                sg = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
                return list(sg.split(dummy, labels, groups))
            return list(GroupKFold(folds).split(dummy, groups=groups))
        if counts.max() >= folds and counts.size > 1:
            splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
            return list(splitter.split(dummy, grades))
        return list(KFold(folds, shuffle=True, random_state=seed).split(dummy))


def cross_validate(
    ds: FaceDataset,
    scale: GradingScale,
    *,
    folds: int = 5,
    smote: bool = True,
    config: RegressorConfig | None = None,
    seed: int = 0,
    group_folds: bool = True,
    head: str = "round",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> CVResult:
    """Out-of-fold face scores and the metrics on them; folds grouped by source
    (``FaceDataset.groups``) unless ``group_folds`` is False.

    ``head``: ``round`` (the scale's fixed edges) or ``edges`` (``ml.severity.ordinal``:
    edges fitted per fold on inner out-of-fold scores of the training faces only).
    """
    if head not in HEADS:
        raise ClinLensError(f"unknown grade head '{head}' (choose one of {', '.join(HEADS)})")
    graded = np.flatnonzero(~np.isnan(ds.grades))
    scores = np.full(ds.n_faces, np.nan)
    grades_out = np.full(ds.n_faces, np.nan)
    groups, notes = _fold_groups(ds, graded, folds) if group_folds else (None, [])
    splits = fold_splits(ds.grades[graded], folds, seed, groups)
    for k, (train_i, test_i) in enumerate(splits):
        check_cancel(cancel)
        if progress is not None:
            progress(k, len(splits), f"fold {k + 1} of {len(splits)}{' (SMOTE)' if smote else ''}")
        train_faces, test_faces = graded[train_i], graded[test_i]
        reg = fit_regressor(ds, train_faces, scale, smote=smote, config=config, seed=seed)
        scores[test_faces] = predict_faces(reg, ds, test_faces)
        if head == "edges":
            inner_groups = None if groups is None else groups[train_i]
            edges = training_fold_edges(
                ds, train_faces, scale, inner_groups, smote=smote, config=config, seed=seed
            )
            grades_out[test_faces] = apply_edges(scores[test_faces], edges, scale.allowed)
        else:
            grades_out[test_faces] = [scale.to_grade(s) for s in scores[test_faces]]
    y_true = ds.grades[graded]
    y_score = scores[graded]
    y_grade = grades_out[graded]
    return CVResult(
        smote=smote,
        folds=len(splits),
        y_true=y_true,
        y_score=y_score,
        y_grade=y_grade,
        regression=regression_metrics(y_true, y_score, low=float(scale.allowed.min())),
        grades=grade_metrics(y_true, y_grade, scale),
        groups=None if groups is None else int(np.unique(groups).size),
        notes=notes,
    )


HEADS = ("round", "edges")
INNER_FOLDS = 3


def training_fold_edges(
    ds: FaceDataset,
    train_faces: np.ndarray,
    scale: GradingScale,
    groups: np.ndarray | None,
    *,
    smote: bool,
    config: RegressorConfig | None,
    seed: int,
) -> np.ndarray:
    """Grade edges fitted on inner out-of-fold scores of ``train_faces`` only."""
    grades = ds.grades[train_faces]
    inner_scores = np.full(train_faces.size, np.nan)
    folds = min(INNER_FOLDS, train_faces.size)
    if groups is not None and np.unique(groups).size < folds:
        groups = None
    for tr, te in fold_splits(grades, folds, seed, groups):
        reg = fit_regressor(ds, train_faces[tr], scale, smote=smote, config=config, seed=seed)
        inner_scores[te] = predict_faces(reg, ds, train_faces[te])
    return fit_edges(inner_scores, grades, scale.allowed)


def _fold_groups(
    ds: FaceDataset, graded: np.ndarray, folds: int
) -> tuple[np.ndarray | None, list[str]]:
    """The graded faces' source groups, or fewer constraints (and a note saying so) when
    the faces come from fewer sources than folds: the model still trains on every face,
    only its cross-validated numbers would be optimistic."""
    n = int(graded.size)
    groups = ds.groups()[graded]
    if np.unique(groups).size >= folds:
        return groups, []
    sources = int(np.unique(groups).size)
    given = ds.groups(near_duplicates=False)[graded]
    note = (
        f"the {n} faces look like copies of {sources} source photo(s) (near-identical "
        f"content), fewer than {folds} folds: "
    )
    if np.unique(given).size >= folds:
        return given, [
            note + "folds are grouped by the given groups only; metrics may be optimistic"
        ]
    return None, [note + "folds are not grouped; metrics may be optimistic"]


def compare_smote(
    ds: FaceDataset,
    scale: GradingScale,
    *,
    folds: int = 5,
    config: RegressorConfig | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, CVResult]:
    """The same folds with and without SMOTE, side by side."""
    return {
        name: cross_validate(
            ds,
            scale,
            folds=folds,
            smote=smote,
            config=config,
            seed=seed,
            progress=progress,
            cancel=cancel,
        )
        for name, smote in (("no_smote", False), ("smote", True))
    }


def format_table(results: dict[str, CVResult]) -> str:
    """A plain-text table: one metric per line, one column per result."""
    names = list(results)
    lines = ["metric".ljust(24) + "".join(n.rjust(12) for n in names)]
    for key in REGRESSION_KEYS:
        lines.append(key.ljust(24) + "".join(f"{results[n].regression[key]:12.4f}" for n in names))
    for key in ("accuracy", "error_rate", "precision_macro", "recall_macro", "f1_macro"):
        lines.append(key.ljust(24) + "".join(f"{results[n].grades[key]:12.4f}" for n in names))
    shift = results[names[0]].regression["shift"]
    lines.append(f"(MAPE and deviances on grades shifted by +{shift:g} so the lowest grade is 1)")
    for n in names:
        lines.append(f"confusion matrix, {n} (rows: true grade, columns: predicted):")
        labels = results[n].grades["labels"]
        lines.append("      " + "".join(f"{v:>6g}" for v in labels))
        for v, row in zip(labels, results[n].grades["confusion_matrix"], strict=True):
            lines.append(f"{v:>6g}" + "".join(f"{c:6d}" for c in row))
    first = results[names[0]]
    if first.groups is not None:
        lines.append(f"folds grouped by source: {first.groups} source group(s) kept whole")
    lines.extend(f"note: {n}" for n in dict.fromkeys(x for r in results.values() for x in r.notes))
    return "\n".join(lines)

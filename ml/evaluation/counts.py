"""Lesion-count error against the human count, as in the acne-detection study's tables.

For every image the error is ``predicted count - true count`` (positive: the model counts
too many). Reported overall and per grade of the image:

- ``mae``  mean absolute error, ``mean(|e|)``;
- ``rmse`` root mean squared error, ``sqrt(mean(e**2))``;
- ``mean`` mean signed error (the bias), ``mean(e)``;
- ``std``  sample standard deviation of the signed error (``ddof=1``, as the study's
  "mean ± SD" and ``ml.severity.evaluate``); ``None`` with fewer than two images, where
  a sample SD is undefined (never a misleading 0).

The predicted count at a score threshold ``t`` is the number of predicted boxes with
score ``>= t`` (inclusive, as every threshold in ClinLens); the study reports the three
thresholds ``STUDY_THRESHOLDS`` = 0.25, 0.5 and 0.75 side by side.

Grades are whatever the caller groups by (the expert's acne grade of the image, or the
Hayashi grade of the true count): ints or strings, ``None`` for an ungraded image (in the
overall numbers, in no group). Group keys are the grades as text, so the result is JSON
as is; integer grades (numpy's too) are listed in numeric order, others in text order.

Pure numpy; no Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from core.errors import ClinLensError

STUDY_THRESHOLDS: tuple[float, ...] = (0.25, 0.5, 0.75)

Grade = int | np.integer[Any] | str | None


@dataclass(frozen=True)
class ErrorStats:
    """Count error of a group of images (see the module docstring for each number)."""

    n: int
    mae: float
    rmse: float
    mean: float
    std: float | None

    @classmethod
    def from_errors(cls, errors: ArrayLike) -> ErrorStats:
        e = np.asarray(errors, dtype=np.float64).reshape(-1)
        if e.size == 0:
            raise ValueError("error statistics of no images")
        return cls(
            n=int(e.size),
            mae=float(np.abs(e).mean()),
            rmse=float(np.sqrt((e**2).mean())),
            mean=float(e.mean()),
            std=float(e.std(ddof=1)) if e.size > 1 else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mae": self.mae, "rmse": self.rmse, "mean": self.mean, "std": self.std}


@dataclass(frozen=True)
class CountErrors:
    """Count error at one score threshold (``None``: counts given by the caller)."""

    threshold: float | None
    overall: ErrorStats
    by_grade: dict[str, ErrorStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"threshold", "n", "mae", "rmse", "mean", "std", "by_grade": {grade: {...}}}``."""
        return {
            "threshold": self.threshold,
            **self.overall.to_dict(),
            "by_grade": {g: s.to_dict() for g, s in self.by_grade.items()},
        }


@dataclass(frozen=True)
class CountReport:
    """Count error at several score thresholds (the study's table: one column each)."""

    by_threshold: dict[float, CountErrors]

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": {f"{t:g}": c.to_dict() for t, c in self.by_threshold.items()}}


def count_error_stats(
    pred_counts: Sequence[int] | np.ndarray,
    true_counts: Sequence[int] | np.ndarray,
    grades: Sequence[Grade] | None = None,
    *,
    threshold: float | None = None,
) -> CountErrors:
    """Errors of counts already made: one predicted and one true count per image."""
    p = np.asarray(pred_counts, dtype=np.float64).reshape(-1)
    t = np.asarray(true_counts, dtype=np.float64).reshape(-1)
    if p.size != t.size or p.size == 0:
        raise ClinLensError(
            f"lesion count evaluation needs one predicted and one true count per image "
            f"({p.size} predicted, {t.size} true)"
        )
    if grades is not None and len(grades) != p.size:
        raise ValueError(f"{len(grades)} grades for {p.size} images")
    if (t < 0).any() or (p < 0).any():
        raise ValueError("a lesion count cannot be negative")
    err = p - t
    by_grade: dict[str, ErrorStats] = {}
    if grades is not None:
        keys = [None if g is None else str(g) for g in grades]
        for key in _grade_order(grades):
            mask = np.array([k == key for k in keys])
            by_grade[key] = ErrorStats.from_errors(err[mask])
    return CountErrors(threshold=threshold, overall=ErrorStats.from_errors(err), by_grade=by_grade)


def count_errors(
    pred_scores: Sequence[ArrayLike],
    true_counts: Sequence[int] | np.ndarray,
    grades: Sequence[Grade] | None = None,
    thresholds: Sequence[float] = STUDY_THRESHOLDS,
) -> CountReport:
    """Count error at each threshold; ``pred_scores[i]`` are image i's predicted boxes'
    scores (already limited to the counted lesion classes)."""
    scores = [np.asarray(s, dtype=np.float64).reshape(-1) for s in pred_scores]
    out: dict[float, CountErrors] = {}
    for thr in thresholds:
        thr = float(thr)
        if not 0.0 <= thr <= 1.0:
            raise ValueError(f"score thresholds must be in [0, 1], not {thr}")
        counts = [int((s >= thr).sum()) for s in scores]
        out[thr] = count_error_stats(counts, true_counts, grades, threshold=thr)
    return CountReport(by_threshold=out)


def _grade_order(grades: Sequence[Grade]) -> list[str]:
    present = {g for g in grades if g is not None}
    ints = sorted({int(g) for g in present if isinstance(g, Integral)})
    texts = sorted(
        {str(g) for g in present if not isinstance(g, Integral)} - {str(i) for i in ints}
    )
    return [str(i) for i in ints] + texts

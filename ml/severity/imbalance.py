"""Class balancing with SMOTE (imbalanced-learn), switchable so its effect can be measured.

Severe grades are rare; SMOTE adds synthetic patch vectors on the line between a rare-grade
patch and one of its k nearest same-grade neighbours until every grade has as many patches
as the largest ("not majority"). Grades are treated as classes (their index on the scale)
and each synthetic vector gets its class's grade value as regression target.

Only ever applied to training data (inside each cross-validation fold), never to the
faces a model is evaluated on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.annotations import GradingScale
from core.errors import ClinLensError

DEFAULT_K = 5


class ImbalanceError(ClinLensError):
    """Balancing is impossible with the data at hand (message says what to do)."""


@dataclass(frozen=True)
class BalanceReport:
    before: dict[float, int]  # grade value -> patch count
    after: dict[float, int]
    k_neighbors: int
    applied: bool


def class_counts(y: np.ndarray) -> dict[float, int]:
    values, counts = np.unique(np.asarray(y, dtype=np.float64), return_counts=True)
    return {float(v): int(c) for v, c in zip(values, counts, strict=True)}


def smote_balance(
    X: np.ndarray,
    y: np.ndarray,
    scale: GradingScale,
    *,
    enabled: bool = True,
    k_neighbors: int = DEFAULT_K,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray, BalanceReport]:
    """(X, y) with every grade oversampled to the largest grade's count.

    ``y`` holds grade values of ``scale``. k is lowered to (smallest grade count - 1) for
    tiny grades; a grade with a single patch cannot be interpolated and raises
    ImbalanceError naming it. ``enabled=False`` returns the data unchanged (--no-smote).
    """
    y = np.asarray(y, dtype=np.float64)
    before = class_counts(y)
    if not enabled or len(before) < 2 or len(set(before.values())) == 1:
        return X, y, BalanceReport(before, before, 0, False)
    smallest = min(before.values())
    if smallest < 2:
        lonely = [scale.label_of(v) for v, c in before.items() if c < 2]
        raise ImbalanceError(
            f"SMOTE needs at least 2 patches per grade, but grade {', '.join(lonely)} has only "
            "1: grade more faces of that grade, or train with --no-smote"
        )
    from imblearn.over_sampling import SMOTE

    k = min(k_neighbors, smallest - 1)
    classes = np.searchsorted(scale.allowed, y - 1e-9)  # index of each grade on the scale
    sampler = SMOTE(sampling_strategy="not majority", k_neighbors=k, random_state=random_state)
    X_res, c_res = sampler.fit_resample(np.asarray(X, dtype=np.float64), classes)
    y_res = scale.allowed[np.asarray(c_res, dtype=int)]
    return (
        X_res.astype(np.float32),
        y_res,
        BalanceReport(before, class_counts(y_res), k, True),
    )

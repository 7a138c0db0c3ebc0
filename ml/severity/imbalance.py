"""Class balancing with SMOTE (imbalanced-learn), switchable so its effect can be measured.

Severe grades are rare; SMOTE adds synthetic patch vectors on the line between a rare-grade
patch and one of its k nearest same-grade neighbours until every grade has as many patches
as the largest ("not majority"). Grades are treated as classes (their index on the scale)
and each synthetic vector gets its class's grade value as regression target.

A grade with a single row cannot be interpolated; it is copied instead (see
``smote_balance``). Only ever applied to training data (inside each cross-validation fold), never to the
faces a model is evaluated on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.annotations import GradingScale

DEFAULT_K = 5


@dataclass(frozen=True)
class BalanceReport:
    before: dict[float, int]  # grade value -> patch count
    after: dict[float, int]
    k_neighbors: int  # 0 when nothing was interpolated
    applied: bool
    replicated: tuple[float, ...] = ()  # grades with one row, copied instead of interpolated


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

    ``y`` holds grade values of ``scale``. The original rows come first, unchanged. k is
    lowered to (smallest interpolated grade's count - 1). A grade with a single row has
    no neighbour to interpolate towards (a rare grade often reaches a cross-validation
    fold as one whole-image patch): its row is copied instead, as random oversampling
    would, and listed in ``BalanceReport.replicated``. ``enabled=False`` returns the data
    unchanged (--no-smote).
    """
    y = np.asarray(y, dtype=np.float64)
    before = class_counts(y)
    if not enabled or len(before) < 2 or len(set(before.values())) == 1:
        return X, y, BalanceReport(before, before, 0, False)
    X = np.asarray(X, dtype=np.float64)
    target = max(before.values())
    single = tuple(v for v, c in before.items() if c < 2)
    multi = {v: c for v, c in before.items() if c >= 2}
    parts_X, parts_y = [X], [y]
    k = 0
    if len(multi) >= 2 and len(set(multi.values())) > 1:
        from imblearn.over_sampling import SMOTE

        k = min(k_neighbors, min(multi.values()) - 1)
        rows = np.isin(y, list(multi))
        classes = np.searchsorted(scale.allowed, y[rows] - 1e-9)  # grade index on the scale
        sampler = SMOTE(sampling_strategy="not majority", k_neighbors=k, random_state=random_state)
        X_res, c_res = sampler.fit_resample(X[rows], classes)
        n = int(rows.sum())  # imbalanced-learn returns the input rows first, then new ones
        parts_X.append(np.asarray(X_res)[n:])
        parts_y.append(scale.allowed[np.asarray(c_res, dtype=int)[n:]])
    if single:
        copies = np.repeat(np.flatnonzero(np.isin(y, single)), target - 1)
        parts_X.append(X[copies])
        parts_y.append(y[copies])
    X_res = np.concatenate(parts_X).astype(np.float32)
    y_res = np.concatenate(parts_y)
    return X_res, y_res, BalanceReport(before, class_counts(y_res), k, True, single)

"""The ordinal head: grade edges fitted on training folds only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core.annotations import builtin_scale
from ml.severity import evaluate
from ml.severity.dataset import FaceDataset
from ml.severity.ordinal import apply_edges, fit_edges

LEVELS = np.array([0.0, 1.0, 2.0, 3.0])


def _dataset(n: int = 60, seed: int = 0) -> FaceDataset:
    rng = np.random.default_rng(seed)
    grades = rng.choice(LEVELS, n, p=[0.35, 0.45, 0.1, 0.1])
    X = (grades[:, None] * 0.3 + rng.normal(0, 0.5, (n, 8))).astype(np.float32)
    return FaceDataset(
        X=X,
        face=np.arange(n),
        augmented=np.zeros(n, bool),
        regions=["cheek"] * n,
        grades=grades,
        image_ids=np.arange(n),
        image_refs=[f"f{i}" for i in range(n)],
        patch_sets=[],
    )


def test_fitted_edges_undo_a_regression_shrunk_onto_the_common_grade() -> None:
    rng = np.random.default_rng(1)
    truth = rng.choice(LEVELS, 400, p=[0.35, 0.45, 0.1, 0.1])
    shrunk = 0.8 + 0.3 * truth + rng.normal(0, 0.08, truth.size)  # all near "moderate"
    rounded = apply_edges(shrunk, (LEVELS[:-1] + LEVELS[1:]) / 2, LEVELS)
    assert set(rounded.tolist()) <= {1.0, 2.0}  # the collapse the issue measured
    edges = fit_edges(shrunk, truth, LEVELS)
    assert np.all(np.diff(edges) > 0)
    fitted = apply_edges(shrunk, edges, LEVELS)
    assert np.mean(fitted == truth) > 0.8 and set(fitted.tolist()) == set(LEVELS.tolist())


def test_uninformative_scores_leave_the_edges_at_the_midpoints() -> None:
    edges = fit_edges(np.full(20, 1.2), np.array([0.0, 1.0] * 10), LEVELS)
    assert edges.tolist() == [0.5, 1.5, 2.5]


def test_edges_are_fitted_on_the_training_folds_only(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = _dataset()
    seen: list[set[int]] = []
    real_fit = evaluate.fit_regressor
    real_edges = evaluate.training_fold_edges

    def record_fit(ds: FaceDataset, faces: np.ndarray, *a: Any, **k: Any) -> Any:
        seen[-1].update(int(f) for f in faces)
        return real_fit(ds, faces, *a, **k)

    def record_edges(ds: FaceDataset, train_faces: np.ndarray, *a: Any, **k: Any) -> Any:
        seen.append(set())
        edges = real_edges(ds, train_faces, *a, **k)
        assert seen[-1] <= set(train_faces.tolist())  # inner fits saw training faces only
        seen.append(set())  # the next outer fit
        return edges

    splits = evaluate.fold_splits(ds.grades, 5, 0)
    monkeypatch.setattr(evaluate, "fit_regressor", record_fit)
    monkeypatch.setattr(evaluate, "training_fold_edges", record_edges)
    seen.append(set())
    result = evaluate.cross_validate(
        ds, builtin_scale("acne4"), folds=5, smote=False, head="edges", group_folds=False
    )
    assert result.y_grade.shape == (60,)
    inner = [s for i, s in enumerate(seen) if i % 2 == 1]
    assert len(inner) == 5
    for faces, (_train, test) in zip(inner, splits, strict=True):
        assert faces and not faces & set(test.tolist())

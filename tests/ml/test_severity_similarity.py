"""The similarity grader: triplet embedding on cached features, grade by nearest faces."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core.annotations import builtin_scale  # noqa: E402
from ml.severity.similarity import SimilarityConfig, SimilarityGrader, triplet_loss  # noqa: E402

SCALE = builtin_scale("acne4")


def _toy(seed: int = 0, per_grade: int = 30, dim: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Four grades, separable along a few directions among noisy ones."""
    rng = np.random.default_rng(seed)
    grades = np.repeat(np.arange(4.0), per_grade)
    X = rng.normal(size=(grades.size, dim))
    X[:, :3] += grades[:, None] * 1.5  # the grade lives in 3 of 24 directions
    return X.astype(np.float32), grades


def test_the_triplet_loss_decreases_on_a_separable_set() -> None:
    X, g = _toy()
    grader = SimilarityGrader(SCALE, SimilarityConfig(steps=120, seed=1))
    grader.fit(X, g, np.arange(g.size))
    first, last = np.mean(grader.losses[:10]), np.mean(grader.losses[-10:])
    assert last < 0.5 * first
    # Held-out faces of the same kind are graded right by their nearest references.
    Xt, gt = _toy(seed=7, per_grade=5)
    pred = grader.face_scores(Xt, np.arange(gt.size))
    assert np.mean(np.abs(pred - gt) < 0.5) >= 0.8


def test_a_near_copy_ranks_its_reference_first_and_gets_its_grade() -> None:
    X, g = _toy(seed=3)
    faces = np.arange(g.size) // 2  # two patch rows per face
    grader = SimilarityGrader(SCALE, SimilarityConfig(steps=60, seed=0))
    grader.fit(X, g, faces)
    assert grader.ref_vectors is not None and grader.ref_vectors.shape[0] == g.size // 2
    for face in (3, 22, 47):  # one face of grades 0, 1 and 3
        rows = X[faces == face]
        copy = rows + np.random.default_rng(face).normal(scale=0.01, size=rows.shape)
        order, sims = grader.nearest(copy.astype(np.float32), k=3)
        assert order[0] == face and sims[0] > 0.99
        score = grader.face_scores(copy, np.zeros(len(copy), int))[0]
        assert SCALE.to_grade(score) == g[faces == face][0]


def test_the_loss_grows_with_the_grade_gap_and_the_state_round_trips() -> None:
    emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [1.0, 0.1], [0.9, 0.2]]), dim=1)
    near = triplet_loss(emb, torch.tensor([0.0, 0.0, 1.0]), 0.2, 1.0)
    far = triplet_loss(emb, torch.tensor([0.0, 0.0, 3.0]), 0.2, 1.0)
    assert float(far) > float(near) > 0
    X, g = _toy(per_grade=6)
    grader = SimilarityGrader(SCALE, SimilarityConfig(steps=5)).fit(X, g, np.arange(g.size))
    again = SimilarityGrader.from_state(SCALE, grader.to_state())
    assert np.allclose(again.patch_scores(X), grader.patch_scores(X))

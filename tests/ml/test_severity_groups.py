"""Honest cross-validation: copies of one face never sit in a training and a test fold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import ClinLensError
from ml.severity.evaluate import fold_splits
from ml.severity.groups import dhash, source_groups


def _photo(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
    import cv2

    return cv2.resize(small, (96, 96), interpolation=cv2.INTER_CUBIC)


def test_grouped_folds_never_split_a_group() -> None:
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(30), rng.integers(1, 5, 30))  # 1-4 copies per source
    grades = np.array([g % 4 for g in groups], dtype=float)  # a source keeps its grade
    splits = fold_splits(grades, 5, seed=1, groups=groups)
    tested = np.concatenate([te for _tr, te in splits])
    assert sorted(tested.tolist()) == list(range(groups.size))
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    # Without groups the same faces do get split (what the grouping is for).
    plain = fold_splits(grades, 5, seed=1)
    assert any(set(groups[tr]) & set(groups[te]) for tr, te in plain)


def test_fewer_groups_than_folds_is_refused_with_a_message() -> None:
    with pytest.raises(ClinLensError, match=r"at least 5 source groups.*from 3"):
        fold_splits(np.array([0.0, 1, 2, 0, 1, 2]), 5, groups=np.array([0, 0, 1, 1, 2, 2]))


def test_near_duplicate_photos_join_one_group_given_groups_too() -> None:
    a, b = _photo(1), _photo(2)
    brighter = np.clip(a.astype(int) + 12, 0, 255).astype(np.uint8)
    mirrored = np.ascontiguousarray(b[:, ::-1])
    hashes = [dhash(x) for x in (a, brighter, b, mirrored, _photo(3), _photo(4))]
    groups = source_groups([None, None, None, None, "p7", "p7"], hashes)
    assert groups.tolist() == [0, 0, 1, 1, 2, 2]
    # Distinct photos stay apart; with no hashes only the given groups join.
    assert source_groups([None, None, "x", "x"]).tolist() == [0, 1, 2, 2]


def test_a_group_column_in_the_grades_csv_reaches_the_project(tmp_path: Path) -> None:
    from core.project_io import import_images
    from tests.core.conftest import new_project, write_rgb

    for i in range(3):
        write_rgb(tmp_path / "imgs" / f"f{i}.png", 32, 32, seed=i)
    (tmp_path / "g.csv").write_text(
        "image,scale,value,group\nf0.png,acne4,1,patient-a\nf1.png,acne4,2,patient-a\n"
        "f2.png,acne4,0,\n"
    )
    project = new_project(tmp_path / "p")
    import_images(project, [tmp_path / "imgs"], grades_csv=tmp_path / "g.csv")
    by_name = {Path(r.path).name: r.id for r in project.images()}
    assert project.source_groups.all() == {
        by_name["f0.png"]: "patient-a",
        by_name["f1.png"]: "patient-a",
    }

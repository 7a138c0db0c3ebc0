"""The agreement report over a project: a numeric scale gets ICC, MAD and Bland-Altman;
the model is measured against the readers; boxes get F1; a reader who never varies and
missing ratings give figures or null, never an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.agreement import stats
from core.agreement.report import agreement_report
from core.annotations import Box
from core.errors import ClinLensError
from core.store import Project
from tests.core.conftest import add_image, open_test_project

HYPER = {"dr a": [1.0, 3.0, 6.0, 0.5, 8.0], "dr b": [1.5, 3.5, 5.0, 0.5, None]}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from open_test_project(tmp_path)


def test_numeric_scale_report_matches_the_statistics(project: Project) -> None:
    ids = [add_image(project, f"{k}.png") for k in range(5)]
    for reader, values in HYPER.items():
        for image_id, v in zip(ids, values, strict=True):
            if v is not None:
                project.set_grade(image_id, "hyperpig", v, author=reader)
    project.set_grade(ids[0], "hyperpig", 2.0, source="model", model_version="m")
    r = agreement_report(project, "hyperpig")
    assert r["kind"] == "numeric" and r["images"] == 4
    ratings = np.array([[1.0, 1.5], [3.0, 3.5], [6.0, 5.0], [0.5, 0.5]])
    expected = stats.icc(ratings)
    assert expected is not None
    assert r["icc"]["icc2_1"] == expected["icc2_1"] and r["icc"]["icc3_1"]["ci95"][0] is not None
    (pair,) = r["pairs"]
    assert pair["mad"] == pytest.approx(0.5) and pair["bland_altman"]["bias"] == pytest.approx(0)
    assert r["model"]["to_readers"]["dr a"] == {"n": 1, "rmse": 1.0, "mae": 1.0}
    assert r["model"]["to_readers_mean"]["mae"] == pytest.approx(0.75)
    assert r["boxes"] is None
    assert r["disagreements"][0]["spread"] == 1.0


def test_ordinal_report_with_a_constant_reader_and_boxes(project: Project) -> None:
    ids = [add_image(project, f"{k}.png") for k in range(4)]
    for image_id, b in zip(ids, [0, 1, 2, 3], strict=True):
        project.set_grade(image_id, "acne4", 2, author="dr a")  # never varies
        project.set_grade(image_id, "acne4", b, author="dr b")
    project.add_box(ids[0], Box(0, 0, 10, 10, "zipper", author="dr a"))
    project.add_box(ids[0], Box(1, 0, 11, 10, "zipper", author="dr b"))
    r = agreement_report(project, "acne4")
    assert r["icc"] is None and r["pairs"][0]["kappa_quadratic"] == pytest.approx(0.0)
    assert r["krippendorff_alpha"] is not None
    assert r["boxes"][0]["f1"] == 1.0 and r["boxes"][0]["images"] == 4
    assert r["model"] is None


def test_a_scale_nobody_graded_says_so(project: Project) -> None:
    with pytest.raises(ClinLensError, match="'hyperpig' has 0 \\(none\\)"):
        agreement_report(project, "hyperpig")

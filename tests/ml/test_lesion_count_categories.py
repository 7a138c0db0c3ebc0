"""Hayashi count by label category and by how the photo is taken."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.annotations import Box, builtin_label_set
from core.errors import ProjectError
from ml.severity.lesion_count import ONE_SIDE, counting_plan, lesion_count_grade
from tests.core.conftest import new_project

MIDLINE = (np.array([100.0, 100.0]), np.array([0.0, 1.0]))  # vertical at x = 100


def _boxes(n: int, x: float, label: str) -> list[Box]:
    return [Box(x, 10 + 3 * i, x + 2, 12 + 3 * i, label, status="accepted") for i in range(n)]


def test_untyped_lesions_and_inflammatory_types_count_comedones_do_not() -> None:
    plan = counting_plan(builtin_label_set("acne"))
    assert plan.counted == ("papule", "pustule", "nodule/cyst", "lesion")
    boxes = (
        _boxes(4, 40, "lesion") + _boxes(2, 40, "nodule/cyst") + _boxes(9, 40, "blackhead comedone")
    )
    result = lesion_count_grade(boxes, None, labels=plan.counted, known=plan.known)
    assert result.count == 6 and result.grade == 1


def test_a_photo_whose_labels_the_count_does_not_know_is_not_graded_mild() -> None:
    plan = counting_plan(builtin_label_set("acne"))
    boxes = _boxes(30, 40, "papules") + _boxes(3, 150, "whitehead and blackhead")
    result = lesion_count_grade(boxes, MIDLINE, labels=plan.counted, known=plan.known)
    assert result.grade is None and not result.countable and result.label == "Not counted"
    assert "papules" in result.notes[0] and "--map-labels" in result.notes[0]
    assert result.to_dict()["grade"] is None
    # One known label among them is enough to count (the others simply do not count).
    mixed = boxes + _boxes(7, 40, "pustule")
    assert lesion_count_grade(mixed, MIDLINE, labels=plan.counted, known=plan.known).count == 7


def test_a_one_side_photo_is_counted_whole() -> None:
    boxes = _boxes(8, 40, "lesion") + _boxes(7, 150, "lesion")  # 8 + 7 about the midline
    split = lesion_count_grade(boxes, MIDLINE)
    assert split.count == 8 and split.grade == 1 and split.by_midline
    whole = lesion_count_grade(boxes, MIDLINE, view=ONE_SIDE)
    assert whole.count == 15 and not whole.by_midline and whole.view == ONE_SIDE
    assert "one side" in whole.notes[0]
    assert lesion_count_grade(_boxes(25, 40, "lesion"), MIDLINE, view=ONE_SIDE).grade == 2
    with pytest.raises(ValueError, match="photo view"):
        lesion_count_grade(boxes, MIDLINE, view="sideways")


def test_the_project_photo_view_setting_is_kept_and_checked(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p", labels="acne")
    assert project.definitions.photo_view() == "full_face"
    project.definitions.set_photo_view("one_side")
    assert project.definitions.photo_view() == "one_side"
    assert project.audit_events(limit=1)[0].action == "set_photo_view"
    with pytest.raises(ProjectError, match="full_face, one_side"):
        project.definitions.set_photo_view("profile")

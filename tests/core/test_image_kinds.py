"""Issue 17 #1: grading scales apply per image kind (X-ray / photo); "done" asks only for
the required scales that apply; label sets show first on their kind of image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.annotations import builtin_label_set, builtin_scale
from core.annotations.scales import scale_from_mapping
from core.errors import ProjectError
from core.store import NewImage, Project

QUALITY = {"title": "Image quality", "values": [{"value": 1}, {"value": 2}], "required": True}


def _project(tmp_path: Path) -> Project:
    return Project.create(
        tmp_path / "p",
        label_set=builtin_label_set("xray"),
        scales=[scale_from_mapping("quality", QUALITY), builtin_scale("acne4")],
    )


def _add(project: Project, name: str, *, modality: str | None = None, spp: int = 1) -> int:
    image = NewImage(str(project.folder / name), 100, 80, 16, spp, modality=modality)
    return project.add_images([image])[0]


def test_an_xray_is_done_without_the_acne_grade(tmp_path: Path) -> None:
    with _project(tmp_path) as project:
        xray = _add(project, "chest.dcm", modality="DX")
        project.grading.set_grade(xray, "quality", 2)
        project.grading.set_review_status(xray, "done")  # before: "no grade on acne4"
        assert project.image(xray).review_status == "done"


def test_a_photo_still_needs_every_scale(tmp_path: Path) -> None:
    with _project(tmp_path) as project:
        photo = _add(project, "face.jpg", spp=3)
        project.grading.set_grade(photo, "quality", 2)
        with pytest.raises(ProjectError, match=r"no grade on acne4$"):
            project.grading.set_review_status(photo, "done")
        project.grading.set_grade(photo, "acne4", 1)
        project.grading.set_review_status(photo, "done")


def test_unknown_grey_images_keep_every_required_scale(tmp_path: Path) -> None:
    # A 16-bit PNG with no modality could be either: no required grade is dropped on a guess.
    with _project(tmp_path) as project:
        grey = _add(project, "scan.png")
        assert project.grading.image_kind(grey) is None
        project.grading.set_grade(grey, "quality", 1)
        with pytest.raises(ProjectError, match="acne4"):
            project.grading.set_review_status(grey, "done")


def test_a_per_image_choice_overrides_the_file_and_is_kept(tmp_path: Path) -> None:
    with _project(tmp_path) as project:
        grey = _add(project, "scan.png")
        project.grading.set_image_kind(grey, "xray")
        assert [s.name for s in project.grading.scales_for(grey)] == ["quality"]
        project.grading.set_grade(grey, "quality", 1)
        project.grading.set_review_status(grey, "done")
        with pytest.raises(ProjectError, match="one of"):
            project.grading.set_image_kind(grey, "ct")
    with Project.open(tmp_path / "p") as again:
        assert again.grading.chosen_kind(grey) == "xray"
        again.grading.set_image_kind(grey, None)
        assert again.grading.image_kind(grey) is None
        assert again.audit_events(image_id=grey)[0].action == "set_image_kind"


def test_clearing_a_grade_of_a_scale_that_does_not_apply_is_not_refused(tmp_path: Path) -> None:
    with _project(tmp_path) as project:
        xray = _add(project, "a.dcm", modality="CR")
        project.grading.set_grade(xray, "quality", 2)
        project.grading.set_grade(xray, "acne4", 0)  # a stray grade, e.g. from an import
        project.grading.set_review_status(xray, "done")
        project.grading.clear_grade(xray, "acne4")


def test_kind_rules() -> None:
    from core.annotations.kinds import kind_of

    assert kind_of("DX", 1) == "xray"
    assert kind_of("XC", 3) == "photo"
    assert kind_of(None, 3) == "photo"
    assert kind_of(None, 1) is None
    assert kind_of("DX", 1, "photo") == "photo"
    assert builtin_scale("acne4").applies_to == ("photo",)
    assert builtin_scale("acne4").applies("xray") is False
    everywhere = dataclasses.replace(builtin_scale("acne4"), applies_to=())
    assert everywhere.applies("xray")
    assert builtin_label_set("xray").kind == "xray" and builtin_label_set("acne").kind == "photo"


def test_applies_to_round_trips_through_the_store_and_is_validated(tmp_path: Path) -> None:
    from core.errors import FormatError

    with _project(tmp_path) as project:
        stored = {s.name: s for s in project.definitions.scales()}
        assert stored["acne4"].applies_to == ("photo",)
        assert stored["quality"].applies_to == ()
    with pytest.raises(FormatError, match="applies_to"):
        scale_from_mapping("x", dict(QUALITY, applies_to=["mri"]))

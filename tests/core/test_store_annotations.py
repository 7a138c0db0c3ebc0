"""core.store.Project: boxes (clamping, suggestions), labels, scales, grades, review."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.annotations import Box, builtin_label_set, builtin_scale
from core.annotations.scales import scale_from_mapping
from core.errors import ProjectError, UnknownLabelError
from core.store import NewImage, Project
from tests.core.conftest import add_image, open_test_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from open_test_project(tmp_path)


# --- boxes --------------------------------------------------------------------------------
def test_box_crud_round_trips_every_field(project: Project) -> None:
    image_id = add_image(project)
    box = Box(
        10.25, 20.5, 30.75, 40.0, "glasses", difficult=True, truncated=True, occluded=True,
        pose="Left", source="model", status="suggested", score=0.875, model_version="det-3",
    )  # fmt: skip
    stored = project.add_box(image_id, box)
    assert stored.id is not None
    assert stored == dataclasses.replace(box, id=stored.id, author="dr.a")
    assert project.box(stored.id) == stored
    assert project.box_image_id(stored.id) == image_id
    assert project.boxes(image_id) == [stored]
    assert project.image(image_id).box_count == 1
    project.delete_box(stored.id)
    assert project.boxes(image_id) == []
    assert project.image(image_id).box_count == 0
    with pytest.raises(ProjectError, match="not in the project"):
        project.box(stored.id)


def test_boxes_are_clamped_and_ordered_on_write(project: Project) -> None:
    image_id = add_image(project, w=100, h=80)
    stored = project.add_box(image_id, Box(120.0, -5.0, 90.5, 85.0, "zipper"))
    assert (stored.x1, stored.y1, stored.x2, stored.y2) == (90.5, 0.0, 100.0, 80.0)
    moved = project.update_box(stored.id, x1=-30.0)
    assert moved.x1 == 0.0


def test_box_without_area_inside_the_image_is_refused(project: Project) -> None:
    image_id = add_image(project, w=100, h=80)
    with pytest.raises(ProjectError, match="no area"):
        project.add_box(image_id, Box(150, 10, 200, 20, "zipper"))
    with pytest.raises(ProjectError, match="finite"):
        project.add_box(image_id, Box(float("nan"), 10, 20, 20, "zipper"))
    assert project.boxes(image_id) == []


def test_box_on_image_of_unknown_size_is_not_clamped(project: Project) -> None:
    (image_id,) = project.add_images([NewImage("/data/broken.dcm", 0, 0, error="unreadable")])
    stored = project.add_box(image_id, Box(500, 600, 10, 20, "key"))
    assert (stored.x1, stored.y1, stored.x2, stored.y2) == (10, 20, 500, 600)


def test_unknown_label_is_refused_with_its_name(project: Project) -> None:
    image_id = add_image(project)
    with pytest.raises(UnknownLabelError, match="'tattoo'") as err:
        project.add_box(image_id, Box(0, 0, 5, 5, "tattoo"))
    assert err.value.labels == ["tattoo"]


def test_bad_source_or_status_is_refused(project: Project) -> None:
    image_id = add_image(project)
    with pytest.raises(ProjectError, match="source"):
        project.add_box(image_id, Box(0, 0, 5, 5, "key", source="robot"))
    with pytest.raises(ProjectError, match="status"):
        project.add_box(image_id, Box(0, 0, 5, 5, "key", status="maybe"))
    box = project.add_box(image_id, Box(0, 0, 5, 5, "key"))
    with pytest.raises(TypeError, match="colour"):
        project.update_box(box.id, colour="red")


def test_add_boxes_is_all_or_nothing(project: Project) -> None:
    image_id = add_image(project)
    with pytest.raises(UnknownLabelError):
        project.add_boxes(image_id, [Box(0, 0, 5, 5, "key"), Box(0, 0, 5, 5, "nope")])
    assert project.boxes(image_id) == []
    stored = project.add_boxes(image_id, [Box(0, 0, 5, 5, "key"), Box(1, 1, 6, 6, "bra")])
    assert [b.label for b in project.boxes(image_id)] == ["key", "bra"]
    assert len({b.id for b in stored}) == 2


def test_editing_a_suggestion_marks_it_edited(project: Project) -> None:
    image_id = add_image(project)
    suggestion = project.add_box(
        image_id, Box(10, 10, 20, 20, "watch", source="model", status="suggested", score=0.4)
    )
    project.author = "dr.b"
    moved = project.update_box(suggestion.id, x2=25)
    assert moved.status == "edited" and moved.author == "dr.b" and moved.source == "model"
    other = project.add_box(
        image_id, Box(30, 30, 40, 40, "watch", source="model", status="suggested")
    )
    assert project.update_box(other.id, label="key").status == "edited"
    third = project.add_box(
        image_id, Box(30, 30, 40, 40, "watch", source="model", status="suggested")
    )
    assert project.update_box(third.id, status="accepted").status == "accepted"
    assert project.update_box(third.id, x1=31, status="accepted").status == "accepted"
    human = project.add_box(image_id, Box(1, 1, 5, 5, "key"))
    assert project.update_box(human.id, x2=6).status == "accepted"


def test_rejected_boxes_are_hidden_and_not_counted(project: Project) -> None:
    image_id = add_image(project)
    box = project.add_box(image_id, Box(1, 1, 5, 5, "key", source="model", status="suggested"))
    assert project.image(image_id).box_count == 1
    project.update_box(box.id, status="rejected")
    assert project.boxes(image_id) == []
    assert [b.id for b in project.boxes(image_id, include_rejected=True)] == [box.id]
    assert project.image(image_id).box_count == 0
    project.update_box(box.id, status="accepted")
    assert project.image(image_id).box_count == 1


def test_update_without_change_writes_nothing(project: Project) -> None:
    image_id = add_image(project)
    box = project.add_box(image_id, Box(1, 1, 5, 5, "key"))
    events = len(project.audit_events(limit=1000))
    assert project.update_box(box.id, x1=1.0, label="key") == box
    assert len(project.audit_events(limit=1000)) == events


def test_keep_id_restores_a_deleted_box_under_its_id(project: Project) -> None:
    image_id = add_image(project)
    box = project.add_box(image_id, Box(1, 1, 5, 5, "key"))
    project.delete_box(box.id)
    newer = project.add_box(image_id, Box(2, 2, 6, 6, "bra"))
    assert newer.id != box.id  # ids are never reused
    assert project.add_box(image_id, box, keep_id=True) == box
    with pytest.raises(ProjectError):
        project.add_box(image_id, box, keep_id=True)  # that id is taken now


# --- labels and scales --------------------------------------------------------------------
def test_label_registry_is_append_only_with_stable_ids(project: Project) -> None:
    before = project.definitions.label_set()
    assert [lab.id for lab in before.labels] == list(range(18))
    assert before.by_name("zipper").id == 0 and before.by_name("pants button").id == 17
    added = project.definitions.add_label("tattoo", color="#123456")
    assert added.id == 18 and added.color == "#123456"
    after = project.definitions.label_set()
    assert after.labels[:18] == before.labels
    assert after.labels[18] == added
    with pytest.raises(ProjectError, match="already has a label"):
        project.definitions.add_label("zipper")
    with pytest.raises(ProjectError, match="#rrggbb"):
        project.definitions.add_label("x", color="red")
    conn = project._connection()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM labels WHERE id = 3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE labels SET name = 'z' WHERE id = 0")


def test_first_nine_labels_get_hotkeys(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p", label_set=builtin_label_set("acne"), scales=[]) as proj:
        labels = proj.definitions.label_set().labels
        assert labels[0].hotkey == "1"
        new = proj.definitions.add_label("scar")
        assert new.hotkey == (str(new.id + 1) if new.id < 9 else None)


def test_scales_round_trip_and_can_be_added(project: Project) -> None:
    assert project.definitions.scales() == [builtin_scale("acne4"), builtin_scale("hyperpig")]
    custom = scale_from_mapping(
        "pain",
        {
            "title": "Pain",
            "values": [{"value": 0, "label": "none"}, {"value": 1, "label": "some"}],
            "required": False,
        },
    )
    project.definitions.add_scale(custom)
    assert project.definitions.scales()[-1] == custom
    with pytest.raises(ProjectError, match="already has a grading scale"):
        project.definitions.add_scale(custom)


# --- grades and review --------------------------------------------------------------------
def test_grades_one_human_and_one_model_per_scale(project: Project) -> None:
    image_id = add_image(project)
    human = project.grading.set_grade(image_id, "acne4", 1)
    model = project.grading.set_grade(
        image_id, "acne4", 2, source="model", model_version="sev-1", confidence=0.8
    )
    replaced = project.grading.set_grade(image_id, "acne4", 3)
    assert replaced.id == human.id and replaced.value == 3.0
    grades = project.grading.grades(image_id)
    assert [(g.source, g.value) for g in grades] == [("human", 3.0), ("model", 2.0)]
    assert grades[1] == model and model.model_version == "sev-1" and model.confidence == 0.8
    project.grading.set_grade(image_id, "hyperpig", 4.5)
    assert [g.scale for g in project.grading.grades(image_id)] == ["acne4", "acne4", "hyperpig"]
    project.grading.clear_grade(image_id, "acne4", source="model")
    assert [(g.scale, g.source) for g in project.grading.grades(image_id)] == [
        ("acne4", "human"),
        ("hyperpig", "human"),
    ]
    project.grading.clear_grade(image_id, "acne4", source="model")  # nothing to clear: no error


def test_grade_values_are_validated_against_the_scale(project: Project) -> None:
    image_id = add_image(project)
    with pytest.raises(ProjectError, match=r"allowed: 0, 1, 2, 3"):
        project.grading.set_grade(image_id, "acne4", 4)
    with pytest.raises(ProjectError, match="allowed"):
        project.grading.set_grade(image_id, "hyperpig", 0.25)
    with pytest.raises(ProjectError, match="not used in this project"):
        project.grading.set_grade(image_id, "iga5", 1)
    with pytest.raises(ProjectError, match="source"):
        project.grading.set_grade(image_id, "acne4", 1, source="guess")
    assert project.grading.grades(image_id) == []


def test_done_is_refused_without_the_required_grades(project: Project) -> None:
    image_id = add_image(project)
    with pytest.raises(ProjectError, match="acne4, hyperpig"):
        project.grading.set_review_status(image_id, "done")
    project.grading.set_grade(image_id, "acne4", 0)
    project.grading.set_grade(
        image_id, "hyperpig", 1, source="model"
    )  # a model grade is not enough
    with pytest.raises(ProjectError, match=r"no grade on hyperpig$"):
        project.grading.set_review_status(image_id, "done")
    project.grading.set_grade(image_id, "hyperpig", 1)
    project.grading.set_review_status(image_id, "done")
    assert project.image(image_id).review_status == "done"
    with pytest.raises(ProjectError, match="marked done"):
        project.grading.clear_grade(image_id, "acne4")
    project.grading.set_review_status(image_id, "to_review")
    project.grading.clear_grade(image_id, "acne4")
    with pytest.raises(ProjectError, match="unknown review status"):
        project.grading.set_review_status(image_id, "finished")


def test_optional_scales_do_not_block_done(tmp_path: Path) -> None:
    optional = dataclasses.replace(builtin_scale("iga5"), required=False)
    with Project.create(
        tmp_path / "p", label_set=builtin_label_set("acne"), scales=[optional]
    ) as proj:
        image_id = add_image(proj)
        proj.grading.set_review_status(image_id, "done")
        assert proj.image(image_id).review_status == "done"


def test_whole_project_reads_match_the_per_image_ones(project: Project) -> None:
    a, b, c = (add_image(project, f"{n}.png") for n in "abc")
    project.add_boxes(b, [Box(1, 1, 5, 5, "key"), Box(2, 2, 9, 9, "bra")])
    rejected = project.add_box(a, Box(1, 1, 3, 3, "key", source="model", status="suggested"))
    project.update_box(rejected.id, status="rejected")
    project.add_box(a, Box(4, 4, 8, 8, "watch"))
    project.grading.set_grade(c, "hyperpig", 2.5)
    project.grading.set_grade(c, "acne4", 1, source="model", confidence=0.5)
    project.grading.set_grade(c, "acne4", 2)
    assert project.boxes_by_image() == {i: project.boxes(i) for i in (a, b)}
    assert project.boxes_by_image(include_rejected=True)[a] == project.boxes(
        a, include_rejected=True
    )
    assert project.grading.grades_by_image() == {c: project.grading.grades(c)}
    assert [g.scale for g in project.grading.grades_by_image()[c]] == ["acne4", "acne4", "hyperpig"]

"""core.annotations.history.History: undo/redo through the store API, exactly reversible."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.annotations import Box, builtin_label_set, builtin_scale
from core.annotations.history import History
from core.errors import ProjectError
from core.store import NewImage, Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    proj = Project.create(
        tmp_path / "proj",
        label_set=builtin_label_set("xray"),
        scales=[builtin_scale("acne4")],
        author="dr.a",
    )
    yield proj
    proj.close()


@pytest.fixture
def image_id(project: Project) -> int:
    return project.add_images([NewImage(str(project.folder / "a.png"), 100, 80)])[0]


def _snapshot(project: Project, image_id: int) -> tuple[object, ...]:
    return (
        project.boxes(image_id, include_rejected=True),
        # A grade is identified by (image, scale, source); its row id may change on undo.
        [dataclasses.replace(g, id=None) for g in project.grades(image_id)],
        project.image(image_id).review_status,
        project.image(image_id).box_count,
    )


def test_undo_and_redo_add_box(project: Project, image_id: int) -> None:
    history = History(project)
    assert not history.can_undo and not history.can_redo
    box = history.add_box(image_id, Box(1, 1, 10, 10, "key"))
    assert history.can_undo and history.undo_text == "add box"
    history.undo()
    assert project.boxes(image_id) == [] and history.can_redo
    assert history.redo_text == "add box"
    history.redo()
    assert project.boxes(image_id) == [box]  # same id, same fields


def test_undoing_a_delete_restores_the_box_with_every_field(
    project: Project, image_id: int
) -> None:
    history = History(project)
    original = project.add_box(
        image_id,
        Box(
            5.5, 6.25, 50, 60, "glasses", difficult=True, truncated=True, occluded=True,
            pose="Frontal", source="model", status="suggested", score=0.66,
            model_version="det-2", author="model-runner",
        ),
    )  # fmt: skip
    history.delete_box(original.id)
    assert project.boxes(image_id, include_rejected=True) == []
    history.undo()
    assert project.boxes(image_id, include_rejected=True) == [original]
    history.redo()
    assert project.boxes(image_id, include_rejected=True) == []


def test_undo_update_restores_status_and_author_exactly(project: Project, image_id: int) -> None:
    history = History(project)
    suggestion = project.add_box(
        image_id, Box(10, 10, 20, 20, "watch", source="model", status="suggested", author="bot")
    )
    project.author = "dr.b"
    moved = history.update_box(suggestion.id, x2=30, label="key")
    assert moved.status == "edited" and moved.author == "dr.b"
    assert history.undo_text == "move box"
    history.undo()
    assert project.box(suggestion.id) == suggestion
    history.redo()
    assert project.box(suggestion.id) == moved


def test_accept_and_reject_are_undoable(project: Project, image_id: int) -> None:
    history = History(project)
    box = project.add_box(image_id, Box(1, 1, 9, 9, "key", source="model", status="suggested"))
    history.update_box(box.id, status="rejected")
    assert history.undo_text == "reject box" and project.image(image_id).box_count == 0
    history.undo()
    assert project.box(box.id).status == "suggested" and project.image(image_id).box_count == 1


def test_add_boxes_is_one_step(project: Project, image_id: int) -> None:
    history = History(project)
    boxes = history.add_boxes(image_id, [Box(1, 1, 5, 5, "key"), Box(2, 2, 6, 6, "bra")])
    assert history.undo_text == "add 2 boxes"
    history.undo()
    assert project.boxes(image_id) == [] and not history.can_undo
    history.redo()
    assert project.boxes(image_id) == boxes


def test_grades_and_review_status_undo(project: Project, image_id: int) -> None:
    history = History(project)
    start = _snapshot(project, image_id)
    history.set_grade(image_id, "acne4", 1)
    history.set_grade(image_id, "acne4", 2)
    project.author = "dr.b"
    history.set_grade(image_id, "acne4", 2)  # a second reader, agreeing
    history.set_review_status(image_id, "done")
    done = _snapshot(project, image_id)
    history.undo()  # review status
    assert project.image(image_id).review_status == "new"
    history.undo()  # the second reader's grade goes; the first reader's stays
    (grade,) = project.grades(image_id)
    assert (grade.value, grade.author) == (2.0, "dr.a")
    history.undo()  # dr.a's second grade -> dr.a's first, though dr.b is the author now
    (grade,) = project.grades(image_id)
    assert (grade.value, grade.author) == (1.0, "dr.a")
    history.undo()  # first grade -> none
    assert _snapshot(project, image_id) == start
    for _ in range(4):
        history.redo()
    assert _snapshot(project, image_id) == done


def test_clear_grade_undo_restores_the_model_grade(project: Project, image_id: int) -> None:
    history = History(project)
    model = project.set_grade(
        image_id, "acne4", 2, source="model", model_version="sev-1", confidence=0.7
    )
    history.clear_grade(image_id, "acne4", source="model")
    assert project.grades(image_id) == []
    history.undo()
    (restored,) = project.grades(image_id)
    assert (restored.value, restored.model_version, restored.confidence, restored.author) == (
        model.value,
        model.model_version,
        model.confidence,
        model.author,
    )


def test_no_op_edits_are_not_recorded(project: Project, image_id: int) -> None:
    history = History(project)
    box = project.add_box(image_id, Box(1, 1, 5, 5, "key"))
    history.update_box(box.id, x1=1)
    history.set_review_status(image_id, "new")
    history.clear_grade(image_id, "acne4")
    assert not history.can_undo


def test_a_new_edit_clears_redo(project: Project, image_id: int) -> None:
    history = History(project)
    history.add_box(image_id, Box(1, 1, 5, 5, "key"))
    history.undo()
    history.add_box(image_id, Box(2, 2, 6, 6, "bra"))
    assert not history.can_redo


def test_long_mixed_sequence_undoes_to_the_start_and_redoes_to_the_end(
    project: Project, image_id: int
) -> None:
    history = History(project)
    start = _snapshot(project, image_id)
    a = history.add_box(image_id, Box(1, 1, 5, 5, "key"))
    b = history.add_box(image_id, Box(10, 10, 30, 30, "watch", source="model", status="suggested"))
    history.update_box(a.id, x2=40)
    history.delete_box(a.id)
    history.update_box(b.id, status="accepted")
    history.set_grade(image_id, "acne4", 2)
    history.add_boxes(image_id, [Box(3, 3, 4, 4, "bra"), Box(5, 5, 6, 6, "cuffs")])
    history.delete_box(b.id)
    history.set_review_status(image_id, "to_review")
    end = _snapshot(project, image_id)
    steps = 0
    while history.can_undo:
        history.undo()
        steps += 1
    assert steps == 9 and _snapshot(project, image_id) == start
    while history.can_redo:
        history.redo()
    assert _snapshot(project, image_id) == end
    # Undone and redone edits are audited like any other: 10 events done, undone, redone,
    # plus the first box's move from "new" to "in progress" (done, undone, redone).
    assert len(project.audit_events(image_id=image_id, limit=1000)) == 1 + 3 * 10 + 3


def test_ids_are_remapped_when_a_box_comes_back_under_a_new_id(
    project: Project, image_id: int
) -> None:
    history = History(project)
    key = history.add_box(image_id, Box(1, 1, 5, 5, "key"))
    history.update_box(key.id, x2=8)
    history.delete_box(key.id)
    # Another tool stores a box under the freed id, so undo cannot reuse it.
    bra = project.add_box(image_id, Box(7, 7, 9, 9, "bra", id=key.id), keep_id=True)
    history.undo()  # the key comes back under a new id
    new_id = history.resolve_box_id(key.id)
    assert new_id != key.id
    assert project.box(new_id) == Box(1, 1, 8, 5, "key", author="dr.a", id=new_id)
    history.undo()  # the older update step finds the key under its new id
    assert project.box(new_id).x2 == 5.0
    history.redo()
    history.redo()  # deletes the key again, not the bra holding its old id
    assert project.boxes(image_id) == [bra]


def test_a_refused_undo_stays_on_the_stack(project: Project, image_id: int) -> None:
    history = History(project)
    history.set_grade(image_id, "acne4", 1)
    project.set_review_status(image_id, "done")  # outside the history
    with pytest.raises(ProjectError, match="marked done"):
        history.undo()
    assert history.can_undo and history.undo_text == "set acne4 grade"
    project.set_review_status(image_id, "to_review")
    history.undo()
    assert project.grades(image_id) == []


def test_limit_drops_the_oldest_steps_and_on_change_fires(project: Project, image_id: int) -> None:
    calls: list[int] = []
    history = History(project, limit=3, on_change=lambda: calls.append(1))
    for i in range(5):
        history.add_box(image_id, Box(i, i, i + 5, i + 5, "key"))
    undone = 0
    while history.can_undo:
        history.undo()
        undone += 1
    assert undone == 3 and len(project.boxes(image_id)) == 2
    assert len(calls) == 5 + 3
    history.clear()
    assert not history.can_undo and not history.can_redo


def test_undo_and_redo_return_the_image_each_step_changed(project: Project) -> None:
    first, second = project.add_images(
        [NewImage(str(project.folder / n), 100, 80) for n in ("a.png", "b.png")]
    )
    history = History(project)
    assert history.undo() is None and history.redo() is None  # nothing to do
    box = history.add_box(first, Box(1, 1, 20, 20, label="zipper"))
    history.set_grade(second, "acne4", 1)
    history.update_box(box.id, x2=30)
    history.set_review_status(second, "to_review")
    history.delete_box(box.id)
    history.clear_grade(second, "acne4")
    expected = [second, first, second, first, second, first]
    assert history.undo_image == second
    assert [history.undo() for _ in expected] == expected
    assert history.undo_image is None and history.redo_image == first
    assert [history.redo() for _ in expected] == list(reversed(expected))
    assert history.redo_image is None


# --- runs: updates saved one by one, undone as one step (arrow-key nudges) ---------------
def test_updates_of_one_run_are_saved_each_and_undo_as_one_step(
    project: Project, image_id: int
) -> None:
    history = History(project)
    box = history.add_box(image_id, Box(10, 10, 20, 20, "key"))
    for x in (11, 12, 13):
        history.update_box(box.id, run=("nudge", 1), x1=x, x2=x + 10)
        assert project.box(box.id).x1 == x, "each update is in the store at once"
    assert history.undo_count == 2 and history.undo_text == "move box"
    history.undo()
    assert (project.box(box.id).x1, project.box(box.id).x2) == (10, 20)
    history.redo()
    assert project.box(box.id).x1 == 13
    assert history.undo_count == 2


def test_a_new_run_or_another_box_makes_a_new_step(project: Project, image_id: int) -> None:
    history = History(project)
    a = history.add_box(image_id, Box(10, 10, 20, 20, "key"))
    b = history.add_box(image_id, Box(30, 30, 40, 40, "key"))
    history.update_box(a.id, run=1, x1=11)
    history.update_box(a.id, run=2, x1=12)  # the keys rested: a second run
    history.update_box(b.id, run=2, x1=31)  # same key, other box: not joined
    history.update_box(b.id, x1=32)  # no run: never joined
    assert history.undo_count == 6


def test_an_undone_run_step_is_not_joined_again(project: Project, image_id: int) -> None:
    history = History(project)
    box = history.add_box(image_id, Box(10, 10, 20, 20, "key"))
    history.update_box(box.id, run=1, x1=11)
    history.undo()
    history.redo()
    history.update_box(box.id, run=1, x1=12)
    assert history.undo_count == 3
    history.undo()
    assert project.box(box.id).x1 == 11


def test_a_run_back_to_its_start_leaves_no_step(project: Project, image_id: int) -> None:
    history = History(project)
    box = history.add_box(image_id, Box(10, 10, 20, 20, "key"))
    history.update_box(box.id, run=1, x1=11)
    history.update_box(box.id, run=1, x1=10)
    assert history.undo_count == 1 and history.undo_text == "add box"

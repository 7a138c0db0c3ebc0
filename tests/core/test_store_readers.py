"""Several readers in the store: the migration keeps every grade as its author's, "the"
human grade (adjudicated / single / agreed / disputed) drives the done rule and the grade
filter, the adjudication queue, and blinding hides exactly what it should."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.annotations import Box
from core.errors import ProjectError
from core.store import Project, schema
from core.store.images import DISPUTED, GRADED, UNGRADED
from tests.core.conftest import add_image, open_test_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from open_test_project(tmp_path)


def _grade_as(project: Project, reader: str, image_id: int, scale: str, value: float) -> None:
    project.set_grade(image_id, scale, value, author=reader)


# --- migration ---------------------------------------------------------------------------
def _readers_step() -> int:
    return next(i for i, m in enumerate(schema.MIGRATIONS) if m.apply is schema._readers)


def test_the_migration_keeps_every_grade_as_its_authors_and_model_grades_apart() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        schema.migrate(conn, "mem", schema.MIGRATIONS[: _readers_step()])
        conn.execute("INSERT INTO meta (key, value) VALUES ('name', 'old')")
        conn.execute("INSERT INTO scales VALUES ('acne4', 0, '{}', 1)")
        for k in range(3):
            conn.execute(
                "INSERT INTO images (path, width, height, bit_depth, samples_per_pixel, "
                "added_at, updated_at) VALUES (?, 10, 10, 8, 1, '', '')",
                (f"{k}.png",),
            )
        rows = [
            (1, 1, "acne4", 2.0, "dr.a", "human"),
            (2, 1, "acne4", 3.0, None, "model"),
            (3, 2, "acne4", 1.0, "dr.b", "human"),
            (7, 3, "acne4", 0.0, None, "human"),
        ]
        for row in rows:
            conn.execute(
                "INSERT INTO grades (id, image_id, scale, value, author, source, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, 't', 't')",
                row,
            )
        conn.execute("DELETE FROM grades WHERE id = 7")  # the counter is at 7 now
        conn.execute(
            "INSERT INTO grades (id, image_id, scale, value, author, source, created_at, "
            "updated_at) VALUES (4, 3, 'acne4', 0, NULL, 'human', 't', 't')"
        )
        assert schema.migrate(conn, "mem") == list(
            range(_readers_step() + 1, schema.latest_version() + 1)
        )
        got = conn.execute(
            "SELECT id, image_id, value, author, source, reader FROM grades ORDER BY id"
        ).fetchall()
        assert got == [
            (1, 1, 2.0, "dr.a", "human", "dr.a"),
            (2, 1, 3.0, None, "model", ""),
            (3, 2, 1.0, "dr.b", "human", "dr.b"),
            (4, 3, 0.0, None, "human", ""),
        ]
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'grades'").fetchone()
        assert seq == (7,)  # a deleted grade's id is still never handed out again
        final = conn.execute("SELECT image_id, value, basis FROM final_grades ORDER BY 1")
        assert final.fetchall() == [(1, 2.0, "single"), (2, 1.0, "single"), (3, 0.0, "single")]
    finally:
        conn.close()


# --- "the" grade ---------------------------------------------------------------------------
def test_final_grade_single_agreed_disputed_adjudicated(project: Project) -> None:
    a = add_image(project, "a.png")
    assert project.readers.final_grade(a, "acne4").basis == "none"
    _grade_as(project, "dr.a", a, "acne4", 2)
    single = project.readers.final_grade(a, "acne4")
    assert (single.value, single.basis, single.reason) == (2.0, "single", "graded by dr.a")
    _grade_as(project, "dr.b", a, "acne4", 2)
    assert project.readers.final_grade(a, "acne4").basis == "agreed"
    _grade_as(project, "dr.b", a, "acne4", 3)
    disputed = project.readers.final_grade(a, "acne4")
    assert disputed.value is None and disputed.basis == "disputed"
    assert disputed.reason == "readers disagree (dr.a: 2, dr.b: 3); adjudicate"
    assert {g.author: g.value for g in project.grades(a)} == {"dr.a": 2.0, "dr.b": 3.0}
    final = project.readers.adjudicate(a, "acne4", 3, adjudicator="chief")
    assert (final.value, final.basis, final.adjudicator) == (3.0, "adjudicated", "chief")
    assert project.readers.adjudication_sources(a, "acne4") == {"dr.a": 2.0, "dr.b": 3.0}
    assert project.readers.final_grade(a, "acne4").reason == "adjudicated by chief"
    events = [e for e in project.audit_events(a) if e.action == "adjudicate_grade"]
    assert events and events[0].author == "dr.a" and events[0].after["adjudicator"] == "chief"


def test_the_view_agrees_with_the_function(project: Project) -> None:
    ids = [add_image(project, f"{k}.png") for k in range(4)]
    _grade_as(project, "dr.a", ids[0], "acne4", 1)
    for reader, value in (("dr.a", 1), ("dr.b", 1)):
        _grade_as(project, reader, ids[1], "acne4", value)
    for reader, value in (("dr.a", 0), ("dr.b", 2)):
        _grade_as(project, reader, ids[2], "acne4", value)
        _grade_as(project, reader, ids[3], "acne4", value)
    project.readers.adjudicate(ids[3], "acne4", 1)
    finals = project.readers.final_grades("acne4")
    with sqlite3.connect(project.folder / "project.clinlens") as conn:
        view = dict(
            ((i, (v, b)) for i, v, b in conn.execute(
                "SELECT image_id, value, basis FROM final_grades WHERE scale = 'acne4'"))
        )  # fmt: skip
    expected = {
        i: (f["acne4"].value, f["acne4"].basis)
        for i, f in finals.items()
        if f["acne4"].value is not None
    }
    assert view == expected and ids[2] not in view


def test_done_needs_the_grade_and_says_readers_disagree(project: Project) -> None:
    a = add_image(project, "a.png")
    _grade_as(project, "dr.a", a, "acne4", 1)
    _grade_as(project, "dr.b", a, "acne4", 3)
    _grade_as(project, "dr.a", a, "hyperpig", 2.5)
    with pytest.raises(ProjectError) as err:
        project.set_review_status(a, "done")
    assert str(err.value) == (
        "'a.png' cannot be marked done: its readers disagree on acne4 (dr.a: 1, dr.b: 3) "
        "(adjudicate first)"
    )
    project.readers.adjudicate(a, "acne4", 2)
    project.set_review_status(a, "done")
    assert project.image(a).review_status == "done"


def test_grade_filter_follows_the_final_grade(project: Project) -> None:
    a, b, c = (add_image(project, f"{n}.png") for n in "abc")
    _grade_as(project, "dr.a", a, "acne4", 1)
    _grade_as(project, "dr.a", b, "acne4", 1)
    _grade_as(project, "dr.b", b, "acne4", 2)

    def ids(wanted: float | str) -> list[int]:
        return [r.id for r in project.images(grade=("acne4", wanted))]

    assert ids(GRADED) == [a] and ids(DISPUTED) == [b] and ids(UNGRADED) == [b, c]
    assert ids(1) == [a] and project.image_count(grade=("acne4", DISPUTED)) == 1
    project.readers.adjudicate(b, "acne4", 2)
    assert ids(GRADED) == [a, b] and ids(2) == [b] and ids(DISPUTED) == []


def test_one_readers_grade_is_replaced_and_cleared_without_touching_the_others(
    project: Project,
) -> None:
    a = add_image(project, "a.png")
    _grade_as(project, "dr.b", a, "acne4", 3)
    project.set_grade(a, "acne4", 1)  # the project author, dr.a
    project.set_grade(a, "acne4", 2)
    project.set_grade(a, "acne4", 0, source="model", model_version="m1")
    assert project.readers.reader_grades("acne4") == {a: {"dr.a": 2.0, "dr.b": 3.0}}
    project.clear_grade(a, "acne4")
    assert {(g.author, g.source) for g in project.grades(a)} == {
        ("dr.b", "human"),
        ("dr.a", "model"),
    }
    assert project.readers.readers() == ["dr.b"]


# --- adjudication queue --------------------------------------------------------------------
def test_the_queue_holds_disagreements_beyond_one_step_or_one_point(project: Project) -> None:
    ids = [add_image(project, f"{k}.png") for k in range(4)]
    for image_id, (va, vb) in zip(ids, [(0, 1), (0, 2), (1, 3), (2, 2)], strict=True):
        _grade_as(project, "dr.a", image_id, "acne4", va)
        _grade_as(project, "dr.b", image_id, "acne4", vb)
    queue = project.readers.adjudication_queue("acne4")
    assert [q.image_id for q in queue] == [ids[1], ids[2]]  # two steps apart, equal spread
    assert queue[0].readers == {"dr.a": 0.0, "dr.b": 2.0} and queue[0].path == "1.png"
    assert [q.image_id for q in project.readers.adjudication_queue("acne4", 1)] == [
        ids[1],
        ids[2],
        ids[0],
    ]  # largest spread first
    project.readers.adjudicate(ids[1], "acne4", 1)
    assert [q.image_id for q in project.readers.adjudication_queue("acne4")] == [ids[2]]
    for image_id, (va, vb) in zip(ids, [(1.0, 1.5), (2.0, 3.0), (4.0, 6.5)], strict=False):
        _grade_as(project, "dr.a", image_id, "hyperpig", va)
        _grade_as(project, "dr.b", image_id, "hyperpig", vb)
    hyper = project.readers.adjudication_queue("hyperpig")
    assert [(q.image_id, q.spread) for q in hyper] == [(ids[2], 2.5), (ids[1], 1.0)]


# --- blinding -----------------------------------------------------------------------------
def test_blinding_hides_others_grades_boxes_and_suggestions_until_the_reader_graded(
    project: Project,
) -> None:
    a = add_image(project, "a.png")
    _grade_as(project, "dr.b", a, "acne4", 3)
    _grade_as(project, "dr.b", a, "hyperpig", 1)
    project.set_grade(a, "acne4", 2, source="model", model_version="m1")
    theirs = project.add_box(a, Box(1, 1, 20, 20, "zipper", author="dr.b"))
    suggestion = project.add_box(
        a, Box(30, 30, 50, 50, "zipper", source="model", status="suggested", score=0.9)
    )
    mine = project.add_box(a, Box(5, 5, 25, 25, "zipper"))  # dr.a, the project author
    grades, boxes = project.grades(a), project.boxes(a)
    assert project.readers.visible_boxes(boxes, a) == boxes  # not blinded: all
    project.readers.set_blinded(True)
    assert project.readers.blinded()
    assert project.readers.visible_grades(grades, a) == []
    assert [b.id for b in project.readers.visible_boxes(boxes, a)] == [mine.id]
    project.set_grade(a, "acne4", 1)
    assert project.readers.visible_grades(project.grades(a), a) == [
        g for g in project.grades(a) if g.author == "dr.a" and g.source == "human"
    ]  # one required scale still ungraded: still blinded
    project.set_grade(a, "hyperpig", 1.5)
    assert project.readers.visible_grades(project.grades(a), a) == project.grades(a)
    assert {b.id for b in project.readers.visible_boxes(project.boxes(a), a)} == {
        theirs.id,
        suggestion.id,
        mine.id,
    }
    assert not project.readers.revealed(a, "dr.c")  # another reader is still blinded
    project.readers.set_blinded(False)
    assert project.readers.revealed(a, "dr.c")


def test_progress_counts_images_each_reader_graded_on_every_required_scale(
    project: Project,
) -> None:
    a, b = add_image(project, "a.png"), add_image(project, "b.png")
    for image_id in (a, b):
        for scale, value in (("acne4", 1), ("hyperpig", 2)):
            _grade_as(project, "dr.a", image_id, scale, value)
    _grade_as(project, "dr.b", a, "acne4", 1)  # half of one image
    _grade_as(project, "dr.b", b, "acne4", 1)
    _grade_as(project, "dr.b", b, "hyperpig", 1)
    assert project.readers.progress() == {"dr.a": 2, "dr.b": 1}
    assert project.readers.readers_by_image() == {a: ["dr.a", "dr.b"], b: ["dr.a", "dr.b"]}


def test_adjudication_refuses_a_value_off_the_scale(project: Project) -> None:
    a = add_image(project, "a.png")
    with pytest.raises(ProjectError, match="not a grade on the"):
        project.readers.adjudicate(a, "acne4", 7)
    with pytest.raises(ProjectError):
        project.readers.adjudicate(a, "nope", 1)
    assert json.dumps(project.readers.final_grades()) == "{}"

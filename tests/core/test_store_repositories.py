"""The store's repositories built alone over a fresh database, without a Project.

The behaviour through the project is in test_store_annotations.py; these show that a
repository needs only the shared ``Database`` (the pattern for new tables).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.annotations import builtin_scale
from core.errors import ProjectError, ReadOnlyProjectError, UnknownLabelError
from core.store import Database, DefinitionsRepository, GradesRepository
from core.store.definitions import get_scale, label_id_of
from core.store.opening import connect
from tests.core.conftest import fresh_database, insert_image


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = fresh_database(tmp_path)
    yield database
    database.close()


def _audit_actions(db: Database) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY id")]


# --- Database ----------------------------------------------------------------------------
def test_a_failed_write_is_undone_and_reported_as_a_project_error(db: Database) -> None:
    with pytest.raises(ProjectError, match="the change was not saved"), db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
        conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'again')")  # unique
    with db.read() as conn:
        assert Database.meta(conn, "k") is None
        assert not conn.in_transaction


def test_nested_writes_are_savepoints_of_one_transaction(db: Database) -> None:
    with db.write() as conn:
        Database.set_meta(conn, "outer", "1")
        with pytest.raises(RuntimeError), db.write() as inner:
            Database.set_meta(inner, "inner", "1")
            raise RuntimeError("undo the inner edit only")
    with db.read() as conn:
        assert (Database.meta(conn, "outer"), Database.meta(conn, "inner")) == ("1", None)


def test_a_read_only_database_refuses_writes_and_a_closed_one_says_so(
    db: Database, tmp_path: Path
) -> None:
    reader = connect(db.folder, read_only=True, author=None)
    try:
        with pytest.raises(ReadOnlyProjectError):
            DefinitionsRepository(reader).add_label("cast")
        assert [s.name for s in DefinitionsRepository(reader).scales()] == ["acne4", "hyperpig"]
    finally:
        reader.close()
    assert reader.closed
    with pytest.raises(ProjectError, match="is closed"):
        reader.connection()


def test_the_author_is_required_and_recorded_on_audit_events(db: Database) -> None:
    with pytest.raises(ProjectError, match="cannot be empty"):
        db.author = "  "
    db.author = "dr.b"
    with db.write() as conn:
        db.audit(conn, "note", "project", after={"x": 1})
    with db.read() as conn:
        row = conn.execute("SELECT author, after FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    assert row == ("dr.b", '{"x": 1}')


# --- DefinitionsRepository ---------------------------------------------------------------
def test_definitions_alone_append_labels_and_scales_with_audit(db: Database) -> None:
    definitions = DefinitionsRepository(db)
    before = definitions.label_set()
    assert before.name == "xray" and before.names()
    label = definitions.add_label("cast", color="#123456")
    assert label.id == max(lab.id for lab in before.labels) + 1
    assert definitions.label_set().names()[-1] == "cast"
    with pytest.raises(ProjectError, match="already has a label"):
        definitions.add_label("cast")
    definitions.add_scale(builtin_scale("iga5"))
    assert [s.name for s in definitions.scales()] == ["acne4", "hyperpig", "iga5"]
    assert _audit_actions(db)[-2:] == ["add_label", "add_scale"]


def test_lookups_inside_a_transaction_name_what_is_missing(db: Database) -> None:
    with db.read() as conn:
        assert label_id_of(conn, DefinitionsRepository(db).label_set().names()[0]) == 0
        with pytest.raises(UnknownLabelError, match="'nope'"):
            label_id_of(conn, "nope")
        assert get_scale(conn, "acne4").name == "acne4"
        with pytest.raises(ProjectError, match="scales: acne4, hyperpig"):
            get_scale(conn, "nope")


# --- GradesRepository ---------------------------------------------------------------------
def test_grades_alone_set_read_and_clear_with_audit(db: Database) -> None:
    grading = GradesRepository(db)
    image_id = insert_image(db)
    human = grading.set_grade(image_id, "acne4", 2)
    model = grading.set_grade(
        image_id, "acne4", 3, source="model", model_version="g:1", confidence=0.5
    )
    assert (human.author, human.source, human.value) == ("dr.a", "human", 2.0)
    assert grading.grades(image_id) == [human, model]
    assert grading.grades_by_image() == {image_id: [human, model]}
    with pytest.raises(ProjectError, match="allowed"):
        grading.set_grade(image_id, "acne4", 99)
    grading.clear_grade(image_id, "acne4", source="model")
    assert grading.grades(image_id) == [human]
    assert _audit_actions(db)[-3:] == ["set_grade", "set_grade", "clear_grade"]


def test_review_status_done_needs_the_required_grades(db: Database) -> None:
    grading = GradesRepository(db)
    image_id = insert_image(db)
    with pytest.raises(ProjectError, match="no grade on acne4, hyperpig"):
        grading.set_review_status(image_id, "done")
    grading.set_grade(image_id, "acne4", 1)
    grading.set_grade(image_id, "hyperpig", 1)
    grading.set_review_status(image_id, "done")
    with db.read() as conn:
        status = conn.execute("SELECT review_status FROM images WHERE id = ?", (image_id,))
        assert status.fetchone()[0] == "done"
    with pytest.raises(ProjectError, match="marked done"):
        grading.clear_grade(image_id, "acne4")
    with pytest.raises(ProjectError, match="not in the project"):
        grading.set_grade(image_id + 1, "acne4", 1)


def test_repositories_share_one_transaction_through_the_database(db: Database) -> None:
    definitions, grading = DefinitionsRepository(db), GradesRepository(db)
    image_id = insert_image(db)
    with pytest.raises(ProjectError, match="not a grade"), db.write():
        definitions.add_scale(builtin_scale("iga5"))
        grading.set_grade(image_id, "iga5", 1)  # fine: the new scale is visible
        grading.set_grade(image_id, "iga5", 99)  # refused: undoes both edits
    assert [s.name for s in definitions.scales()] == ["acne4", "hyperpig"]
    assert grading.grades(image_id) == []
    conn = db.connection()
    assert isinstance(conn, sqlite3.Connection) and not conn.in_transaction


# --- the project composes them ------------------------------------------------------------
def test_the_project_reaches_its_repositories_and_still_forwards_their_calls(
    tmp_path: Path,
) -> None:
    from tests.core.conftest import add_image, open_test_project

    for project in open_test_project(tmp_path):
        assert isinstance(project.definitions, DefinitionsRepository)
        assert isinstance(project.grading, GradesRepository)
        image_id = add_image(project)
        # The transition forwards (callers not yet moved) are the repositories' own calls.
        assert project.label_set() == project.definitions.label_set()
        assert project.scales() == project.definitions.scales()
        assert project.add_label("cast") == project.definitions.label_set().labels[-1]
        project.add_scale(builtin_scale("iga5"))
        grade = project.set_grade(image_id, "iga5", 2, source="model", confidence=0.25)
        assert project.grades(image_id) == project.grading.grades(image_id) == [grade]
        assert project.grades_by_image() == {image_id: [grade]}
        project.clear_grade(image_id, "iga5", source="model")
        project.set_review_status(image_id, "to_review")
        assert project.grades(image_id) == [] and project.image(image_id).review_status == (
            "to_review"
        )

"""The model trust table alone (``ModelTrustRepository`` over a bare ``Database``): hashes
are recorded once and never changed, every record is audited, and a project opened in
this process is found by its folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.errors import ProjectError, ReadOnlyProjectError
from core.store import Project
from core.store.model_trust import (
    ADOPTION_KEY,
    ModelTrustRepository,
    open_repository,
)
from tests.core.conftest import fresh_database, open_test_project

SHA = "a" * 64
OTHER = "b" * 64


def test_a_record_is_kept_and_audited(tmp_path: Path) -> None:
    db = fresh_database(tmp_path)
    repo = ModelTrustRepository(db)
    record = repo.record("tiny-v1.pt", SHA, "detector", "imported")
    assert repo.get("tiny-v1.pt") == record
    assert (record.sha256, record.kind, record.origin, record.recorded_by) == (
        SHA,
        "detector",
        "imported",
        "dr.a",
    )
    assert repo.records() == {"tiny-v1.pt": record}
    assert repo.record("tiny-v1.pt", SHA, "detector", "imported") == record  # idempotent
    with db.read() as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY id")]
    assert actions.count("trust_model") == 1
    db.close()


def test_a_trusted_hash_is_never_changed_or_removed(tmp_path: Path) -> None:
    db = fresh_database(tmp_path)
    repo = ModelTrustRepository(db)
    repo.record("tiny-v1.pt", SHA, "detector", "imported")
    with pytest.raises(ProjectError, match="never replaced"):
        repo.record("tiny-v1.pt", OTHER, "detector", "imported")
    conn = db.connection()
    for statement in (
        "UPDATE model_trust SET sha256 = 'x' WHERE file = 'tiny-v1.pt'",
        "DELETE FROM model_trust",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="never"):
            conn.execute(statement)
    assert repo.get("tiny-v1.pt").sha256 == SHA  # type: ignore[union-attr]
    db.close()


@pytest.mark.parametrize(
    ("file", "sha", "origin"),
    [("../x.pt", SHA, "imported"), ("x.pt", "nothex", "imported"), ("x.pt", SHA, "magic")],
)
def test_malformed_records_are_refused(tmp_path: Path, file: str, sha: str, origin: str) -> None:
    db = fresh_database(tmp_path)
    with pytest.raises(ProjectError):
        ModelTrustRepository(db).record(file, sha, "detector", origin)
    db.close()


def test_a_new_project_has_nothing_to_adopt(tmp_path: Path) -> None:
    db = fresh_database(tmp_path)
    repo = ModelTrustRepository(db)
    assert not repo.adoption_pending()
    with db.read() as conn:
        assert db.meta(conn, ADOPTION_KEY) is None
    db.close()


def test_adoption_happens_once(tmp_path: Path) -> None:
    db = fresh_database(tmp_path)
    with db.write() as conn:
        db.set_meta(conn, ADOPTION_KEY, "pending")
    repo = ModelTrustRepository(db)
    assert repo.adoption_pending()
    adopted = repo.finish_adoption([("old-v1.pt", SHA, "detector", "adopted")])
    assert [r.file for r in adopted] == ["old-v1.pt"] and not repo.adoption_pending()
    assert repo.finish_adoption([("late-v1.pt", OTHER, "detector", "adopted")]) == []
    assert set(repo.records()) == {"old-v1.pt"}
    db.close()


def test_the_project_open_in_this_process_is_found_by_its_folder(tmp_path: Path) -> None:
    for project in open_test_project(tmp_path):
        assert open_repository(project.folder, writable=True) is project.model_trust
        with Project.open(project.folder, read_only=True) as reader:
            # The writer is preferred; read-only alone does not count as a writer.
            assert open_repository(project.folder) is project.model_trust
            project.close()
            assert open_repository(project.folder) is reader.model_trust
            assert open_repository(project.folder, writable=True) is None
            with pytest.raises(ReadOnlyProjectError):
                reader.model_trust.record("x-v1.pt", SHA, "detector", "imported")
        assert open_repository(project.folder) is None

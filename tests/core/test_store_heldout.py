"""The frozen held-out set (core.store.heldout): assigned once, stratified, seeded, never moved."""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from core.annotations import Box
from core.errors import ProjectError, ReadOnlyProjectError
from core.store import NewImage, Project
from core.store import schema as store_schema
from core.store.heldout import HELDOUT, TRAIN, assign_unassigned, stratum_of
from tests.core.conftest import fresh_database, insert_image, new_project

LABELS = ("zipper", "watch", "key", "belt buckle")


def _new(project: Project, start: int, n: int) -> list[NewImage]:
    return [
        NewImage(str(project.folder / f"i{k:04d}.png"), 64, 48, sha256=f"{k:064x}")
        for k in range(start, start + n)
    ]


def _labels_for(k: int) -> list[str]:
    """Four strata: none, zipper, watch, zipper+watch."""
    return [name for bit, name in ((1, "zipper"), (2, "watch")) if k & bit]


def test_every_new_image_gets_a_role_in_the_add_transaction(tmp_path: Path) -> None:
    with new_project(tmp_path / "p") as project:
        ids = project.add_images(_new(project, 0, 10))
        roles = project.heldout.roles()
        assert set(roles) == set(ids) and set(roles.values()) <= {TRAIN, HELDOUT}
        assert project.heldout.role(ids[0]) in (TRAIN, HELDOUT)
        with pytest.raises(ProjectError):
            project.heldout.role(999_999)
        assert project.heldout.fraction() == pytest.approx(0.2) and project.heldout.seed() == 0


def test_the_heldout_set_does_not_move_when_images_are_added(tmp_path: Path) -> None:
    with new_project(tmp_path / "p") as project:
        first = project.add_images(_new(project, 0, 50))
        before = {i: project.heldout.role(i) for i in first}
        project.add_images(_new(project, 50, 50))
        # and boxes arriving later do not move an image either
        project.add_boxes(first[0], [Box(0.0, 0.0, 5.0, 5.0, "zipper")])
        after = project.heldout.roles()
        assert {i: after[i] for i in first} == before
        assert len(after) == 100


def test_each_stratum_holds_about_a_fifth(tmp_path: Path) -> None:
    with new_project(tmp_path / "p") as project:
        n = 400
        items = _new(project, 0, n)
        # In chunks, as an import does, with the labels each image is about to get.
        for start in range(0, n, 37):
            chunk = items[start : start + 37]
            project.add_images(
                chunk, labels=[_labels_for(k) for k in range(start, start + len(chunk))]
            )
        roles = project.heldout.roles()
        ids = project.image_ids()
        per: dict[str, Counter[str]] = {}
        for k, image_id in enumerate(ids):
            per.setdefault(stratum_of(_labels_for(k)), Counter())[roles[image_id]] += 1
        assert len(per) == 4
        for counts in per.values():
            total = counts[TRAIN] + counts[HELDOUT]
            # floor(n f) <= held out <= floor(n f) + 1, by construction
            assert math.floor(total * 0.2) <= counts[HELDOUT] <= math.floor(total * 0.2) + 1
        assert project.heldout.summary() == {
            "images": len(project.heldout.ids(HELDOUT)),
            "reviewed": 0,
        }


def test_small_strata_are_held_out_too_not_always_trained(tmp_path: Path) -> None:
    # 200 singleton strata (each image its own label combination): about a fifth held out.
    with new_project(tmp_path / "p") as project:
        items = _new(project, 0, 200)
        project.add_images(items, labels=[[f"x{k}"] for k in range(200)])
        held = len(project.heldout.ids(HELDOUT))
        assert 20 <= held <= 60


def test_assignment_is_seeded_and_deterministic(tmp_path: Path) -> None:
    def roles_of(folder: Path) -> list[str]:
        with new_project(folder) as project:
            project.add_images(_new(project, 0, 120), labels=[_labels_for(k) for k in range(120)])
            return [project.heldout.role(i) for i in project.image_ids()]

    assert roles_of(tmp_path / "a") == roles_of(tmp_path / "b")


def test_a_role_is_never_updated(tmp_path: Path) -> None:
    with new_project(tmp_path / "p") as project:
        (image_id,) = project.add_images(_new(project, 0, 1))
    conn = sqlite3.connect(tmp_path / "p" / "project.clinlens")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="never moves"):
            conn.execute("UPDATE image_split SET role = 'heldout' WHERE image_id = ?", (image_id,))
        with pytest.raises(sqlite3.DatabaseError, match="never moves"):
            conn.execute("UPDATE image_split SET stratum = 'x'")
    finally:
        conn.close()


def test_read_only_projects_read_roles(tmp_path: Path) -> None:
    with new_project(tmp_path / "p") as writer:
        ids = writer.add_images(_new(writer, 0, 30))
        writer.set_grade(ids[0], "acne4", 1.0)
        writer.set_review_status(ids[0], "done")
        expected = writer.heldout.roles()
        with Project.open(tmp_path / "p", read_only=True) as reader:
            assert reader.heldout.roles() == expected
            assert reader.heldout.role(ids[0]) == expected[ids[0]]
            assert reader.heldout.ids(TRAIN) == sorted(i for i, r in expected.items() if r == TRAIN)
            reviewed = reader.heldout.ids(expected[ids[0]], reviewed_only=True)
            assert reviewed == [ids[0]]
            assert reader.stats()["heldout"] == reader.heldout.summary()
            with pytest.raises(ReadOnlyProjectError):
                reader.add_images(_new(reader, 100, 1))


def test_ids_refuses_an_unknown_role(tmp_path: Path) -> None:
    db = fresh_database(tmp_path)
    try:
        from core.store.heldout import HeldoutRepository

        with pytest.raises(ProjectError):
            HeldoutRepository(db).ids("test")
    finally:
        db.close()


def test_images_of_an_older_project_are_assigned_by_the_migration(tmp_path: Path) -> None:
    # A database at schema 2 with images (written straight to the tables) upgraded to 3.
    db = fresh_database(tmp_path)
    folder = db.folder
    try:
        ids = [insert_image(db, f"o{k}.png") for k in range(100)]
        with db.write() as conn:
            label = conn.execute("SELECT id FROM labels WHERE name = 'zipper'").fetchone()[0]
            for image_id in ids[:40]:
                conn.execute(
                    "INSERT INTO boxes (image_id, label_id, x1, y1, x2, y2, source, status, "
                    "created_at, updated_at) VALUES (?, ?, 0, 0, 1, 1, 'human', 'accepted', "
                    "'', '')",
                    (image_id, label),
                )
            # back to an unassigned state, as a schema-2 project would be
            conn.execute("DROP TRIGGER image_split_no_update")
            conn.execute("DELETE FROM image_split")
            assert assign_unassigned(conn) == 100
            rows = conn.execute("SELECT stratum, role FROM image_split").fetchall()
            assert assign_unassigned(conn) == 0  # once only
    finally:
        db.close()
    per = Counter(rows)
    assert per[("zipper", HELDOUT)] == 8 or per[("zipper", HELDOUT)] == 9
    assert per[("", HELDOUT)] in (12, 13)
    assert folder.is_dir()


def test_the_migration_to_3_assigns_existing_images(tmp_path: Path) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        store_schema.migrate(conn, "mem", store_schema.MIGRATIONS[:2])
        conn.execute("INSERT INTO meta (key, value) VALUES ('name', 'old')")
        for k in range(25):
            conn.execute(
                "INSERT INTO images (path, sha256, width, height, bit_depth, samples_per_pixel, "
                "added_at, updated_at) VALUES (?, ?, 10, 10, 8, 1, '', '')",
                (f"{k}.png", f"{k:064x}"),
            )
        assert store_schema.migrate(conn, "mem")[0] == 3  # then any later steps
        n, h = conn.execute("SELECT COUNT(*), SUM(role = 'heldout') FROM image_split").fetchone()
        assert n == 25 and h in (5, 6)
        assert conn.execute("SELECT value FROM meta WHERE key = 'heldout_fraction'").fetchone()
    finally:
        conn.close()


def test_stats_report_the_heldout_set(tmp_path: Path) -> None:
    with new_project(tmp_path / "p") as project:
        ids = project.add_images(_new(project, 0, 20))
        held = project.heldout.ids(HELDOUT)
        assert held
        project.set_grade(held[0], "acne4", 0.0)
        project.set_review_status(held[0], "done")
        assert project.stats()["heldout"] == {"images": len(held), "reviewed": 1}
        assert project.heldout.ids(HELDOUT, reviewed_only=True) == [held[0]]
        assert len(ids) == 20

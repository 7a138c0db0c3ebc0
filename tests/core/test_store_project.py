"""core.store.Project: creation, images and paths, filter settings, audit, stats, transactions.

Boxes, labels, scales, grades and review are in test_store_annotations.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.annotations import Box, builtin_label_set
from core.errors import ProjectError, UnknownLabelError
from core.store import DB_NAME, NewImage, Project, schema
from tests.core.conftest import add_image, open_test_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from open_test_project(tmp_path)


# --- creation and opening -----------------------------------------------------------------
def test_create_makes_folder_layout_and_records_meta(project: Project) -> None:
    assert (project.folder / DB_NAME).is_file()
    assert project.models_dir.is_dir() and project.exports_dir.is_dir()
    assert project.name == "proj"
    assert project.schema_version == schema.latest_version()
    assert project.definitions.label_set().name == "xray"
    assert [s.name for s in project.definitions.scales()] == ["acne4", "hyperpig"]
    assert project.author == "dr.a"
    assert not list(project.folder.glob("*.creating"))


def test_database_uses_wal_full_sync_and_foreign_keys(project: Project) -> None:
    conn = project._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(schema.latest_version())
    assert meta["label_set"] == "xray" and meta["created"]


def test_create_refuses_a_folder_that_already_holds_a_project(project: Project) -> None:
    with pytest.raises(ProjectError, match="already holds a ClinLens project"):
        Project.create(project.folder, label_set=builtin_label_set("acne"), scales=[])


def test_open_a_folder_that_is_not_a_project_names_it(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as err:
        Project.open(tmp_path)
    assert str(err.value) == f"'{tmp_path}' is not a ClinLens project (no project.clinlens)"


def test_open_a_garbage_database_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ProjectError, match="damaged or not a ClinLens project"):
        Project.open(tmp_path)


def test_open_an_empty_database_file_is_not_a_project(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / DB_NAME).close()
    with pytest.raises(ProjectError, match="is not a ClinLens project"):
        Project.open(tmp_path)


def test_reopen_keeps_everything(project: Project) -> None:
    image_id = add_image(project)
    box = project.add_box(image_id, Box(1, 2, 30, 40, "watch"))
    project.grading.set_grade(image_id, "acne4", 2)
    folder = project.folder
    project.close()
    with Project.open(folder, author="dr.b") as again:
        assert again.boxes(image_id) == [box]
        assert again.grading.grades(image_id)[0].value == 2.0
        assert again.author == "dr.b"


def test_closed_project_refuses_calls(project: Project) -> None:
    project.close()
    project.close()  # idempotent
    assert project.closed
    with pytest.raises(ProjectError, match="closed"):
        project.image_count()


def test_author_defaults_to_the_os_user_and_can_be_set(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "radiologist7")
    with Project.create(tmp_path / "p", label_set=builtin_label_set("acne"), scales=[]) as proj:
        assert proj.author == "radiologist7"
        proj.author = "dr.c"
        image_id = add_image(proj)
        assert proj.add_box(image_id, Box(0, 0, 5, 5, "papule")).author == "dr.c"
        assert proj.audit_events(limit=1)[0].author == "dr.c"
        with pytest.raises(ProjectError):
            proj.author = "  "


def test_author_falls_back_when_the_os_cannot_tell(tmp_path: Path, monkeypatch) -> None:
    def fail() -> str:
        raise OSError("no user")

    monkeypatch.setattr("getpass.getuser", fail)
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("USERNAME", raising=False)
    with Project.create(tmp_path / "p", label_set=builtin_label_set("acne"), scales=[]) as proj:
        assert proj.author == "unknown"


# --- images -------------------------------------------------------------------------------
def test_paths_inside_the_project_are_relative_and_outside_absolute(
    project: Project, tmp_path: Path
) -> None:
    inside = project.folder / "sub" / "x.dcm"
    outside = tmp_path / "elsewhere" / "y.png"
    ids = project.add_images([NewImage(str(inside), 10, 10), NewImage(str(outside), 10, 10)])
    first, second = project.image(ids[0]), project.image(ids[1])
    assert first.path == "sub/x.dcm"
    assert second.path == str(outside)
    assert project.image_path(first) == inside
    assert project.image_path(second) == outside
    assert project.find_image(path=inside) == first
    assert project.find_image(path=str(outside)).id == second.id


def test_add_images_records_header_fields_and_finds_by_sha(project: Project) -> None:
    item = NewImage(
        str(project.folder / "c.dcm"),
        2048,
        1024,
        bit_depth=16,
        samples_per_pixel=1,
        modality="DX",
        sha256="ab" * 32,
    )
    (image_id,) = project.add_images([item])
    record = project.image(image_id)
    assert (record.width, record.height, record.bit_depth, record.modality) == (
        2048,
        1024,
        16,
        "DX",
    )
    assert record.review_status == "new" and record.box_count == 0 and record.error is None
    assert project.find_image(sha256="ab" * 32) == record
    assert project.find_image(path="nope.png") is None


def test_duplicate_path_is_refused_all_or_nothing_or_reused(project: Project) -> None:
    first = add_image(project, "a.png")
    with pytest.raises(ProjectError, match="already in the project"):
        project.add_images(
            [
                NewImage(str(project.folder / "b.png"), 5, 5),
                NewImage(str(project.folder / "a.png"), 5, 5),
            ]
        )
    assert project.image_count() == 1  # b.png was rolled back with the batch
    ids = project.add_images(
        [
            NewImage(str(project.folder / "a.png"), 5, 5),
            NewImage(str(project.folder / "b.png"), 5, 5),
        ],
        existing="reuse",
    )
    assert ids[0] == first and project.image_count() == 2


def test_a_file_name_that_is_not_utf8_is_refused_clearly(project: Project) -> None:
    odd = str(project.folder) + "/scan\udcff.png"  # how Python spells a non-UTF-8 POSIX name
    with pytest.raises(ProjectError, match=r"scan\\udcff\.png.*not valid UTF-8"):
        project.add_images([NewImage(odd, 5, 5)])
    assert project.find_image(path=odd) is None
    assert project.image_count() == 0


def test_image_errors_are_recorded_and_cleared(project: Project) -> None:
    image_id = add_image(project)
    project.set_image_error(image_id, "cannot read: truncated file")
    assert project.image(image_id).error == "cannot read: truncated file"
    assert project.stats()["images_with_errors"] == 1
    project.set_image_error(image_id, None)
    assert project.image(image_id).error is None


def test_missing_image_is_a_project_error(project: Project) -> None:
    with pytest.raises(ProjectError, match="#999"):
        project.image(999)
    with pytest.raises(ProjectError):
        project.add_box(999, Box(0, 0, 1, 1, "zipper"))


def test_image_list_pages_and_filters(project: Project) -> None:
    ids = project.add_images(
        NewImage(str(project.folder / f"{'knee' if i % 2 else 'hand'}_{i:03d}.png"), 50, 50)
        for i in range(30)
    )
    assert project.image_count() == 30
    assert [r.id for r in project.images(offset=10, limit=5)] == ids[10:15]
    assert len(project.images()) == 30
    assert project.image_count(search="KNEE") == 15
    assert all("knee" in r.path for r in project.images(search="knee", limit=100))
    assert project.image_count(search="%") == 0  # wildcards are literal
    assert project.image_count(search="_0") == 30
    project.add_box(ids[3], Box(1, 1, 5, 5, "watch"))
    rejected = project.add_box(ids[4], Box(1, 1, 5, 5, "watch", source="model", status="suggested"))
    project.update_box(rejected.id, status="rejected")
    assert [r.id for r in project.images(label="watch")] == [ids[3]]
    assert project.image_count(label="watch") == 1
    assert project.image_count(label="no such label") == 0
    project.grading.set_review_status(ids[7], "to_review")
    project.grading.set_review_status(ids[8], "in_progress")
    assert [r.id for r in project.images(status="to_review")] == [ids[7]]
    assert project.image_count(status=["to_review", "in_progress"]) == 2
    assert project.image_count(status="new", search="hand") == 14  # hand_008 is in progress
    with pytest.raises(ProjectError, match="unknown review status"):
        project.images(status="finished")
    assert project.image_ids() == ids


def test_image_list_queries_use_indexes(project: Project) -> None:
    conn = project._connection()

    def plan(sql: str, *params: object) -> str:
        return " ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    assert "images_status" in plan(
        "SELECT id FROM images WHERE review_status IN (?) ORDER BY id LIMIT 100", "new"
    )
    assert "boxes_label" in plan(
        "SELECT id FROM images WHERE id IN (SELECT image_id FROM boxes WHERE label_id = ? "
        "AND status != 'rejected') ORDER BY id LIMIT 100",
        1,
    )
    assert "boxes_image" in plan("SELECT * FROM boxes WHERE image_id = ?", 1)


# --- filter settings ------------------------------------------------------------------------
def test_filter_settings_per_image_and_project_default(project: Project) -> None:
    image_id = add_image(project)
    assert project.filter_settings(image_id) is None and project.default_filter_settings() is None
    settings = {"window_center": 1200.0, "window_width": 400.0, "clahe": True, "preset": None}
    project.set_filter_settings(image_id, settings)
    assert project.filter_settings(image_id) == settings
    project.set_default_filter_settings({"preset": "bone"})
    assert project.default_filter_settings() == {"preset": "bone"}
    project.set_filter_settings(image_id, None)
    assert project.filter_settings(image_id) is None
    with pytest.raises(ProjectError, match="mapping"):
        project.set_filter_settings(image_id, [1, 2])  # type: ignore[arg-type]
    with pytest.raises(ProjectError, match="cannot be saved"):
        project.set_filter_settings(image_id, {"gamma": float("nan")})


# --- audit and stats ----------------------------------------------------------------------
def test_every_edit_writes_an_audit_event_with_before_and_after(project: Project) -> None:
    image_id = add_image(project)
    box = project.add_box(image_id, Box(1, 1, 5, 5, "key"))
    project.update_box(box.id, label="bra")
    project.delete_box(box.id)
    project.grading.set_grade(image_id, "acne4", 1)
    project.grading.set_grade(image_id, "acne4", 2)
    project.grading.clear_grade(image_id, "acne4")
    project.grading.set_review_status(image_id, "in_progress")
    project.set_filter_settings(image_id, {"gamma": 1.2})
    events = project.audit_events(image_id=image_id)
    assert [e.action for e in reversed(events)] == [
        "add_image", "add_box", "update_box", "delete_box", "set_grade", "set_grade",
        "clear_grade", "set_review_status", "set_filter_settings",
    ]  # fmt: skip
    by_action = {e.action: e for e in events}
    assert by_action["add_box"].before is None and by_action["add_box"].after["label"] == "key"
    update = by_action["update_box"]
    assert (update.before["label"], update.after["label"]) == ("key", "bra")
    assert (
        by_action["delete_box"].before["label"] == "bra" and by_action["delete_box"].after is None
    )
    assert by_action["clear_grade"].before["value"] == 2.0
    assert by_action["set_review_status"].after == {"review_status": "in_progress"}
    assert all(e.author == "dr.a" and e.at for e in events)
    assert all(e.entity_id is not None for e in events)
    project.definitions.add_label("tattoo")
    assert project.audit_events(limit=1)[0].action == "add_label"
    assert project.audit_events(limit=1000)[-1].action == "create_project"


def test_stats_counts(project: Project) -> None:
    a, b = add_image(project, "a.png"), add_image(project, "b.png")
    project.add_boxes(a, [Box(1, 1, 5, 5, "key"), Box(1, 1, 5, 5, "key"), Box(2, 2, 4, 4, "bra")])
    rej = project.add_box(b, Box(1, 1, 5, 5, "key", source="model", status="suggested"))
    project.update_box(rej.id, status="rejected")
    project.grading.set_grade(a, "acne4", 1)
    project.grading.set_grade(a, "hyperpig", 2)
    project.grading.set_review_status(a, "done")
    stats = project.stats()
    assert stats["images"] == 2 and stats["boxes"] == 3
    assert stats["boxes_per_label"]["key"] == 2 and stats["boxes_per_label"]["bra"] == 1
    assert stats["boxes_per_label"]["watch"] == 0
    assert stats["boxes_per_status"] == {"suggested": 0, "accepted": 3, "edited": 0, "rejected": 1}
    assert stats["grades_per_scale"] == {"acne4": 1, "hyperpig": 1}
    assert stats["status_counts"] == {"new": 1, "in_progress": 0, "to_review": 0, "done": 1}
    json.dumps(stats)  # the CLI prints it as JSON


# --- transactions -------------------------------------------------------------------------
def test_batch_groups_edits_and_rolls_back_on_error(project: Project) -> None:
    image_id = add_image(project)
    with pytest.raises(RuntimeError), project.batch():
        project.add_box(image_id, Box(1, 1, 5, 5, "key"))
        project.grading.set_grade(image_id, "acne4", 1)
        raise RuntimeError("import failed half way")
    assert project.boxes(image_id) == [] and project.grading.grades(image_id) == []
    with project.batch():
        project.add_box(image_id, Box(1, 1, 5, 5, "key"))
        with pytest.raises(UnknownLabelError), project.batch():
            project.add_box(image_id, Box(1, 1, 5, 5, "bra"))
            project.add_box(image_id, Box(1, 1, 5, 5, "nope"))
    assert [b.label for b in project.boxes(image_id)] == ["key"]


def test_a_failed_edit_leaves_the_connection_usable(project: Project) -> None:
    image_id = add_image(project)
    with pytest.raises(ProjectError):
        project.grading.set_grade(image_id, "acne4", 9)
    assert not project._connection().in_transaction
    project.grading.set_grade(image_id, "acne4", 1)
    assert len(project.grading.grades(image_id)) == 1


def test_paths_through_a_symlinked_project_folder_stay_relative(tmp_path: Path) -> None:
    real = tmp_path / "real"
    with Project.create(real, label_set=builtin_label_set("acne"), scales=[]) as proj:
        proj.close()
    link = tmp_path / "link"
    try:
        link.symlink_to(real, target_is_directory=True)
    except OSError:
        pytest.skip("symlinks not available")
    with Project.open(link) as proj:
        (image_id,) = proj.add_images([NewImage(str(real / "img" / "face.jpg"), 10, 10)])
        assert proj.image(image_id).path == "img/face.jpg"


def test_edits_from_two_threads_are_serialised(project: Project) -> None:
    import threading

    image_id = add_image(project)
    errors: list[BaseException] = []

    def work(label: str) -> None:
        try:
            for i in range(40):
                project.add_box(image_id, Box(i, i, i + 5, i + 5, label))
        except BaseException as exc:  # reported below: a thread must not fail silently
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("key", "bra")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert project.image(image_id).box_count == 80


def test_a_creation_that_fails_leaves_no_project(tmp_path: Path, monkeypatch) -> None:
    import core.store.project as project_module

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_module.os, "replace", crash)
    with pytest.raises(ProjectError, match=r"cannot create a project .*No space left"):
        Project.create(tmp_path / "p", label_set=builtin_label_set("acne"), scales=[])
    assert not (tmp_path / "p" / DB_NAME).exists()
    monkeypatch.undo()
    with Project.create(tmp_path / "p", label_set=builtin_label_set("acne"), scales=[]) as proj:
        assert proj.image_count() == 0  # the lock was released and leftovers cleaned


def test_find_image_accepts_a_project_relative_path(project: Project) -> None:
    image_id = add_image(project, "scans/a.png")
    assert project.find_image(path="scans/a.png").id == image_id  # cwd is elsewhere


def test_relocate_image_keeps_annotations_and_is_audited(project: Project, tmp_path: Path) -> None:
    image_id = add_image(project, "a.png")
    box = project.add_box(image_id, Box(1, 1, 5, 5, "key"))
    moved = project.relocate_image(image_id, tmp_path / "moved" / "a.png", sha256="cd" * 32)
    assert moved.path == str(tmp_path / "moved" / "a.png") and moved.sha256 == "cd" * 32
    assert project.boxes(image_id) == [box]
    event = project.audit_events(image_id=image_id, limit=1)[0]
    assert event.action == "relocate_image" and event.before["path"] == "a.png"
    other = add_image(project, "b.png")
    with pytest.raises(ProjectError, match="already in the project"):
        project.relocate_image(other, tmp_path / "moved" / "a.png")


def test_a_read_does_not_wait_for_another_threads_open_write(project: Project) -> None:
    """A background job's transaction (its commit fsyncs) must not freeze the GUI thread's
    reads: they see the last committed state at once, and the writer's thread sees its own
    uncommitted edits."""
    import threading

    image_id = add_image(project, "a.png")
    project.add_boxes(image_id, [Box(1, 1, 5, 5, "key")])
    inside, release = threading.Event(), threading.Event()
    seen_by_writer: list[int] = []

    def job() -> None:
        with project.batch():
            project.add_boxes(image_id, [Box(2, 2, 6, 6, "key")])
            seen_by_writer.append(len(project.boxes(image_id)))
            inside.set()
            release.wait(10)

    writer = threading.Thread(target=job)
    writer.start()
    assert inside.wait(10)
    during = project.boxes(image_id)
    # No stopwatch: the writer holds its transaction open until `release`, which is set
    # only after the read. A read that waited for it would return after the writer gave
    # up waiting (10 s) and committed: the writer would be finished and 2 boxes visible.
    writer_still_open = writer.is_alive() and not release.is_set()
    release.set()
    writer.join(10)
    assert writer_still_open, "the read returned while the writer's transaction was open"
    assert len(during) == 1, "the committed state, not the open transaction's"
    assert seen_by_writer == [2]
    assert len(project.boxes(image_id)) == 2
    project.close()
    with pytest.raises(ProjectError, match="closed"):
        project.boxes(image_id)

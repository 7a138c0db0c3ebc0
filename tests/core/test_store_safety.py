"""Store safety: one writer, read-only access beside it, migrations, kills mid-edit."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.annotations import Box, builtin_label_set, builtin_scale
from core.errors import ProjectError, ProjectLockedError, ReadOnlyProjectError
from core.store import DB_NAME, NewImage, Project, schema
from core.store.lock import LOCK_NAME
from core.store.schema import Migration

ROOT = Path(__file__).resolve().parents[2]


def _make(folder: Path) -> int:
    """A closed project with one 200x100 image; returns the image id."""
    with Project.create(
        folder, label_set=builtin_label_set("xray"), scales=[builtin_scale("acne4")]
    ) as proj:
        return proj.add_images([NewImage(str(folder / "img.png"), 200, 100)])[0]


def _python(code: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,  # type: ignore[arg-type]
    )


# --- single writer ------------------------------------------------------------------------
TRY_OPEN = """
import sys
from core.store import Project
from core.errors import ClinLensError
try:
    Project.open(sys.argv[1])
except ClinLensError as exc:
    print(type(exc).__name__, exc)
else:
    print("opened")
"""


def test_second_process_cannot_open_for_writing(tmp_path: Path) -> None:
    _make(tmp_path / "p")
    with Project.open(tmp_path / "p"):
        out, _ = _python(TRY_OPEN, str(tmp_path / "p")).communicate(timeout=60)
        assert out.startswith("ProjectLockedError")
        assert "already open for writing by another ClinLens" in out
        assert "read-only" in out and f"pid {os.getpid()}" in out
    out, _ = _python(TRY_OPEN, str(tmp_path / "p")).communicate(timeout=60)
    assert out.strip() == "opened"


def test_second_writer_in_the_same_process_is_refused(tmp_path: Path) -> None:
    _make(tmp_path / "p")
    with Project.open(tmp_path / "p"), pytest.raises(ProjectLockedError):
        Project.open(tmp_path / "p")
    Project.open(tmp_path / "p").close()  # released on close


HOLD_AND_EDIT = """
import sys
from core.annotations import Box
from core.store import Project
p = Project.open(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    box = p.add_box(int(sys.argv[2]), Box(1, 1, 9, 9, line.strip()))
    print(box.id, flush=True)
"""


def test_read_only_open_works_beside_a_writer_and_sees_its_edits(tmp_path: Path) -> None:
    image_id = _make(tmp_path / "p")
    writer = _python(HOLD_AND_EDIT, str(tmp_path / "p"), str(image_id), stdin=subprocess.PIPE)
    try:
        assert writer.stdout.readline().strip() == "ready"
        with pytest.raises(ProjectLockedError):
            Project.open(tmp_path / "p")
        with Project.open(tmp_path / "p", read_only=True) as reader:
            assert reader.read_only
            writer.stdin.write("watch\n")
            writer.stdin.flush()
            box_id = int(writer.stdout.readline())
            assert [b.id for b in reader.boxes(image_id)] == [box_id]
            with pytest.raises(ReadOnlyProjectError, match="read-only"):
                reader.add_box(image_id, Box(1, 1, 2, 2, "key"))
            with pytest.raises(ReadOnlyProjectError):
                reader.grading.set_review_status(image_id, "in_progress")
            with pytest.raises(ReadOnlyProjectError):
                reader.definitions.add_label("tattoo")
            with pytest.raises(ReadOnlyProjectError):
                reader.set_default_filter_settings({"gamma": 2.0})
    finally:
        writer.stdin.close()
        writer.wait(timeout=60)
    assert writer.returncode == 0


def test_unwritable_folder_gives_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    _make(tmp_path / "p")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("core.store.lock.open", refuse, raising=False)
    with pytest.raises(ProjectError, match=r"cannot write to .* open the project read-only"):
        Project.open(tmp_path / "p")
    with Project.open(tmp_path / "p", read_only=True) as reader:
        assert reader.image_count() == 1


def test_project_file_without_write_permission_is_refused_at_open(
    tmp_path: Path, monkeypatch
) -> None:
    _make(tmp_path / "p")
    real_access = os.access

    def no_write_on_db(path: object, mode: int, **kwargs: object) -> bool:
        if str(path).endswith(DB_NAME) and mode & os.W_OK:
            return False  # what chmod a-w does for anyone but root
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", no_write_on_db)
    with pytest.raises(ProjectError, match=rf"{DB_NAME} is read-only; open the project read-only"):
        Project.open(tmp_path / "p")
    with Project.open(tmp_path / "p", read_only=True) as reader:
        assert reader.image_count() == 1
    monkeypatch.setattr(os, "access", real_access)
    with Project.open(tmp_path / "p") as writer:  # the refusal left no lock behind
        assert not writer.read_only


def test_folder_that_cannot_be_looked_into_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    _make(tmp_path / "p")

    def denied(self: Path) -> bool:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "is_file", denied)
    with pytest.raises(ProjectError, match=r"cannot open .*Permission denied"):
        Project.open(tmp_path / "p", read_only=True)


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind root"
)
def test_read_only_folder_opens_read_only(tmp_path: Path) -> None:
    _make(tmp_path / "p")
    os.chmod(tmp_path / "p", 0o555)
    try:
        with pytest.raises(ProjectError, match="read-only"):
            Project.open(tmp_path / "p")
        with Project.open(tmp_path / "p", read_only=True) as reader:
            assert reader.image_count() == 1
    finally:
        os.chmod(tmp_path / "p", 0o755)


# --- schema versions ----------------------------------------------------------------------
def _add_note_column(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE images ADD COLUMN note TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE images SET note = 'migrated'")


def test_older_project_is_migrated_with_a_backup(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "p"
    image_id = _make(folder)
    with Project.open(folder) as proj:
        box = proj.add_box(image_id, Box(1, 2, 3, 4, "key"))
    old = schema.latest_version()
    monkeypatch.setattr(
        schema,
        "MIGRATIONS",
        [*schema.MIGRATIONS, Migration(old + 1, "image notes", _add_note_column)],
    )
    with pytest.raises(ProjectError, match="older ClinLens"):
        Project.open(folder, read_only=True)
    with Project.open(folder) as proj:
        assert proj.schema_version == old + 1
        assert proj.boxes(image_id) == [box]
        conn = proj._connection()
        assert conn.execute("SELECT note FROM images").fetchone()[0] == "migrated"
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[
            0
        ] == str(old + 1)
    backup = sqlite3.connect(folder / f"{DB_NAME}.v{old}.bak")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == old
    assert backup.execute("SELECT COUNT(*) FROM boxes").fetchone()[0] == 1
    backup.close()
    with Project.open(folder, read_only=True) as reader:  # now current: read-only is fine
        assert reader.schema_version == old + 1


def test_a_failing_migration_leaves_the_project_unchanged(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "p"
    _make(folder)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE images ADD COLUMN note TEXT")
        raise RuntimeError("boom")

    old = schema.latest_version()
    with monkeypatch.context() as patch:
        patch.setattr(
            schema, "MIGRATIONS", [*schema.MIGRATIONS, Migration(old + 1, "notes", broken)]
        )
        with pytest.raises(
            ProjectError, match=rf"could not upgrade .* version {old + 1} .* left unchanged"
        ):
            Project.open(folder)
    with Project.open(folder) as proj:  # the lock was released, the schema is still the old one
        assert proj.schema_version == old
        columns = [r[1] for r in proj._connection().execute("PRAGMA table_info(images)")]
        assert "note" not in columns and proj.image_count() == 1


def test_newer_project_is_refused_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    _make(folder)
    conn = sqlite3.connect(folder / DB_NAME)
    newer = schema.latest_version() + 1
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.close()
    for read_only in (False, True):
        with pytest.raises(
            ProjectError,
            match=rf"newer ClinLens .* format {newer}; this version reads up to "
            rf"{schema.latest_version()}",
        ):
            Project.open(folder, read_only=read_only)


def test_migration_steps_must_be_numbered_in_order(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    with pytest.raises(ValueError, match="version 2"):
        schema.migrate(conn, "x", [schema.MIGRATIONS[0], Migration(3, "skip", lambda c: None)])
    conn.close()


# --- kills ------------------------------------------------------------------------------------
EDITOR = """
import sys
from core.annotations import Box
from core.store import Project
p = Project.open(sys.argv[1])
image_id, i = int(sys.argv[2]), int(sys.argv[3])
while True:
    box = p.add_box(image_id, Box(i % 150, 1, i % 150 + 10, 11, "zipper"))
    print("add", box.id, flush=True)
    p.update_box(box.id, y2=50.5)
    print("upd", box.id, flush=True)
    if i % 3 == 0:
        p.delete_box(box.id)
        print("del", box.id, flush=True)
    p.grading.set_grade(image_id, "acne4", i % 4)
    print("grade", i % 4, flush=True)
    i += 1
"""


def _state(folder: Path, image_id: int) -> tuple[dict[int, float], float | None]:
    with Project.open(folder, read_only=True) as proj:
        boxes = {b.id: b.y2 for b in proj.boxes(image_id)}
        grades = [g.value for g in proj.grading.grades(image_id)]
    return boxes, (grades[0] if grades else None)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_during_edits_loses_at_most_the_edit_in_flight(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    image_id = _make(folder)
    rng = random.Random(20240501)
    expected: dict[int, float] = {}
    grade: float | None = None
    start = 0
    for kill_after in [1, *(rng.randint(5, 60) for _ in range(5))]:
        child = _python(EDITOR, str(folder), str(image_id), str(start))
        reported = 0
        while reported < kill_after:
            line = child.stdout.readline().split()
            assert line, child.stderr.read()
            op, value = line[0], int(line[1])
            if op == "add":
                expected[value] = 11.0
            elif op == "upd":
                expected[value] = 50.5
            elif op == "del":
                del expected[value]
            else:
                grade = float(value)
            reported += 1
        child.send_signal(signal.SIGKILL)  # the child is in the middle of its next edit
        child.wait(timeout=60)
        child.stdout.close()
        child.stderr.close()
        assert (folder / LOCK_NAME).exists()  # a stale lock file, which must not block

        conn = sqlite3.connect(folder / DB_NAME)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        boxes, stored_grade = _state(folder, image_id)
        # Everything reported is there; at most one more edit (the one in flight) differs.
        differences = {k for k in boxes.keys() | expected.keys() if boxes.get(k) != expected.get(k)}
        if stored_grade != grade:
            differences.add(-1)
        assert len(differences) <= 1, (differences, boxes, expected)
        extra = differences - expected.keys() - {-1}
        assert all(k > max(expected, default=0) for k in extra)
        expected, grade = boxes, stored_grade
        start += kill_after
    with Project.open(folder) as proj:  # a later writer is not blocked by the kills
        assert proj.image(image_id).box_count == len(expected)

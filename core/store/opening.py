"""Creating, opening and upgrading the database file of a project.

``connect(folder, read_only=..., author=...)`` opens a built database as a ``Database``
(what ``Project`` and, in tests, a repository on its own are made from); the rest has no
public API.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from core.annotations import GradingScale, LabelSet
from core.errors import ProjectError
from core.store import schema
from core.store.database import Database, to_json
from core.store.definitions import insert_labels, insert_scale, scale_to_dict
from core.store.records import now_iso

DB_NAME = "project.clinlens"
SIDE_FILES = ("-wal", "-shm", "-journal")


def fsync_dir(folder: Path) -> None:
    # Makes the rename of a new database durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_definitions(label_set: LabelSet, scales: Sequence[GradingScale]) -> None:
    ids = [lab.id for lab in label_set.labels]
    names = [lab.name for lab in label_set.labels]
    if len(set(ids)) != len(ids) or any(i < 0 for i in ids):
        raise ProjectError(f"label set '{label_set.name}' has repeated or negative ids")
    if len(set(names)) != len(names):
        raise ProjectError(f"label set '{label_set.name}' has repeated names")
    scale_names = [s.name for s in scales]
    if len(set(scale_names)) != len(scale_names):
        raise ProjectError("a grading scale appears twice")


def build_database(
    path: Path,
    folder: Path,
    label_set: LabelSet,
    scales: Sequence[GradingScale],
    name: str,
    author: str,
) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        schema.migrate(conn, f"'{folder}'")
        stamp = now_iso()
        conn.execute("BEGIN IMMEDIATE")
        for key, value in (
            ("name", name),
            ("created", stamp),
            ("created_by", author),
            ("label_set", label_set.name),
            ("label_set_title", label_set.title or label_set.name),
        ):
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        insert_labels(conn, label_set.labels)
        for scale in scales:
            insert_scale(conn, scale)
        conn.execute(
            "INSERT INTO audit (at, author, action, entity, after) VALUES (?, ?, ?, ?, ?)",
            (
                stamp,
                author,
                "create_project",
                "project",
                to_json(
                    {
                        "name": name,
                        "label_set": label_set.name,
                        "labels": label_set.names(),
                        "scales": {s.name: scale_to_dict(s) for s in scales},
                    }
                ),
            ),
        )
        conn.execute("COMMIT")
        # WAL is a property of the file: set once here, before the rename into place.
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def open_read_only(db: Path, folder: Path) -> sqlite3.Connection:
    uri = db.absolute().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        if os.access(folder, os.W_OK):
            raise
        # A WAL database on read-only media (no -shm can be made): read it as immutable,
        # which is safe because nobody can be writing to a folder nobody can write to.
        conn = sqlite3.connect(
            uri + "&immutable=1", uri=True, isolation_level=None, check_same_thread=False
        )
    conn.execute("PRAGMA query_only = ON")
    return conn


def check_version(conn: sqlite3.Connection, folder: Path, read_only: bool) -> None:
    version = schema.read_version(conn)
    latest = schema.latest_version()
    if version == 0:
        raise ProjectError(
            f"'{folder}' is not a ClinLens project ({DB_NAME} is empty or unfinished)"
        )
    if version > latest:
        raise ProjectError(
            f"'{folder}' was saved by a newer ClinLens (project format {version}; this "
            f"version reads up to {latest}); update ClinLens to open it"
        )
    if version < latest:
        if read_only:
            raise ProjectError(
                f"'{folder}' was saved by an older ClinLens (project format {version}); "
                "open it once for writing to upgrade it"
            )
        backup = folder / f"{DB_NAME}.v{version}.bak"
        target = sqlite3.connect(backup)
        try:
            conn.backup(target)
        finally:
            target.close()
        schema.migrate(conn, f"'{folder}'")


def connect(folder: Path, *, read_only: bool, author: str | None) -> Database:
    """Open the project database in ``folder`` (upgrading an older schema when writable).

    Writable: WAL with ``synchronous=FULL``, foreign keys on, and a second, query-only
    connection for reads while another thread writes. The caller holds the write lock.
    """
    db = folder / DB_NAME
    try:
        if read_only:
            conn = open_read_only(db, folder)
        else:
            conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
            # Durable commits; WAL so readers never block the writer.
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise ProjectError(f"'{folder}': cannot switch the project to WAL mode")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        check_version(conn, folder, read_only)
    except sqlite3.DatabaseError as exc:
        raise ProjectError(
            f"'{db}' cannot be opened: it is damaged or not a ClinLens project ({exc})"
        ) from exc
    database = Database(folder, conn, read_only=read_only, author=author)
    if not read_only:
        database.set_reader_factory(lambda: _reader_connection(db))
    return database


def _reader_connection(db: Path) -> sqlite3.Connection:
    """A second, query-only connection for reads while a background job writes (WAL)."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn

"""Database schema and its migrations.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``; a new project applies
them all from an empty file. The version lives in ``PRAGMA user_version`` (cheap to read
before anything else) and is mirrored in ``meta.schema_version`` for people reading the file.
To change the schema: append a migration, never edit a released one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.errors import ProjectError


@dataclass(frozen=True)
class Migration:
    version: int  # the version the database has after this step
    description: str
    apply: Callable[[sqlite3.Connection], None]


_V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Label registry: ids are class ids in exports, so rows are only ever appended.
CREATE TABLE labels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    color TEXT NOT NULL,
    hotkey TEXT,
    created_at TEXT NOT NULL
);
CREATE TRIGGER labels_no_delete BEFORE DELETE ON labels
BEGIN SELECT RAISE(ABORT, 'the label registry is append-only'); END;
CREATE TRIGGER labels_no_rename BEFORE UPDATE OF id, name ON labels
BEGIN SELECT RAISE(ABORT, 'the label registry is append-only'); END;

CREATE TABLE scales (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    definition TEXT NOT NULL,          -- JSON: title, values, groups
    required INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,         -- relative to the project (with /) when inside it
    sha256 TEXT,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bit_depth INTEGER NOT NULL,
    samples_per_pixel INTEGER NOT NULL,
    modality TEXT,
    review_status TEXT NOT NULL DEFAULT 'new'
        CHECK (review_status IN ('new', 'in_progress', 'to_review', 'done')),
    box_count INTEGER NOT NULL DEFAULT 0,   -- non-rejected boxes, kept by triggers below
    error TEXT,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX images_status ON images (review_status, id);
CREATE INDEX images_sha256 ON images (sha256);

-- AUTOINCREMENT: a box id is never handed out twice, so undo can restore a deleted box
-- under its old id.
CREATE TABLE boxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    label_id INTEGER NOT NULL REFERENCES labels (id),
    x1 REAL NOT NULL,
    y1 REAL NOT NULL,
    x2 REAL NOT NULL,
    y2 REAL NOT NULL,
    difficult INTEGER NOT NULL DEFAULT 0,
    truncated INTEGER NOT NULL DEFAULT 0,
    occluded INTEGER NOT NULL DEFAULT 0,
    pose TEXT NOT NULL DEFAULT 'Unspecified',
    source TEXT NOT NULL CHECK (source IN ('human', 'model')),
    model_version TEXT,
    score REAL,
    status TEXT NOT NULL CHECK (status IN ('suggested', 'accepted', 'edited', 'rejected')),
    author TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX boxes_image ON boxes (image_id);
CREATE INDEX boxes_label ON boxes (label_id, image_id);

CREATE TRIGGER boxes_count_insert AFTER INSERT ON boxes WHEN NEW.status != 'rejected'
BEGIN UPDATE images SET box_count = box_count + 1 WHERE id = NEW.image_id; END;
CREATE TRIGGER boxes_count_delete AFTER DELETE ON boxes WHEN OLD.status != 'rejected'
BEGIN UPDATE images SET box_count = box_count - 1 WHERE id = OLD.image_id; END;
CREATE TRIGGER boxes_count_update AFTER UPDATE OF status, image_id ON boxes
BEGIN
    UPDATE images SET box_count = box_count - (OLD.status != 'rejected') WHERE id = OLD.image_id;
    UPDATE images SET box_count = box_count + (NEW.status != 'rejected') WHERE id = NEW.image_id;
END;

-- One human and at most one model grade per image and scale.
CREATE TABLE grades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    scale TEXT NOT NULL REFERENCES scales (name),
    value REAL NOT NULL,
    author TEXT,
    source TEXT NOT NULL CHECK (source IN ('human', 'model')),
    model_version TEXT,
    confidence REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (image_id, scale, source)
);
CREATE INDEX grades_scale ON grades (scale, source);

CREATE TABLE filter_settings (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    settings TEXT NOT NULL,            -- JSON of FilterSettings.to_dict()
    updated_at TEXT NOT NULL
);

-- No foreign key on image_id: the audit trail must outlive what it describes.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    action TEXT NOT NULL,
    image_id INTEGER,
    entity TEXT NOT NULL,
    entity_id INTEGER,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_image ON audit (image_id, id);
"""


def _v1(conn: sqlite3.Connection) -> None:
    for statement in _split(_V1):
        conn.execute(statement)


def _split(script: str) -> list[str]:
    """Split a DDL script into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if line.strip().startswith("--") and not current:
            continue
        current.append(line)
        candidate = "\n".join(current).strip()
        if candidate and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            current = []
    if "\n".join(current).strip():
        raise ValueError("incomplete SQL statement in schema script")
    return statements


_V2 = """
-- The SHA-256 of every model file the project trusts (core.store.model_trust). Append-only:
-- a trusted file name keeps its hash for good, so a row can never be bent to a swapped file.
CREATE TABLE model_trust (
    file TEXT PRIMARY KEY,             -- name inside the project's models/ folder
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    kind TEXT NOT NULL,
    origin TEXT NOT NULL
        CHECK (origin IN ('imported', 'trained', 'converted', 'adopted', 'legacy')),
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE TRIGGER model_trust_no_update BEFORE UPDATE ON model_trust
BEGIN SELECT RAISE(ABORT, 'a trusted model hash is never changed'); END;
CREATE TRIGGER model_trust_no_delete BEFORE DELETE ON model_trust
BEGIN SELECT RAISE(ABORT, 'a trusted model hash is never removed'); END;
"""


def _v2(conn: sqlite3.Connection) -> None:
    for statement in _split(_V2):
        conn.execute(statement)
    # A project made before this table registered its models with a JSON file only. A
    # migration must not read model files (it would have to trust them to parse them), so it
    # only marks the project; the registry adopts those models once, each after its file
    # passes the checks of its kind (ml.registry.storage). A project being created has no
    # meta rows yet besides the schema version the previous step wrote.
    if conn.execute("SELECT COUNT(*) FROM meta WHERE key != 'schema_version'").fetchone()[0]:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('model_trust_adoption', 'pending') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )


_V3 = """
-- The frozen held-out set (core.store.heldout): each image's role, given once. No UPDATE:
-- an image never moves between train and held-out; the row goes only with its image.
CREATE TABLE image_split (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('train', 'heldout')),
    stratum TEXT NOT NULL,             -- the sorted labels it held when assigned ('' none)
    assigned_at TEXT NOT NULL,
    seed INTEGER NOT NULL
);
CREATE INDEX image_split_stratum ON image_split (stratum, role);
CREATE INDEX image_split_role ON image_split (role, image_id);
CREATE TRIGGER image_split_no_update BEFORE UPDATE ON image_split
BEGIN SELECT RAISE(ABORT, 'an image never moves between train and held-out'); END;
"""


def _v3(conn: sqlite3.Connection) -> None:
    from core.store.heldout import (
        DEFAULT_FRACTION,
        DEFAULT_SEED,
        FRACTION_KEY,
        SEED_KEY,
        assign_unassigned,
    )

    for statement in _split(_V3):
        conn.execute(statement)
    for key, value in ((FRACTION_KEY, DEFAULT_FRACTION), (SEED_KEY, DEFAULT_SEED)):
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (key, str(value)),
        )
    # The images already there get their role now, once (a new project has none).
    assign_unassigned(conn)


_IMAGE_TAGS = """
-- Image-level tags a grader chose (core.store.tags): one row per image and tag kind, the
-- options as a JSON list. No row: the image shows what its boxes say (never stored).
CREATE TABLE IF NOT EXISTS image_tags (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    tags TEXT NOT NULL,
    author TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (image_id, kind)
);
"""

_IMAGE_KIND = """
-- A per-image choice of kind (core.annotations.kinds), only where the user made one: the
-- kind otherwise follows from the file (modality, colour). Which scales "done" asks for
-- depends on it.
CREATE TABLE IF NOT EXISTS image_kind (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('xray', 'photo')),
    updated_at TEXT NOT NULL
);
"""


def _image_tags(conn: sqlite3.Connection) -> None:
    # Self-contained (no import of the repository): the table only.
    for statement in _split(_IMAGE_TAGS):
        conn.execute(statement)


def _image_kind(conn: sqlite3.Connection) -> None:
    for statement in _split(_IMAGE_KIND):
        conn.execute(statement)


def _readers(conn: sqlite3.Connection) -> None:
    from core.store.readers_schema import apply_readers_migration

    apply_readers_migration(conn, _split)


_SCORES = """
-- Informativeness scores for "review next" (core.store.scores): one row per kind, model
-- version and image; a new version gets its own rows, so stale scores are never mixed in.
CREATE TABLE IF NOT EXISTS active_scores (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                -- 'detector' or 'severity:<scale>'
    model TEXT NOT NULL,               -- the NAME:V that computed it
    score REAL NOT NULL,
    reasons TEXT NOT NULL,             -- JSON list of short texts
    features BLOB,                     -- float32 vector for batch diversity
    computed_at TEXT NOT NULL,
    PRIMARY KEY (kind, model, image_id)
);
CREATE INDEX IF NOT EXISTS active_scores_rank ON active_scores (kind, model, score);
"""


def _scores(conn: sqlite3.Connection) -> None:
    for statement in _split(_SCORES):
        conn.execute(statement)


def _source_groups(conn: sqlite3.Connection) -> None:
    # Self-contained (the lead renumbers migrations at merge): one table, no data moved.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS image_group (image_id INTEGER PRIMARY KEY "
        "REFERENCES images (id) ON DELETE CASCADE, grp TEXT NOT NULL)"
    )


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema", _v1),
    Migration(2, "model trust table", _v2),
    Migration(3, "frozen held-out set", _v3),
    Migration(4, "image-level tags (lesion types)", _image_tags),
    Migration(5, "per-image kind (X-ray / photo)", _image_kind),
    Migration(6, "several readers: grades per reader, adjudicated grades", _readers),
    Migration(7, "informativeness scores", _scores),
    Migration(8, "source groups of images", _source_groups),
]


def latest_version(migrations: Sequence[Migration] | None = None) -> int:
    return len(MIGRATIONS if migrations is None else migrations)


def read_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection, where: str, migrations: Sequence[Migration] | None = None
) -> list[int]:
    """Bring the database up to the latest version, one transaction per step.

    A step that fails is rolled back: the database stays at the previous version and a
    ProjectError says so. Returns the versions applied.
    """
    steps = list(MIGRATIONS if migrations is None else migrations)
    applied: list[int] = []
    for index, step in enumerate(steps):
        if step.version != index + 1:
            raise ValueError(f"migration #{index} must lead to version {index + 1}")
    current = read_version(conn)
    for step in steps[current:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            step.apply(conn)
            # PRAGMA user_version is transactional in SQLite (it lives in the file header).
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
            if step.version > 1 or _has_meta(conn):
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(step.version),),
                )
        except Exception as exc:
            conn.execute("ROLLBACK")
            raise ProjectError(
                f"{where}: could not upgrade the project to schema version {step.version} "
                f"({step.description}): {exc}. The project was left unchanged."
            ) from exc
        conn.execute("COMMIT")
        applied.append(step.version)
    return applied


def _has_meta(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    return row is not None

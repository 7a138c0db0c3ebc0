"""The several-readers migration: grades unique per (image, scale, source, reader), the
adjudicated grade per image and scale, and the ``final_grades`` view.

Self-contained (the lead renumbers migrations at merge): it only needs the ``grades``,
``images`` and ``scales`` tables of the first schema.

Before it, a project kept one human grade per image and scale; that grade becomes the
grade of its author (``reader = author``). Model grades keep ``reader = ''`` and stay one
per image and scale. Grade ids are kept, and so is the AUTOINCREMENT counter, so an id is
still never handed out twice (undo relies on that for boxes; grades follow the same rule).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable

_TABLES = """
CREATE TABLE grades_by_reader (
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
    -- The reader whose grade this is: the author of a human grade, '' for a model grade.
    reader TEXT NOT NULL DEFAULT '',
    UNIQUE (image_id, scale, source, reader)
);
-- The consensus grade an adjudicator set after looking at the readers' grades.
CREATE TABLE adjudicated_grades (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    scale TEXT NOT NULL REFERENCES scales (name),
    value REAL NOT NULL,
    adjudicator TEXT NOT NULL,
    from_grades TEXT NOT NULL,         -- JSON {reader: value}: what the adjudicator saw
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (image_id, scale)
);
"""

_AFTER = """
CREATE INDEX grades_scale ON grades (scale, source);
CREATE INDEX grades_reader ON grades (reader, scale);
-- "The" human grade of an image on a scale: the adjudicated one, else the readers' grade
-- when there is one reader or all readers gave the same value. Readers who disagree
-- without adjudication give no row (core.store.readers says why).
CREATE VIEW final_grades AS
SELECT image_id, scale, value, 'adjudicated' AS basis FROM adjudicated_grades
UNION ALL
SELECT g.image_id, g.scale, MIN(g.value) AS value,
       CASE WHEN COUNT(*) = 1 THEN 'single' ELSE 'agreed' END AS basis
FROM grades g
WHERE g.source = 'human' AND NOT EXISTS (
    SELECT 1 FROM adjudicated_grades a WHERE a.image_id = g.image_id AND a.scale = g.scale)
GROUP BY g.image_id, g.scale
HAVING MIN(g.value) = MAX(g.value);
"""


def apply_readers_migration(conn: sqlite3.Connection, split: Callable[[str], list[str]]) -> None:
    for statement in split(_TABLES):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO grades_by_reader (id, image_id, scale, value, author, source, "
        "model_version, confidence, created_at, updated_at, reader) "
        "SELECT id, image_id, scale, value, author, source, model_version, confidence, "
        "created_at, updated_at, CASE WHEN source = 'human' THEN COALESCE(author, '') "
        "ELSE '' END FROM grades"
    )
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'grades'").fetchone()
    conn.execute("DROP TABLE grades")
    conn.execute("ALTER TABLE grades_by_reader RENAME TO grades")
    if row is not None:
        conn.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'grades'", (int(row[0]),)
        )
        if conn.execute("SELECT changes()").fetchone()[0] == 0:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('grades', ?)", (row[0],))
    for statement in split(_AFTER):
        conn.execute(statement)
    # A project's own identity, so a reader's results are merged only into the project
    # their reading assignment came from (core.project_io.assignment).
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('project_uid', ?) ON CONFLICT (key) DO NOTHING",
        (uuid.uuid4().hex,),
    )

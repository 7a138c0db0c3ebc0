"""Which photos come from one source (one face, one patient, augmented copies of one
photo): ``project.source_groups``. Cross-validation keeps a group in one fold, so copies
of a face never sit in a training fold and a test fold at once.

Set from the optional ``group`` column of a grades CSV on import; a photo without one is
its own group (the severity evaluation adds near-duplicate content, see
``ml.severity.groups``).
"""

from __future__ import annotations

from collections.abc import Mapping

from core.store.database import Database
from core.text import shorten

MAX_GROUP_LENGTH = 200


class SourceGroupsRepository:
    """The ``image_group`` table of one open project."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def set_many(self, groups: Mapping[int, str]) -> int:
        """Set (or replace) the group of each image; returns how many were set."""
        rows = [(int(i), shorten(str(g).strip(), MAX_GROUP_LENGTH)) for i, g in groups.items()]
        rows = [r for r in rows if r[1]]
        if not rows:
            return 0
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO image_group (image_id, grp) VALUES (?, ?) "
                "ON CONFLICT (image_id) DO UPDATE SET grp = excluded.grp",
                rows,
            )
            self._db.audit(conn, "set_source_groups", "project", after={"images": len(rows)})
        return len(rows)

    def all(self) -> dict[int, str]:
        with self._db.read() as conn:
            return {
                int(r[0]): str(r[1]) for r in conn.execute("SELECT image_id, grp FROM image_group")
            }

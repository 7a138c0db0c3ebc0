"""Informativeness scores for "review next": one row per (kind, model version, image).

Table ``active_scores`` (added by the migration after the held-out set): ``kind``
(``detector`` / ``severity:<scale>``), ``model`` (the ``NAME:V`` that computed it), the
score, its reasons (JSON list of short texts: "3 uncertain boxes", "grade between 1 and
2"), a float32 feature vector for batch diversity (k-center), and when it was computed.
A score belongs to one model version: a new active version means new rows (the old ones
stay until :meth:`ScoresRepository.forget_others` drops them), so a queue built from a
retired version's scores is never mistaken for the active one's.

Writers: the GUI's process (scores the detector process reports, as it stores
suggestions) and the ``queue`` command. Machine-made data, recomputable: no audit event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.store.database import Database
from core.store.records import now_iso

if TYPE_CHECKING:  # numpy loads with the first stored features, not with the GUI (#17)
    import numpy as np

LOOP_KEY = "active_loop"


@dataclass(frozen=True)
class StoredScore:
    image_id: int
    score: float
    reasons: tuple[str, ...] = ()
    features: np.ndarray | None = field(default=None, compare=False)


def _blob(features: np.ndarray | None) -> bytes | None:
    if features is None:
        return None
    import numpy as np

    return np.asarray(features, dtype="<f4").ravel().tobytes()


def _unblob(data: bytes | None) -> np.ndarray | None:
    if data is None:
        return None
    import numpy as np

    return np.frombuffer(data, dtype="<f4").astype(np.float32)


class ScoresRepository:
    """The ``active_scores`` table of one open project (``project.scores``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, kind: str, model: str, rows: Iterable[StoredScore]) -> int:
        """Store (or replace) scores of ``model`` in one transaction; returns how many."""
        stamp = now_iso()
        values = [
            (
                int(r.image_id),
                kind,
                model,
                float(r.score),
                json.dumps(list(r.reasons)),
                _blob(r.features),
                stamp,
            )
            for r in rows
        ]
        if not values:
            return 0
        with self._db.write() as conn:
            # Only images still in the project (one may have been removed while scoring).
            conn.executemany(
                "INSERT INTO active_scores (image_id, kind, model, score, reasons, features, "
                "computed_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM images WHERE id = ?1) "
                "ON CONFLICT (kind, model, image_id) DO UPDATE SET score = excluded.score, "
                "reasons = excluded.reasons, features = excluded.features, "
                "computed_at = excluded.computed_at",
                values,
            )
        return len(values)

    def scores(
        self, kind: str, model: str, *, with_features: bool = False
    ) -> dict[int, StoredScore]:
        """Every stored score of ``model`` (image id -> score), in one query."""
        cols = "image_id, score, reasons" + (", features" if with_features else "")
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {cols} FROM active_scores WHERE kind = ? AND model = ?", (kind, model)
            ).fetchall()
        out: dict[int, StoredScore] = {}
        for row in rows:
            out[int(row[0])] = StoredScore(
                int(row[0]),
                float(row[1]),
                tuple(json.loads(row[2] or "[]")),
                _unblob(row[3]) if with_features else None,
            )
        return out

    def missing(self, kind: str, model: str, image_ids: Sequence[int]) -> list[int]:
        """The ids among ``image_ids`` without a score of ``model`` (order kept)."""
        have = set(self.scores(kind, model))
        return [int(i) for i in image_ids if int(i) not in have]

    def models(self, kind: str) -> dict[str, int]:
        """The versions with stored scores of ``kind`` and how many images each."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT model, COUNT(*) FROM active_scores WHERE kind = ? GROUP BY model",
                (kind,),
            ).fetchall()
        return {str(m): int(n) for m, n in rows}

    def forget_others(self, kind: str, keep_model: str | None) -> int:
        """Drop the scores of every version of ``kind`` but ``keep_model``; returns rows."""
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM active_scores WHERE kind = ? AND model IS NOT ?", (kind, keep_model)
            )
            return int(cur.rowcount or 0)

    # --- the loop's per-project setting (meta row ``active_loop``, JSON) --------------------

    def loop_settings(self) -> dict[str, object]:
        with self._db.read() as conn:
            text = Database.meta(conn, LOOP_KEY)
        try:
            data = json.loads(text) if text else {}
        except ValueError:  # a hand-edited row: the defaults
            data = {}
        return data if isinstance(data, dict) else {}

    def set_loop_settings(self, settings: dict[str, object]) -> None:
        with self._db.write() as conn:
            before = Database.meta(conn, LOOP_KEY)
            text = json.dumps(settings, sort_keys=True)
            Database.set_meta(conn, LOOP_KEY, text)
            self._db.audit(conn, "set_active_loop", "project", before=before, after=text)

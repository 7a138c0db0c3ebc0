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
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
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


@dataclass(frozen=True)
class NextPick:
    """What "review next" needs, read in one transaction by :meth:`ScoresRepository.next`:
    the reviewed (training, held-out) counts for the held-out rate, the best-scored
    training candidate, the first training candidate in file order when none is scored,
    and the first held-out candidate in file order (each (id, path[, score, reasons]) or
    None)."""

    reviewed: tuple[int, int]
    best: tuple[int, str, float, tuple[str, ...]] | None
    first_train: tuple[int, str] | None
    first_heldout: tuple[int, str] | None
    unscored: int = 0  # training candidates without a score (counted only when best is None)


# A candidate: passes the image list's filters (``{cond}`` over ``images``), is not the
# image on screen, and (for the training picks) is not held out.
_HELD = "SELECT 1 FROM image_split sp WHERE sp.image_id = {col} AND sp.role = 'heldout'"
# The best-scored candidate, two ways. ``_BEST_TOP``: the rank index (kind, model, score)
# read backwards, each row checked by primary-key lookups, SQLite stopping at the first
# that passes; bounded to the best ``WINDOW`` scores (``score > ?``, the window's last
# score). Quick when candidates are among the best scores (a fresh version, most images
# unreviewed). ``_BEST_ALL``: from the candidates' side (images, then the score's primary
# key), every candidate's score compared: quick when few candidates remain among many
# scored, reviewed images (a long-running project), where the first way would read
# thousands of reviewed rows above the answer.
WINDOW = 2000
_BEST_TOP = (
    "SELECT s.image_id, i.path, s.score, s.reasons FROM active_scores s "
    "JOIN images i ON i.id = s.image_id "
    "WHERE s.kind = ? AND s.model = ? AND s.score > ? AND s.image_id != ? "
    "AND EXISTS (SELECT 1 FROM images WHERE images.id = s.image_id AND ({cond})) "
    "AND NOT EXISTS (" + _HELD.format(col="s.image_id") + ") "
    "ORDER BY s.score DESC, s.image_id LIMIT 1"
)
_WINDOW_END = (
    "SELECT score FROM active_scores WHERE kind = ? AND model = ? "
    "ORDER BY score DESC LIMIT 1 OFFSET ?"
)
_BEST_ALL = (
    "SELECT s.image_id, i.path, s.score, s.reasons FROM images i "
    "CROSS JOIN active_scores s ON s.kind = ? AND s.model = ? AND s.image_id = i.id "
    "WHERE i.id != ? AND ({cond}) "
    "AND NOT EXISTS (" + _HELD.format(col="i.id") + ") "
    "ORDER BY s.score DESC, s.image_id LIMIT 1"
)
_FIRST = (
    "SELECT id, path FROM images WHERE ({cond}) AND id != ? "
    "AND {neg}EXISTS (" + _HELD.format(col="images.id") + ") ORDER BY id LIMIT 1"
)
_UNSCORED = (
    "SELECT COUNT(*) FROM images WHERE ({cond}) AND id != ? "
    "AND NOT EXISTS (" + _HELD.format(col="images.id") + ") AND NOT EXISTS "
    "(SELECT 1 FROM active_scores a WHERE a.kind = ? AND a.model = ? AND a.image_id = images.id)"
)


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

    def next(
        self,
        kind: str,
        model: str | None,
        filter_sql: Callable[[sqlite3.Connection], tuple[str, tuple[object, ...]]],
        *,
        exclude: int | None = None,
    ) -> NextPick:
        """The candidates "review next" chooses between, from stored scores: a handful of
        indexed queries with LIMIT 1 in one read transaction, no row per image in Python
        (``core.active.queue.next_from_store`` applies the held-out rate).
        ``filter_sql(conn)``: the image list's filters (``Project.filter_sql``);
        ``model`` None: no active model (file order only)."""
        skip = -1 if exclude is None else int(exclude)
        with self._db.read() as conn:
            cond, params = filter_sql(conn)
            done, held_done = conn.execute(
                "SELECT (SELECT COUNT(*) FROM images WHERE review_status = 'done'), "
                "(SELECT COUNT(*) FROM image_split sp JOIN images i ON i.id = sp.image_id "
                "WHERE sp.role = 'heldout' AND i.review_status = 'done')"
            ).fetchone()
            best = None
            if model is not None:
                end = conn.execute(_WINDOW_END, (kind, model, WINDOW - 1)).fetchone()
                floor = -math.inf if end is None else float(end[0])
                row = conn.execute(
                    _BEST_TOP.format(cond=cond), (kind, model, floor, skip, *params)
                ).fetchone()
                # None within the window (ties at its edge excluded, so an answer found is
                # exact): every candidate's score, from the candidates' side.
                if row is None and end is not None:
                    row = conn.execute(
                        _BEST_ALL.format(cond=cond), (kind, model, skip, *params)
                    ).fetchone()
                if row is not None:
                    best = (int(row[0]), str(row[1]), float(row[2]), tuple(json.loads(row[3])))
            first_train = first_held = None
            unscored = 0
            if best is None:
                row = conn.execute(_FIRST.format(cond=cond, neg="NOT "), (*params, skip)).fetchone()
                first_train = None if row is None else (int(row[0]), str(row[1]))
                if model is not None and first_train is not None:
                    unscored = int(
                        conn.execute(
                            _UNSCORED.format(cond=cond), (*params, skip, kind, model)
                        ).fetchone()[0]
                    )
            row = conn.execute(_FIRST.format(cond=cond, neg=""), (*params, skip)).fetchone()
            first_held = None if row is None else (int(row[0]), str(row[1]))
        held_done = int(held_done or 0)
        return NextPick((int(done) - held_done, held_done), best, first_train, first_held, unscored)

    def unscored(self, kind: str, model: str, statuses: Sequence[str]) -> list[int]:
        """Training-role images with one of ``statuses``, readable (no error), and no score
        of ``model``: what a scoring job has left to do, in file order (one query)."""
        marks = ", ".join("?" * len(statuses))
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT id FROM images WHERE review_status IN ({marks}) AND COALESCE(error, '') = '' "
                "AND NOT EXISTS (" + _HELD.format(col="images.id") + ") AND NOT EXISTS "
                "(SELECT 1 FROM active_scores a WHERE a.kind = ? AND a.model = ? "
                "AND a.image_id = images.id) ORDER BY id",
                (*statuses, kind, model),
            ).fetchall()
        return [int(r[0]) for r in rows]

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

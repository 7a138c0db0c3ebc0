"""Several readers: "the" human grade, adjudication, the disagreement queue, blinding and
per-reader progress. ``ReadersRepository``, reached as ``project.readers``.

A human grade belongs to its reader (``grades.reader``, the author of the grade); a box to
its author. "The" human grade of an image on a scale -- what the done rule, exports,
severity training and the grade filter use -- is ``final_grade``:

1. the adjudicated grade, if an adjudicator set one;
2. else the readers' grade when there is one reader, or every reader gave the same value;
3. else none: the readers disagree, and the reason names them and their grades.

The SQL view ``final_grades`` (``readers_schema``) gives the same rows for queries.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.annotations import Box, Grade
from core.errors import ProjectError
from core.store.database import Database
from core.store.definitions import get_scale
from core.store.images import get_image
from core.store.records import now_iso

ADJUDICATED, SINGLE, AGREED, DISPUTED, NONE = "adjudicated", "single", "agreed", "disputed", "none"
BLINDED_KEY = "blinded_reading"


@dataclass(frozen=True)
class FinalGrade:
    """ "The" human grade of one image on one scale, and what it rests on."""

    scale: str
    value: float | None
    basis: str  # adjudicated | single | agreed | disputed | none
    readers: dict[str, float] = field(default_factory=dict)
    adjudicator: str | None = None

    @property
    def reason(self) -> str:
        """One line saying why this is (or is not) the grade."""
        if self.basis == ADJUDICATED:
            return f"adjudicated by {self.adjudicator}"
        if self.basis == SINGLE:
            return f"graded by {next(iter(self.readers))}"
        if self.basis == AGREED:
            return f"{len(self.readers)} readers agree"
        if self.basis == DISPUTED:
            return "readers disagree (" + describe_readers(self.readers) + "); adjudicate"
        return "not graded"


def describe_readers(readers: Mapping[str, float]) -> str:
    return ", ".join(f"{r or 'unknown reader'}: {v:g}" for r, v in sorted(readers.items()))


def resolve(
    scale: str, readers: Mapping[str, float], adjudicated: tuple[float, str] | None = None
) -> FinalGrade:
    """The rule of the module docstring over one image's grades on one scale."""
    readers = dict(readers)
    if adjudicated is not None:
        return FinalGrade(scale, adjudicated[0], ADJUDICATED, readers, adjudicated[1])
    if not readers:
        return FinalGrade(scale, None, NONE)
    values = set(readers.values())
    if len(values) == 1:
        return FinalGrade(scale, values.pop(), SINGLE if len(readers) == 1 else AGREED, readers)
    return FinalGrade(scale, None, DISPUTED, readers)


def _reader_rows(
    conn: sqlite3.Connection, where: str, params: tuple[object, ...]
) -> dict[tuple[int, str], dict[str, float]]:
    out: dict[tuple[int, str], dict[str, float]] = {}
    for image_id, scale, reader, value in conn.execute(
        "SELECT image_id, scale, reader, value FROM grades WHERE source = 'human'"
        f"{where} ORDER BY image_id, scale, reader",
        params,
    ):
        out.setdefault((int(image_id), scale), {})[reader] = float(value)
    return out


def _adjudicated_rows(
    conn: sqlite3.Connection, where: str, params: tuple[object, ...]
) -> dict[tuple[int, str], tuple[float, str]]:
    return {
        (int(i), s): (float(v), who)
        for i, s, v, who in conn.execute(
            f"SELECT image_id, scale, value, adjudicator FROM adjudicated_grades{where}", params
        )
    }


def final_grades_of(
    conn: sqlite3.Connection, image_id: int | None = None, scale: str | None = None
) -> dict[tuple[int, str], FinalGrade]:
    """(image id, scale) -> FinalGrade for every pair with a reader's or adjudicated grade."""
    clauses: list[str] = []
    params: list[object] = []
    if image_id is not None:
        clauses.append("image_id = ?")
        params.append(int(image_id))
    if scale is not None:
        clauses.append("scale = ?")
        params.append(scale)
    tail = "".join(f" AND {c}" for c in clauses)
    readers = _reader_rows(conn, tail, tuple(params))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    adjudicated = _adjudicated_rows(conn, where, tuple(params))
    return {
        key: resolve(key[1], readers.get(key, {}), adjudicated.get(key))
        for key in sorted(set(readers) | set(adjudicated))
    }


def check_done(
    conn: sqlite3.Connection, image_id: int, path: str, *, scales: set[str] | None = None
) -> None:
    """ProjectError unless every required scale (of ``scales``, those that apply to the
    image's kind, when given) has "the" human grade (naming the scales without a grade and
    those whose readers disagree)."""
    finals = final_grades_of(conn, image_id)
    missing, disputed = [], []
    for (name,) in conn.execute("SELECT name FROM scales WHERE required = 1 ORDER BY position"):
        if scales is not None and name not in scales:
            continue
        final = finals.get((int(image_id), name))
        if final is None or final.basis == NONE:
            missing.append(name)
        elif final.value is None:
            disputed.append(f"{name} ({describe_readers(final.readers)})")
    if missing or disputed:
        parts = []
        if missing:
            parts.append(f"it has no grade on {', '.join(missing)}")
        if disputed:
            parts.append(f"its readers disagree on {'; '.join(disputed)} (adjudicate first)")
        raise ProjectError(f"'{path}' cannot be marked done: {' and '.join(parts)}")


@dataclass(frozen=True)
class QueueItem:
    """An image waiting for adjudication on a scale."""

    image_id: int
    path: str
    readers: dict[str, float]
    spread: float  # largest minus smallest reader grade, in the scale's units


def is_numeric(scale_values: list[tuple[float, str]]) -> bool:
    """A scale whose labels are only its numbers (e.g. 0-9 in steps of 0.5) is numeric; one
    with named grades (Mild, Moderate...) is ordinal."""
    return all(label == f"{value:g}" for value, label in scale_values)


class ReadersRepository:
    """Readers' grades, adjudication, blinding and progress of one project."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def project_uid(self) -> str:
        """The project's identity (made by the several-readers migration)."""
        with self._db.read() as conn:
            return self._db.meta(conn, "project_uid") or ""

    def mark_assignment(self, source_uid: str, reader: str) -> None:
        """Make this project a reader's copy of project ``source_uid`` (an assignment)."""
        with self._db.write() as conn:
            self._db.set_meta(conn, "assignment_of", source_uid)
            self._db.set_meta(conn, "assignment_reader", reader)
            self._db.audit(
                conn,
                "make_assignment",
                "project",
                after={"assignment_of": source_uid, "reader": reader},
            )

    def assignment(self) -> tuple[str, str] | None:
        """(source project uid, reader) when this project is a reading assignment."""
        with self._db.read() as conn:
            uid = self._db.meta(conn, "assignment_of")
            reader = self._db.meta(conn, "assignment_reader")
        return None if uid is None else (uid, reader or "")

    # --- "the" grade ------------------------------------------------------------------
    def final_grade(self, image_id: int, scale: str) -> FinalGrade:
        with self._db.read() as conn:
            return final_grades_of(conn, image_id, scale).get(
                (int(image_id), scale), FinalGrade(scale, None, NONE)
            )

    def final_grades(self, scale: str | None = None) -> dict[int, dict[str, FinalGrade]]:
        """image id -> scale -> FinalGrade (images without any human grade are absent)."""
        out: dict[int, dict[str, FinalGrade]] = {}
        with self._db.read() as conn:
            for (image_id, name), final in final_grades_of(conn, None, scale).items():
                out.setdefault(image_id, {})[name] = final
        return out

    def readers(self, scale: str | None = None) -> list[str]:
        """The readers with at least one human grade (on ``scale``), sorted."""
        query = "SELECT DISTINCT reader FROM grades WHERE source = 'human'"
        params: tuple[object, ...] = ()
        if scale is not None:
            query += " AND scale = ?"
            params = (scale,)
        with self._db.read() as conn:
            return sorted(r[0] for r in conn.execute(query, params))

    def reader_grades(self, scale: str) -> dict[int, dict[str, float]]:
        """image id -> reader -> value on ``scale`` (human grades only)."""
        with self._db.read() as conn:
            rows = _reader_rows(conn, " AND scale = ?", (scale,))
        return {image_id: grades for (image_id, _), grades in rows.items()}

    def model_grades(self, scale: str) -> dict[int, float]:
        """image id -> the model's grade on ``scale``."""
        with self._db.read() as conn:
            return {
                int(i): float(v)
                for i, v in conn.execute(
                    "SELECT image_id, value FROM grades WHERE source = 'model' AND scale = ?",
                    (scale,),
                )
            }

    # --- adjudication -----------------------------------------------------------------
    def adjudicate(
        self, image_id: int, scale: str, value: float, *, adjudicator: str | None = None
    ) -> FinalGrade:
        """Set the consensus grade; it records who set it and the readers' grades it saw."""
        who = adjudicator or self._db.author
        with self._db.write() as conn:
            image = get_image(conn, image_id)
            grading = get_scale(conn, scale)
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number) or not grading.is_valid(number):
                allowed = ", ".join(f"{v.value:g}" for v in grading.values)
                raise ProjectError(
                    f"{value!r} is not a grade on the {grading.title} scale (allowed: {allowed})"
                )
            number = grading.snap(number)
            seen = _reader_rows(conn, " AND image_id = ? AND scale = ?", (image.id, scale))
            readers = seen.get((image.id, scale), {})
            before = _adjudicated_rows(
                conn, " WHERE image_id = ? AND scale = ?", (image.id, scale)
            ).get((image.id, scale))
            stamp = now_iso()
            conn.execute(
                "INSERT INTO adjudicated_grades (image_id, scale, value, adjudicator, "
                "from_grades, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (image_id, scale) DO UPDATE SET value = excluded.value, "
                "adjudicator = excluded.adjudicator, from_grades = excluded.from_grades, "
                "updated_at = excluded.updated_at",
                (image.id, scale, number, who, json.dumps(readers, sort_keys=True), stamp, stamp),
            )
            self._db.audit(
                conn,
                "adjudicate_grade",
                "adjudicated_grade",
                image_id=image.id,
                before=None if before is None else {"value": before[0], "adjudicator": before[1]},
                after={"scale": scale, "value": number, "adjudicator": who, "readers": readers},
            )
        return resolve(scale, readers, (number, who))

    def adjudication_sources(self, image_id: int, scale: str) -> dict[str, float] | None:
        """The readers' grades the adjudicator saw, or None when not adjudicated."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT from_grades FROM adjudicated_grades WHERE image_id = ? AND scale = ?",
                (int(image_id), scale),
            ).fetchone()
        return None if row is None else {str(k): float(v) for k, v in json.loads(row[0]).items()}

    def clear_adjudication(self, image_id: int, scale: str) -> None:
        with self._db.write() as conn:
            image = get_image(conn, image_id)
            cur = conn.execute(
                "DELETE FROM adjudicated_grades WHERE image_id = ? AND scale = ?",
                (image.id, scale),
            )
            if cur.rowcount:
                self._db.audit(
                    conn,
                    "clear_adjudication",
                    "adjudicated_grade",
                    image_id=image.id,
                    before={"scale": scale},
                )

    def adjudication_queue(self, scale: str, threshold: float | None = None) -> list[QueueItem]:
        """Images whose readers differ by more than one grade step (ordinal scales) or by
        at least 1.0 (numeric scales), not yet adjudicated; ``threshold`` (in the scale's
        units, "at least") overrides. Largest disagreement first."""
        with self._db.read() as conn:
            grading = get_scale(conn, scale)
            readers = _reader_rows(conn, " AND scale = ?", (scale,))
            done = _adjudicated_rows(conn, " WHERE scale = ?", (scale,))
            paths = dict(conn.execute("SELECT id, path FROM images").fetchall())
        allowed = list(grading.allowed)
        numeric = is_numeric([(v.value, v.label) for v in grading.values])
        out = []
        for (image_id, _), grades in readers.items():
            if len(grades) < 2 or (image_id, scale) in done:
                continue
            spread = max(grades.values()) - min(grades.values())
            if threshold is not None:
                queued = spread >= threshold - 1e-9
            elif numeric:
                queued = spread >= 1.0 - 1e-9
            else:
                steps = [
                    min(range(len(allowed)), key=lambda i: abs(allowed[i] - v))
                    for v in grades.values()
                ]
                queued = max(steps) - min(steps) > 1
            if queued:
                out.append(QueueItem(image_id, paths.get(image_id, ""), grades, spread))
        out.sort(key=lambda q: (-q.spread, q.image_id))
        return out

    # --- blinding ---------------------------------------------------------------------
    def blinded(self) -> bool:
        """Whether "blinded reading" is on: a reader sees no other reader's grades or boxes
        and no model suggestion on an image until that reader has graded it."""
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (BLINDED_KEY,)).fetchone()
        return row is not None and row[0] == "1"

    def set_blinded(self, on: bool) -> None:
        with self._db.write() as conn:
            before = conn.execute("SELECT value FROM meta WHERE key = ?", (BLINDED_KEY,)).fetchone()
            value = "1" if on else "0"
            if before is not None and before[0] == value:
                return
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (BLINDED_KEY, value),
            )
            self._db.audit(
                conn, "set_blinded_reading", "project", after={"blinded_reading": bool(on)}
            )

    def has_graded(self, image_id: int, reader: str) -> bool:
        """The reader has graded the image: a grade on every required scale (on any scale
        when none is required). A project without scales never unblinds."""
        with self._db.read() as conn:
            return self._has_graded(conn, int(image_id), reader)

    def _has_graded(self, conn: sqlite3.Connection, image_id: int, reader: str) -> bool:
        mine = {
            r[0]
            for r in conn.execute(
                "SELECT scale FROM grades WHERE image_id = ? AND source = 'human' AND reader = ?",
                (image_id, reader),
            )
        }
        required = {r[0] for r in conn.execute("SELECT name FROM scales WHERE required = 1")}
        return required <= mine if required else bool(mine)

    def revealed(self, image_id: int, reader: str | None = None) -> bool:
        """Whether ``reader`` (default: the project author) may see the others' work."""
        who = reader or self._db.author
        return not self.blinded() or self.has_graded(image_id, who)

    def visible_grades(
        self, grades: list[Grade], image_id: int, reader: str | None = None
    ) -> list[Grade]:
        """The grades ``reader`` may see: all, or under blinding before they graded the
        image only their own human grades."""
        who = reader or self._db.author
        if self.revealed(image_id, who):
            return list(grades)
        return [g for g in grades if g.source == "human" and (g.author or "") == who]

    def visible_boxes(
        self, boxes: list[Box], image_id: int, reader: str | None = None
    ) -> list[Box]:
        """The boxes ``reader`` may see: all, or under blinding before they graded the
        image only the boxes they drew or took over (accepted or edited suggestions)."""
        who = reader or self._db.author
        if self.revealed(image_id, who):
            return list(boxes)
        return [b for b in boxes if b.status != "suggested" and (b.author or "") == who]

    # --- progress ---------------------------------------------------------------------
    def progress(self) -> dict[str, int]:
        """reader -> how many images they have graded (``has_graded``)."""
        with self._db.read() as conn:
            required = [r[0] for r in conn.execute("SELECT name FROM scales WHERE required = 1")]
            counts: dict[str, int] = {}
            if required:
                marks = ", ".join("?" * len(required))
                rows = conn.execute(
                    "SELECT reader, COUNT(*) FROM (SELECT reader, image_id FROM grades "
                    f"WHERE source = 'human' AND scale IN ({marks}) GROUP BY reader, image_id "
                    "HAVING COUNT(DISTINCT scale) = ?) GROUP BY reader",
                    (*required, len(required)),
                )
            else:
                rows = conn.execute(
                    "SELECT reader, COUNT(DISTINCT image_id) FROM grades "
                    "WHERE source = 'human' GROUP BY reader"
                )
            for reader, count in rows:
                counts[reader] = int(count)
        return dict(sorted(counts.items()))

    def readers_by_image(self) -> dict[int, list[str]]:
        """image id -> the readers who graded it (any scale), for the image list."""
        out: dict[int, list[str]] = {}
        with self._db.read() as conn:
            for image_id, reader in conn.execute(
                "SELECT DISTINCT image_id, reader FROM grades WHERE source = 'human' "
                "ORDER BY image_id, reader"
            ):
                out.setdefault(int(image_id), []).append(reader)
        return out

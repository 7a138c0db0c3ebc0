"""Image-level grades (one human grade per reader and at most one model grade per scale)
and review status.

``GradesRepository``, reached as ``project.grading``. Review status lives here because
"done" is defined by the grades: "the" human grade (``core.store.readers.final_grade``:
adjudicated, else the readers' one value) on every required scale.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from typing import Any

from core.annotations import REVIEW_STATUSES, Grade, GradingScale
from core.annotations.kinds import IMAGE_KINDS
from core.annotations.scales import scale_from_mapping
from core.errors import ProjectError
from core.store.database import Database
from core.store.definitions import get_scale
from core.store.images import get_image
from core.store.kinds import applying_scales, chosen_kind, effective_kind
from core.store.readers import check_done
from core.store.records import now_iso

_GRADE_COLUMNS = "g.scale, g.value, g.author, g.source, g.model_version, g.confidence, g.id"
_GRADE_SELECT = f"SELECT {_GRADE_COLUMNS} FROM grades g"
_SOURCES = ("human", "model")


def grade_dict(grade: Grade) -> dict[str, Any]:
    return dataclasses.asdict(grade)


def _stored_grade(
    conn: sqlite3.Connection, image_id: int, scale: str, source: str, reader: str
) -> Grade | None:
    row = conn.execute(
        f"{_GRADE_SELECT} WHERE g.image_id = ? AND g.scale = ? AND g.source = ? AND g.reader = ?",
        (int(image_id), scale, source, reader),
    ).fetchone()
    return None if row is None else Grade(*row)


class GradesRepository:
    """The grades and review status of one project's images."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def reader_of(self, source: str, author: str | None = None) -> str:
        """The reader a grade belongs to: its author (default: the project's author) for a
        human grade, '' for a model grade (one per image and scale)."""
        return (author or self._db.author) if source == "human" else ""

    def grade(
        self, image_id: int, scale: str, *, source: str = "human", reader: str | None = None
    ) -> Grade | None:
        """One reader's grade (default: the project author's), or the model grade."""
        with self._db.read() as conn:
            return _stored_grade(conn, image_id, scale, source, self.reader_of(source, reader))

    def grades(self, image_id: int) -> list[Grade]:
        """An image's grades, in the project's scale order, the human grades first (by
        reader)."""
        with self._db.read() as conn:
            rows = conn.execute(
                f"{_GRADE_SELECT} JOIN scales s ON s.name = g.scale WHERE g.image_id = ? "
                "ORDER BY s.position, g.source, g.reader",
                (int(image_id),),
            ).fetchall()
        return [Grade(*r) for r in rows]

    def grades_by_image(self) -> dict[int, list[Grade]]:
        """Every image's grades (as ``grades()`` orders them) in one query: image id ->
        grades. Images without grades are absent."""
        out: dict[int, list[Grade]] = {}
        with self._db.read() as conn:
            for row in conn.execute(
                f"SELECT g.image_id, {_GRADE_COLUMNS} FROM grades g JOIN scales s "
                "ON s.name = g.scale ORDER BY g.image_id, s.position, g.source, g.reader"
            ):
                out.setdefault(int(row[0]), []).append(Grade(*row[1:]))
        return out

    def set_grade(
        self,
        image_id: int,
        scale: str,
        value: float,
        *,
        source: str = "human",
        model_version: str | None = None,
        confidence: float | None = None,
        author: str | None = None,
    ) -> Grade:
        """Set (replace) one reader's human grade, or the model grade, of an image on a
        scale.

        The value must be one of the scale's values (ProjectError listing them).
        ``author`` defaults to the project author (undo passes the original one); for a
        human grade it is the reader, so another author adds a reader's grade beside it.
        """
        if source not in _SOURCES:
            raise ProjectError(f"grade source must be 'human' or 'model', not {source!r}")
        if confidence is not None and not math.isfinite(float(confidence)):
            raise ProjectError("grade confidence must be a finite number")
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
            reader = self.reader_of(source, author)
            before = _stored_grade(conn, image.id, scale, source, reader)
            grade = Grade(
                scale=scale,
                value=number,
                author=author or self._db.author,
                source=source,
                model_version=model_version,
                confidence=None if confidence is None else float(confidence),
            )
            if before is not None and dataclasses.replace(before, id=None) == grade:
                return before
            stamp = now_iso()
            conn.execute(
                "INSERT INTO grades (image_id, scale, value, author, source, model_version, "
                "confidence, created_at, updated_at, reader) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (image_id, scale, source, reader) DO UPDATE SET "
                "value = excluded.value, "
                "author = excluded.author, model_version = excluded.model_version, "
                "confidence = excluded.confidence, updated_at = excluded.updated_at",
                (
                    image.id,
                    scale,
                    grade.value,
                    grade.author,
                    source,
                    model_version,
                    grade.confidence,
                    stamp,
                    stamp,
                    reader,
                ),
            )
            stored = _stored_grade(conn, image.id, scale, source, reader)
            assert stored is not None
            self._db.audit(
                conn,
                "set_grade",
                "grade",
                entity_id=stored.id,
                image_id=image.id,
                before=None if before is None else grade_dict(before),
                after=grade_dict(stored),
            )
        return stored

    def clear_grade(
        self, image_id: int, scale: str, *, source: str = "human", reader: str | None = None
    ) -> None:
        """Remove one reader's grade (default: the project author's) or the model grade
        (nothing happens if there is none).

        Refused for a human grade of a required scale on an image marked done: set the
        image back to another status first, so "done" always means "fully graded".
        """
        with self._db.write() as conn:
            image = get_image(conn, image_id)
            grading = get_scale(conn, scale)
            before = _stored_grade(conn, image.id, scale, source, self.reader_of(source, reader))
            if before is None:
                return
            applies = grading.applies(effective_kind(conn, image))
            if image.review_status == "done" and source == "human" and grading.required and applies:
                raise ProjectError(
                    f"'{image.path}' is marked done and needs its {grading.title} grade; "
                    "set it back to 'to review' before clearing the grade"
                )
            conn.execute("DELETE FROM grades WHERE id = ?", (before.id,))
            self._db.audit(
                conn,
                "clear_grade",
                "grade",
                entity_id=before.id,
                image_id=image.id,
                before=grade_dict(before),
            )

    def set_review_status(self, image_id: int, status: str) -> None:
        """new / in_progress / to_review / done. "done" needs a human grade on every
        required scale that applies to the image's kind (ProjectError naming the missing
        scales)."""
        if status not in REVIEW_STATUSES:
            raise ProjectError(
                f"unknown review status {status!r} (one of {', '.join(REVIEW_STATUSES)})"
            )
        with self._db.write() as conn:
            image = get_image(conn, image_id)
            if image.review_status == status:
                return
            if status == "done":
                kind = effective_kind(conn, image)
                applicable = {
                    str(name)
                    for name, definition in conn.execute(
                        "SELECT name, definition FROM scales WHERE required = 1 ORDER BY position"
                    )
                    if scale_from_mapping(name, json.loads(definition), "project").applies(kind)
                }
                check_done(conn, image.id, image.path, scales=applicable)
            conn.execute(
                "UPDATE images SET review_status = ?, updated_at = ? WHERE id = ?",
                (status, now_iso(), image.id),
            )
            self._db.audit(
                conn,
                "set_review_status",
                "image",
                entity_id=image.id,
                image_id=image.id,
                before={"review_status": image.review_status},
                after={"review_status": status},
            )

    # --- image kind (which scales apply) -------------------------------------------------
    def image_kind(self, image_id: int) -> str | None:
        """ "xray", "photo" or None (unknown: every scale applies)."""
        with self._db.read() as conn:
            return effective_kind(conn, get_image(conn, image_id))

    def chosen_kind(self, image_id: int) -> str | None:
        """The user's per-image choice, None when the kind follows from the file."""
        with self._db.read() as conn:
            return chosen_kind(conn, image_id)

    def set_image_kind(self, image_id: int, kind: str | None) -> None:
        """Choose the kind of one image (None: back to what the file says)."""
        if kind is not None and kind not in IMAGE_KINDS:
            raise ProjectError(f"an image is one of {', '.join(IMAGE_KINDS)}, not {kind!r}")
        with self._db.write() as conn:
            image = get_image(conn, image_id)
            before = chosen_kind(conn, image.id)
            if before == kind:
                return
            if kind is None:
                conn.execute("DELETE FROM image_kind WHERE image_id = ?", (image.id,))
            else:
                conn.execute(
                    "INSERT INTO image_kind (image_id, kind, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (image_id) DO UPDATE SET kind = excluded.kind, "
                    "updated_at = excluded.updated_at",
                    (image.id, kind, now_iso()),
                )
            self._db.audit(
                conn,
                "set_image_kind",
                "image",
                entity_id=image.id,
                image_id=image.id,
                before={"kind": before},
                after={"kind": kind},
            )

    def scales_for(self, image_id: int) -> list[GradingScale]:
        """The project's scales that apply to this image, in the project's order."""
        with self._db.read() as conn:
            kind = effective_kind(conn, get_image(conn, image_id))
            rows = conn.execute("SELECT name, definition FROM scales ORDER BY position").fetchall()
        scales = [scale_from_mapping(r[0], json.loads(r[1]), "project") for r in rows]
        return applying_scales(scales, kind)

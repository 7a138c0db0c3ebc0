"""Boxes: stored as floats in continuous image coordinates, clamped to the image on write."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from core.annotations import BOX_SOURCES, BOX_STATUSES, Box, clamp_box
from core.errors import ProjectError
from core.store.definitions import label_id_of
from core.store.images import ImagesMixin, get_image
from core.store.records import now_iso

_BOX_SELECT = (
    "SELECT b.x1, b.y1, b.x2, b.y2, l.name, b.difficult, b.truncated, b.occluded, b.pose, "
    "b.source, b.status, b.score, b.model_version, b.author, b.id, b.image_id "
    "FROM boxes b JOIN labels l ON l.id = b.label_id"
)
_EDITABLE = frozenset(
    {
        "x1", "y1", "x2", "y2", "label", "difficult", "truncated", "occluded", "pose",
        "status", "score", "source", "model_version", "author",
    }
)  # fmt: skip
_SHAPE = ("x1", "y1", "x2", "y2", "label")


def box_from_row(row: Sequence[Any]) -> Box:
    return Box(
        x1=row[0],
        y1=row[1],
        x2=row[2],
        y2=row[3],
        label=row[4],
        difficult=bool(row[5]),
        truncated=bool(row[6]),
        occluded=bool(row[7]),
        pose=row[8],
        source=row[9],
        status=row[10],
        score=row[11],
        model_version=row[12],
        author=row[13],
        id=row[14],
    )


def box_dict(box: Box) -> dict[str, Any]:
    return dataclasses.asdict(box)


def _finite(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProjectError(f"box {what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ProjectError(f"box {what} must be a finite number, not {value!r}")
    return number


def checked_box(box: Box, width: int, height: int) -> Box:
    """Validate fields, order the corners and clamp to the image (size 0 = unknown)."""
    if box.source not in BOX_SOURCES:
        raise ProjectError(
            f"box source must be one of {', '.join(BOX_SOURCES)}, not {box.source!r}"
        )
    if box.status not in BOX_STATUSES:
        raise ProjectError(
            f"box status must be one of {', '.join(BOX_STATUSES)}, not {box.status!r}"
        )
    coords = [_finite(getattr(box, k), k) for k in ("x1", "y1", "x2", "y2")]
    score = None if box.score is None else _finite(box.score, "score")
    box = dataclasses.replace(
        box.with_coords(*coords),
        score=score,
        difficult=bool(box.difficult),
        truncated=bool(box.truncated),
        occluded=bool(box.occluded),
        pose=str(box.pose or "Unspecified"),
    )
    if width > 0 and height > 0:
        box = clamp_box(box, width, height)
    else:
        x1, x2 = sorted((box.x1, box.x2))
        y1, y2 = sorted((box.y1, box.y2))
        box = box.with_coords(x1, y1, x2, y2)
    if box.x2 <= box.x1 or box.y2 <= box.y1:
        raise ProjectError(
            f"box ({coords[0]:g}, {coords[1]:g}, {coords[2]:g}, {coords[3]:g}) has no area "
            f"inside the {width}x{height} image"
        )
    return box


class BoxesMixin(ImagesMixin):
    def boxes(self, image_id: int, *, include_rejected: bool = False) -> list[Box]:
        """The boxes of an image in the order they were added (rejected ones on request)."""
        query = f"{_BOX_SELECT} WHERE b.image_id = ?"
        if not include_rejected:
            query += " AND b.status != 'rejected'"
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY b.id", (int(image_id),)).fetchall()
        return [box_from_row(r) for r in rows]

    def boxes_by_image(self, *, include_rejected: bool = False) -> dict[int, list[Box]]:
        """Every image's boxes (as ``boxes()`` orders them) in one query: image id -> boxes.

        For whole-project work (export) where a query per image costs seconds at 100,000
        images. Images without boxes are absent.
        """
        query = _BOX_SELECT
        if not include_rejected:
            query += " WHERE b.status != 'rejected'"
        out: dict[int, list[Box]] = {}
        with self._read() as conn:
            for row in conn.execute(query + " ORDER BY b.image_id, b.id"):
                out.setdefault(int(row[15]), []).append(box_from_row(row))
        return out

    def _box_row(self, conn: sqlite3.Connection, box_id: int) -> tuple[Box, int]:
        row = conn.execute(f"{_BOX_SELECT} WHERE b.id = ?", (int(box_id),)).fetchone()
        if row is None:
            raise ProjectError(f"box #{box_id} is not in the project (it may have been deleted)")
        return box_from_row(row), int(row[15])

    def box(self, box_id: int) -> Box:
        with self._read() as conn:
            return self._box_row(conn, box_id)[0]

    def box_image_id(self, box_id: int) -> int:
        """The image a box belongs to."""
        with self._read() as conn:
            return self._box_row(conn, box_id)[1]

    def add_box(
        self, image_id: int, box: Box, *, keep_id: bool = False, start_review: bool = False
    ) -> Box:
        """Store a box (clamped to the image); return it with its id.

        ``box.author`` defaults to the project author. ``keep_id=True`` stores it under
        ``box.id``: ids are never handed out twice, so a deleted box can come back under
        its old id (used by undo). ``start_review=True`` (a user drew it) also moves a
        "new" image to "in progress", in the same transaction.
        """
        with self._write() as conn:
            stored = self._insert_box(conn, image_id, box, keep_id)
            if start_review:
                self._start_review(conn, get_image(conn, image_id))
            return stored

    def add_boxes(
        self, image_id: int, boxes: Iterable[Box], *, start_review: bool = False
    ) -> list[Box]:
        """Store several boxes in one transaction (all or none); ``start_review`` as in
        ``add_box`` (only when at least one box is stored). Imports and model suggestions
        leave it off: they are not a reviewer's work, the image stays "new"."""
        with self._write() as conn:
            stored = [self._insert_box(conn, image_id, b, False) for b in boxes]
            if start_review and stored:
                self._start_review(conn, get_image(conn, image_id))
            return stored

    def _insert_box(self, conn: sqlite3.Connection, image_id: int, box: Box, keep_id: bool) -> Box:
        image = get_image(conn, image_id)
        box = checked_box(box, image.width, image.height)
        label_id = label_id_of(conn, box.label)
        if box.author is None:
            box = dataclasses.replace(box, author=self.author)
        if keep_id and box.id is None:
            raise ProjectError("keep_id needs a box with an id")
        stamp = now_iso()
        cur = conn.execute(
            "INSERT INTO boxes (id, image_id, label_id, x1, y1, x2, y2, difficult, truncated, "
            "occluded, pose, source, model_version, score, status, author, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                box.id if keep_id else None,
                image.id,
                label_id,
                box.x1,
                box.y1,
                box.x2,
                box.y2,
                int(box.difficult),
                int(box.truncated),
                int(box.occluded),
                box.pose,
                box.source,
                box.model_version,
                box.score,
                box.status,
                box.author,
                stamp,
                stamp,
            ),
        )
        box = dataclasses.replace(box, id=int(cur.lastrowid or 0))
        self._audit(
            conn, "add_box", "box", entity_id=box.id, image_id=image.id, after=box_dict(box)
        )
        return box

    def update_box(self, box_id: int, **changes: Any) -> Box:
        """Change fields of a box (x1, y1, x2, y2, label, difficult, truncated, occluded,
        pose, status, score, source, model_version, author); return the stored box.

        Changing a model box's geometry or label marks it "edited" unless ``status`` is
        given. The author becomes the project author unless given. No change, no write.
        """
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise TypeError(f"update_box got unknown fields: {', '.join(sorted(unknown))}")
        with self._write() as conn:
            before, image_id = self._box_row(conn, box_id)
            image = get_image(conn, image_id)
            after = checked_box(dataclasses.replace(before, **changes), image.width, image.height)
            reshaped = any(getattr(after, k) != getattr(before, k) for k in _SHAPE)
            if reshaped and before.source == "model" and "status" not in changes:
                after = dataclasses.replace(after, status="edited")
            if dataclasses.replace(after, author=before.author) == before:
                return before
            if "author" not in changes:
                after = dataclasses.replace(after, author=self.author)
            label_id = label_id_of(conn, after.label)
            conn.execute(
                "UPDATE boxes SET label_id = ?, x1 = ?, y1 = ?, x2 = ?, y2 = ?, difficult = ?, "
                "truncated = ?, occluded = ?, pose = ?, source = ?, model_version = ?, "
                "score = ?, status = ?, author = ?, updated_at = ? WHERE id = ?",
                (
                    label_id,
                    after.x1,
                    after.y1,
                    after.x2,
                    after.y2,
                    int(after.difficult),
                    int(after.truncated),
                    int(after.occluded),
                    after.pose,
                    after.source,
                    after.model_version,
                    after.score,
                    after.status,
                    after.author,
                    now_iso(),
                    before.id,
                ),
            )
            self._audit(
                conn,
                "update_box",
                "box",
                entity_id=before.id,
                image_id=image_id,
                before=box_dict(before),
                after=box_dict(after),
            )
        return after

    def delete_box(self, box_id: int) -> None:
        """Remove a box (the audit log keeps its last state). Prefer rejecting suggestions."""
        with self._write() as conn:
            before, image_id = self._box_row(conn, box_id)
            conn.execute("DELETE FROM boxes WHERE id = ?", (before.id,))
            self._audit(
                conn,
                "delete_box",
                "box",
                entity_id=before.id,
                image_id=image_id,
                before=box_dict(before),
            )

"""Image-level tags (``core.annotations.tags``): the grader's choices, and the boxes' answer.

``TagsRepository``, reached as ``project.tags``. Only what a grader chose is stored (table
``image_tags``, one row per image and kind); an image without a row shows what its boxes
say, worked out on each read, so it follows every box drawn, relabelled or deleted and can
never go stale. A row, even an empty one ("none present"), wins over the boxes until
``reset`` removes it.

The boxes counted are those that are ground truth in exports: accepted or edited, not
unreviewed suggestions or rejected ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from core.annotations.tags import AUTO, HUMAN, TAG_KINDS, ImageTags, TagKind, tag_kinds_for
from core.errors import ProjectError
from core.store.database import Database
from core.store.images import get_image
from core.store.records import now_iso

_TRUTH = ("accepted", "edited")


def _kind(name: str) -> TagKind:
    try:
        return TAG_KINDS[name]
    except KeyError:
        raise ProjectError(f"unknown tag kind {name!r} (known: {', '.join(TAG_KINDS)})") from None


def _labels(conn: sqlite3.Connection, image_id: int | None = None) -> dict[int, list[str]]:
    where = "AND b.image_id = ?" if image_id is not None else ""
    args: tuple[object, ...] = (*_TRUTH, int(image_id)) if image_id is not None else _TRUTH
    out: dict[int, list[str]] = {}
    for img, name in conn.execute(
        "SELECT DISTINCT b.image_id, l.name FROM boxes b JOIN labels l ON l.id = b.label_id "
        f"WHERE b.status IN (?, ?) {where}",
        args,
    ):
        out.setdefault(int(img), []).append(str(name))
    return out


def _chosen(
    conn: sqlite3.Connection, kind: str, image_id: int | None = None
) -> dict[int, tuple[tuple[str, ...], str | None]]:
    where = "AND image_id = ?" if image_id is not None else ""
    args: tuple[object, ...] = (kind, int(image_id)) if image_id is not None else (kind,)
    return {
        int(img): (tuple(json.loads(tags)), author)
        for img, tags, author in conn.execute(
            f"SELECT image_id, tags, author FROM image_tags WHERE kind = ? {where}", args
        )
    }


class TagsRepository:
    """The image-level tags of one project's images."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def kinds(self) -> list[TagKind]:
        """The tag kinds this project uses (from its labels and scales)."""
        with self._db.read() as conn:
            labels = [r[0] for r in conn.execute("SELECT name FROM labels")]
            scales = [r[0] for r in conn.execute("SELECT name FROM scales")]
        return tag_kinds_for(labels, scales)

    def get(self, image_id: int, kind: str) -> ImageTags:
        """The image's value: the grader's choice if there is one, else the boxes'."""
        tk = _kind(kind)
        with self._db.read() as conn:
            image = get_image(conn, image_id)
            auto = tk.from_labels(_labels(conn, image.id).get(image.id, []))
            chosen = _chosen(conn, kind, image.id).get(image.id)
        if chosen is None:
            return ImageTags(kind, auto, AUTO, auto)
        return ImageTags(kind, tk.normalise(chosen[0]), HUMAN, auto, chosen[1])

    def by_image(self, kind: str) -> dict[int, ImageTags]:
        """Every image's value in two queries (for exports): image id -> tags."""
        tk = _kind(kind)
        with self._db.read() as conn:
            ids = [int(r[0]) for r in conn.execute("SELECT id FROM images ORDER BY id")]
            labels = _labels(conn)
            chosen = _chosen(conn, kind)
        out: dict[int, ImageTags] = {}
        for i in ids:
            auto = tk.from_labels(labels.get(i, []))
            if i in chosen:
                out[i] = ImageTags(kind, tk.normalise(chosen[i][0]), HUMAN, auto, chosen[i][1])
            else:
                out[i] = ImageTags(kind, auto, AUTO, auto)
        return out

    def set(self, image_id: int, kind: str, tags: Iterable[str]) -> ImageTags:
        """Store the grader's choice (it wins over the boxes from now on)."""
        tk = _kind(kind)
        try:
            chosen = tk.normalise(tags)
        except ValueError as exc:
            raise ProjectError(str(exc)) from None
        before = self.get(image_id, kind)
        with self._db.write() as conn:
            stamp = now_iso()
            conn.execute(
                "INSERT INTO image_tags (image_id, kind, tags, author, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (image_id, kind) DO UPDATE SET "
                "tags = excluded.tags, author = excluded.author, updated_at = excluded.updated_at",
                (int(image_id), kind, json.dumps(list(chosen)), self._db.author, stamp, stamp),
            )
            self._db.audit(
                conn,
                "set_tags",
                "tags",
                image_id=int(image_id),
                before=_audit(before),
                after={"kind": kind, "tags": list(chosen), "source": HUMAN},
            )
        return self.get(image_id, kind)

    def reset(self, image_id: int, kind: str) -> ImageTags:
        """Drop the grader's choice: the boxes' answer shows again."""
        _kind(kind)
        before = self.get(image_id, kind)
        if before.source == HUMAN:
            with self._db.write() as conn:
                conn.execute(
                    "DELETE FROM image_tags WHERE image_id = ? AND kind = ?",
                    (int(image_id), kind),
                )
                self._db.audit(
                    conn, "reset_tags", "tags", image_id=int(image_id), before=_audit(before)
                )
        return self.get(image_id, kind)


def _audit(t: ImageTags) -> dict[str, object]:
    return {"kind": t.kind, "tags": list(t.tags), "source": t.source}

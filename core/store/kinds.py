"""The kind of an image (X-ray / photo) as the store sees it: the user's per-image choice
(table ``image_kind``) over what the file says (core.annotations.kinds)."""

from __future__ import annotations

import sqlite3

from core.annotations import GradingScale
from core.annotations.kinds import kind_of
from core.store.records import ImageRecord


def chosen_kind(conn: sqlite3.Connection, image_id: int) -> str | None:
    row = conn.execute(
        "SELECT kind FROM image_kind WHERE image_id = ?", (int(image_id),)
    ).fetchone()
    return None if row is None else str(row[0])


def effective_kind(conn: sqlite3.Connection, image: ImageRecord) -> str | None:
    return kind_of(image.modality, image.samples_per_pixel, chosen_kind(conn, image.id))


def applying_scales(scales: list[GradingScale], kind: str | None) -> list[GradingScale]:
    return [s for s in scales if s.applies(kind)]

"""Plain records the store hands out and takes in (no SQL here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """UTC timestamp with milliseconds, e.g. ``2024-05-01T12:00:00.123+00:00``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class NewImage:
    """An image to add to a project (what an importer learnt from the file header).

    ``path`` may be absolute or relative to the current directory; the store keeps it
    relative to the project folder when the file lies inside it, else absolute.
    ``width``/``height`` of 0 mean "unknown" (e.g. an unreadable file, with ``error`` set):
    boxes on such an image are not clamped.
    """

    path: str
    width: int
    height: int
    bit_depth: int = 8
    samples_per_pixel: int = 1
    modality: str | None = None
    sha256: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ImageRecord:
    """One row of the image list.

    ``path`` is as stored (relative to the project with ``/`` separators when inside it);
    use ``Project.image_path(record)`` for an absolute path. ``box_count`` counts the
    boxes that are not rejected (maintained by the database, so the list needs no join).
    """

    id: int
    path: str
    sha256: str | None
    width: int
    height: int
    bit_depth: int
    samples_per_pixel: int
    modality: str | None
    review_status: str
    box_count: int
    error: str | None
    added_at: str
    updated_at: str = ""


@dataclass(frozen=True)
class AuditEvent:
    """One change: who, when, what, and the entity's state before and after (JSON dicts).

    ``before`` is None for a creation, ``after`` None for a deletion.
    """

    id: int
    at: str
    author: str
    action: str
    image_id: int | None
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

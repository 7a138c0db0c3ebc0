"""The frozen held-out set: every image is assigned once, ``train`` or ``heldout``, and never
moves, so successive model versions are compared on the same images.

Table ``image_split`` (schema version 3): one row per image (``image_id``, ``role``,
``stratum``, ``assigned_at``, ``seed``). A trigger refuses every UPDATE, so a role once given
is kept for good; the row goes only with its image (foreign key, ``ON DELETE CASCADE``).

Who assigns: ``add_images`` (in its own transaction, so no image exists without a role) and,
for the images of a project made before the table, the migration that made it. The
fraction (default 0.2) and the seed (default 0) live in the ``meta`` table
(``heldout_fraction``, ``heldout_seed``).

How: stratified by the labels an image holds when it is assigned (the stratum is the
sorted, line-separated set of its labels; "" for none: see ``stratum_of``). Within a
stratum, after ``n`` assignments of which ``h`` held out, the next image is held out iff
``floor((n + 1) * fraction + u) > h`` where ``u`` in [0, 1) comes from
``blake2b(seed:sha256)`` of the image. So each stratum holds between ``floor(n * f)`` and
``floor(n * f) + 1`` held-out images at every moment, new arrivals keep it so one at a time,
and the outcome is fixed by the seed, the images' content and their arrival order (the
migration takes a project's images in the order of ``u``).

Readers (a read-only project, e.g. the training worker's) only query: ``role``, ``roles``,
``ids``, ``summary``, ``fraction``, ``seed``.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.errors import ProjectError
from core.store.database import Database
from core.store.records import now_iso

TRAIN = "train"
HELDOUT = "heldout"
ROLES = (TRAIN, HELDOUT)
REVIEWED = "done"  # the review status that makes an image training / evaluation data

FRACTION_KEY = "heldout_fraction"
SEED_KEY = "heldout_seed"
DEFAULT_FRACTION = 0.2
DEFAULT_SEED = 0
# Boxes whose labels place an image in its stratum: the human-confirmed ones.
_TRUTH = "status IN ('accepted', 'edited')"


def stratum_of(labels: Iterable[str]) -> str:
    """The stratum of an image holding boxes of ``labels`` (label names hold no line break)."""
    return "\n".join(sorted(set(labels)))


def _unit(seed: int, key: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _key(image_id: int, sha256: str | None) -> str:
    return sha256 or f"id{image_id}"


@dataclass
class _Quota:
    assigned: int = 0
    held: int = 0

    def next_role(self, fraction: float, u: float) -> str:
        target = math.floor((self.assigned + 1) * fraction + u)
        held = target > self.held
        self.assigned += 1
        self.held += int(held)
        return HELDOUT if held else TRAIN


def _settings(conn: sqlite3.Connection) -> tuple[float, int]:
    fraction = Database.meta(conn, FRACTION_KEY)
    seed = Database.meta(conn, SEED_KEY)
    return (
        DEFAULT_FRACTION if fraction is None else float(fraction),
        DEFAULT_SEED if seed is None else int(seed),
    )


class _Assigner:
    """Assigns images inside one transaction, keeping the per-stratum counts it has read."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.fraction, self.seed = _settings(conn)
        self.stamp = now_iso()
        self.quotas: dict[str, _Quota] = {}
        self._rows: list[tuple[int, str, str, str, int]] = []

    def _quota(self, stratum: str) -> _Quota:
        quota = self.quotas.get(stratum)
        if quota is None:
            n, h = self.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(role = 'heldout'), 0) FROM image_split "
                "WHERE stratum = ?",
                (stratum,),
            ).fetchone()
            quota = self.quotas[stratum] = _Quota(int(n), int(h))
        return quota

    def assign(self, image_id: int, sha256: str | None, stratum: str) -> str:
        role = self._quota(stratum).next_role(
            self.fraction, _unit(self.seed, _key(image_id, sha256))
        )
        self._rows.append((int(image_id), role, stratum, self.stamp, self.seed))
        return role

    def flush(self) -> None:
        """Write the roles decided so far (one executemany: an import adds thousands)."""
        self.conn.executemany(
            "INSERT INTO image_split (image_id, role, stratum, assigned_at, seed) "
            "VALUES (?, ?, ?, ?, ?)",
            self._rows,
        )
        self._rows = []


def assign_new(
    conn: sqlite3.Connection,
    images: Sequence[tuple[int, str | None]],
    labels: Sequence[Iterable[str]] | None = None,
) -> list[str]:
    """Assign just-added images ``(id, sha256)`` in arrival order, inside the caller's
    transaction (``add_images``); ``labels[i]``: the labels image ``i`` will hold (an
    import adds the boxes after the image), default none. Returns the roles."""
    assigner = _Assigner(conn)
    out = []
    for i, (image_id, sha256) in enumerate(images):
        stratum = stratum_of(labels[i]) if labels is not None else ""
        out.append(assigner.assign(image_id, sha256, stratum))
    assigner.flush()
    return out


def assign_unassigned(conn: sqlite3.Connection) -> int:
    """Assign every image without a role (the images of a project older than the table),
    stratified by the labels of their confirmed boxes now, in the order of their seeded
    hash. Called by the schema migration; returns how many were assigned."""
    assigner = _Assigner(conn)
    rows = conn.execute(
        "SELECT id, sha256 FROM images WHERE id NOT IN (SELECT image_id FROM image_split)"
    ).fetchall()
    if not rows:
        return 0
    held: dict[int, list[str]] = {}
    for image_id, name in conn.execute(
        f"SELECT DISTINCT b.image_id, l.name FROM boxes b JOIN labels l ON l.id = b.label_id "
        f"WHERE b.{_TRUTH}"
    ):
        held.setdefault(int(image_id), []).append(str(name))
    ordered = sorted(
        ((int(i), s) for i, s in rows),
        key=lambda r: (_unit(assigner.seed, _key(*r)), r[0]),
    )
    for image_id, sha256 in ordered:
        assigner.assign(image_id, sha256, stratum_of(held.get(image_id, ())))
    assigner.flush()
    return len(ordered)


class HeldoutRepository:
    """The ``image_split`` table of one open project (``project.heldout``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def fraction(self) -> float:
        with self._db.read() as conn:
            return _settings(conn)[0]

    def seed(self) -> int:
        with self._db.read() as conn:
            return _settings(conn)[1]

    def role(self, image_id: int) -> str:
        """``"train"`` or ``"heldout"``; ProjectError for an image the project lacks."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT role FROM image_split WHERE image_id = ?", (int(image_id),)
            ).fetchone()
        if row is None:
            raise ProjectError(f"image #{image_id} is not in the project")
        return str(row[0])

    def roles(self) -> dict[int, str]:
        """Every image's role (image id -> role), in one query."""
        with self._db.read() as conn:
            return {
                int(i): str(r)
                for i, r in conn.execute("SELECT image_id, role FROM image_split ORDER BY image_id")
            }

    def ids(self, role: str, reviewed_only: bool = False) -> list[int]:
        """The ids of the images with ``role``, ascending; ``reviewed_only``: only those
        whose review status is done (what may train or evaluate)."""
        if role not in ROLES:
            raise ProjectError(f"unknown role '{role}': use {' or '.join(ROLES)}")
        query = "SELECT s.image_id FROM image_split s"
        if reviewed_only:
            query += " JOIN images i ON i.id = s.image_id AND i.review_status = 'done'"
        with self._db.read() as conn:
            rows = conn.execute(query + " WHERE s.role = ? ORDER BY s.image_id", (role,))
            return [int(r[0]) for r in rows]

    def summary(self) -> dict[str, int]:
        """``{"images": held-out images, "reviewed": those of them reviewed (done)}``."""
        with self._db.read() as conn:
            n, m = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(i.review_status = 'done'), 0) FROM image_split s "
                "JOIN images i ON i.id = s.image_id WHERE s.role = 'heldout'"
            ).fetchone()
        return {"images": int(n), "reviewed": int(m)}

"""Images: adding, listing (paged and filtered for 100,000-image projects), paths."""

from __future__ import annotations

import dataclasses
import math
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from core.annotations import REVIEW_STATUSES
from core.errors import ProjectError
from core.store.base import ProjectBase
from core.store.database import audit_path
from core.store.definitions import get_scale
from core.store.heldout import assign_new
from core.store.records import ImageRecord, NewImage, now_iso

# Scale-level grade filters: ``images(grade=(scale, GRADED))`` etc.
# "Human grade" is "the" grade of core.store.readers (adjudicated, or the readers' value).
GRADED = "graded"  # a human grade on the scale
UNGRADED = "ungraded"  # no human grade on the scale (may have a model grade)
SUGGESTED = "suggested"  # a model grade waiting for the expert: no human grade yet
DISPUTED = "disputed"  # readers graded it differently and nobody adjudicated yet
GRADE_STATES = (GRADED, UNGRADED, SUGGESTED, DISPUTED)

# A grade filter: (scale, a value of the scale) or (scale, one of GRADE_STATES).
GradeFilter = tuple[str, "float | str"]

IMAGE_COLUMNS = (
    "id, path, sha256, width, height, bit_depth, samples_per_pixel, modality, "
    "review_status, box_count, error, added_at, updated_at"
)


def image_from_row(row: Sequence[Any]) -> ImageRecord:
    return ImageRecord(*row)


def get_image(conn: sqlite3.Connection, image_id: int) -> ImageRecord:
    """Image ``image_id`` (ProjectError if the project has no such image)."""
    row = conn.execute(
        f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?", (int(image_id),)
    ).fetchone()
    if row is None:
        raise ProjectError(f"image #{image_id} is not in the project")
    return image_from_row(row)


def image_dict(record: ImageRecord) -> dict[str, Any]:
    """What the audit log keeps of an image (its path as ``audit_path`` gives it)."""
    return dict(dataclasses.asdict(record), path=audit_path(record.path))


class ImagesMixin(ProjectBase):
    # --- paths -----------------------------------------------------------------------
    def _stored_path(self, path: str | Path) -> str:
        """Relative (with /) when the file lies in the project folder, else absolute.

        Plain string work: this runs once per file when importing 100,000 images.
        """
        absolute = os.path.normpath(os.path.abspath(path))
        root = os.path.normpath(os.path.abspath(self.folder))
        relative = _inside(absolute, root)
        if relative is None:  # maybe the same place reached through a symlink
            relative = _inside(os.path.realpath(absolute), os.path.realpath(root))
        stored = absolute if relative is None else relative.replace(os.sep, "/")
        try:
            stored.encode("utf-8")
        except UnicodeEncodeError:
            # A POSIX file name that is not UTF-8 (Python keeps its bytes as surrogates):
            # SQLite text cannot hold it, and nobody could read it back under that name.
            shown = stored.encode("utf-8", "backslashreplace").decode("utf-8")
            raise ProjectError(
                f"'{shown}': the file name is not valid UTF-8 text; rename the file to add it"
            ) from None
        return stored

    def image_path(self, record: ImageRecord) -> Path:
        """Absolute path of an image file."""
        stored = Path(record.path)
        if stored.is_absolute():
            return stored
        return self.folder.absolute() / PurePosixPath(record.path)

    # --- adding ----------------------------------------------------------------------
    def add_images(
        self,
        items: Iterable[NewImage],
        *,
        existing: str = "error",
        labels: Sequence[Iterable[str]] | None = None,
    ) -> list[int]:
        """Add images in one transaction; return their ids in input order.

        ``existing="error"`` (default) refuses a path already in the project (then nothing
        is added); ``existing="reuse"`` returns the stored image's id instead. Each new
        image gets its frozen train / held-out role in the same transaction
        (``core.store.heldout``), stratified by ``labels[i]``: the labels image ``i`` is
        about to be given (an import adds its boxes next); default none.
        """
        if existing not in ("error", "reuse"):
            raise ValueError("existing must be 'error' or 'reuse'")
        items = list(items)
        if labels is not None and len(labels) != len(items):
            raise ValueError("labels must give one set of labels per image")
        ids: list[int] = []
        added: list[tuple[int, str | None]] = []
        added_labels: list[Iterable[str]] = []
        with self._write() as conn:
            stamp = now_iso()
            for index, item in enumerate(items):
                stored = self._stored_path(item.path)
                _check_new_image(item)
                row = conn.execute("SELECT id FROM images WHERE path = ?", (stored,)).fetchone()
                if row is not None:
                    if existing == "reuse":
                        ids.append(int(row[0]))
                        continue
                    raise ProjectError(
                        f"'{item.path}' is already in the project; nothing was added"
                    )
                cur = conn.execute(
                    "INSERT INTO images (path, sha256, width, height, bit_depth, "
                    "samples_per_pixel, modality, error, added_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        stored,
                        item.sha256,
                        int(item.width),
                        int(item.height),
                        int(item.bit_depth),
                        int(item.samples_per_pixel),
                        item.modality,
                        item.error,
                        stamp,
                        stamp,
                    ),
                )
                image_id = int(cur.lastrowid or 0)
                ids.append(image_id)
                added.append((image_id, item.sha256))
                added_labels.append(() if labels is None else labels[index])
                after = dict(vars(item), path=audit_path(stored))
                self._audit(
                    conn, "add_image", "image", entity_id=image_id, image_id=image_id, after=after
                )
            assign_new(conn, added, added_labels)
        return ids

    def set_image_error(self, image_id: int, message: str | None) -> None:
        """Record (or clear with None) why an image cannot be read."""
        with self._write() as conn:
            before = get_image(conn, image_id)
            if before.error == message:
                return
            conn.execute(
                "UPDATE images SET error = ?, updated_at = ? WHERE id = ?",
                (message, now_iso(), image_id),
            )
            self._audit(
                conn,
                "set_image_error",
                "image",
                entity_id=image_id,
                image_id=image_id,
                before={"error": before.error},
                after={"error": message},
            )

    def _start_review(self, conn: sqlite3.Connection, image: ImageRecord) -> None:
        """A "new" image becomes "in progress", inside the caller's transaction.

        Called with a user's first box, so the box and the status change are saved together
        or not at all: a crash between two commits could otherwise leave a boxed image
        listed as "new" (and the review queue would offer it again as untouched).
        """
        if image.review_status != "new":
            return
        conn.execute(
            "UPDATE images SET review_status = 'in_progress', updated_at = ? WHERE id = ?",
            (now_iso(), image.id),
        )
        # The same event set_review_status writes, so the audit reads the same either way.
        self._audit(
            conn,
            "set_review_status",
            "image",
            entity_id=image.id,
            image_id=image.id,
            before={"review_status": "new"},
            after={"review_status": "in_progress"},
        )

    # --- reading ---------------------------------------------------------------------
    def image(self, image_id: int) -> ImageRecord:
        """One image. ProjectError if there is no such image."""
        with self._read() as conn:
            return get_image(conn, image_id)

    def images(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        status: str | Sequence[str] | None = None,
        label: str | None = None,
        search: str | None = None,
        grade: GradeFilter | None = None,
    ) -> list[ImageRecord]:
        """A page of the image list, in the order images were added.

        ``status``: a review status or several; ``label``: images with at least one
        non-rejected box of that label; ``search``: case-insensitive substring of the path;
        ``grade``: ``(scale, value)`` images whose human grade on the scale is ``value``,
        ``(scale, "graded")`` / ``(scale, "ungraded")`` with / without a human grade,
        ``(scale, "suggested")`` with a model grade but no human grade yet. An unknown
        label or scale matches nothing; a value the scale lacks is a ProjectError.
        """
        with self._read() as conn:
            where, params = self._filters(conn, status, label, search, grade)
            rows = conn.execute(
                f"SELECT {IMAGE_COLUMNS} FROM images{where} ORDER BY id LIMIT ? OFFSET ?",
                (*params, -1 if limit is None else max(0, int(limit)), max(0, int(offset))),
            ).fetchall()
        return [image_from_row(r) for r in rows]

    def image_count(
        self,
        *,
        status: str | Sequence[str] | None = None,
        label: str | None = None,
        search: str | None = None,
        grade: GradeFilter | None = None,
    ) -> int:
        """How many images ``images(...)`` would list with the same filters."""
        with self._read() as conn:
            where, params = self._filters(conn, status, label, search, grade)
            return int(conn.execute(f"SELECT COUNT(*) FROM images{where}", params).fetchone()[0])

    def image_ids_where(
        self,
        *,
        status: str | Sequence[str] | None = None,
        label: str | None = None,
        search: str | None = None,
        grade: GradeFilter | None = None,
    ) -> list[int]:
        """The ids ``images(...)`` would list with these filters, in the same order, without
        building records (the review queue's candidates: one light query)."""
        with self._read() as conn:
            where, params = self._filters(conn, status, label, search, grade)
            return [
                int(r[0]) for r in conn.execute(f"SELECT id FROM images{where} ORDER BY id", params)
            ]

    def filter_sql(
        self,
        conn: sqlite3.Connection,
        *,
        status: str | Sequence[str] | None = None,
        label: str | None = None,
        search: str | None = None,
        grade: GradeFilter | None = None,
    ) -> tuple[str, tuple[Any, ...]]:
        """The condition (over the ``images`` table, unqualified columns; "1" for none) and
        parameters of ``images(...)``'s filters, for a query that needs them inside a
        larger one (review next: one query with LIMIT, ``core.store.scores``)."""
        where, params = self._filters(conn, status, label, search, grade)
        return (where.removeprefix(" WHERE ") or "1"), params

    def image_ids(self) -> list[int]:
        with self._read() as conn:
            return [int(r[0]) for r in conn.execute("SELECT id FROM images ORDER BY id")]

    def find_image(
        self, path: str | Path | None = None, sha256: str | None = None
    ) -> ImageRecord | None:
        """The image stored under ``path``, else the first with ``sha256`` (a moved file).

        ``path`` is normalised as on add (relative paths against the current directory);
        a relative path not found that way is also tried as stored, i.e. relative to the
        project folder.
        """
        with self._read() as conn:
            if path is not None:
                try:
                    candidates = [self._stored_path(path)]
                except ProjectError:  # a name the store cannot hold is not in it
                    candidates = []
                if candidates and not Path(path).is_absolute():
                    candidates.append(Path(path).as_posix())
                for stored in candidates:
                    row = conn.execute(
                        f"SELECT {IMAGE_COLUMNS} FROM images WHERE path = ?", (stored,)
                    ).fetchone()
                    if row is not None:
                        return image_from_row(row)
            if sha256 is not None:
                row = conn.execute(
                    f"SELECT {IMAGE_COLUMNS} FROM images WHERE sha256 = ? ORDER BY id LIMIT 1",
                    (sha256,),
                ).fetchone()
                if row is not None:
                    return image_from_row(row)
        return None

    def relocate_image(
        self, image_id: int, path: str | Path, *, sha256: str | None = None
    ) -> ImageRecord:
        """Point an image at its file's new place (found e.g. by ``find_image(sha256=...)``
        or picked by the user); annotations stay. ProjectError if another image has it."""
        with self._write() as conn:
            before = get_image(conn, image_id)
            stored = self._stored_path(path)
            other = conn.execute("SELECT id FROM images WHERE path = ?", (stored,)).fetchone()
            if other is not None and int(other[0]) != before.id:
                raise ProjectError(f"'{path}' is already in the project as another image")
            new_sha = before.sha256 if sha256 is None else sha256
            conn.execute(
                "UPDATE images SET path = ?, sha256 = ?, updated_at = ? WHERE id = ?",
                (stored, new_sha, now_iso(), before.id),
            )
            self._audit(
                conn,
                "relocate_image",
                "image",
                entity_id=before.id,
                image_id=before.id,
                before={"path": audit_path(before.path), "sha256": before.sha256},
                after={"path": audit_path(stored), "sha256": new_sha},
            )
            return get_image(conn, before.id)

    def _filters(
        self,
        conn: sqlite3.Connection,
        status: str | Sequence[str] | None,
        label: str | None,
        search: str | None,
        grade: GradeFilter | None = None,
    ) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            bad = [s for s in wanted if s not in REVIEW_STATUSES]
            if bad:
                raise ProjectError(
                    f"unknown review status {', '.join(map(repr, bad))} "
                    f"(one of {', '.join(REVIEW_STATUSES)})"
                )
            clauses.append(f"review_status IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if label is not None:
            row = conn.execute("SELECT id FROM labels WHERE name = ?", (label,)).fetchone()
            # An unknown label matches nothing rather than failing a list view.
            clauses.append(
                "id IN (SELECT image_id FROM boxes WHERE label_id = ? AND status != 'rejected')"
            )
            params.append(-1 if row is None else int(row[0]))
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("path LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if grade is not None:
            clause, values = self._grade_clause(conn, grade)
            clauses.append(clause)
            params.extend(values)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return where, tuple(params)

    def _grade_clause(
        self, conn: sqlite3.Connection, grade: GradeFilter
    ) -> tuple[str, tuple[Any, ...]]:
        """SQL for a grade filter. Each form is one range of the grades_filter index
        (scale, source, value, image_id), so it stays fast at 100,000 images."""
        try:
            scale, wanted = grade
        except (TypeError, ValueError):
            raise ProjectError(
                f"a grade filter is (scale, value) or (scale, one of {', '.join(GRADE_STATES)}), "
                f"not {grade!r}"
            ) from None
        # "The" human grade (core.store.readers): adjudicated, or the readers' one value.
        human = "SELECT image_id FROM final_grades WHERE scale = ?"
        if isinstance(wanted, str) and wanted in GRADE_STATES:
            if wanted == GRADED:
                return f"id IN ({human})", (scale,)
            if wanted == UNGRADED:
                return f"id NOT IN ({human})", (scale,)
            if wanted == DISPUTED:
                return (
                    "id IN (SELECT image_id FROM grades WHERE scale = ? AND source = 'human') "
                    f"AND id NOT IN ({human})",
                    (scale, scale),
                )
            return (
                "id IN (SELECT image_id FROM grades WHERE scale = ? AND source = 'model') "
                f"AND id NOT IN ({human})",
                (scale, scale),
            )
        row = conn.execute("SELECT definition FROM scales WHERE name = ?", (scale,)).fetchone()
        if row is None:
            return "0", ()  # like an unknown label: an empty list, not an error
        grading = get_scale(conn, scale)
        try:
            number = float(wanted)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or not grading.is_valid(number):
            allowed = ", ".join(f"{v.value:g}" for v in grading.values)
            raise ProjectError(
                f"{wanted!r} is not a grade on the {grading.title} scale (allowed: {allowed}, "
                f"or {', '.join(GRADE_STATES)})"
            )
        # Stored values are snapped to the scale's own (see set_grade): compare those.
        number = grading.snap(number)
        return f"id IN ({human} AND value = ?)", (scale, number)


def _inside(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` if it lies below it (case-insensitive on Windows)."""
    prefix = root.rstrip(os.sep) + os.sep
    if os.path.normcase(path).startswith(os.path.normcase(prefix)):
        return path[len(prefix) :]
    return None


def _check_new_image(item: NewImage) -> None:
    if int(item.width) < 0 or int(item.height) < 0:
        raise ProjectError(f"'{item.path}': image size {item.width}x{item.height} is not valid")
    if int(item.bit_depth) <= 0 or int(item.samples_per_pixel) <= 0:
        raise ProjectError(f"'{item.path}': bit depth and channels must be positive")

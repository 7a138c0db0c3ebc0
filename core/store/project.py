"""The project: a folder with a SQLite database (``project.clinlens``), ``models/``, ``exports/``.

Durability: WAL journal with ``synchronous=FULL`` and one ``BEGIN IMMEDIATE ... COMMIT``
per edit, so an edit is on disk when its call returns and a kill at any moment loses at
most the edit in flight. One writer at a time (``core.store.lock``); readers open the file
with SQLite's ``mode=ro`` and see each committed edit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from core.annotations import REVIEW_STATUSES, Grade, GradingScale, Label, LabelSet
from core.errors import ProjectError
from core.store import schema
from core.store.boxes import BoxesMixin
from core.store.database import Database, default_author, from_json, to_json
from core.store.definitions import DefinitionsRepository
from core.store.grades import GradesRepository
from core.store.heldout import HeldoutRepository
from core.store.images import get_image
from core.store.lock import ProjectLock
from core.store.model_trust import ModelTrustRepository
from core.store.opening import (
    DB_NAME,
    SIDE_FILES,
    build_database,
    check_definitions,
    connect,
    fsync_dir,
)
from core.store.readers import ReadersRepository
from core.store.records import AuditEvent, now_iso
from core.store.scores import ScoresRepository
from core.store.source_groups import SourceGroupsRepository
from core.store.tags import TagsRepository


class Project(BoxesMixin):
    """A ClinLens project. Every edit is one transaction, durable when the call returns.

    Open with ``Project.create(...)`` or ``Project.open(...)``; use as a context manager or
    call ``close()``. Only one process may write a project at a time (OS file lock); others
    can open it with ``read_only=True`` alongside the writer. Thread-safe: calls are
    serialised by an internal lock, so a background job may write suggestions.

    Parts of the API live in repositories sharing the project's ``Database``:
    ``definitions`` (labels and scales), ``grading`` (grades and review status),
    ``model_trust`` (the SHA-256 of each trusted model file) and ``heldout`` (each image's
    frozen train / held-out role) and ``tags`` (image-level tags such as lesion types).
    ``model_trust`` (the SHA-256 of each trusted model file), ``heldout`` (each image's
    frozen train / held-out role) and ``readers`` (readers' grades, "the" human grade,
    adjudication, blinding; ``core.store.readers``).
    """

    definitions: DefinitionsRepository
    grading: GradesRepository
    model_trust: ModelTrustRepository
    heldout: HeldoutRepository
    tags: TagsRepository
    readers: ReadersRepository
    scores: ScoresRepository
    source_groups: SourceGroupsRepository

    def __init__(self, db: Database, *, lock: ProjectLock | None) -> None:
        super().__init__(db)
        self._write_lock = lock
        self.definitions = DefinitionsRepository(db)
        self.grading = GradesRepository(db)
        self.model_trust = ModelTrustRepository(db)
        self.heldout = HeldoutRepository(db)
        self.tags = TagsRepository(db)
        self.readers = ReadersRepository(db)
        self.scores = ScoresRepository(db)
        self.source_groups = SourceGroupsRepository(db)
        with self._read() as c:
            self.name = self._meta(c, "name") or db.folder.name

    # --- lifecycle -------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        folder: str | Path,
        *,
        label_set: LabelSet,
        scales: Sequence[GradingScale],
        name: str | None = None,
        author: str | None = None,
    ) -> Project:
        """Create a project in ``folder`` (made if missing; may already hold images).

        The database is built under a temporary name and renamed into place, so a crash
        during creation never leaves a half-made project. ProjectError if the folder
        already holds a project or cannot be written.
        """
        folder = Path(folder)
        check_definitions(label_set, scales)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(
                f"cannot create the project folder '{folder}': {exc.strerror}"
            ) from exc
        db = folder / DB_NAME
        if db.exists():
            raise ProjectError(f"'{folder}' already holds a ClinLens project")
        who = (author or "").strip() or default_author()
        lock = ProjectLock(folder, who)
        lock.acquire()
        try:
            if db.exists():  # created by another process while we waited for the lock
                raise ProjectError(f"'{folder}' already holds a ClinLens project")
            tmp = folder / (DB_NAME + ".creating")
            for leftover in [tmp, *(Path(f"{tmp}{s}") for s in SIDE_FILES)]:
                leftover.unlink(missing_ok=True)
            build_database(tmp, folder, label_set, scales, name or folder.name, who)
            os.replace(tmp, db)
            fsync_dir(folder)
            for sub in ("models", "exports"):
                (folder / sub).mkdir(exist_ok=True)
            return cls._connect(folder, read_only=False, author=who, lock=lock)
        except OSError as exc:
            lock.release()
            raise ProjectError(
                f"cannot create a project in '{folder}': {exc.strerror or exc}"
            ) from exc
        except BaseException:
            lock.release()
            raise

    @classmethod
    def open(
        cls, folder: str | Path, *, read_only: bool = False, author: str | None = None
    ) -> Project:
        """Open an existing project.

        ProjectError: not a project, damaged, or made by a newer ClinLens.
        ProjectLockedError: another process writes it (retry with ``read_only=True``).
        An older schema is upgraded (after a backup copy ``project.clinlens.v<N>.bak``)
        when opened for writing; read-only opening of an older schema is refused.
        """
        folder = Path(folder)
        db = folder / DB_NAME
        try:
            is_project = db.is_file()
        except OSError as exc:  # e.g. a folder the user may not look into
            raise ProjectError(f"cannot open '{folder}': {exc.strerror or exc}") from None
        if not is_project:
            raise ProjectError(f"'{folder}' is not a ClinLens project (no {DB_NAME})")
        if not os.access(db, os.R_OK):
            raise ProjectError(f"cannot open '{folder}': {DB_NAME} may not be read (permission)")
        if read_only:
            return cls._connect(folder, read_only=True, author=author, lock=None)
        lock = ProjectLock(folder, (author or "").strip() or default_author())
        lock.acquire()
        try:
            if not os.access(db, os.W_OK):
                # SQLite would open it quietly read-only and fail at the first edit.
                raise ProjectError(
                    f"cannot write to '{folder}': {DB_NAME} is read-only; "
                    "open the project read-only or check the file's permissions"
                )
            return cls._connect(folder, read_only=False, author=author, lock=lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _connect(
        cls, folder: Path, *, read_only: bool, author: str | None, lock: ProjectLock | None
    ) -> Project:
        return cls(connect(folder, read_only=read_only, author=author), lock=lock)

    def close(self) -> None:
        """Close the database and release the write lock (idempotent)."""
        self._db.close(then=self._release_write_lock)

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()
            self._write_lock = None

    def __enter__(self) -> Project:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._db.closed

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return schema.read_version(conn)

    @property
    def models_dir(self) -> Path:
        return self.folder / "models"

    @property
    def exports_dir(self) -> Path:
        return self.folder / "exports"

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several edits into one transaction (all or nothing), e.g. one imported file.

        Nests: an inner ``batch`` is a savepoint. The edits become durable when the
        outermost ``batch`` exits without an exception; an exception undoes them all.
        """
        with self._write():
            yield

    # --- transition: the repositories' API on the project ----------------------------
    # Callers not yet moved to ``project.definitions`` / ``project.grading`` (see
    # core.store's docstring). New code calls the repositories; remove these when unused.
    def label_set(self) -> LabelSet:
        return self.definitions.label_set()

    def add_label(self, name: str, color: str | None = None, hotkey: str | None = None) -> Label:
        return self.definitions.add_label(name, color, hotkey)

    def scales(self) -> list[GradingScale]:
        return self.definitions.scales()

    def add_scale(self, scale: GradingScale) -> None:
        self.definitions.add_scale(scale)

    def grades(self, image_id: int) -> list[Grade]:
        return self.grading.grades(image_id)

    def grades_by_image(self) -> dict[int, list[Grade]]:
        return self.grading.grades_by_image()

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
        return self.grading.set_grade(
            image_id,
            scale,
            value,
            source=source,
            model_version=model_version,
            confidence=confidence,
            author=author,
        )

    def clear_grade(
        self, image_id: int, scale: str, *, source: str = "human", reader: str | None = None
    ) -> None:
        self.grading.clear_grade(image_id, scale, source=source, reader=reader)

    def set_review_status(self, image_id: int, status: str) -> None:
        self.grading.set_review_status(image_id, status)

    # --- filter settings -------------------------------------------------------------
    def set_filter_settings(self, image_id: int, settings: dict[str, Any] | None) -> None:
        """Store the display settings (``FilterSettings.to_dict()``) used for an image;
        None forgets them (the project default applies)."""
        text = _settings_json(settings)
        with self._write() as conn:
            image = get_image(conn, image_id)
            row = conn.execute(
                "SELECT settings FROM filter_settings WHERE image_id = ?", (image.id,)
            ).fetchone()
            before = None if row is None else row[0]
            if before == text:
                return
            if text is None:
                conn.execute("DELETE FROM filter_settings WHERE image_id = ?", (image.id,))
            else:
                conn.execute(
                    "INSERT INTO filter_settings (image_id, settings, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (image_id) DO UPDATE SET settings = excluded.settings, "
                    "updated_at = excluded.updated_at",
                    (image.id, text, now_iso()),
                )
            self._audit(
                conn,
                "set_filter_settings",
                "filter_settings",
                entity_id=image.id,
                image_id=image.id,
                before=from_json(before),
                after=settings,
            )

    def filter_settings(self, image_id: int) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT settings FROM filter_settings WHERE image_id = ?", (int(image_id),)
            ).fetchone()
        return None if row is None else dict(from_json(row[0]))

    def set_default_filter_settings(self, settings: dict[str, Any] | None) -> None:
        """The project-wide display settings for images without their own."""
        text = _settings_json(settings)
        with self._write() as conn:
            before = self._meta(conn, "default_filter_settings")
            if before == text:
                return
            self._set_meta(conn, "default_filter_settings", text)
            self._audit(
                conn,
                "set_default_filter_settings",
                "project",
                before=from_json(before),
                after=settings,
            )

    def default_filter_settings(self) -> dict[str, Any] | None:
        with self._read() as conn:
            text = self._meta(conn, "default_filter_settings")
        return None if text is None else dict(from_json(text))

    # --- audit and stats -------------------------------------------------------------
    def audit_events(self, image_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        """The latest audit events (all, or of one image), newest first."""
        query = (
            "SELECT id, at, author, action, image_id, entity, entity_id, before, after FROM audit"
        )
        params: tuple[Any, ...] = ()
        if image_id is not None:
            query += " WHERE image_id = ?"
            params = (int(image_id),)
        with self._read() as conn:
            rows = conn.execute(
                query + " ORDER BY id DESC LIMIT ?", (*params, int(limit))
            ).fetchall()
        return [
            AuditEvent(
                id=r[0],
                at=r[1],
                author=r[2],
                action=r[3],
                image_id=r[4],
                entity=r[5],
                entity_id=r[6],
                before=from_json(r[7]),
                after=from_json(r[8]),
            )
            for r in rows
        ]

    def stats(self) -> dict[str, Any]:
        """Counts for ``project stats --json`` (rejected boxes are not counted as boxes).

        Keys: name, images, boxes, boxes_per_label (every label, 0 included),
        boxes_per_status, grades_per_scale (images with a human grade),
        model_grades_per_scale, status_counts (every review status), images_with_errors,
        heldout (``{"images": N, "reviewed": M}``: the frozen held-out set, see
        ``core.store.heldout``).
        """
        with self._read() as conn:
            images = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
            per_label = dict.fromkeys(
                (r[0] for r in conn.execute("SELECT name FROM labels ORDER BY id")), 0
            )
            for label, count in conn.execute(
                "SELECT l.name, COUNT(*) FROM boxes b JOIN labels l ON l.id = b.label_id "
                "WHERE b.status != 'rejected' GROUP BY l.name"
            ):
                per_label[label] = count
            per_status = dict(
                conn.execute("SELECT status, COUNT(*) FROM boxes GROUP BY status").fetchall()
            )
            scale_names = [r[0] for r in conn.execute("SELECT name FROM scales ORDER BY position")]
            grades: dict[str, dict[str, int]] = {"human": {}, "model": {}}
            for source in grades:
                counts = dict(
                    conn.execute(
                        # Images, not rows: several readers may grade one image.
                        "SELECT scale, COUNT(DISTINCT image_id) FROM grades WHERE source = ? "
                        "GROUP BY scale",
                        (source,),
                    ).fetchall()
                )
                grades[source] = {s: int(counts.get(s, 0)) for s in scale_names}
            statuses = dict.fromkeys(REVIEW_STATUSES, 0)
            statuses.update(
                conn.execute(
                    "SELECT review_status, COUNT(*) FROM images GROUP BY review_status"
                ).fetchall()
            )
            errors = conn.execute("SELECT COUNT(*) FROM images WHERE error IS NOT NULL").fetchone()[
                0
            ]
        return {
            "name": self.name,
            "images": int(images),
            "boxes": int(sum(per_label.values())),
            "boxes_per_label": per_label,
            "boxes_per_status": {
                s: int(per_status.get(s, 0))
                for s in ("suggested", "accepted", "edited", "rejected")
            },
            "grades_per_scale": grades["human"],
            "model_grades_per_scale": grades["model"],
            "status_counts": statuses,
            "images_with_errors": int(errors),
            "heldout": self.heldout.summary(),
        }


# --- helpers ---------------------------------------------------------------------------
def _settings_json(settings: dict[str, Any] | None) -> str | None:
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise ProjectError("filter settings must be a mapping (FilterSettings.to_dict())")
    try:
        return to_json(settings)
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"filter settings cannot be saved: {exc}") from exc

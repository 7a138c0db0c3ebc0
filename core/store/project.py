"""The project: a folder with a SQLite database (``project.clinlens``), ``models/``, ``exports/``.

Public API skeleton (implementation follows in small commits).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from core.annotations import Box, Grade, GradingScale, Label, LabelSet
from core.store.records import AuditEvent, ImageRecord, NewImage

DB_NAME = "project.clinlens"


class Project:
    """A ClinLens project. Every edit is one transaction, durable when the call returns.

    Open with ``Project.create(...)`` or ``Project.open(...)``; use as a context manager or
    call ``close()``. Only one process may write a project at a time (OS file lock); others
    can open it with ``read_only=True`` alongside the writer. Thread-safe: calls are
    serialised by an internal lock, so a background job may write suggestions.
    """

    folder: Path
    read_only: bool
    name: str

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

        Raises ProjectError if the folder already holds a project or cannot be written.
        """
        raise NotImplementedError

    @classmethod
    def open(
        cls, folder: str | Path, *, read_only: bool = False, author: str | None = None
    ) -> Project:
        """Open an existing project.

        ProjectError: not a project / damaged / made by a newer ClinLens.
        ProjectLockedError: another process writes it (retry with ``read_only=True``).
        An older schema is migrated (after a backup copy) when opened for writing.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Close the database and release the write lock (idempotent)."""
        raise NotImplementedError

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
    def author(self) -> str:
        """Who edits: recorded on boxes, grades and audit events (default: the OS user)."""
        raise NotImplementedError

    @author.setter
    def author(self, value: str) -> None:
        raise NotImplementedError

    @property
    def schema_version(self) -> int:
        raise NotImplementedError

    @property
    def models_dir(self) -> Path:
        return self.folder / "models"

    @property
    def exports_dir(self) -> Path:
        return self.folder / "exports"

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several edits into one transaction (all or nothing), e.g. one imported file.

        Nests: an inner ``batch`` is a savepoint. Edits made inside are durable when the
        outermost ``batch`` exits without an exception.
        """
        raise NotImplementedError
        yield

    # --- labels and scales -----------------------------------------------------------
    def label_set(self) -> LabelSet:
        """The label registry: ids fixed at creation, only appended to."""
        raise NotImplementedError

    def add_label(self, name: str, color: str | None = None, hotkey: str | None = None) -> Label:
        """Append a label (next id). ProjectError if the name exists."""
        raise NotImplementedError

    def scales(self) -> list[GradingScale]:
        """The project's grading scales, in the order they were added."""
        raise NotImplementedError

    def add_scale(self, scale: GradingScale) -> None:
        """Add a grading scale. ProjectError if one with that name exists."""
        raise NotImplementedError

    # --- images ----------------------------------------------------------------------
    def add_images(self, items: Iterable[NewImage], *, existing: str = "error") -> list[int]:
        """Add images in one transaction; return their ids in input order.

        ``existing="error"`` (default) refuses a path already in the project (nothing is
        added); ``existing="reuse"`` returns the id of the stored image instead.
        """
        raise NotImplementedError

    def image(self, image_id: int) -> ImageRecord:
        """One image. ProjectError if there is no such image."""
        raise NotImplementedError

    def images(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        status: str | Sequence[str] | None = None,
        label: str | None = None,
        search: str | None = None,
    ) -> list[ImageRecord]:
        """A page of the image list, in the order images were added.

        ``status``: a review status or several; ``label``: images with at least one
        non-rejected box of that label; ``search``: case-insensitive substring of the path.
        """
        raise NotImplementedError

    def image_count(
        self,
        *,
        status: str | Sequence[str] | None = None,
        label: str | None = None,
        search: str | None = None,
    ) -> int:
        """How many images ``images(...)`` would list with the same filters."""
        raise NotImplementedError

    def image_ids(self) -> list[int]:
        raise NotImplementedError

    def find_image(
        self, path: str | Path | None = None, sha256: str | None = None
    ) -> ImageRecord | None:
        """The image stored under ``path`` (normalised as on add), else the first with ``sha256``."""
        raise NotImplementedError

    def image_path(self, record: ImageRecord) -> Path:
        """Absolute path of an image file."""
        raise NotImplementedError

    def set_image_error(self, image_id: int, message: str | None) -> None:
        """Record (or clear with None) why an image cannot be read."""
        raise NotImplementedError

    # --- boxes -----------------------------------------------------------------------
    def boxes(self, image_id: int, *, include_rejected: bool = False) -> list[Box]:
        raise NotImplementedError

    def box(self, box_id: int) -> Box:
        raise NotImplementedError

    def box_image_id(self, box_id: int) -> int:
        """The image a box belongs to."""
        raise NotImplementedError

    def add_box(self, image_id: int, box: Box, *, keep_id: bool = False) -> Box:
        """Store a box (clamped to the image); return it with its id.

        ``box.author`` defaults to the project author. ``keep_id=True`` reuses ``box.id``
        (ids are never handed out twice, so a deleted box can come back under its id;
        used by undo).
        """
        raise NotImplementedError

    def add_boxes(self, image_id: int, boxes: Iterable[Box]) -> list[Box]:
        """Store several boxes in one transaction."""
        raise NotImplementedError

    def update_box(self, box_id: int, **changes: Any) -> Box:
        """Change fields of a box (x1, y1, x2, y2, label, difficult, truncated, occluded,
        pose, status, score, source, model_version, author).

        Changing a model suggestion's geometry or label marks it "edited" unless
        ``status`` is given. The author becomes the project author unless given.
        """
        raise NotImplementedError

    def delete_box(self, box_id: int) -> None:
        raise NotImplementedError

    # --- grades and review -----------------------------------------------------------
    def grades(self, image_id: int) -> list[Grade]:
        raise NotImplementedError

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
        """Set (replace) the human or model grade of an image on a scale (value validated)."""
        raise NotImplementedError

    def clear_grade(self, image_id: int, scale: str, *, source: str = "human") -> None:
        raise NotImplementedError

    def set_review_status(self, image_id: int, status: str) -> None:
        """new / in_progress / to_review / done. "done" needs a human grade on every
        required scale (ProjectError naming the missing scales)."""
        raise NotImplementedError

    # --- filter settings -------------------------------------------------------------
    def set_filter_settings(self, image_id: int, settings: dict[str, Any] | None) -> None:
        """Store the display settings (``FilterSettings.to_dict()``) used for an image."""
        raise NotImplementedError

    def filter_settings(self, image_id: int) -> dict[str, Any] | None:
        raise NotImplementedError

    def set_default_filter_settings(self, settings: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def default_filter_settings(self) -> dict[str, Any] | None:
        raise NotImplementedError

    # --- audit and stats -------------------------------------------------------------
    def audit_events(self, image_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        """The latest audit events, newest first."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """images, boxes, boxes_per_label, grades_per_scale, status_counts (+ more)."""
        raise NotImplementedError

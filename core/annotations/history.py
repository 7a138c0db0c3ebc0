"""Undo/redo over the project store.

The GUI calls ``history.add_box(...)`` etc. instead of the project directly; each call is
applied to the store at once (durable) and recorded with what is needed to reverse it.
``undo()`` / ``redo()`` drive the same store API, so undone edits are audited too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from core.annotations.model import Box, Grade

if TYPE_CHECKING:
    from core.store import Project


class History:
    """An undo/redo stack of edits on one project (skeleton)."""

    def __init__(
        self,
        project: Project,
        *,
        limit: int = 500,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.project = project
        self.limit = limit
        self.on_change = on_change

    # --- edits (same signatures as Project) ------------------------------------------
    def add_box(self, image_id: int, box: Box) -> Box:
        raise NotImplementedError

    def add_boxes(self, image_id: int, boxes: Iterable[Box]) -> list[Box]:
        """Several boxes as one undo step."""
        raise NotImplementedError

    def update_box(self, box_id: int, **changes: Any) -> Box:
        raise NotImplementedError

    def delete_box(self, box_id: int) -> None:
        raise NotImplementedError

    def set_grade(self, image_id: int, scale: str, value: float, **kwargs: Any) -> Grade:
        raise NotImplementedError

    def clear_grade(self, image_id: int, scale: str, *, source: str = "human") -> None:
        raise NotImplementedError

    def set_review_status(self, image_id: int, status: str) -> None:
        raise NotImplementedError

    # --- stack -----------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        raise NotImplementedError

    @property
    def can_redo(self) -> bool:
        raise NotImplementedError

    @property
    def undo_text(self) -> str | None:
        """What undo would reverse (e.g. "add box"), for the Edit menu."""
        raise NotImplementedError

    @property
    def redo_text(self) -> str | None:
        raise NotImplementedError

    def undo(self) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

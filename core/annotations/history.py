"""Undo/redo over the project store.

The GUI calls ``history.add_box(...)`` etc. instead of the project directly: each call is
applied to the store at once (durable, audited) and recorded with what is needed to
reverse it exactly. ``undo()`` / ``redo()`` drive the same store API inside one store
transaction each, so a step is undone completely or not at all, and undoing is audited too.

Box ids: undoing a delete puts the box back under its old id (the store never hands an id
out twice). Should the store ever give a different id, the history maps the old id to the
new one, so older steps still find their box.

Runs: a series of small updates of one box (arrow-key nudges) is saved update by update, so
a crash a moment later loses none, yet undoes as one step: ``update_box(..., run=key)``
joins the last step when it carries the same key (see ``update_box``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.annotations.model import Box, Grade
from core.annotations.tags import HUMAN, ImageTags
from core.errors import ProjectError

if TYPE_CHECKING:
    from core.store import Project

# Every field update_box accepts: restoring all of them (status included) reverses an
# update exactly and stops the store from re-deriving "edited".
_BOX_FIELDS = (
    "x1", "y1", "x2", "y2", "label", "difficult", "truncated", "occluded", "pose",
    "status", "score", "source", "model_version", "author",
)  # fmt: skip


def _fields(box: Box) -> dict[str, Any]:
    return {name: getattr(box, name) for name in _BOX_FIELDS}


@dataclass
class _Step:
    text: str
    undo: Callable[[], None]
    redo: Callable[[], None]
    image_id: int  # the image the step changed (the GUI shows it after undo/redo)
    # A box update that later updates of the same run may join: the run's key, the box
    # (its id when the step was made) and the box as it was before the run's first update.
    run: Hashable | None = None
    box: int | None = None
    before: Box | None = None


@dataclass
class History:
    """An undo/redo stack of edits on one project.

    ``limit`` bounds the number of undo steps (oldest dropped); ``on_change`` is called
    after every change of the stacks (e.g. to update the Edit menu).
    """

    project: Project
    limit: int = 500
    on_change: Callable[[], None] | None = None
    _undo: list[_Step] = field(default_factory=list, init=False, repr=False)
    _redo: list[_Step] = field(default_factory=list, init=False, repr=False)
    _ids: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    # --- boxes -----------------------------------------------------------------------
    def add_box(self, image_id: int, box: Box) -> Box:
        return self.add_boxes(image_id, [box], text="add box")[0]

    def add_boxes(self, image_id: int, boxes: Iterable[Box], *, text: str = "") -> list[Box]:
        """Several boxes (e.g. accepted suggestions) as one undo step.

        On a "new" image the boxes also move it to "in progress", in the same transaction
        (a crash cannot save one without the other); undo takes both back, redo redoes both.
        """
        was_new = self.project.image(image_id).review_status == "new"
        stored = self.project.add_boxes(image_id, boxes, start_review=True)
        if not stored:
            return stored
        ids = [b.id for b in stored]

        def undo() -> None:
            for box_id in ids:
                self.project.delete_box(self._resolve(box_id))
            # Only the status this step set: a status chosen since (done...) stays.
            if was_new and self.project.image(image_id).review_status == "in_progress":
                self.project.grading.set_review_status(image_id, "new")

        def redo() -> None:
            for box in stored:
                self._restore_box(image_id, box)
            if was_new and self.project.image(image_id).review_status == "new":
                self.project.grading.set_review_status(image_id, "in_progress")

        self._push(_Step(text or f"add {len(stored)} boxes", undo, redo, int(image_id)))
        return stored

    def update_box(self, box_id: int, *, run: Hashable | None = None, **changes: Any) -> Box:
        """Change fields of a box (``Project.update_box``'s keywords), saved at once.

        ``run``: a key shared by a series of updates that should undo as one step (the
        canvas gives each run of arrow-key nudges its own). An update whose ``run`` equals
        the last step's, on the same box and with nothing undone since, joins that step:
        undo then puts the box back where the run began. A run that ends where it began
        leaves no step.
        """
        current = self._resolve(box_id)
        before = self.project.box(current)
        after = self.project.update_box(current, **changes)
        top = self._undo[-1] if self._undo else None
        if (
            run is not None
            and top is not None
            and top.run == run
            and top.box == current
            and top.before is not None
            and not self._redo
        ):
            return self._join(top, top.before, after)
        if after == before:
            return after
        image_id = self.project.box_image_id(after.id if after.id is not None else current)
        self._push(self._update_step(before, after, image_id, run))
        return after

    def _update_step(
        self, before: Box, after: Box, image_id: int, run: Hashable | None = None
    ) -> _Step:
        ref = after.id

        def undo() -> None:
            self.project.update_box(self._resolve(ref), **_fields(before))

        def redo() -> None:
            self.project.update_box(self._resolve(ref), **_fields(after))

        text = _update_text(before, after)
        return _Step(text, undo, redo, image_id, run=run, box=ref, before=before)

    def _join(self, top: _Step, start: Box, after: Box) -> Box:
        """Fold an update into the run's step: it now reverses to ``start``."""
        if after == start:
            self._undo.pop()  # back where the run began: nothing left to undo
        else:
            self._undo[-1] = self._update_step(start, after, top.image_id, top.run)
        self._changed()
        return after

    def delete_box(self, box_id: int) -> None:
        current = self._resolve(box_id)
        before = self.project.box(current)
        image_id = self.project.box_image_id(current)
        self.project.delete_box(current)

        def undo() -> None:
            self._restore_box(image_id, before)

        def redo() -> None:
            self.project.delete_box(self._resolve(current))

        self._push(_Step("delete box", undo, redo, image_id))

    def resolve_box_id(self, box_id: int) -> int:
        """The current id of a box an older step (or the caller) knew as ``box_id``."""
        return self._resolve(box_id)

    # --- grades and review -----------------------------------------------------------
    def set_grade(self, image_id: int, scale: str, value: float, **kwargs: Any) -> Grade:
        """Same keywords as ``Project.set_grade`` (source, model_version, confidence)."""
        source = kwargs.get("source", "human")
        # The reader is fixed now: undo after a change of author still touches this one.
        reader = self.project.grading.reader_of(source, kwargs.get("author"))
        before = self._grade(image_id, scale, source, reader)
        after = self.project.grading.set_grade(image_id, scale, value, **kwargs)
        if before == after:
            return after

        def undo() -> None:
            self._put_grade(image_id, scale, source, before, reader)

        def redo() -> None:
            self._put_grade(image_id, scale, source, after, reader)

        self._push(_Step(f"set {scale} grade", undo, redo, int(image_id)))
        return after

    def clear_grade(self, image_id: int, scale: str, *, source: str = "human") -> None:
        reader = self.project.grading.reader_of(source)
        before = self._grade(image_id, scale, source, reader)
        self.project.grading.clear_grade(image_id, scale, source=source, reader=reader)
        if before is None:
            return

        def undo() -> None:
            self._put_grade(image_id, scale, source, before, reader)

        def redo() -> None:
            self.project.grading.clear_grade(image_id, scale, source=source, reader=reader)

        self._push(_Step(f"clear {scale} grade", undo, redo, int(image_id)))

    def set_review_status(self, image_id: int, status: str) -> None:
        before = self.project.image(image_id).review_status
        self.project.grading.set_review_status(image_id, status)
        if before == status:
            return
        self._push(
            _Step(
                f"mark {status.replace('_', ' ')}",
                lambda: self.project.grading.set_review_status(image_id, before),
                lambda: self.project.grading.set_review_status(image_id, status),
                int(image_id),
            )
        )

    # --- image-level tags (core.store.tags) -------------------------------------------
    def set_tags(self, image_id: int, kind: str, tags: Iterable[str]) -> ImageTags:
        """The grader's choice of tags; undo brings back what was there (the boxes'
        answer when the grader had not chosen before)."""
        before = self.project.tags.get(image_id, kind)
        after = self.project.tags.set(image_id, kind, tags)
        if (before.source, before.tags) == (after.source, after.tags):
            return after
        self._push(
            _Step(
                f"set {kind.replace('_', ' ')}",
                lambda: self._put_tags(image_id, before),
                lambda: self._put_tags(image_id, after),
                int(image_id),
            )
        )
        return after

    def reset_tags(self, image_id: int, kind: str) -> ImageTags:
        """Back to what the boxes say (undo restores the grader's choice)."""
        before = self.project.tags.get(image_id, kind)
        after = self.project.tags.reset(image_id, kind)
        if before.source == after.source:
            return after
        self._push(
            _Step(
                f"reset {kind.replace('_', ' ')} to the boxes",
                lambda: self._put_tags(image_id, before),
                lambda: self._put_tags(image_id, after),
                int(image_id),
            )
        )
        return after

    def _put_tags(self, image_id: int, value: ImageTags) -> None:
        if value.source == HUMAN:
            self.project.tags.set(image_id, value.kind, value.tags)
        else:
            self.project.tags.reset(image_id, value.kind)

    # --- stack -----------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str | None:
        """What undo would reverse (e.g. "add box"), for the Edit menu."""
        return self._undo[-1].text if self._undo else None

    @property
    def redo_text(self) -> str | None:
        return self._redo[-1].text if self._redo else None

    @property
    def undo_count(self) -> int:
        """How many steps undo can reverse (a joined run counts once)."""
        return len(self._undo)

    @property
    def undo_image(self) -> int | None:
        """The image undo would change (None when there is nothing to undo)."""
        return self._undo[-1].image_id if self._undo else None

    @property
    def redo_image(self) -> int | None:
        return self._redo[-1].image_id if self._redo else None

    def undo(self) -> int | None:
        """Reverse the last step and return the id of the image it changed (None when
        there was nothing to undo). If the store refuses, the step stays on the undo stack."""
        if not self._undo:
            return None
        step = self._undo[-1]
        with self.project.batch():
            step.undo()
        step.run = None  # an undone (or redone) step never joins a later update
        self._redo.append(self._undo.pop())
        self._changed()
        return step.image_id

    def redo(self) -> int | None:
        """Apply the last undone step again; returns the image id it changed (or None)."""
        if not self._redo:
            return None
        step = self._redo[-1]
        with self.project.batch():
            step.redo()
        step.run = None
        self._undo.append(self._redo.pop())
        self._changed()
        return step.image_id

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._ids.clear()
        self._changed()

    # --- helpers ---------------------------------------------------------------------
    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        del self._undo[: max(0, len(self._undo) - self.limit)]
        self._redo.clear()
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _resolve(self, box_id: int | None) -> int:
        if box_id is None:
            raise ProjectError("this box was never stored")
        seen: set[int] = set()
        while box_id in self._ids and box_id not in seen:
            seen.add(box_id)
            box_id = self._ids[box_id]
        return box_id

    def _restore_box(self, image_id: int, box: Box) -> None:
        """Put a box back with all its fields, under its old id when the store allows."""
        old = self._resolve(box.id)
        try:
            with self.project.batch():
                restored = self.project.add_box(
                    image_id, dataclasses.replace(box, id=old), keep_id=True
                )
        except ProjectError:
            restored = self.project.add_box(image_id, dataclasses.replace(box, id=None))
        if restored.id != old and restored.id is not None:
            self._ids[old] = restored.id

    def _grade(self, image_id: int, scale: str, source: str, reader: str) -> Grade | None:
        # One reader's grade: other readers' grades are theirs, undo leaves them alone.
        return self.project.grading.grade(image_id, scale, source=source, reader=reader)

    def _put_grade(
        self, image_id: int, scale: str, source: str, grade: Grade | None, reader: str
    ) -> None:
        if grade is None:
            self.project.grading.clear_grade(image_id, scale, source=source, reader=reader)
            return
        self.project.grading.set_grade(
            image_id,
            scale,
            grade.value,
            source=source,
            model_version=grade.model_version,
            confidence=grade.confidence,
            author=grade.author,
        )


def _update_text(before: Box, after: Box) -> str:
    if (before.x1, before.y1, before.x2, before.y2) != (after.x1, after.y1, after.x2, after.y2):
        return "move box"
    if before.label != after.label:
        return "relabel box"
    if before.status != after.status:
        return {"accepted": "accept box", "rejected": "reject box"}.get(after.status, "edit box")
    return "edit box"

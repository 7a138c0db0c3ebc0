"""Boxes, grades and review status of the current image, saved at once through History.

The canvas and the panels only emit what the user did; this controller turns it into
``History`` calls on the project (durable when the call returns, undoable), then shows what
the store now holds. A refused edit (read-only project, a grade the scale lacks, "done"
without its grades) becomes a readable message and the display is re-read from the store,
so the screen never shows an edit that was not saved.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRectF, Signal

from app.canvas import BoxView, Canvas
from app.docks.grade_panel import GradePanel
from app.docks.label_panel import LabelPanel
from core.annotations import Box
from core.errors import ClinLensError, ReadOnlyProjectError

log = logging.getLogger("clinlens.annotations")

DUPLICATE_OFFSET = 10.0  # image pixels: a duplicate lands beside its original


class AnnotationController(QObject):
    image_changed = Signal(int)  # status / box count / grades of this image changed
    message = Signal(str, int)  # text, milliseconds to show (0 = until replaced)
    error = Signal(str)  # a refused edit: the main window shows it
    history_changed = Signal()
    navigate_to = Signal(int)  # undo/redo touched another image: show it
    boxes_shown = Signal()  # ``boxes`` and the canvas now show the store (Boxes panel)

    def __init__(
        self,
        canvas: Canvas,
        labels: LabelPanel,
        grades: GradePanel,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.labels = labels
        self.grades = grades
        self.project: Any = None
        self.history: Any = None
        self.record: Any = None  # ImageRecord of the image on screen
        self.boxes: dict[int, Box] = {}
        canvas.box_drawn.connect(self.add_box_from_rect)
        canvas.box_changed.connect(self.move_box)
        canvas.box_nudged.connect(self.nudge_box)
        canvas.space_tapped.connect(self.toggle_done)
        labels.label_chosen.connect(self.relabel_selected)
        labels.current_changed.connect(lambda name: canvas.set_draw_color(labels.colour(name)))
        grades.grade_requested.connect(self.set_grade)
        grades.accept_suggestion.connect(self.accept_grade_suggestion)
        grades.tags_requested.connect(self.set_tags)
        grades.tags_reset.connect(self.reset_tags)

    # --- project / image ------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        from core.annotations.history import History

        self.project = project
        self.record = None
        self.boxes = {}
        self.history = History(project, on_change=self.history_changed.emit) if project else None
        if project is not None:
            self.labels.set_labels(project.definitions.label_set())
            self.grades.set_scales(project.definitions.scales())
            self.grades.set_tag_kinds(project.tags.kinds())
            self.canvas.read_only = bool(project.read_only)
        self.history_changed.emit()

    @property
    def image_id(self) -> int | None:
        return self.record.id if self.record is not None else None

    @property
    def read_only(self) -> bool:
        return self.project is None or bool(self.project.read_only)

    def set_image(self, record: Any) -> None:
        """The image now on screen (its boxes are drawn once the canvas has the image)."""
        self.canvas.flush_nudge()
        self.record = record
        self.refresh()

    def refresh(self, select: int | None = None) -> None:
        """Re-read boxes and grades of the current image from the store and show them."""
        if self.project is None or self.record is None:
            self.boxes = {}
            self.canvas.set_boxes([])
            self.boxes_shown.emit()
            return
        try:
            self.record = self.project.image(self.record.id)
            # Blinded reading: other readers' work and the model's suggestions stay hidden
            # until this reader has graded the image (core.store.readers).
            readers = self.project.readers
            boxes = readers.visible_boxes(self.project.boxes(self.record.id), self.record.id)
            grades = readers.visible_grades(
                self.project.grading.grades(self.record.id), self.record.id
            )
            # The grade panel shows this reader's own grade; other readers' are theirs.
            me = self.project.author
            grades = [g for g in grades if g.source != "human" or (g.author or "") == me]
            tags = [self.project.tags.get(self.record.id, k) for k in self.grades.tag_rows]
            kind = self.project.grading.image_kind(self.record.id)
            applicable = {sc.name for sc in self.project.grading.scales_for(self.record.id)}
        except ClinLensError as exc:
            self.error.emit(str(exc))
            return
        self.labels.set_kind(kind)
        self.grades.set_applicable(applicable)
        self.boxes = {b.id: b for b in boxes if b.id is not None}
        self.canvas.set_boxes([self._view(b) for b in boxes if b.id is not None])
        if select is not None:
            self.canvas.select_box(select)
        self.grades.set_grades(grades)
        self.boxes_shown.emit()
        self.grades.set_tags(tags)  # after the boxes: the boxes' answer follows every edit

    def _view(self, box: Box) -> BoxView:
        suggested = box.source == "model" and box.status == "suggested"
        return BoxView(
            id=int(box.id),  # type: ignore[arg-type]
            rect=QRectF(box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1),
            label=box.label,
            color=self.labels.colour(box.label),
            suggested=suggested,
            score=box.score,
            difficult=box.difficult,
            truncated=box.truncated,
            status=box.status,
        )

    # --- the edit wrapper -----------------------------------------------------------------
    def _edit(self, what: str, fn: Callable[[], Any], select: int | None = None) -> Any:
        """Run one History edit on the current image; refuse/explain instead of raising."""
        if self.project is None or self.record is None:
            return None
        if self.project.read_only:
            self.error.emit(
                "This project is open read-only: changes cannot be saved. "
                "Close the other ClinLens window or copy the project to edit it."
            )
            self.refresh()
            return None
        image_id = self.record.id
        try:
            result = fn()
        except ReadOnlyProjectError as exc:
            self.error.emit(str(exc))
            result = None
        except ClinLensError as exc:
            self.error.emit(f"Could not {what}: {exc}")
            result = None
        if result is not None or what in ("delete box", "mark done", "clear grade"):
            self._mark_in_progress(image_id)
        self.refresh(select=select)
        self.image_changed.emit(image_id)
        return result

    def _mark_in_progress(self, image_id: int) -> None:
        # A first edit moves a "new" image to "in progress" (status only, not an undo step).
        # A new box already did, in its own transaction (History.add_boxes); this catches
        # the other edits (a grade, an accepted suggestion), in a second transaction.
        try:
            if self.project.image(image_id).review_status == "new":
                self.project.grading.set_review_status(image_id, "in_progress")
        except ClinLensError:
            pass

    # --- boxes ----------------------------------------------------------------------------
    @property
    def current_label(self) -> str | None:
        return self.labels.current()

    def add_box_from_rect(self, rect: QRectF) -> Box | None:
        label = self.current_label
        if label is None:
            self.error.emit("Add a label to the project first (label dock → Add label…).")
            return None
        box = Box(rect.left(), rect.top(), rect.right(), rect.bottom(), label=label)
        stored = self._edit("add box", lambda: self.history.add_box(self.record.id, box))
        if stored is not None:
            self.canvas.select_box(stored.id)
            self.message.emit(f"Box '{label}' saved", 2000)
        return stored

    def _someone_elses(self, box_id: int | None) -> bool:
        """Under blinded reading a reader leaves other readers' boxes as they drew them
        (editing would make the box theirs and lose the other reading): refuse, saying so."""
        box = self.boxes.get(box_id) if box_id is not None else None
        if box is None or self.project is None or box.status == "suggested":
            return False
        owner = box.author or ""
        if not owner or owner == self.project.author or not self.project.readers.blinded():
            return False
        self.error.emit(f"This box is {owner}'s reading; draw your own box instead.")
        self.refresh(select=box_id)
        return True

    def move_box(self, box_id: int, rect: QRectF) -> None:
        if self._someone_elses(box_id):
            return
        self._edit(
            "move box",
            lambda: self.history.update_box(
                box_id, x1=rect.left(), y1=rect.top(), x2=rect.right(), y2=rect.bottom()
            ),
            select=box_id,
        )

    def nudge_box(self, box_id: int, rect: QRectF, run: int) -> None:
        """An arrow-key press: saved now, so the box the window shows is the stored one
        even if the process dies a moment later; the presses of one canvas run join one
        undo step (History's ``run``)."""
        if self._someone_elses(box_id):
            return
        self._edit(
            "move box",
            lambda: self.history.update_box(
                box_id,
                run=("nudge", run),
                x1=rect.left(),
                y1=rect.top(),
                x2=rect.right(),
                y2=rect.bottom(),
            ),
            select=box_id,
        )

    def selected_box(self) -> Box | None:
        sid = self.canvas.selected_id
        return self.boxes.get(sid) if sid is not None else None

    def delete_selected(self) -> None:
        box = self.selected_box()
        if box is None:
            self.message.emit("Select a box first (click it)", 3000)
            return
        if self._someone_elses(box.id):
            return
        self._edit("delete box", lambda: self.history.delete_box(box.id))

    def duplicate_selected(self) -> None:
        box = self.selected_box()
        if box is None:
            self.message.emit("Select a box to duplicate", 3000)
            return
        w, h = self.record.width, self.record.height
        dx = DUPLICATE_OFFSET if box.x2 + DUPLICATE_OFFSET <= w or not w else -DUPLICATE_OFFSET
        dy = DUPLICATE_OFFSET if box.y2 + DUPLICATE_OFFSET <= h or not h else -DUPLICATE_OFFSET
        copy = dataclasses.replace(
            box.with_coords(box.x1 + dx, box.y1 + dy, box.x2 + dx, box.y2 + dy),
            id=None,
            source="human",
            status="accepted",
            score=None,
            model_version=None,
            author=None,
        )
        stored = self._edit("duplicate box", lambda: self.history.add_box(self.record.id, copy))
        if stored is not None:
            self.canvas.select_box(stored.id)

    def relabel_selected(self, label: str) -> None:
        box = self.selected_box()
        if box is None or box.label == label or self._someone_elses(box.id):
            return
        stored = self._edit(
            "change the label",
            lambda: self.history.update_box(box.id, label=label),
            select=box.id,
        )
        if stored is not None:
            # Replaces "Box 'old' saved", which would now name the wrong label.
            self.message.emit(f"Box relabelled '{label}' (was '{box.label}')", 3000)

    def toggle_flag(self, flag: str) -> None:
        """difficult / truncated on the selected box."""
        box = self.selected_box()
        if box is None:
            self.message.emit("Select a box first", 3000)
            return
        if self._someone_elses(box.id):
            return
        value = not getattr(box, flag)
        self._edit(
            f"mark the box {flag}",
            lambda: self.history.update_box(box.id, **{flag: value}),
            select=box.id,
        )

    def copy_from(self, source_image_id: int | None) -> int:
        """Copy the boxes of another image (the previous one) onto this one: one undo step."""
        if source_image_id is None or self.record is None:
            self.message.emit("There is no previous image to copy boxes from", 3000)
            return 0
        try:
            source = self.project.boxes(source_image_id)
        except ClinLensError as exc:
            self.error.emit(str(exc))
            return 0
        copies = [
            dataclasses.replace(
                b,
                id=None,
                source="human",
                status="accepted",
                score=None,
                model_version=None,
                author=None,
            )
            for b in source
            if not (b.source == "model" and b.status == "suggested")
        ]
        if not copies:
            self.message.emit("The previous image has no boxes to copy", 3000)
            return 0
        stored = self._edit(
            "copy boxes",
            lambda: self.history.add_boxes(self.record.id, copies, text="copy boxes"),
        )
        n = len(stored or [])
        if n:
            self.message.emit(f"Copied {n} box" + ("" if n == 1 else "es"), 3000)
        return n

    # --- suggestions (issue 5) -------------------------------------------------------------
    def accept_selected(self) -> None:
        box = self.selected_box()
        if box is None or box.status != "suggested":
            self.message.emit("Select a suggested (dashed) box to accept it", 3000)
            return
        self._edit(
            "accept the suggestion",
            lambda: self.history.update_box(box.id, status="accepted"),
            select=box.id,
        )

    def reject_selected(self) -> None:
        box = self.selected_box()
        if box is None or box.status != "suggested":
            self.message.emit("Select a suggested (dashed) box to reject it", 3000)
            return
        self._edit(
            "reject the suggestion", lambda: self.history.update_box(box.id, status="rejected")
        )

    def accept_all_above(self, threshold: float) -> int:
        chosen = [
            b
            for b in self.boxes.values()
            if b.status == "suggested" and (b.score is None or b.score >= threshold)
        ]
        if not chosen:
            self.message.emit(f"No suggestion scores {threshold:.2f} or more", 3000)
            return 0

        def accept_all() -> int:
            with self.project.batch():
                for b in chosen:
                    self.history.update_box(b.id, status="accepted")
            return len(chosen)

        return int(self._edit("accept the suggestions", accept_all) or 0)

    # --- grades and review ----------------------------------------------------------------
    def set_grade(self, scale: str, value: float | None) -> None:
        if value is None:
            self._edit("clear grade", lambda: self.history.clear_grade(self.record.id, scale))
        else:
            self._edit(
                "set the grade", lambda: self.history.set_grade(self.record.id, scale, value)
            )

    def set_tags(self, kind: str, tags: tuple[str, ...]) -> None:
        """The grader's choice of image-level tags (wins over the boxes' answer)."""
        self._edit("set the tags", lambda: self.history.set_tags(self.record.id, kind, tags))

    def reset_tags(self, kind: str) -> None:
        self._edit("reset the tags", lambda: self.history.reset_tags(self.record.id, kind))

    def set_image_kind(self, kind: str | None) -> None:
        """The user says what the image on screen is (None: as the file says): the
        scales and labels of that kind apply from now on."""
        if self.project is None or self.record is None:
            return
        if self.project.read_only:
            self.error.emit("This project is open read-only: the image kind cannot be changed.")
            return
        try:
            self.project.grading.set_image_kind(self.record.id, kind)
        except ClinLensError as exc:
            self.error.emit(f"Could not set the image kind: {exc}")
            return
        self.refresh()
        self.image_changed.emit(self.record.id)
        from core.annotations.kinds import KIND_TITLES

        shown = KIND_TITLES.get(kind or "", "as the file says")
        self.message.emit(f"This image is graded as: {shown}", 3000)

    def accept_grade_suggestion(self, scale: str) -> None:
        if self.record is None:
            return
        visible = self.project.readers.visible_grades(
            self.project.grading.grades(self.record.id), self.record.id
        )
        model = [g for g in visible if g.scale == scale and g.source != "human"]
        if model:
            self.set_grade(scale, model[0].value)

    def toggle_done(self) -> None:
        """Space: mark done (refused with the missing grades named), or back to in progress."""
        if self.record is None:
            return
        target = "in_progress" if self.record.review_status == "done" else "done"
        if target == "done":
            missing = self.grades.missing_required()
            if missing:
                titles = ", ".join(self.grades.rows[m].scale.title for m in missing)
                text = f"Not marked done: grade {titles} first."
                self.grades.show_refusal(text)
                self.error.emit(text)
                return
        done = self._edit(
            "mark done",
            lambda: self.history.set_review_status(self.record.id, target) or True,
        )
        if done:
            self.grades.clear_message()
            self.message.emit("Marked done" if target == "done" else "Marked in progress", 3000)

    # --- undo / redo ----------------------------------------------------------------------
    def undo(self) -> None:
        self._step("undo")

    def redo(self) -> None:
        self._step("redo")

    def _step(self, which: str) -> None:
        if self.history is None:
            return
        self.canvas.flush_nudge()
        can = self.history.can_undo if which == "undo" else self.history.can_redo
        if not can:
            self.message.emit(f"Nothing to {which}", 2000)
            return
        if self.project.read_only:
            self.error.emit("This project is open read-only: nothing can be undone.")
            return
        text = self.history.undo_text if which == "undo" else self.history.redo_text
        try:
            # The step says which image it changed: that one is shown afterwards.
            target = getattr(self.history, which)()
        except ClinLensError as exc:
            self.error.emit(f"Could not {which} {text}: {exc}")
            target = None
        else:
            self.message.emit(f"{which.capitalize()}: {text}", 3000)
        if target is not None:
            self.image_changed.emit(target)
        if target is not None and target != self.image_id:
            self.navigate_to.emit(target)
        else:
            self.refresh()

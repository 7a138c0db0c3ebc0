"""A user's first box on a "new" image and the image's move to "in progress": one transaction.

Two commits used to do it (the box, then the status), so a process killed between them left
a boxed image listed as "new". The store now does both in the box's transaction when asked
(``start_review=True``, what History passes for the user's boxes).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.annotations import Box
from core.annotations.history import History
from core.errors import ProjectError
from core.store import Project
from tests.core.conftest import add_image, open_test_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from open_test_project(tmp_path)


def _actions(project: Project, image_id: int) -> list[str]:
    return [e.action for e in reversed(project.audit_events(image_id=image_id))]


def _fail_on(project: Project, monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    """Make the audit write of ``action`` raise: a failure between the box and the status."""
    real = project._db.audit

    def audit(conn: Any, act: str, entity: str, **fields: Any) -> None:
        if act == action:
            raise ProjectError(f"injected failure while auditing {act}")
        real(conn, act, entity, **fields)

    monkeypatch.setattr(project._db, "audit", audit)


def test_first_box_and_in_progress_are_saved_together_and_both_audited(
    project: Project,
) -> None:
    image_id = add_image(project)
    box = project.add_box(image_id, Box(1, 1, 20, 20, "key"), start_review=True)
    assert project.image(image_id).review_status == "in_progress"
    assert project.boxes(image_id) == [box]
    add, status = project.audit_events(image_id=image_id)[1::-1]
    assert (add.action, status.action) == ("add_box", "set_review_status")
    assert status.before == {"review_status": "new"}
    assert status.after == {"review_status": "in_progress"}


def test_a_failure_between_box_and_status_saves_neither(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = add_image(project)
    _fail_on(project, monkeypatch, "set_review_status")
    with pytest.raises(ProjectError, match="injected"):
        project.add_box(image_id, Box(1, 1, 20, 20, "key"), start_review=True)
    with pytest.raises(ProjectError, match="injected"):
        project.add_boxes(image_id, [Box(1, 1, 20, 20, "key")], start_review=True)
    assert project.boxes(image_id) == []
    record = project.image(image_id)
    assert (record.review_status, record.box_count) == ("new", 0)
    assert _actions(project, image_id) == ["add_image"], "no audit event of the undone pair"


def test_a_failure_saving_the_box_leaves_the_image_new(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = add_image(project)
    _fail_on(project, monkeypatch, "add_box")
    with pytest.raises(ProjectError, match="injected"):
        project.add_box(image_id, Box(1, 1, 20, 20, "key"), start_review=True)
    assert project.image(image_id).review_status == "new"
    assert project.boxes(image_id) == []


def test_a_separate_reader_sees_both_or_neither(project: Project) -> None:
    """What a second process (a worker, the project reopened after a kill) reads."""
    image_id = add_image(project)
    reader = Project.open(project.folder, read_only=True)
    try:
        with project.batch():
            project.add_box(image_id, Box(1, 1, 20, 20, "key"), start_review=True)
            # Not committed yet: the other connection sees the image as it was.
            assert reader.image(image_id).review_status == "new"
            assert reader.boxes(image_id) == []
        assert reader.image(image_id).review_status == "in_progress"
        assert len(reader.boxes(image_id)) == 1
    finally:
        reader.close()


def test_later_boxes_and_other_statuses_are_left_alone(project: Project) -> None:
    image_id = add_image(project)
    project.add_box(image_id, Box(1, 1, 20, 20, "key"), start_review=True)
    project.add_box(image_id, Box(2, 2, 20, 20, "key"), start_review=True)
    assert _actions(project, image_id).count("set_review_status") == 1
    other = add_image(project, "b.png")
    project.grading.set_review_status(other, "to_review")
    project.add_box(other, Box(1, 1, 20, 20, "key"), start_review=True)
    assert project.image(other).review_status == "to_review"


def test_imports_and_suggestions_keep_the_image_new(project: Project) -> None:
    """Without start_review (the importer, model suggestions) the status is untouched."""
    image_id = add_image(project)
    project.add_boxes(image_id, [Box(1, 1, 20, 20, "key")])
    project.add_box(image_id, Box(2, 2, 9, 9, "key", source="model", status="suggested"))
    project.add_boxes(image_id, [], start_review=True)  # nothing stored, nothing started
    assert project.image(image_id).review_status == "new"


def test_history_first_box_undo_and_redo_take_the_status_along(project: Project) -> None:
    image_id = add_image(project)
    history = History(project)
    history.add_box(image_id, Box(1, 1, 20, 20, "key"))
    assert project.image(image_id).review_status == "in_progress"
    history.undo()
    assert project.image(image_id).review_status == "new"
    assert project.boxes(image_id) == []
    history.redo()
    assert project.image(image_id).review_status == "in_progress"
    assert len(project.boxes(image_id)) == 1


def test_history_undo_keeps_a_status_chosen_after_the_box(project: Project) -> None:
    image_id = add_image(project)
    history = History(project)
    history.add_box(image_id, Box(1, 1, 20, 20, "key"))
    project.grading.set_review_status(image_id, "to_review")  # not through the history
    history.undo()
    assert project.image(image_id).review_status == "to_review"

"""RelocateController without a main window: locate one moved file (same content, other
content, refused), search a folder for all of them, and the read-only refusal."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QMenu

from app.controllers.project_session import ProjectSession
from app.controllers.relocate import LINK_LOCATE, LINK_SEARCH, RelocateController
from app.jobs import JobRunner
from app.settings import Preferences
from core.hashing import sha256_file
from tests.app.conftest import make_project, runner_fixture  # noqa: F401


@dataclass
class FakePrompts:
    """``Prompts`` with scripted answers; records the questions and captions."""

    answer: bool = False
    file: str | None = None
    folder: str | None = None
    questions: list[str] = field(default_factory=list)
    reports: list[tuple[str, str]] = field(default_factory=list)
    picks: list[tuple[str, str]] = field(default_factory=list)  # (caption, start)

    def ask(self, title: str, question: str) -> bool:
        self.questions.append(question)
        return self.answer

    def inform(self, title: str, text: str) -> None:
        self.reports.append((title, text))

    def warn(self, title: str, text: str) -> None:
        raise AssertionError(f"unexpected warning: {title}: {text}")

    def pick_file(self, caption: str, start: str = "", filter: str = "") -> str | None:
        self.picks.append((caption, start))
        return self.file

    def pick_files(self, caption: str, start: str = "", filter: str = "") -> list[str]:
        raise AssertionError("relocating never picks several files")

    def pick_folder(self, caption: str, start: str = "") -> str | None:
        self.picks.append((caption, start))
        return self.folder


@dataclass
class Seen:
    relocated: list[Any] = field(default_factory=list)  # ImageRecords as they were
    searched: list[list[int]] = field(default_factory=list)
    list_changes: int = 0
    jobs: list[Any] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    current: int | None = None  # the image "on screen"


@pytest.fixture
def prompts() -> FakePrompts:
    return FakePrompts()


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[ProjectSession]:
    make_project(tmp_path / "p").close()
    s = ProjectSession(Preferences(), lambda title, question: False)
    s.open(tmp_path / "p")
    yield s
    s.close()


@pytest.fixture
def controller(
    runner: JobRunner, session: ProjectSession, prompts: FakePrompts, seen: Seen
) -> RelocateController:
    c = RelocateController(session, runner, prompts, lambda: seen.current)
    c.file_relocated.connect(seen.relocated.append)
    c.files_relocated.connect(seen.searched.append)
    c.list_changed.connect(lambda: setattr(seen, "list_changes", seen.list_changes + 1))
    c.job_started.connect(seen.jobs.append)
    c.message.connect(lambda text, _ms: seen.messages.append(text))
    c.error.connect(seen.errors.append)
    return c


def _move_away(project: Any, image_id: int, to: Path) -> tuple[Path, Path]:
    old = project.image_path(project.image(image_id))
    new = to / old.name
    new.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(old, new)
    return old, new


# --- one image ----------------------------------------------------------------------------
def test_the_same_file_found_elsewhere_is_taken_without_asking(
    qtbot, controller, prompts, seen, tmp_path
):
    project = controller.project
    first = project.image_ids()[0]
    old, new = _move_away(project, first, tmp_path / "moved")
    project.set_image_error(first, "missing")
    prompts.file = str(new)
    with qtbot.waitSignal(controller.file_relocated, timeout=10000):
        job = controller.locate_file(first)
    assert prompts.picks == [("Locate img_000.png", str(old))]
    assert job.channel == "relocate:check"
    assert prompts.questions == []
    assert project.image_path(project.image(first)) == new
    assert project.image(first).error is None
    assert [r.id for r in seen.relocated] == [first]
    assert seen.relocated[0].path.endswith("img_000.png")  # the record before the move
    assert seen.messages == [f"img_000.png is now read from {new}"]


def test_another_picture_is_refused_unless_the_user_agrees(
    qtbot, controller, prompts, seen, tmp_path
):
    project = controller.project
    first = project.image_ids()[0]
    old, _new = _move_away(project, first, tmp_path / "moved")
    impostor = tmp_path / "other" / old.name
    impostor.parent.mkdir()
    assert cv2.imwrite(str(impostor), np.full((50, 70), 7, np.uint16))
    prompts.file = str(impostor)
    job = controller.locate_file(first)
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert "content differs" in prompts.questions[0]
    assert "70×50 pixels, not 240×180" in prompts.questions[0]
    assert project.image_path(project.image(first)) == old
    assert seen.relocated == []
    assert seen.messages == ["Not relocated: the image still points to its old file"]
    prompts.answer = True
    with qtbot.waitSignal(controller.file_relocated, timeout=10000):
        controller.locate_file(first)
    assert project.image_path(project.image(first)) == impostor
    assert project.image(first).sha256 == sha256_file(impostor)


def test_locate_without_a_pick_or_an_image_does_nothing(controller, prompts, seen):
    assert controller.locate_file() is None  # no image on screen: nothing asked
    assert prompts.picks == []
    seen.current = controller.project.image_ids()[1]
    assert controller.locate_file() is None  # the picker was cancelled
    assert prompts.picks[0][0] == "Locate img_001.png"
    assert seen.jobs == [] and seen.errors == []


def test_a_check_finished_after_another_project_opened_is_dropped(
    qtbot, controller, session, prompts, seen, tmp_path
):
    first = controller.project.image_ids()[0]
    _old, new = _move_away(controller.project, first, tmp_path / "moved")
    prompts.file = str(new)
    job = controller.locate_file(first)
    make_project(tmp_path / "q").close()
    session.open(tmp_path / "q")  # before the check's answer reaches the GUI thread
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert seen.relocated == [] and seen.messages == [] and prompts.questions == []


def test_a_read_only_project_refuses_before_asking_anything(
    controller, session, prompts, seen, tmp_path
):
    session.open(tmp_path / "p", read_only=True)
    assert controller.locate_file(controller.project.image_ids()[0]) is None
    assert controller.search_folder() is None
    assert seen.errors == ["This project is open read-only: image files cannot be relocated."] * 2
    assert prompts.picks == []


# --- every missing image ------------------------------------------------------------------
def test_search_folder_relocates_every_moved_image_and_reports(
    qtbot, controller, prompts, seen, tmp_path
):
    project = controller.project
    ids = project.image_ids()
    shutil.move(project.folder / "images", tmp_path / "archive" / "2024")
    seen.current = ids[0]
    assert controller.search_folder() is None  # the folder picker was cancelled
    prompts.folder = str(tmp_path / "archive")
    with qtbot.waitSignal(controller.files_relocated, timeout=10000) as sig:
        job = controller.search_folder()
    assert prompts.picks[-1] == ("Search a folder for the missing image files", str(project.folder))
    assert seen.jobs == [job] and job.title == "Search archive for missing files"
    assert sorted(sig.args[0]) == sorted(ids)
    assert seen.messages[0].startswith("Found 3 of 3")
    for image_id in ids:
        path = project.image_path(project.image(image_id))
        assert path.parent == tmp_path / "archive" / "2024"


def test_a_cancelled_search_still_has_the_list_re_read(
    qtbot, runner, controller, prompts, seen, tmp_path
):
    import threading

    gate = threading.Event()
    busy = runner.submit(lambda progress, cancel: gate.wait(5))  # holds the background lane
    prompts.folder = str(tmp_path)
    job = controller.search_folder()
    job.cancel()  # while it waits its turn: it will not start
    gate.set()
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert busy.state == "succeeded" and job.state == "cancelled"
    assert seen.list_changes == 1 and seen.searched == []
    assert seen.messages == ["Search cancelled (files found before that stay relocated)"]


# --- banner and menu ----------------------------------------------------------------------
def test_banner_links_locate_the_image_on_screen_or_search(controller, prompts, seen):
    controller.on_banner_link(LINK_LOCATE)  # no image on screen: nothing to locate
    assert prompts.picks == []
    seen.current = controller.project.image_ids()[2]
    controller.on_banner_link(LINK_LOCATE)
    controller.on_banner_link(LINK_SEARCH)
    assert [caption for caption, _ in prompts.picks] == [
        "Locate img_002.png",
        "Search a folder for the missing image files",
    ]


def test_the_menu_offers_locate_only_for_a_missing_file(qtbot, controller, tmp_path):
    first, second = controller.project.image_ids()[:2]
    _move_away(controller.project, first, tmp_path / "moved")
    assert controller.is_missing(first) and not controller.is_missing(second)
    for image_id, can_locate in ((first, True), (second, False)):
        menu = controller.fill_menu(QMenu(), image_id)
        actions = {a.text(): a for a in menu.actions()}
        assert actions["Locate file…"].isEnabled() is can_locate
        assert actions["Search a folder for missing files…"].isEnabled()

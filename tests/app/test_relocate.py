"""Moved image files: Locate file… (banner link, list menu) and Search a folder…"""

from __future__ import annotations

import shutil

import cv2
import numpy as np
from PySide6.QtWidgets import QFileDialog, QMenu

from app.controllers import relocate
from tests.app.conftest import window_fixture  # noqa: F401


def _move_first_away(window, tmp_path):  # type: ignore[no-untyped-def]
    """Move the first image's file elsewhere and show the image again: now missing."""
    first = window.project.image_ids()[0]
    old = window.project.image_path(window.project.image(first))
    new = tmp_path / "moved" / old.name
    new.parent.mkdir()
    shutil.move(old, new)
    window.display.forget()
    return first, old, new


def _show(qtbot, window, image_id):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.image_shown, timeout=10000):
        window.show_image(image_id)


def _pick(monkeypatch, path):  # type: ignore[no-untyped-def]
    asked = []
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *a, **k: asked.append(a) or (str(path), "")
    )
    return asked


def test_missing_file_banner_offers_locate_and_locating_shows_the_image(
    qtbot, window, tmp_path, monkeypatch
):
    first, _old, new = _move_first_away(window, tmp_path)
    _show(qtbot, window, first)
    assert window.image_banner.isVisible()
    assert "Locate file" in window.image_banner.text()
    assert window.project.image(first).error  # the list shows the error badge
    asked = _pick(monkeypatch, new)
    with qtbot.waitSignal(window.image_shown, timeout=10000):
        window.image_banner.linkActivated.emit(relocate.LINK_LOCATE)
    assert asked and "Locate img_000.png" in asked[0][1]
    assert window.project.image_path(window.project.image(first)) == new
    assert window.project.image(first).error is None
    assert window.display.raw is not None and not window.image_banner.isVisible()
    assert "is now read from" in window.statusBar().currentMessage()


def test_a_file_with_other_content_is_taken_only_when_the_user_agrees(
    qtbot, window, tmp_path, monkeypatch
):
    first, old, _new = _move_first_away(window, tmp_path)
    impostor = tmp_path / "other" / old.name
    impostor.parent.mkdir()
    assert cv2.imwrite(str(impostor), np.full((50, 70), 7, np.uint16))
    _pick(monkeypatch, impostor)
    questions: list[str] = []
    answer = [False]
    monkeypatch.setattr(window.prompts, "ask", lambda t, q: questions.append(q) or answer[0])
    job = window.relocator.locate_file(first)
    qtbot.waitUntil(lambda: bool(questions), timeout=10000)
    assert job.state == "succeeded"
    assert "content differs" in questions[0] and "70×50 pixels, not 240×180" in questions[0]
    assert window.project.image_path(window.project.image(first)) == old  # not taken
    answer[0] = True
    window.relocator.locate_file(first)
    qtbot.waitUntil(lambda: len(questions) == 2, timeout=10000)
    qtbot.waitUntil(
        lambda: window.project.image_path(window.project.image(first)) == impostor, timeout=5000
    )
    from core.hashing import sha256_file

    assert window.project.image(first).sha256 == sha256_file(impostor)


def test_list_menu_offers_locate_only_for_a_missing_file(qtbot, window, tmp_path):
    first, _old, _new = _move_first_away(window, tmp_path)
    second = window.project.image_ids()[1]
    menu = window.relocator.fill_menu(QMenu(window), first)
    actions = {a.text(): a for a in menu.actions()}
    assert actions["Locate file…"].isEnabled()
    assert actions["Search a folder for missing files…"].isEnabled()
    menu = window.relocator.fill_menu(QMenu(window), second)
    assert not {a.text(): a for a in menu.actions()}["Locate file…"].isEnabled()


def test_right_click_on_a_row_opens_the_menu_of_that_image(qtbot, window, tmp_path):
    first, _old, _new = _move_first_away(window, tmp_path)
    view = window.images.view
    rect = view.visualRect(window.images.model.index(0))
    with qtbot.waitSignal(window.images.context_requested, timeout=2000) as sig:
        view.customContextMenuRequested.emit(rect.center())
    assert sig.args[0] == first
    menu = window.list_menu
    assert menu.isVisible()
    locate = next(a for a in menu.actions() if a.text() == "Locate file…")
    assert locate.isEnabled()
    menu.close()


def test_search_folder_relocates_every_moved_image_in_the_background(
    qtbot, window, tmp_path, monkeypatch
):
    images = window.project.folder / "images"
    ids = window.project.image_ids()
    shutil.move(images, tmp_path / "archive" / "2024")
    window.display.forget()
    _show(qtbot, window, ids[0])
    assert "Locate file" in window.image_banner.text()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "archive")
    )
    reports: list[tuple[str, str]] = []
    monkeypatch.setattr(window.prompts, "inform", lambda title, text: reports.append((title, text)))
    with qtbot.waitSignal(window.image_shown, timeout=10000):  # the current image reappears
        job = window.relocator.search_folder()
    assert job.state == "succeeded"
    assert "Found 3 of 3" in window.statusBar().currentMessage()
    for image_id in ids:
        record = window.project.image(image_id)
        assert window.project.image_path(record).parent == tmp_path / "archive" / "2024"
        assert record.error is None
    assert window.display.raw is not None and not window.image_banner.isVisible()


def test_a_read_only_project_refuses_to_relocate(qtbot, tmp_path, monkeypatch):
    from app.main_window import MainWindow
    from tests.app.conftest import make_project

    make_project(tmp_path / "p").close()
    (tmp_path / "p" / "images" / "img_000.png").unlink()
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        w.open_project(tmp_path / "p", read_only=True)
    assert "missing" in w.image_banner.text() and "Locate" not in w.image_banner.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: 1 / 0)
    assert w.relocator.locate_file() is None
    assert "read-only" in w.statusBar().currentMessage()
    assert not w.actions_["locate"].isEnabled()
    w.close()

"""core.store.relocate: find moved image files by name and content, relocate them."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.annotations import Box
from core.errors import JobCancelled, ProjectError
from core.hashing import sha256_file
from core.store import NewImage, Project
from core.store.relocate import missing_images, relocate_from_folder
from tests.core.conftest import open_test_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from open_test_project(tmp_path)


def _add(project: Project, path: Path, content: bytes, *, fingerprint: bool = True) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    sha = sha256_file(path) if fingerprint else None
    return project.add_images([NewImage(str(path), 100, 80, sha256=sha)])[0]


def test_missing_images_lists_only_files_that_are_gone(project: Project, tmp_path: Path) -> None:
    a = _add(project, tmp_path / "in" / "a.png", b"aaa")
    b = _add(project, tmp_path / "in" / "b.png", b"bbb")
    (tmp_path / "in" / "b.png").unlink()
    assert [r.id for r in missing_images(project)] == [b]
    assert a not in [r.id for r in missing_images(project)]


def test_moved_files_are_found_by_name_and_content_and_keep_their_boxes(
    project: Project, tmp_path: Path
) -> None:
    a = _add(project, tmp_path / "old" / "a.png", b"image a")
    b = _add(project, tmp_path / "old" / "sub" / "b.png", b"image b")
    project.add_box(a, Box(1, 1, 10, 10, "watch"))
    project.set_image_error(a, "The file is missing")
    shutil.move(tmp_path / "old", tmp_path / "new" / "deeper")
    progress: list[tuple[int, int, str]] = []
    report = relocate_from_folder(
        project, tmp_path / "new", progress=lambda d, t, m: progress.append((d, t, m))
    )
    assert report.missing == 2 and not report.not_found and not report.differs
    assert sorted(i for i, _ in report.relocated) == [a, b]
    assert project.image_path(project.image(a)) == tmp_path / "new" / "deeper" / "a.png"
    assert project.image_path(project.image(b)).read_bytes() == b"image b"
    assert project.image(a).error is None  # found again: no error badge
    assert len(project.boxes(a)) == 1
    assert missing_images(project) == []
    assert progress and progress[-1][:2] == (2, 2)
    assert "Found 2 of 2" in report.summary()[0]
    assert [e.action for e in project.audit_events(a, limit=3)][:2] == [
        "set_image_error",
        "relocate_image",
    ]


def test_a_file_with_the_same_name_but_other_content_is_left_alone(
    project: Project, tmp_path: Path
) -> None:
    a = _add(project, tmp_path / "old" / "IMG0001.dcm", b"patient one")
    (tmp_path / "old" / "IMG0001.dcm").unlink()
    other = tmp_path / "elsewhere" / "IMG0001.dcm"
    other.parent.mkdir()
    other.write_bytes(b"patient two")
    report = relocate_from_folder(project, tmp_path / "elsewhere")
    assert report.relocated == [] and report.differs == [(a, str(other))]
    assert project.image_path(project.image(a)) == tmp_path / "old" / "IMG0001.dcm"
    assert any("other content" in line for line in report.summary())


def test_the_right_copy_wins_among_files_of_the_same_name(project: Project, tmp_path: Path) -> None:
    a = _add(project, tmp_path / "old" / "scan.png", b"the real one")
    (tmp_path / "old" / "scan.png").unlink()
    for folder, content in (("x", b"a different scan"), ("y", b"the real one")):
        (tmp_path / "pool" / folder).mkdir(parents=True)
        (tmp_path / "pool" / folder / "scan.png").write_bytes(content)
    report = relocate_from_folder(project, tmp_path / "pool")
    assert report.relocated == [(a, str(tmp_path / "pool" / "y" / "scan.png"))]


def test_without_a_fingerprint_a_unique_name_is_taken_and_fingerprinted(
    project: Project, tmp_path: Path
) -> None:
    a = _add(project, tmp_path / "old" / "face.jpg", b"jpeg", fingerprint=False)
    (tmp_path / "old" / "face.jpg").unlink()
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "FACE.JPG").write_bytes(b"jpeg")  # the case changed on the way
    report = relocate_from_folder(project, tmp_path / "new")
    assert report.by_name_only == [(a, str(tmp_path / "new" / "FACE.JPG"))]
    assert project.image(a).sha256 == sha256_file(tmp_path / "new" / "FACE.JPG")
    assert any("name only" in line for line in report.summary())


def test_nothing_missing_and_not_a_folder(project: Project, tmp_path: Path) -> None:
    _add(project, tmp_path / "a.png", b"a")
    report = relocate_from_folder(project, tmp_path)
    assert report.missing == 0 and "nothing to search" in report.summary()[0]
    with pytest.raises(ProjectError, match="not a folder"):
        relocate_from_folder(project, tmp_path / "a.png")


def test_a_cancelled_search_relocates_nothing_more(project: Project, tmp_path: Path) -> None:
    _add(project, tmp_path / "old" / "a.png", b"a")
    shutil.move(tmp_path / "old", tmp_path / "new")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelled):
        relocate_from_folder(project, tmp_path / "new", cancel=cancel)
    assert len(missing_images(project)) == 1

"""Helpers shared by the core.store tests (no tests here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.annotations import builtin_label_set, builtin_scale
from core.store import Database, NewImage, Project
from core.store.opening import DB_NAME, build_database, connect


def open_test_project(tmp_path: Path) -> Iterator[Project]:
    """The body of the ``project`` fixture: an xray project with acne4 and hyperpig."""
    proj = Project.create(
        tmp_path / "proj",
        label_set=builtin_label_set("xray"),
        scales=[builtin_scale("acne4"), builtin_scale("hyperpig")],
        author="dr.a",
    )
    yield proj
    proj.close()


def add_image(project: Project, name: str = "a.png", w: int = 100, h: int = 80) -> int:
    return project.add_images([NewImage(str(project.folder / name), w, h)])[0]


def fresh_database(tmp_path: Path, author: str = "dr.a") -> Database:
    """A writable ``Database`` over a new project file (xray labels, acne4 and hyperpig
    scales) without a ``Project``: what a repository is tested on alone."""
    folder = tmp_path / "db"
    folder.mkdir()
    build_database(
        folder / DB_NAME,
        folder,
        builtin_label_set("xray"),
        [builtin_scale("acne4"), builtin_scale("hyperpig")],
        "db",
        author,
    )
    return connect(folder, read_only=False, author=author)


def insert_image(db: Database, path: str = "a.png", w: int = 100, h: int = 80) -> int:
    """An image row written straight to the table (no images API involved)."""
    with db.write() as conn:
        cur = conn.execute(
            "INSERT INTO images (path, width, height, bit_depth, samples_per_pixel, added_at, "
            "updated_at) VALUES (?, ?, ?, 8, 1, '', '')",
            (path, w, h),
        )
    return int(cur.lastrowid or 0)

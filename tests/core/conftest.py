"""Helpers and fixtures shared by the core tests: store projects and project import/export data."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from core.annotations import Box, builtin_label_set, builtin_scale
from core.project_io import import_images
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


# --- project import/export data -------------------------------------------------------
def write_rgb(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    """A small random RGB PNG (each seed gives different content, so a different sha256)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    return path


def write_grey16(path: Path, width: int = 50, height: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), rng.integers(1000, 60000, (height, width), dtype=np.uint16))
    return path


def new_project(folder: Path, labels: str = "xray", scales: Sequence[str] = ("acne4",)) -> Project:
    return Project.create(
        folder,
        label_set=builtin_label_set(labels),
        scales=[builtin_scale(s) for s in scales],
        author="tester",
    )


def annotated_project(tmp: Path, n: int = 6, with_16bit: bool = True) -> Project:
    """A project with n RGB images (+ one 16-bit) carrying varied boxes and grades."""
    src = tmp / "src"
    paths = [write_rgb(src / f"img{i:02d}.png", seed=i) for i in range(n)]
    if with_16bit:
        paths.append(write_grey16(src / "xray16.png", seed=99))
    project = new_project(tmp / "proj")
    import_images(project, [src])
    labels = ["zipper", "watch", "key", "belt buckle"]
    for k, rec in enumerate(project.images()):
        boxes = [
            Box(0.0, 0.0, 10.0, 10.0, labels[k % 4]),
            Box(12.4, 5.6, 30.2, 20.7, labels[(k + 1) % 4], difficult=True, pose="Left"),
        ]
        if k % 2:
            boxes.append(
                Box(
                    20.0,
                    10.0,
                    float(rec.width),
                    float(rec.height),
                    "zipper",
                    truncated=True,
                    occluded=True,
                )
            )
        project.add_boxes(rec.id, boxes)
        project.set_grade(rec.id, "acne4", float(k % 4))
    return project


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }

"""Helpers shared by the core.store tests (no tests here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from core.annotations import builtin_label_set, builtin_scale
from core.store import NewImage, Project


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

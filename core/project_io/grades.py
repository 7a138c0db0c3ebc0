"""Grades CSV rows <-> a project's images (matching by stored path, file name, or stem)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from core.formats.grades_csv import GradeRow
from core.store import Project


class ImageLookup:
    """Find a project image from the ``image`` column of a grades CSV."""

    def __init__(self, project: Project) -> None:
        self.by_path: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        self.by_stem: dict[str, list[int]] = {}
        for rec in project.images():
            self.by_path[rec.path] = rec.id
            self.by_path[str(project.image_path(rec))] = rec.id
            name = PurePosixPath(rec.path.replace("\\", "/")).name
            self.by_name.setdefault(name, []).append(rec.id)
            self.by_stem.setdefault(Path(name).stem, []).append(rec.id)

    def find(self, image: str) -> tuple[int | None, str]:
        """(image id, '') or (None, why not)."""
        if image in self.by_path:
            return self.by_path[image], ""
        name = PurePosixPath(image.replace("\\", "/")).name
        for table, key in ((self.by_name, name), (self.by_stem, Path(name).stem)):
            ids = table.get(key, [])
            if len(ids) == 1:
                return ids[0], ""
            if len(ids) > 1:
                return None, f"'{image}' matches {len(ids)} images; give its path"
        return None, f"no image '{image}' in the project"


def apply_grade_rows(
    project: Project, rows: Sequence[GradeRow], source: str, skipped: list[str]
) -> int:
    """Set every matched grade in one transaction; unmatched rows go to ``skipped``."""
    lookup = ImageLookup(project)
    matched: list[tuple[int, GradeRow]] = []
    for row in rows:
        image_id, why = lookup.find(row.image)
        if image_id is None:
            skipped.append(f"{source}, line {row.line}: {why}")
        else:
            matched.append((image_id, row))
    with project.batch():
        for image_id, row in matched:
            project.set_grade(image_id, row.scale, row.value, source=row.source, author=row.author)
    return len(matched)

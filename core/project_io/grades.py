"""Grades CSV rows <-> a project's images (matching by stored path, file name, or stem):
the grades, and the image-level tags of the tag columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from core.formats.grades_csv import GradeRow, TagCell
from core.store import Project
from core.text import shorten


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
                return None, f"'{shorten(image)}' matches {len(ids)} images; give its path"
        return None, f"no image '{shorten(image)}' in the project"


def _value(row: GradeRow) -> str:
    return f"{row.author or 'the importing user'}: {row.value:g}"


def apply_grade_rows(
    project: Project, rows: Sequence[GradeRow], source: str, skipped: list[str]
) -> int:
    """Set every matched grade in one transaction; return how many were set.

    The ``author`` column is the reader: one row per image, scale and reader loads several
    readers' grades (a row without author is the importing user's). Unmatched rows go to
    ``skipped``. So do rows that disagree: the project keeps one human grade per image,
    scale and reader, and one model grade per image and scale, so two such rows with a
    different value (or model author) cannot both be kept, and taking the last one would
    silently drop a grade. Such a group is reported naming its lines and none of it is
    set. Rows that repeat each other exactly count once.
    """
    lookup = ImageLookup(project)
    groups: dict[tuple[int, str, str, str], list[GradeRow]] = {}
    for row in rows:
        image_id, why = lookup.find(row.image)
        if image_id is None:
            skipped.append(f"{source}, line {row.line}: {why}")
        else:
            reader = project.grading.reader_of(row.source, row.author)
            groups.setdefault((image_id, row.scale, row.source, reader), []).append(row)
    matched: list[tuple[int, GradeRow]] = []
    for (image_id, scale, _, _), group in groups.items():
        if len({(r.value, r.author) for r in group}) > 1:
            lines = ", ".join(str(r.line) for r in group[:5]) + (", ..." if len(group) > 5 else "")
            values = "; ".join(dict.fromkeys(_value(r) for r in group))
            skipped.append(
                f"{source}, lines {lines}: conflicting {group[0].source} grades for "
                f"'{shorten(group[0].image, 60)}' on {shorten(scale, 40)} ({shorten(values)}); "
                "the project keeps one per image, scale and reader, so none of them was "
                "imported"
            )
            continue
        matched.append((image_id, group[0]))
    with project.batch():
        for image_id, row in matched:
            project.set_grade(image_id, row.scale, row.value, source=row.source, author=row.author)
        groups_of = {i: r.group for i, r in matched if r.group}
        if groups_of:
            project.source_groups.set_many(groups_of)
    return len(matched)


def apply_tag_cells(
    project: Project, cells: Sequence[TagCell], source: str, skipped: list[str]
) -> int:
    """Restore the image-level tags of a grades CSV; return how many images' tags match
    the file afterwards.

    The export writes each image's value (the boxes' answer or the grader's choice); here
    a value the image already has (typically the boxes', the boxes having come in the
    same import) is left as it is, so tags that followed the boxes go on following them,
    and any other value is stored as a choice. Re-exporting gives the same cells. An image
    whose rows disagree is reported and left alone; so are the tags of a kind this
    project does not use (an X-ray project has no lesion types).
    """
    used = {k.name for k in project.tags.kinds()}
    lookup = ImageLookup(project)
    wanted: dict[tuple[int, str], list[TagCell]] = {}
    unused: dict[str, int] = {}
    for cell in cells:
        if cell.kind not in used:
            if cell.tags:
                unused[cell.kind] = unused.get(cell.kind, 0) + 1
            continue
        image_id, why = lookup.find(cell.image)
        if image_id is None:
            note = f"{source}, line {cell.line}: {why}"
            if note not in skipped:  # the grade on the same line may have said so
                skipped.append(note)
            continue
        wanted.setdefault((image_id, cell.kind), []).append(cell)
    for kind, n in unused.items():
        skipped.append(
            f"{source}: {n} row(s) of column {kind} not imported (this project's labels "
            "use no such tags)"
        )
    restored = 0
    with project.batch():
        for (image_id, kind), group in wanted.items():
            values = {c.tags for c in group}
            if len(values) > 1:
                lines = ", ".join(str(c.line) for c in group[:5])
                skipped.append(
                    f"{source}, lines {lines}: conflicting {kind} for "
                    f"'{shorten(group[0].image, 60)}'; none of them was imported"
                )
                continue
            (tags,) = values
            if project.tags.get(image_id, kind).tags != tags:
                project.tags.set(image_id, kind, tags)
            restored += 1
    return restored

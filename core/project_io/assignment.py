"""Reading assignments as files: readers on separate workstations never share a SQLite
project over a network drive (it corrupts), so reading travels as folders.

``export_assignment``: a folder ``OUT/`` with ``assignment.json`` (which project, which
reader, which images by SHA-256) and ``OUT/project/``, an empty reader project with the
same labels and scales whose images refer to the originals (or to copies in
``OUT/images/`` with ``copy_images``). The reader opens ``OUT/project`` in ClinLens.

``import_results``: merge a reader project back into the project it came from, by reader
identity: images matched by SHA-256; each of the reader's grades is added when the main
project has none from that reader, left alone when equal, and reported as a conflict when
different (never overwritten); the reader's boxes on an image are added when the main
project has none of theirs there, and a different set already merged is a conflict.
Merging twice changes nothing. All of it is one transaction.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotations import Box
from core.errors import ClinLensError, ProjectError
from core.store import NewImage, Project
from core.text import shorten

ASSIGNMENT_FILE = "assignment.json"
FORMAT = "clinlens-reading-assignment"
READER_BOX_STATUSES = ("accepted", "edited")


@dataclass
class MergeReport:
    reader: str
    grades_added: int = 0
    grades_unchanged: int = 0
    boxes_added: int = 0
    boxes_unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    unknown_images: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> list[str]:
        lines = [
            f"reader {self.reader}: {self.grades_added} grade(s) and {self.boxes_added} box(es) "
            f"merged, {self.grades_unchanged} grade(s) and {self.boxes_unchanged} box(es) "
            "already there"
        ]
        if self.conflicts:
            lines.append(f"{len(self.conflicts)} conflict(s), nothing overwritten:")
            lines.extend(f"  {c}" for c in self.conflicts)
        if self.unknown_images:
            lines.append(f"{len(self.unknown_images)} image(s) the project lacks, skipped:")
            lines.extend(f"  {u}" for u in self.unknown_images)
        return lines


def export_assignment(
    project: Project,
    out: Path,
    reader: str,
    *,
    image_ids: Sequence[int] | None = None,
    copy_images: bool = False,
) -> dict[str, Any]:
    """Write a reading assignment for ``reader``; returns what ``assignment.json`` holds."""
    reader = reader.strip()
    if not reader:
        raise ClinLensError("a reading assignment needs the reader's name (--reader)")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ClinLensError(f"'{out}' is not empty; choose a new folder for the assignment")
    wanted = None if image_ids is None else set(image_ids)
    records = [r for r in project.images() if wanted is None or r.id in wanted]
    if not records:
        raise ClinLensError("no images to assign")
    reader_dir = out / "project"
    with Project.create(
        reader_dir,
        label_set=project.label_set(),
        scales=project.definitions.scales(),
        name=f"{project.name} - {reader}",
        author=reader,
    ) as copy:
        copy.readers.mark_assignment(project.readers.project_uid(), reader)
        items = []
        for rec in records:
            source = project.image_path(rec)
            path = source
            if copy_images:
                path = out / "images" / f"{rec.id:06d}-{source.name}"
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copy2(source, path)
                except OSError as exc:
                    raise ClinLensError(f"cannot copy '{source.name}': {exc.strerror}") from None
            items.append(
                NewImage(
                    str(path),
                    rec.width,
                    rec.height,
                    rec.bit_depth,
                    rec.samples_per_pixel,
                    rec.modality,
                    rec.sha256,
                    rec.error,
                )
            )
        copy.add_images(items)
    manifest = {
        "format": FORMAT,
        "version": 1,
        "project_uid": project.readers.project_uid(),
        "project": project.name,
        "reader": reader,
        "images": [{"sha256": r.sha256, "name": Path(r.path).name} for r in records],
    }
    (out / ASSIGNMENT_FILE).write_text(json.dumps(manifest, indent=1), "utf-8")
    return manifest


def _open_reader(folder: Path) -> Project:
    target = folder / "project" if (folder / ASSIGNMENT_FILE).is_file() else folder
    try:
        return Project.open(target, read_only=True)
    except ProjectError as exc:
        raise ClinLensError(f"reader results: {exc}") from None


def import_results(project: Project, folder: Path) -> MergeReport:
    """Merge a reader's project (the assignment folder or its ``project/``) into
    ``project``. ClinLensError, nothing merged, for results of another project."""
    with _open_reader(Path(folder)) as theirs:
        marked = theirs.readers.assignment()
        if marked is None:
            raise ClinLensError(
                f"'{folder}' is not a reading assignment (made by 'project assignment-export')"
            )
        uid, reader = marked
        if uid != project.readers.project_uid():
            raise ClinLensError(
                f"'{folder}' is a reading assignment of another project (not '{project.name}'); "
                "nothing was merged"
            )
        scales = {s.name for s in project.definitions.scales()}
        labels = set(project.label_set().names())
        by_sha = {r.sha256: r for r in project.images() if r.sha256}
        report = MergeReport(reader)
        mine_grades = theirs.grades_by_image()
        mine_boxes = theirs.boxes_by_image()
        plan = []
        for rec in theirs.images():
            target = by_sha.get(rec.sha256) if rec.sha256 else None
            grades = [g for g in mine_grades.get(rec.id, []) if g.source == "human"]
            boxes = [
                b
                for b in mine_boxes.get(rec.id, [])
                if b.status in READER_BOX_STATUSES and (b.author or "") == reader
            ]
            if target is None:
                if grades or boxes:
                    report.unknown_images.append(shorten(Path(rec.path).name))
                continue
            plan.append((target, [g for g in grades if (g.author or "") == reader], boxes))
    with project.batch():
        for target, grades, boxes in plan:
            _merge_grades(project, target, reader, grades, scales, report)
            _merge_boxes(project, target, reader, boxes, labels, report)
    return report


def _merge_grades(
    project: Project, target: Any, reader: str, grades: list[Any], scales: set[str],
    report: MergeReport,
) -> None:  # fmt: skip
    name = Path(target.path).name
    for g in grades:
        if g.scale not in scales:
            report.conflicts.append(f"{name}: scale '{g.scale}' is not in this project")
            continue
        have = project.grading.grade(target.id, g.scale, reader=reader)
        if have is None:
            project.set_grade(target.id, g.scale, g.value, author=reader)
            report.grades_added += 1
        elif have.value == g.value:
            report.grades_unchanged += 1
        else:
            report.conflicts.append(
                f"{name}: {reader}'s {g.scale} grade is {have.value:g} here and {g.value:g} "
                f"in the results; kept {have.value:g}"
            )


def _key(b: Box) -> tuple[Any, ...]:
    return (b.label, round(b.x1, 3), round(b.y1, 3), round(b.x2, 3), round(b.y2, 3))


def _merge_boxes(
    project: Project, target: Any, reader: str, boxes: list[Box], labels: set[str],
    report: MergeReport,
) -> None:  # fmt: skip
    if not boxes:
        return
    name = Path(target.path).name
    unknown = sorted({b.label for b in boxes} - labels)
    if unknown:
        report.conflicts.append(f"{name}: label(s) {', '.join(unknown)} not in this project")
        return
    have = [
        b
        for b in project.boxes(target.id)
        if (b.author or "") == reader and b.status in READER_BOX_STATUSES
    ]
    if not have:
        project.add_boxes(
            target.id,
            [Box(b.x1, b.y1, b.x2, b.y2, b.label, b.difficult, b.truncated, b.occluded, b.pose,
                 "human", b.status, None, None, reader) for b in boxes],
        )  # fmt: skip
        report.boxes_added += len(boxes)
    elif sorted(map(_key, have)) == sorted(map(_key, boxes)):
        report.boxes_unchanged += len(boxes)
    else:
        report.conflicts.append(
            f"{name}: {reader}'s boxes here ({len(have)}) differ from those in the results "
            f"({len(boxes)}); kept the ones here"
        )

"""Import image files (and their annotations and grades) into a project.

All-or-nothing per image: an image whose annotation file is bad is skipped together with
its annotation (the report says why, naming file and line); everything is checked before
the first write. Labels the registry lacks stop the whole import (listing them) unless
``add_labels``. Images already in the project (same content) are skipped and reported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotations import Box
from core.errors import ClinLensError, FormatError, JobCancelled, UnknownLabelError
from core.formats.common import validate_boxes
from core.formats.grades_csv import GradeRow, read_grades_csv
from core.formats.sources import AnnotationSource, beside_images, guess_format, make_source
from core.hashing import sha256_file
from core.jobs import CancelToken, ProgressFn, check_cancel
from core.project_io.grades import apply_grade_rows
from core.store import DB_NAME, NewImage, Project

_CHUNK = 256  # images per transaction: durable progress without an fsync per image
_PROJECT_DIRS = ("models", "exports")


@dataclass
class ImportReport:
    """What an import did, for the CLI summary and the GUI."""

    added: list[str] = field(default_factory=list)
    boxes: int = 0
    grades: int = 0
    duplicates: list[str] = field(default_factory=list)  # "path: reason"
    skipped: list[str] = field(default_factory=list)  # "path: reason"
    skipped_items: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    skipped_annotations: list[str] = field(default_factory=list)  # unused files / list lines
    skipped_grades: list[str] = field(default_factory=list)
    without_annotation: int = 0
    labels_added: list[str] = field(default_factory=list)
    other_files: int = 0  # files in the folders that are not images (e.g. the XML files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "boxes": self.boxes,
            "grades": self.grades,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "skipped_annotations": self.skipped_annotations,
            "skipped_grades": self.skipped_grades,
            "without_annotation": self.without_annotation,
            "labels_added": self.labels_added,
            "other_files": self.other_files,
        }

    def summary(self) -> list[str]:
        lines = [
            f"imported {len(self.added)} image(s), {self.boxes} box(es), {self.grades} grade(s)"
        ]
        if self.labels_added:
            lines.append(f"added label(s): {', '.join(self.labels_added)}")
        if self.without_annotation:
            lines.append(f"{self.without_annotation} image(s) had no annotation file")
        for title, items in (
            ("duplicate(s) skipped", self.duplicates),
            ("image(s) skipped", self.skipped),
            ("annotation(s) not used", self.skipped_annotations),
            ("grade row(s) skipped", self.skipped_grades),
        ):
            if items:
                lines.append(f"{len(items)} {title}:")
                lines.extend(f"  {item}" for item in items)
        return lines


@dataclass
class _Candidate:
    path: Path
    new: NewImage | None = None
    boxes: list[Box] = field(default_factory=list)
    problem: str | None = None


def _is_dicom_without_suffix(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM"


def collect_image_files(paths: Sequence[Path], project_folder: Path) -> tuple[list[Path], int]:
    """Image files named or found (recursively) under ``paths``, sorted, plus a count of
    other files. The project's own database, models and exports are never imported."""
    from core.imaging import SUPPORTED_SUFFIXES

    own = {(project_folder / d).resolve() for d in _PROJECT_DIRS}
    found: dict[Path, Path] = {}
    others = 0
    for root in paths:
        if not root.exists():
            raise ClinLensError(f"'{root}' does not exist; nothing was imported")
        if root.is_file():
            found.setdefault(root.resolve(), root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in own
            )
            for name in sorted(filenames):
                p = here / name
                if name.startswith(".") or name.startswith(DB_NAME):
                    continue
                suffix = os.path.splitext(name)[1].lower()
                if suffix in SUPPORTED_SUFFIXES or (not suffix and _is_dicom_without_suffix(p)):
                    found.setdefault(p.resolve(), p)
                else:
                    others += 1
    return sorted(found.values(), key=lambda p: str(p)), others


def shown(path: Path | str) -> str:
    """A path as text that can be printed, stored and shown: a POSIX name that is not UTF-8
    keeps its odd bytes as ``\\udcXX`` escapes instead of breaking the output."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _read_one(path: Path) -> tuple[NewImage | None, str | None]:
    from core.imaging import read_header

    if shown(path) != str(path):
        return None, "the file name is not valid UTF-8 text; rename the file to import it"
    try:
        header = read_header(path)
        digest = sha256_file(path)
    except ClinLensError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc.__class__.__name__})"
    except Exception as exc:  # a reader bug on one odd file must not stop the whole import
        return None, f"cannot be read ({exc.__class__.__name__})"
    return (
        NewImage(
            path=str(path.absolute()),
            width=int(header.width),
            height=int(header.height),
            bit_depth=int(header.bits_stored),
            samples_per_pixel=int(header.samples_per_pixel),
            modality=header.modality,
            sha256=digest,
        ),
        None,
    )


def _read_all(
    files: Sequence[Path], progress: ProgressFn | None, cancel: CancelToken | None
) -> Iterator[tuple[Path, NewImage | None, str | None]]:
    workers = max(1, min(8, (os.cpu_count() or 2) * 2))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
        # map() keeps input order; headers are small so reading ahead costs little memory.
        for i, (path, (new, err)) in enumerate(zip(files, pool.map(_read_one, files), strict=True)):
            if cancel is not None and cancel.is_set():
                pool.shutdown(wait=False, cancel_futures=True)
                raise JobCancelled("import cancelled; nothing was imported")
            if progress is not None:
                progress(i + 1, len(files), f"reading {path.name}")
            yield path, new, err


def import_images(
    project: Project,
    paths: Sequence[str | Path],
    *,
    annotations: str | Path | None = None,
    fmt: str | None = None,
    grades_csv: str | Path | None = None,
    add_labels: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Import image files/folders, optionally with annotations and a grades CSV.

    ``fmt``: voc / yolo / txt; annotation files are looked for in ``annotations`` (a folder,
    or a list file for txt), else beside the images. Raises UnknownLabelError (nothing
    imported) for labels the registry lacks unless ``add_labels``; JobCancelled when
    ``cancel`` is set (images saved before the cancel stay, whole chunks at a time).
    """
    report = ImportReport()
    roots = [Path(p) for p in paths]
    scales = {s.name: s for s in project.scales()}
    # The grades file is checked first, so a bad one stops the import before any write.
    grade_rows: list[GradeRow] = read_grades_csv(Path(grades_csv), scales) if grades_csv else []

    files, report.other_files = collect_image_files(roots, project.folder)
    source: AnnotationSource | None = None
    if annotations is not None or fmt is not None:
        ann_roots = [Path(annotations)] if annotations is not None else beside_images(roots)
        fmt = fmt or guess_format(ann_roots[0])
        source = make_source(fmt, ann_roots)

    known_hashes: dict[str, str] = {}
    candidates: list[_Candidate] = []
    for path, new, err in _read_all(files, progress, cancel):
        cand = _Candidate(path)
        candidates.append(cand)
        if new is None:
            cand.problem = err
            continue
        assert new.sha256 is not None
        stored = project.find_image(path=path) or project.find_image(sha256=new.sha256)
        if stored is not None:
            same_path = project.find_image(path=path) is not None
            report.duplicates.append(
                f"{path}: already in the project"
                + ("" if same_path else f" (same content as {stored.path})")
            )
            cand.problem = "duplicate"
            continue
        if new.sha256 in known_hashes:
            report.duplicates.append(f"{path}: same content as {known_hashes[new.sha256]}")
            cand.problem = "duplicate"
            continue
        known_hashes[new.sha256] = str(path)
        cand.new = new
    if source is not None:
        # Match annotation files against every readable image (duplicates included, so
        # their files are not reported as orphans), then read those of the new images.
        source.prepare(
            [c.path for c in candidates if c.problem is None or c.problem == "duplicate"]
        )
        for cand in candidates:
            if cand.new is None:
                continue
            check_cancel(cancel)
            try:
                ann = source.load(cand.path, cand.new.width, cand.new.height)
                if ann is None:
                    report.without_annotation += 1
                else:
                    cand.boxes = validate_boxes(ann, cand.new.width, cand.new.height)
            except FormatError as exc:
                cand.problem = str(exc)
                cand.new = None
        report.skipped_annotations.extend(source.unused())
    for cand in candidates:
        if cand.problem and cand.problem != "duplicate":
            report.skipped.append(f"{shown(cand.path)}: {cand.problem}")
            report.skipped_items.append((shown(cand.path), cand.problem))

    ready = [c for c in candidates if c.new is not None]
    _check_labels(project, ready, add_labels, report)
    check_cancel(cancel)
    _save(project, ready, report, progress, cancel)
    if grade_rows:
        apply_grade_rows(project, grade_rows, str(grades_csv), report.skipped_grades)
        report.grades = len(grade_rows) - len(report.skipped_grades)
    return report


def _check_labels(
    project: Project, ready: Sequence[_Candidate], add_labels: bool, report: ImportReport
) -> None:
    registry = set(project.label_set().names())
    missing: dict[str, str] = {}  # label -> first file using it (for the message)
    for cand in ready:
        for b in cand.boxes:
            if b.label not in registry and b.label not in missing:
                missing[b.label] = str(cand.path)
    if not missing:
        return
    if not add_labels:
        raise UnknownLabelError(
            f"label(s) not in the project's registry: {', '.join(sorted(missing))} "
            "(nothing was imported; use --add-labels to add them)",
            list(missing),
        )
    with project.batch():
        for name in missing:  # first-seen order: ids follow the import order
            project.add_label(name)
    report.labels_added = list(missing)


def _save(
    project: Project,
    ready: Sequence[_Candidate],
    report: ImportReport,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> None:
    for start in range(0, len(ready), _CHUNK):
        if cancel is not None and cancel.is_set():
            raise JobCancelled(
                f"import cancelled after {len(report.added)} of {len(ready)} image(s)"
            )
        chunk = ready[start : start + _CHUNK]
        with project.batch():
            ids = project.add_images([c.new for c in chunk if c.new is not None])
            for image_id, cand in zip(ids, chunk, strict=True):
                if cand.boxes:
                    project.add_boxes(image_id, cand.boxes)
        for cand in chunk:
            report.added.append(str(cand.path))
            report.boxes += len(cand.boxes)
        if progress is not None:
            progress(len(report.added), len(ready), "saving")

"""Import image files (and their annotations and grades) into a project.

What happens to each file found:

- imported: its pixels pass ``core.imaging.check_image`` (the reader's checks before
  decoding, plus the encoded data's own structure: see ``core/imaging/verify.py``);
- imported marked as an error: its header reads but its pixels would not decode (cut
  pixel data, garbage JPEG 2000, a PNG chunk claiming 2 GB...). It is stored with its
  size and the one-line reason, so the image list shows it with that reason,
  ``project stats`` counts it, exports and training leave it out, and a later relocate
  (or a fixed copy) can clear it. Dropping it would hide from the expert that a file of
  the study is broken;
- skipped with its reason: not an image at all (its header does not read), a duplicate,
  an image whose annotation file is bad (refused together with that annotation, naming
  file and line: nothing half-right is stored), a folder entry that cannot be followed
  (a link that loops, a link to a missing file, an unreadable folder, a FIFO).

Everything is checked before the first write. Labels the registry lacks stop the whole
import (listing them) unless ``add_labels``. Grade rows that match no image, or that
conflict with each other, are reported and not set.

Messages name files as the user typed the folder plus the path inside it, never a
resolved absolute path: file and folder names can carry patient names.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from core.annotations import Box
from core.errors import (
    ClinLensError,
    FormatError,
    JobCancelled,
    ProjectError,
)
from core.formats.common import validate_boxes
from core.formats.grades_csv import GradeRow, TagCell, read_grades_csv, read_tags_csv
from core.formats.sources import AnnotationSource, beside_images, guess_format, make_source
from core.hashing import sha256_file
from core.jobs import CancelToken, ProgressFn, check_cancel
from core.project_io.grades import apply_grade_rows, apply_tag_cells
from core.project_io.import_labels import check_labels, resolve_map_option
from core.store import DB_NAME, NewImage, Project
from core.text import printable_path, shorten

_CHUNK = 256  # images per transaction: durable progress without an fsync per image
_PROJECT_DIRS = ("models", "exports")
_IN_SUMMARY_LINE = 2  # skipped entries named in the one-line outcome; the rest on stdout

COMPLETE = "complete"  # everything found was imported (or was already in the project)
PARTIAL = "partial"  # something was imported, something was not (or only as an error)
NOTHING = "nothing"  # nothing usable was imported, or there was nothing to import


@dataclass
class ImportReport:
    """What an import did, for the CLI summary and the GUI."""

    added: list[str] = field(default_factory=list)  # imported and readable
    boxes: int = 0
    grades: int = 0
    tags: int = 0  # images whose image-level tags came from the grades CSV
    found: int = 0  # image files found (duplicates and unreadable ones included)
    errors: list[str] = field(default_factory=list)  # "path: reason", stored as errors
    duplicates: list[str] = field(default_factory=list)  # "path: reason"
    skipped: list[str] = field(default_factory=list)  # "path: reason"
    skipped_items: list[tuple[str, str]] = field(default_factory=list)  # image files only
    skipped_annotations: list[str] = field(default_factory=list)  # unused files / list lines
    skipped_grades: list[str] = field(default_factory=list)
    without_annotation: int = 0
    labels_added: list[str] = field(default_factory=list)
    labels_mapped: dict[str, str] = field(default_factory=dict)  # dataset -> project label
    likely_matches: dict[str, list[str]] = field(default_factory=dict)  # not mapped
    other_files: int = 0  # files in the folders that are not images (e.g. the XML files)
    reviewed_asked: bool = False  # import(..., reviewed=True)
    marked_reviewed: int = 0  # images that came with an annotation file, marked done
    not_marked_reviewed: list[str] = field(default_factory=list)  # why not (grades missing)

    @property
    def status(self) -> str:
        """COMPLETE, PARTIAL or NOTHING (what the CLI's exit code 0, 3 and 2 say)."""
        problems = self.errors or self.skipped or self.skipped_annotations or self.skipped_grades
        kept = self.grades or self.tags  # a grades CSV alone imports something too
        if not problems:
            return COMPLETE if self.found or kept else NOTHING
        return PARTIAL if self.added or kept else NOTHING

    def outcome(self) -> str:
        """One line saying what was and was not imported (the CLI prints it on stderr
        unless the import was complete)."""
        if not self.found and not self.skipped and not self.grades and not self.tags:
            return f"no image files found ({self.other_files} other file(s)); nothing was imported"
        parts = [f"imported {len(self.added)} of {self.found - len(self.duplicates)} image(s)"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} already in the project")
        if self.errors:
            parts.append(f"{len(self.errors)} marked as errors (see `project stats`)")
        if self.skipped:
            named = "; ".join(shorten(s, 300) for s in self.skipped[:_IN_SUMMARY_LINE])
            more = len(self.skipped) - _IN_SUMMARY_LINE
            parts.append(
                f"{len(self.skipped)} skipped: {named}" + (f"; and {more} more" if more > 0 else "")
            )
        if self.skipped_annotations:
            parts.append(f"{len(self.skipped_annotations)} annotation(s) not used")
        if self.skipped_grades:
            parts.append(f"{len(self.skipped_grades)} grade row(s) not imported")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "found": self.found,
            "added": len(self.added),
            "errors": self.errors,
            "boxes": self.boxes,
            "grades": self.grades,
            "tags": self.tags,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "skipped_annotations": self.skipped_annotations,
            "skipped_grades": self.skipped_grades,
            "without_annotation": self.without_annotation,
            "labels_added": self.labels_added,
            "labels_mapped": self.labels_mapped,
            "likely_matches": self.likely_matches,
            "other_files": self.other_files,
            "marked_reviewed": self.marked_reviewed,
            "not_marked_reviewed": self.not_marked_reviewed,
        }

    def summary(self) -> list[str]:
        first = f"imported {len(self.added)} image(s), {self.boxes} box(es), {self.grades} grade(s)"
        if self.tags:
            first += f", tags of {self.tags} image(s)"
        if self.errors:
            first += f"; {len(self.errors)} more kept as errors"
        lines = [first]
        if self.labels_added:
            lines.append(f"added label(s): {', '.join(shorten(n, 40) for n in self.labels_added)}")
        if self.labels_mapped:
            pairs = (f"{shorten(a, 40)} -> {shorten(b, 40)}" for a, b in self.labels_mapped.items())
            lines.append(f"mapped label(s): {', '.join(pairs)}")
        if self.without_annotation:
            lines.append(f"{self.without_annotation} image(s) had no annotation file")
        if self.reviewed_asked:
            lines.append(
                f"{self.marked_reviewed} image(s) with an annotation file marked reviewed "
                "(done); images without one stay new"
            )
        if self.not_marked_reviewed:
            lines.append(
                f"{len(self.not_marked_reviewed)} annotated image(s) left unreviewed (a "
                "required grade is missing):"
            )
            lines.extend(f"  {item}" for item in self.not_marked_reviewed)
        for title, items in (
            ("image(s) marked as errors (in the project, with the reason)", self.errors),
            ("duplicate(s) skipped", self.duplicates),
            ("skipped", self.skipped),
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
    annotation: str | None = None  # the annotation file the boxes came from
    problem: str | None = None


@dataclass
class _Found:
    files: list[Path] = field(default_factory=list)
    others: int = 0
    skipped: list[tuple[str, str, bool]] = field(default_factory=list)  # (path, why, is file)


def shown(path: Path | str) -> str:
    """A path as text that can be printed, stored and shown (``core.text.printable_path``)."""
    return printable_path(path)


def _why_not(exc: OSError | RuntimeError, path: Path | None = None) -> str:
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "a symbolic link that loops (it leads back to itself)"
    if isinstance(exc, FileNotFoundError):
        if path is not None and path.is_symlink():
            return "a symbolic link to a file that does not exist"
        return "removed while the folder was read"
    return f"cannot be read ({exc.strerror or exc.__class__.__name__})"


def _is_dicom_without_suffix(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM"


def _folder_link(link: Path, here: Path) -> str:
    """Why a link to a folder is not followed (os.walk does not: it could loop)."""
    try:
        target = link.resolve(strict=True)
        inside = here.resolve()
    except (OSError, RuntimeError) as exc:
        return _why_not(exc)
    if target == inside or target in inside.parents:
        return "a link that loops back to a folder above it; not followed"
    return "a link to another folder; not followed (name that folder to import it)"


def collect_image_files(paths: Sequence[Path], project_folder: Path) -> _Found:
    """Image files named or found (recursively) under ``paths``, sorted; a count of other
    files; and the entries skipped on the way, with why. The project's own database,
    models and exports are never imported. An entry that cannot be followed never stops
    the walk: each is skipped with its reason."""
    from core.imaging import SUPPORTED_SUFFIXES

    own = {(project_folder / d).resolve() for d in _PROJECT_DIRS}
    found: dict[Path, Path] = {}
    out = _Found()
    for root in paths:
        if not root.exists():
            raise ClinLensError(f"'{shown(root)}' does not exist; nothing was imported")
        if root.is_file():
            found.setdefault(root.resolve(), root)
            continue

        def unreadable(exc: OSError, root: Path = root) -> None:
            # os.walk's default is to pass over a folder it cannot list, without a word.
            where = exc.filename if isinstance(exc.filename, str) else str(root)
            why = exc.strerror or exc.__class__.__name__
            out.skipped.append((shown(where), f"a folder that cannot be read ({why})", False))

        for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
            here = Path(dirpath)
            keep = []
            for d in sorted(dirnames):
                sub = here / d
                if d.startswith("."):
                    continue
                if sub.is_symlink():
                    out.skipped.append((shown(sub), _folder_link(sub, here), False))
                    continue
                if sub.resolve() not in own:
                    keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                p = here / name
                if name.startswith(".") or name.startswith(DB_NAME):
                    continue
                suffix = os.path.splitext(name)[1].lower()
                wanted = suffix in SUPPORTED_SUFFIXES
                try:
                    # stat follows links: a loop, a dangling link and an unreadable entry
                    # all surface here instead of in resolve() or a blocking open().
                    mode = os.stat(p).st_mode
                    if stat.S_ISREG(mode) and (
                        wanted or (not suffix and _is_dicom_without_suffix(p))
                    ):
                        found.setdefault(p.resolve(), p)
                        continue
                except (OSError, RuntimeError) as exc:
                    if wanted or not suffix:
                        out.skipped.append((shown(p), _why_not(exc, p), True))
                    else:
                        out.others += 1
                    continue
                if wanted:  # named like an image, but a FIFO (whose read would block for
                    # ever), a socket or a device
                    out.skipped.append(
                        (shown(p), "not a regular file (a pipe, socket or device)", True)
                    )
                else:
                    out.others += 1
    out.files = sorted(found.values(), key=lambda p: str(p))
    return out


def _read_one(path: Path) -> tuple[NewImage | None, str | None]:
    """(the image to add, None), (None, why it cannot be imported at all); an image whose
    header reads but whose pixels would not decode is returned with ``error`` set."""
    from core.imaging import check_image

    if shown(path) != str(path):
        return None, "the file name is not valid UTF-8 text; rename the file to import it"
    try:
        checked = check_image(path)
        digest = sha256_file(path)
    except ClinLensError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc.__class__.__name__})"
    except Exception as exc:  # a reader bug on one odd file must not stop the whole import
        return None, f"cannot be read ({exc.__class__.__name__})"
    header = checked.header
    return (
        NewImage(
            path=str(path.absolute()),
            width=int(header.width),
            height=int(header.height),
            bit_depth=int(header.bits_stored),
            samples_per_pixel=int(header.samples_per_pixel),
            modality=header.modality,
            sha256=digest,
            error=checked.problem,
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


def _stored_name(stored_path: str) -> str:
    # The stored path of a file outside the project is absolute: its name only.
    return PurePath(stored_path.replace("\\", "/")).name


def import_images(
    project: Project,
    paths: Sequence[str | Path],
    *,
    annotations: str | Path | None = None,
    fmt: str | None = None,
    grades_csv: str | Path | None = None,
    add_labels: bool = False,
    map_labels: str | Mapping[str, str] | None = None,
    force: bool = False,
    reviewed: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Import image files/folders, optionally with annotations and a grades CSV.

    ``fmt``: voc / yolo / txt / coco; annotation files are looked for in ``annotations`` (a folder,
    or a list file for txt), else beside the images. Raises UnknownLabelError (nothing
    imported) for labels the registry lacks unless ``add_labels`` (which refuses names
    that are near-twins of the project's labels unless ``force``); ``map_labels``
    ("auto" or a mapping dataset name -> project label) renames dataset labels onto the
    project's (``core.annotations.label_match``); JobCancelled when
    ``cancel`` is set (images saved before the cancel stay, whole chunks at a time).
    ``ImportReport.status`` says whether everything was imported. ``reviewed``: an image
    that came with an annotation file (even one with no boxes: a reviewed negative) is
    marked done, so an already-labelled dataset trains at once; images without one, and
    images kept as errors, stay new.
    """
    report = ImportReport(reviewed_asked=reviewed)
    roots = [Path(p) for p in paths]
    if fmt == "coco" and annotations is None:
        # ``import DIR --format coco annotations.json``: the file is the annotations and
        # its folder holds the images (an export's annotations.json beside images/).
        named = [r for r in roots if r.suffix.lower() == ".json" and r.is_file()]
        if len(named) == 1:
            annotations = named[0]
            roots = [r for r in roots if r != named[0]] or [named[0].parent]
    scales = {s.name: s for s in project.scales()}
    # The grades file is checked first, so a bad one stops the import before any write.
    grade_rows: list[GradeRow] = read_grades_csv(Path(grades_csv), scales) if grades_csv else []
    tag_cells: list[TagCell] = read_tags_csv(Path(grades_csv)) if grades_csv else []
    map_labels = resolve_map_option(map_labels)  # a bad map file, too, stops it first

    collected = collect_image_files(roots, project.folder)
    files, report.other_files = collected.files, collected.others
    # Files that could not even be opened count among those asked for; folders do not.
    report.found = len(files) + sum(1 for _, _, is_file in collected.skipped if is_file)
    for where, why, is_file in collected.skipped:
        report.skipped.append(f"{where}: {why}")
        if is_file:
            report.skipped_items.append((where, why))
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
                f"{shown(path)}: already in the project"
                + (
                    ""
                    if same_path
                    else f" (same content as '{_stored_name(stored.path)}', image #{stored.id})"
                )
            )
            cand.problem = "duplicate"
            continue
        if new.sha256 in known_hashes:
            report.duplicates.append(f"{shown(path)}: same content as {known_hashes[new.sha256]}")
            cand.problem = "duplicate"
            continue
        known_hashes[new.sha256] = shown(path)
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
                    cand.annotation = ann.source
            except FormatError as exc:
                # The whole image goes with its annotation: a box silently dropped (or an
                # image stored without the boxes the expert drew) would look complete.
                cand.problem = f"{exc}; refused: neither the image nor its annotation was imported"
                cand.new = None
        report.skipped_annotations.extend(source.unused())
    for cand in candidates:
        if cand.problem and cand.problem != "duplicate":
            report.skipped.append(f"{shown(cand.path)}: {cand.problem}")
            report.skipped_items.append((shown(cand.path), cand.problem))

    ready = [c for c in candidates if c.new is not None]
    check_labels(project, ready, report, add_labels=add_labels, map_labels=map_labels, force=force)
    check_cancel(cancel)
    annotated = _save(project, ready, report, progress, cancel, reviewed=reviewed)
    if grade_rows:
        report.grades = apply_grade_rows(
            project, grade_rows, shown(grades_csv or ""), report.skipped_grades
        )
    if tag_cells:  # after the boxes: a value the boxes already give stays theirs
        report.tags = apply_tag_cells(
            project, tag_cells, shown(grades_csv or ""), report.skipped_grades
        )
    # After the grades: "done" needs a human grade on every required scale.
    for image_id in annotated:
        try:
            project.grading.set_review_status(image_id, "done")
        except ProjectError as exc:
            report.not_marked_reviewed.append(str(exc))
        else:
            report.marked_reviewed += 1
    return report


def _save(
    project: Project,
    ready: Sequence[_Candidate],
    report: ImportReport,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
    *,
    reviewed: bool = False,
) -> list[int]:
    """Store the images and their boxes; return the ids of those that came with an
    annotation file (when ``reviewed``)."""
    annotated: list[int] = []
    for start in range(0, len(ready), _CHUNK):
        if cancel is not None and cancel.is_set():
            raise JobCancelled(
                f"import cancelled after {len(report.added) + len(report.errors)} of "
                f"{len(ready)} image(s)"
            )
        chunk = ready[start : start + _CHUNK]
        with project.batch():
            # The labels go with the images: their held-out stratum (core.store.heldout).
            ids = project.add_images(
                [c.new for c in chunk if c.new is not None],
                labels=[[b.label for b in c.boxes] for c in chunk],
            )
            for image_id, cand in zip(ids, chunk, strict=True):
                if cand.boxes:
                    project.add_boxes(image_id, cand.boxes)
                assert cand.new is not None
                if reviewed and cand.annotation is not None and cand.new.error is None:
                    annotated.append(image_id)
        for cand in chunk:
            assert cand.new is not None
            if cand.new.error is None:
                report.added.append(shown(cand.path))
            else:
                report.errors.append(f"{shown(cand.path)}: {cand.new.error}")
            report.boxes += len(cand.boxes)
        if progress is not None:
            done = len(report.added) + len(report.errors)
            progress(done, len(ready), "saving")
    return annotated

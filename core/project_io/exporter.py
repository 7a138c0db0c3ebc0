"""Export a project as a PASCAL VOC, an ultralytics YOLO or a COCO dataset (+ grades.csv).

The export is written into a hidden sibling folder and renamed into place at the end, so
OUT is either complete or absent - a cancelled or failed export leaves nothing behind that
a training run could pick up by mistake. Images are split once per source image (tiles of
one image never straddle train and val).

Where: ``destination.check_destination`` refuses the folders the project manages and
anything that is not a new or empty folder, before anything is written.

Reviewed only: by default only images whose review status is done are exported (an image
nobody reviewed has no boxes because nobody drew them, not because nothing is there).
Other statuses are exported only when ``ExportOptions.statuses`` asks for them, and then
flagged: ``unreviewed.lst`` in the export root lists the stem of each such image, one a
line (VOC: ``Annotations/<stem>.xml``; YOLO: ``images/<split>/<stem>.*`` and its tiles).
A YOLO export leaves out every unreviewed image without boxes altogether: ultralytics
reads an empty (or missing) label file as background, in train/ and in val/ alike, which
would teach and score "no object" where nobody looked. The report says how many.

Names: a file name can carry a patient's name, so an export leaving the project folder is
pseudonymised by default: every file, list and CSV row names the image by its opaque id
(``core.formats.naming.pseudonym_ids``), and the id -> image list is kept only in the
project (``exports/pseudonyms/``), never in the export.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotations import Box, Grade
from core.errors import ClinLensError, JobCancelled, UnknownLabelError
from core.formats.coco import COCO_FILE
from core.formats.grades_csv import GRADES_FILE, GradeRow, grades_csv_text
from core.formats.naming import pseudonym_ids, safe_stem, unique_stems
from core.formats.readers_csv import READERS_FILE, readers_csv_text
from core.formats.remap import make_remap
from core.formats.split import SPLITS, assign_splits, stratum_key
from core.formats.voc import image_set_text
from core.formats.yolo import data_yaml_text
from core.jobs import CancelToken, ProgressFn
from core.project_io.destination import (
    EXPORTS_DIR,
    ID_MAPS_DIR,
    check_destination,
    describe_os_error,
    is_outside,
)
from core.project_io.options import ExportOptions, check_options
from core.project_io.reader_boxes import check_box_choice, choose_boxes
from core.project_io.writers import CocoWriter, ExportItem, ItemResult, VocWriter, YoloWriter
from core.store import Project
from core.store.readers import FinalGrade
from core.store.records import now_iso

EXPORTED_BOX_STATUSES = ("accepted", "edited")  # unreviewed suggestions are not ground truth
UNREVIEWED_FILE = "unreviewed.lst"  # not .txt: YOLO tools read .txt files as labels
REVIEWED = "done"


@dataclass
class _Plan:
    items: list[ExportItem]
    not_asked: int = 0  # images not done that the statuses left out
    unboxed: int = 0  # unreviewed images without boxes left out of a YOLO export
    # image id -> scale -> "the" human grade (core.store.readers)
    finals: dict[int, dict[str, FinalGrade]] = field(default_factory=dict)


@dataclass
class ExportReport:
    out: str
    format: str
    images: int = 0
    boxes: int = 0
    files: int = 0  # image files written (tiles count one each)
    splits: dict[str, int] = field(default_factory=dict)
    dropped_boxes: int = 0  # removed by the class map or by tiling
    skipped: list[str] = field(default_factory=list)
    class_names: dict[int, str] = field(default_factory=dict)
    pseudonymised: bool = False
    id_map: str | None = None  # where the project keeps the id -> image list
    notes: list[str] = field(default_factory=list)
    unreviewed: int = 0  # exported images not done (listed in unreviewed.lst)
    not_reviewed_left_out: int = 0  # images not done, not asked for
    unreviewed_without_boxes: int = 0  # asked for, but left out of a YOLO export

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "format": self.format,
            "images": self.images,
            "boxes": self.boxes,
            "files": self.files,
            "splits": self.splits,
            "dropped_boxes": self.dropped_boxes,
            "skipped": self.skipped,
            "class_names": {str(k): v for k, v in self.class_names.items()},
            "pseudonymised": self.pseudonymised,
            "id_map": self.id_map,
            "notes": self.notes,
            "unreviewed": self.unreviewed,
            "not_reviewed_left_out": self.not_reviewed_left_out,
            "unreviewed_without_boxes": self.unreviewed_without_boxes,
        }

    def summary(self) -> list[str]:
        split = ", ".join(f"{k} {v}" for k, v in self.splits.items())
        lines = [
            f"exported {self.images} image(s), {self.boxes} box(es) as {self.format.upper()} "
            f"to {self.out} ({split})"
        ]
        if self.pseudonymised:
            kept = f"; the project keeps which image each id is in {self.id_map}"
            lines.append("file names pseudonymised (img-... ids)" + (kept if self.id_map else ""))
        if self.dropped_boxes:
            lines.append(f"{self.dropped_boxes} box(es) left out by the class map or tiling")
        if self.not_reviewed_left_out:
            lines.append(
                f"{self.not_reviewed_left_out} image(s) not yet reviewed (status other than "
                "done) left out; --include-unreviewed exports them, flagged"
            )
        if self.unreviewed:
            lines.append(
                f"{self.unreviewed} unreviewed image(s) exported as asked, listed in "
                f"{UNREVIEWED_FILE}"
            )
        if self.unreviewed_without_boxes:
            lines.append(
                f"{self.unreviewed_without_boxes} unreviewed image(s) without boxes left out: "
                "YOLO would read them as background"
            )
        if self.skipped:
            lines.append(f"{len(self.skipped)} image(s) skipped:")
            lines.extend(f"  {s}" for s in self.skipped)
        lines.extend(self.notes)
        return lines


def _prepare_out(out: Path) -> Path:
    """A fresh hidden folder beside OUT (already checked by ``check_destination``)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise ClinLensError(
            f"cannot write to '{out.parent}': {describe_os_error(exc)}; "
            "choose another folder (nothing was written)"
        ) from None
    return tmp


def _plan(project: Project, o: ExportOptions, pseudonymise: bool) -> _Plan:
    chosen = project.images(status=list(o.statuses) if o.statuses else None)
    not_asked = 0
    if o.statuses is not None and REVIEWED in o.statuses:
        not_asked = (
            project.image_count()
            - project.image_count(status=REVIEWED)
            - sum(1 for r in chosen if r.review_status != REVIEWED)
        )
    wanted = EXPORTED_BOX_STATUSES + (("suggested",) if o.include_suggested else ())
    registry = set(project.label_set().names())
    all_boxes, all_grades = project.boxes_by_image(), project.grades_by_image()
    finals = project.readers.final_grades()
    records = []
    boxes: list[list[Box]] = []
    grades: list[list[Grade]] = []
    unknown: dict[str, str] = {}
    unboxed = 0
    for rec in chosen:
        bx = choose_boxes([b for b in all_boxes.get(rec.id, ()) if b.status in wanted], o.boxes)
        if o.fmt == "yolo" and not bx and rec.review_status != REVIEWED:
            unboxed += 1
            continue
        records.append(rec)
        for b in bx:
            if b.label not in registry:
                unknown.setdefault(b.label, rec.path)
        boxes.append(bx)
        grades.append(all_grades.get(rec.id, []))
    if unknown:
        first = next(iter(unknown.items()))
        raise UnknownLabelError(
            f"cannot export: label(s) {', '.join(sorted(unknown))} are not in the project's "
            f"registry (e.g. on {first[1]}); nothing was written",
            list(unknown),
        )
    counts: Counter[str] = Counter(b.label for bx in boxes for b in bx)
    # "The" human grade (adjudicated, or the readers' one value) stratifies the split.
    strata = [
        stratum_key(
            (b.label for b in bx),
            ((s, f.value) for s, f in finals.get(rec.id, {}).items() if f.value is not None),
            counts,
        )
        for rec, bx in zip(records, boxes, strict=True)
    ]
    keys = [rec.sha256 or f"id{rec.id}" for rec in records]
    splits = assign_splits(keys, strata, o.split, o.seed)
    if pseudonymise:
        # From every image of the project, not this export's filtered ones, so an image
        # keeps its id whatever the filters (see pseudonym_ids).
        ids = pseudonym_ids([(r.id, r.sha256) for r in project.images()])
        stems = [ids[rec.id] for rec in records]
    else:
        stems = unique_stems([(rec.path, key) for rec, key in zip(records, keys, strict=True)])
    items = [
        ExportItem(rec, bx, gr, stem, split)
        for rec, bx, gr, stem, split in zip(records, boxes, grades, stems, splits, strict=True)
    ]
    return _Plan(items, not_asked, unboxed, finals)


def export_project(
    project: Project,
    options: ExportOptions,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ExportReport:
    """Write the dataset to ``options.out``; JobCancelled (and nothing written) on cancel."""
    check_options(options)
    out = Path(options.out)
    # The resolved place is both checked and written to, so a link cannot redirect the
    # write after the check.
    target = check_destination(out, project.folder)
    pseudonymise = (
        is_outside(target, project.folder)
        if options.pseudonymise is None
        else bool(options.pseudonymise)
    )
    remap = make_remap(options.remap, project.label_set())
    check_box_choice(project, options.boxes)
    plan = _plan(project, options, pseudonymise)
    items = plan.items
    if not items:
        why = "the project has no images to export (with these filters)"
        if plan.not_asked:
            why = (
                f"the project has no reviewed (done) images to export; {plan.not_asked} "
                "image(s) are not reviewed yet (--include-unreviewed exports them, flagged)"
            )
        elif plan.unboxed:
            why += (
                f"; {plan.unboxed} unreviewed image(s) without boxes were left out "
                "(YOLO would read them as background)"
            )
        raise ClinLensError(why)
    report = ExportReport(
        out=str(out),
        format=options.fmt,
        class_names=remap.names,
        pseudonymised=pseudonymise,
        not_reviewed_left_out=plan.not_asked,
        unreviewed_without_boxes=plan.unboxed,
    )
    tmp = _prepare_out(target)
    try:
        writer: VocWriter | YoloWriter | CocoWriter
        if options.fmt == "coco":
            writer = CocoWriter(project, options, remap, tmp, target)
        else:
            writer = (VocWriter if options.fmt == "voc" else YoloWriter)(
                project, options, remap, tmp, target
            )
        results = _run(writer, items, progress, cancel)
        exported: list[tuple[ExportItem, ItemResult]] = []
        for item, res in zip(items, results, strict=True):
            if res.skipped:
                report.skipped.append(f"{item.record.path}: {res.skipped}")
                continue
            exported.append((item, res))
            report.images += 1
            report.boxes += res.boxes
            report.files += res.files
            report.dropped_boxes += res.dropped
        active = [s for s, f in zip(SPLITS, options.split, strict=True) if f > 0]
        report.splits = {s: sum(1 for it, _ in exported if it.split == s) for s in active}
        if isinstance(writer, CocoWriter):
            report.splits = {"all": len(exported)}  # one annotations.json, no split
            (tmp / COCO_FILE).write_bytes(writer.annotations(exported))
        elif options.fmt == "voc":
            _write_image_sets(tmp, exported, active)
        else:
            (tmp / "data.yaml").write_text(data_yaml_text(target, active, remap.names), "utf-8")
        flagged = sorted(it.stem for it, _ in exported if it.record.review_status != REVIEWED)
        report.unreviewed = len(flagged)
        if flagged:
            (tmp / UNREVIEWED_FILE).write_text(image_set_text(flagged), "utf-8", newline="\n")
        rows = [
            GradeRow(res.name, g.scale, g.value, g.author, g.source)
            for item, res in exported
            for g in item.grades
        ]
        tags = _tag_cells(project, exported)
        text = grades_csv_text(rows) if tags is None else grades_csv_text(rows, *tags)
        (tmp / GRADES_FILE).write_text(text, "utf-8", newline="\n")
        wide = readers_csv_text(
            [(res.name, item.grades, plan.finals.get(item.record.id, {})) for item, res in exported]
        )
        if wide is not None:  # one column per reader, the adjudicated and the final grade
            (tmp / READERS_FILE).write_text(wide, "utf-8", newline="\n")
        if target.exists():
            target.rmdir()  # checked empty above
        os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            # Per-image trouble is reported as skipped; what gets here is the destination
            # failing (disk full, made read-only meanwhile...).
            raise ClinLensError(
                f"cannot write the export to '{out}': {describe_os_error(exc)} "
                "(nothing was written)"
            ) from None
        raise
    if pseudonymise:
        _keep_id_map(project, target, options.fmt, exported, report)
    return report


def _tag_cells(
    project: Project, exported: Sequence[tuple[ExportItem, ItemResult]]
) -> tuple[dict[str, str], str] | None:
    """(exported name -> the image's lesion types cell, column name), or None when the
    project uses no tag kind (an X-ray project's CSV keeps its five columns)."""
    kinds = project.tags.kinds()
    if not kinds:
        return None
    kind = kinds[0]
    values = project.tags.by_image(kind.name)
    cells = {res.name: kind.cell(values[item.record.id].tags) for item, res in exported}
    return cells, kind.name


def id_maps_dir(project: Project) -> Path:
    """Where the project keeps, per pseudonymised export, which image each id stands for."""
    return project.folder / EXPORTS_DIR / ID_MAPS_DIR


def _keep_id_map(
    project: Project,
    target: Path,
    fmt: str,
    exported: Sequence[tuple[ExportItem, ItemResult]],
    report: ExportReport,
) -> None:
    """Write the id -> image list into the project (never into the export).

    After the export is in place: a project folder that cannot be written (read-only
    media) costs a note, not the export, since the ids can be worked out again from the
    project's content hashes (``pseudonym_ids``) whenever needed.
    """
    stamp = now_iso()
    record = {
        "export": str(target),
        "format": fmt,
        "created": stamp,
        "images": {
            item.stem: {
                "image_id": item.record.id,
                "path": item.record.path,
                "sha256": item.record.sha256,
                "file": res.name,
            }
            for item, res in exported
        },
    }
    folder = id_maps_dir(project)
    base = "".join(ch for ch in stamp if ch.isalnum())[:15] + "-" + safe_stem(target.name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{base}.json"
        n = 1
        while path.exists():
            n += 1
            path = folder / f"{base}-{n}.json"
        tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False), "utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        report.notes.append(
            f"note: the id -> image list could not be kept in '{folder}' "
            f"({describe_os_error(exc)}); the ids come from the images' content, so "
            "the next export names them the same"
        )
        return
    report.id_map = str(path)


def _run(
    writer: VocWriter | YoloWriter | CocoWriter,
    items: Sequence[ExportItem],
    progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> list[ItemResult]:
    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    results: list[ItemResult] = []
    if not writer.reads_pixels:
        for i, item in enumerate(items):
            if cancelled():
                raise JobCancelled("export cancelled; nothing was written")
            results.append(writer.write(item))
            if progress is not None and (i % 50 == 0 or i + 1 == len(items)):
                progress(i + 1, len(items), item.stem)
        return results
    # Decoding and PNG encoding release the GIL: a few threads use the cores.
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export") as pool:
        futures = [pool.submit(writer.write, item) for item in items]
        for i, fut in enumerate(futures):
            if cancelled():
                pool.shutdown(wait=True, cancel_futures=True)
                raise JobCancelled("export cancelled; nothing was written")
            results.append(fut.result())
            if progress is not None:
                progress(i + 1, len(items), items[i].stem)
    return results


def _write_image_sets(
    root: Path, exported: Sequence[tuple[ExportItem, ItemResult]], active: Sequence[str]
) -> None:
    main = root / "ImageSets" / "Main"
    main.mkdir(parents=True, exist_ok=True)
    # Sorted by name, not in import order: pseudonymised lists would otherwise keep the
    # order of the original (e.g. alphabetical, patient-named) files.
    by_split = {s: sorted(it.stem for it, _ in exported if it.split == s) for s in active}
    for s, stems in by_split.items():
        (main / f"{s}.txt").write_text(image_set_text(stems), "utf-8", newline="\n")
    if "train" in by_split and "val" in by_split:  # the devkit's usual training list
        trainval = sorted(by_split["train"] + by_split["val"])
        (main / "trainval.txt").write_text(image_set_text(trainval), "utf-8", newline="\n")

"""Export a project as a PASCAL VOC or an ultralytics YOLO dataset (+ grades.csv).

The export is written into a hidden sibling folder and renamed into place at the end, so
OUT is either complete or absent - a cancelled or failed export leaves nothing behind that
a training run could pick up by mistake. Images are split once per source image (tiles of
one image never straddle train and val).
"""

from __future__ import annotations

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
from core.formats.grades_csv import GRADES_FILE, GradeRow, grades_csv_text
from core.formats.naming import unique_stems
from core.formats.remap import make_remap
from core.formats.split import SPLITS, assign_splits, stratum_key
from core.formats.voc import image_set_text
from core.formats.yolo import data_yaml_text
from core.jobs import CancelToken, ProgressFn
from core.project_io.options import ExportOptions, check_options
from core.project_io.writers import ExportItem, ItemResult, VocWriter, YoloWriter
from core.store import Project

EXPORTED_BOX_STATUSES = ("accepted", "edited")  # unreviewed suggestions are not ground truth


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
        }

    def summary(self) -> list[str]:
        split = ", ".join(f"{k} {v}" for k, v in self.splits.items())
        lines = [
            f"exported {self.images} image(s), {self.boxes} box(es) as {self.format.upper()} "
            f"to {self.out} ({split})"
        ]
        if self.dropped_boxes:
            lines.append(f"{self.dropped_boxes} box(es) left out by the class map or tiling")
        if self.skipped:
            lines.append(f"{len(self.skipped)} image(s) skipped:")
            lines.extend(f"  {s}" for s in self.skipped)
        return lines


def _prepare_out(out: Path) -> Path:
    """A fresh hidden folder beside OUT (OUT itself must be absent or empty)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ClinLensError(
            f"'{out}' already exists and is not empty; choose a new folder (nothing was written)"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise ClinLensError(f"cannot write to '{out.parent}': {exc.strerror or exc}") from None
    return tmp


def _plan(project: Project, o: ExportOptions) -> list[ExportItem]:
    records = project.images(status=list(o.statuses) if o.statuses else None)
    wanted = EXPORTED_BOX_STATUSES + (("suggested",) if o.include_suggested else ())
    registry = set(project.label_set().names())
    all_boxes, all_grades = project.boxes_by_image(), project.grades_by_image()
    boxes: list[list[Box]] = []
    grades: list[list[Grade]] = []
    unknown: dict[str, str] = {}
    for rec in records:
        bx = [b for b in all_boxes.get(rec.id, ()) if b.status in wanted]
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
    strata = [
        stratum_key(
            (b.label for b in bx), ((g.scale, g.value) for g in gr if g.source == "human"), counts
        )
        for bx, gr in zip(boxes, grades, strict=True)
    ]
    keys = [rec.sha256 or f"id{rec.id}" for rec in records]
    splits = assign_splits(keys, strata, o.split, o.seed)
    stems = unique_stems([(rec.path, key) for rec, key in zip(records, keys, strict=True)])
    return [
        ExportItem(rec, bx, gr, stem, split)
        for rec, bx, gr, stem, split in zip(records, boxes, grades, stems, splits, strict=True)
    ]


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
    remap = make_remap(options.remap, project.label_set())
    items = _plan(project, options)
    if not items:
        raise ClinLensError("the project has no images to export (with these filters)")
    report = ExportReport(out=str(out), format=options.fmt, class_names=remap.names)
    tmp = _prepare_out(out)
    try:
        writer = (VocWriter if options.fmt == "voc" else YoloWriter)(
            project, options, remap, tmp, out
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
        if options.fmt == "voc":
            _write_image_sets(tmp, exported, active)
        else:
            (tmp / "data.yaml").write_text(data_yaml_text(out, active, remap.names), "utf-8")
        rows = [
            GradeRow(res.name, g.scale, g.value, g.author, g.source)
            for item, res in exported
            for g in item.grades
        ]
        (tmp / GRADES_FILE).write_text(grades_csv_text(rows), "utf-8", newline="\n")
        if out.exists():
            out.rmdir()  # checked empty above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _run(
    writer: VocWriter | YoloWriter,
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
    by_split = {s: [it.stem for it, _ in exported if it.split == s] for s in active}
    for s, stems in by_split.items():
        (main / f"{s}.txt").write_text(image_set_text(stems), "utf-8", newline="\n")
    if "train" in by_split and "val" in by_split:  # the devkit's usual training list
        trainval = by_split["train"] + by_split["val"]
        (main / "trainval.txt").write_text(image_set_text(trainval), "utf-8", newline="\n")

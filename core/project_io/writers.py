"""Per-image writers of the VOC, YOLO and COCO exports (called from worker threads).

Each ``write(item)`` places one image (copied, or rendered to 8-bit PNG with its recorded
display settings) and its annotation, and returns what it did; an image that cannot be
exported is reported as skipped rather than failing the whole export (but an error of the
export folder itself, such as a full disk, fails it). The exporter hands
each writer its ``ExportOptions``; the writers never import the exporter.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from core.annotations import Box, Grade
from core.errors import ClinLensError
from core.formats.coco import COCO_IMAGES, CocoBox, CocoImage, category_id, coco_json
from core.formats.eightbit import (
    COPYABLE_SUFFIXES,
    can_copy,
    copy_file,
    export_array,
    write_png,
)
from core.formats.remap import ClassRemap
from core.formats.split import SPLITS
from core.formats.tiling import Tile, TileBox, grid_tiles, random_positive_tiles
from core.formats.voc import VocObject, to_voc_pixels, voc_xml
from core.formats.yolo import yolo_line
from core.project_io.destination import DESTINATION_ERRNOS
from core.project_io.options import ExportOptions
from core.store import ImageRecord, Project


@dataclass(frozen=True)
class ExportItem:
    record: ImageRecord
    boxes: list[Box]
    grades: list[Grade]
    stem: str
    split: str


@dataclass
class ItemResult:
    name: str = ""  # the exported image's file name (the grades.csv ``image`` column)
    boxes: int = 0
    files: int = 0
    dropped: int = 0
    skipped: str | None = None


class _Writer:
    reads_pixels = False

    def __init__(
        self,
        project: Project,
        options: ExportOptions,
        remap: ClassRemap,
        root: Path,
        final_out: Path,
    ) -> None:
        self.project = project
        self.o = options
        self.remap = remap
        self.root = root
        self.final_out = final_out
        self.default_settings = project.default_filter_settings()
        self.reads_pixels = options.images

    def _source(self, item: ExportItem) -> Path:
        src = self.project.image_path(item.record)
        if not src.is_file():
            raise ClinLensError("the image file is missing")
        return src

    def _pixels(self, item: ExportItem, src: Path) -> np.ndarray:
        arr = export_array(src, self.project.filter_settings(item.record.id), self.default_settings)
        h, w = arr.shape[:2]
        rec = item.record
        if (w, h) != (rec.width, rec.height):
            raise ClinLensError(
                f"the file is now {w}x{h} but was {rec.width}x{rec.height} when annotated"
            )
        return arr

    def _place(self, item: ExportItem, folder: Path) -> tuple[str, int]:
        """Copy or render the image into ``folder``; (file name, depth)."""
        rec = item.record
        src = self._source(item)
        if can_copy(src, rec.bit_depth):
            dst = folder / f"{item.stem}{src.suffix.lower()}"
            copy_file(src, dst)
            return dst.name, rec.samples_per_pixel
        arr = self._pixels(item, src)
        dst = folder / f"{item.stem}.png"
        write_png(arr, dst)
        return dst.name, 1 if arr.ndim == 2 else int(arr.shape[2])

    def _plain_name(self, item: ExportItem) -> str:
        """The name ``_place`` would give the image (--no-images): its own suffix when it
        would be copied, else .png, so annotations name the same file either way."""
        suffix = PurePosixPath(item.record.path.replace("\\", "/")).suffix.lower()
        if suffix in COPYABLE_SUFFIXES and item.record.bit_depth <= 8:
            return f"{item.stem}{suffix}"
        return f"{item.stem}.png"

    def write(self, item: ExportItem) -> ItemResult:
        rec = item.record
        if rec.width <= 0 or rec.height <= 0:
            # Kept in the project as unreadable (size 0 x 0): nothing true can be written
            # for it (YOLO would divide by its size, VOC would state a 0 x 0 image).
            why = f" ({rec.error})" if rec.error else ""
            return ItemResult(skipped=f"its size is unknown: it could not be read{why}")
        try:
            return self._write(item)
        except OSError as exc:
            if self._destination_failed(exc):
                raise  # every image after it would fail the same way: fail the export
            return ItemResult(skipped=exc.strerror or str(exc))
        except ClinLensError as exc:
            return ItemResult(skipped=str(exc))

    def _destination_failed(self, exc: OSError) -> bool:
        """True when the error is the export folder's (full, read-only, refused), not
        this one image's (a source file gone or unreadable)."""
        if exc.errno in DESTINATION_ERRNOS:
            return True
        for name in (exc.filename, exc.filename2):
            if name is None:
                continue
            try:
                Path(os.fsdecode(name)).relative_to(self.root)
            except (TypeError, ValueError):
                continue
            return True
        return False

    def _write(self, item: ExportItem) -> ItemResult:
        raise NotImplementedError


class VocWriter(_Writer):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        (self.root / "Annotations").mkdir()
        if self.o.images:
            (self.root / "JPEGImages").mkdir()

    def _write(self, item: ExportItem) -> ItemResult:
        rec = item.record
        if self.o.images:
            name, depth = self._place(item, self.root / "JPEGImages")
        else:
            name, depth = self._plain_name(item), rec.samples_per_pixel
        objects: list[VocObject] = []
        dropped = 0
        for b in item.boxes:
            cls = self.remap.name_of(b.label, b.width, b.height)
            if cls is None:
                dropped += 1
                continue
            objects.append(
                VocObject(
                    cls,
                    *to_voc_pixels(b.x1, b.y1, b.x2, b.y2),
                    pose=b.pose,
                    truncated=b.truncated,
                    difficult=b.difficult,
                    occluded=b.occluded,
                )
            )
        xml = voc_xml(
            filename=name, width=rec.width, height=rec.height, depth=depth, objects=objects
        )
        (self.root / "Annotations" / f"{item.stem}.xml").write_bytes(xml)
        return ItemResult(name=name, boxes=len(objects), files=int(self.o.images), dropped=dropped)


class YoloWriter(_Writer):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        for split, frac in zip(SPLITS, self.o.split, strict=True):
            if frac > 0:
                (self.root / "images" / split).mkdir(parents=True)
                (self.root / "labels" / split).mkdir(parents=True)

    @property
    def tiling(self) -> bool:
        return self.o.tiles > 0 or self.o.tile_grid

    def _classes(self, item: ExportItem) -> tuple[list[tuple[int, Box]], int]:
        kept: list[tuple[int, Box]] = []
        for b in item.boxes:
            cid = self.remap.class_of(b.label, b.width, b.height)
            if cid is not None:
                kept.append((cid, b))
        return kept, len(item.boxes) - len(kept)

    def _write(self, item: ExportItem) -> ItemResult:
        if self.tiling:
            return self._write_tiles(item)
        rec = item.record
        images = self.root / "images" / item.split
        if self.o.images:
            name, _ = self._place(item, images)
        else:
            name = self._plain_name(item)
        kept, dropped = self._classes(item)
        # ultralytics removes (and warns about) duplicate rows; write each row once.
        lines = list(
            dict.fromkeys(
                yolo_line(cid, b.x1, b.y1, b.x2, b.y2, rec.width, rec.height) for cid, b in kept
            )
        )
        _write_lines(self.root / "labels" / item.split / f"{item.stem}.txt", lines)
        return ItemResult(name=name, boxes=len(lines), files=int(self.o.images), dropped=dropped)

    def _write_tiles(self, item: ExportItem) -> ItemResult:
        rec = item.record
        arr = self._pixels(item, self._source(item))
        kept, dropped = self._classes(item)
        tboxes = [TileBox(b.x1, b.y1, b.x2, b.y2, (cid, i)) for i, (cid, b) in enumerate(kept)]
        tiles: list[Tile[tuple[int, int]]]
        if self.o.tile_grid:
            tiles = grid_tiles(
                rec.width,
                rec.height,
                tboxes,
                self.o.tile_size,
                self.o.tile_overlap,
                self.o.tile_min_fraction,
            )
        else:
            # Seeded per image (not per run order) so a tile set is reproducible on its own.
            rng = random.Random(f"{self.o.seed}:{rec.sha256 or rec.id}")
            tiles = random_positive_tiles(
                rec.width, rec.height, tboxes, self.o.tiles, self.o.tile_size, rng,
                self.o.tile_min_fraction,
            )  # fmt: skip
        seen: set[int] = set()
        n_boxes = 0
        for k, t in enumerate(tiles):
            tname = f"{item.stem}_x{t.x0}_y{t.y0}" if self.o.tile_grid else f"{item.stem}_t{k:03d}"
            crop = arr[t.y0 : t.y0 + t.height, t.x0 : t.x0 + t.width]
            write_png(crop, self.root / "images" / item.split / f"{tname}.png")
            lines = list(
                dict.fromkeys(
                    yolo_line(tb.payload[0], tb.x1, tb.y1, tb.x2, tb.y2, t.width, t.height)
                    for tb in t.boxes
                )
            )
            seen.update(tb.payload[1] for tb in t.boxes)
            n_boxes += len(lines)
            _write_lines(self.root / "labels" / item.split / f"{tname}.txt", lines)
        return ItemResult(
            name=f"{item.stem}.png",
            boxes=n_boxes,
            files=len(tiles),
            dropped=dropped + len(kept) - len(seen),
        )


class CocoWriter(_Writer):
    """Images into ``images/`` (one folder: COCO has one annotation file, not splits); the
    ``annotations.json`` is written once at the end from what each image reported."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        if self.o.images:
            (self.root / COCO_IMAGES).mkdir()

    def _write(self, item: ExportItem) -> ItemResult:
        if self.o.images:
            name, _ = self._place(item, self.root / COCO_IMAGES)
        else:
            name = self._plain_name(item)
        kept = sum(
            1 for b in item.boxes if self.remap.class_of(b.label, b.width, b.height) is not None
        )
        return ItemResult(
            name=name, boxes=kept, files=int(self.o.images), dropped=len(item.boxes) - kept
        )

    def annotations(self, exported: list[tuple[ExportItem, ItemResult]]) -> bytes:
        """The dataset's annotations.json: images by exported file name (ids 1..N in name
        order, so a pseudonymised file keeps no trace of the import order), categories
        from the class map (registry id + 1)."""
        images: list[CocoImage] = []
        boxes: list[CocoBox] = []
        ordered = sorted(exported, key=lambda e: e[1].name)
        for n, (item, res) in enumerate(ordered, start=1):
            rec = item.record
            images.append(CocoImage(n, res.name, rec.width, rec.height))
            for b in item.boxes:
                cid = self.remap.class_of(b.label, b.width, b.height)
                if cid is None:
                    continue
                boxes.append(
                    CocoBox(
                        n,
                        category_id(cid),
                        b.x1,
                        b.y1,
                        b.x2,
                        b.y2,
                        occluded=b.occluded,
                        truncated=b.truncated,
                        difficult=b.difficult,
                    )
                )
        cats = {category_id(k): v for k, v in self.remap.names.items()}
        return coco_json(images, boxes, cats)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{ln}\n" for ln in lines), "utf-8", newline="\n")

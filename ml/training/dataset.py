"""Training data from the store: reviewed images only, split by the held-out set.

Rules (issue #11):

- only reviewed images (review status ``done``) train or evaluate; their boxes are the
  reviewed ones (``accepted`` / ``edited``; pending suggestions and rejected boxes are not
  ground truth); a reviewed image without boxes is a negative;
- the held-out images are never written into the training folder, not even for
  validation or early stopping: validation is a seeded slice of the training images;
- pixels are those suggestions see (``ml.detector.pixels.model_pixels`` with the image's
  recorded ``FilterSettings``, else the project's default), so training and suggestion
  agree bit for bit.

The held-out split is behind :class:`HeldoutSplit`. Until the store has its frozen table
(``project.heldout``), :class:`HashHeldout` stands in: a seeded hash of each image's
SHA-256 (< 0.2 -> held out), deterministic and independent of the other images.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.annotations import Box
from core.errors import ClinLensError
from core.formats.remap import ClassRemap
from core.formats.tiling import Tile, TileBox, random_positive_tiles
from core.formats.yolo import yolo_line
from core.jobs import CancelToken, ProgressFn, check_cancel

REVIEWED = "done"
TRUTH_STATUSES = ("accepted", "edited")
TRAIN, HELDOUT = "train", "heldout"


class HeldoutSplit(Protocol):
    """Which role an image has: ``"train"`` or ``"heldout"``."""

    def role(self, image_id: int) -> str: ...


def heldout_split(project: Any) -> HeldoutSplit:
    """The project's frozen held-out set (``project.heldout``): each image was assigned once,
    as it arrived, and never moves, so every version is measured on the same images."""
    split: HeldoutSplit = project.heldout
    return split


@dataclass(frozen=True)
class ReviewedImage:
    image_id: int
    path: str
    sha256: str | None
    width: int
    height: int
    boxes: tuple[Box, ...]
    role: str


def reviewed_images(project: Any, split: HeldoutSplit | None = None) -> list[ReviewedImage]:
    """Every reviewed, readable image with its reviewed boxes and role, in id order."""
    split = split or heldout_split(project)
    boxes = project.boxes_by_image()
    out: list[ReviewedImage] = []
    for rec in project.images(status=REVIEWED):
        if rec.width <= 0 or rec.height <= 0:
            continue  # stored as unreadable
        truth = tuple(b for b in boxes.get(rec.id, ()) if b.status in TRUTH_STATUSES)
        out.append(
            ReviewedImage(
                rec.id, rec.path, rec.sha256, rec.width, rec.height, truth, split.role(rec.id)
            )
        )
    return out


def ids_hash(images: Iterable[ReviewedImage]) -> str:
    """A short hash of which images (by SHA-256, else id) are in a set, order-free."""
    keys = sorted(im.sha256 or f"id{im.image_id}" for im in images)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def image_pixels(project: Any, image_id: int) -> np.ndarray:
    """The 8-bit pixels suggestions see for this image (``ml.detector.pixels``)."""
    from core.imaging import read
    from ml.detector.pixels import model_pixels

    rec = project.image(image_id)
    raw = read(project.image_path(rec))
    arr = model_pixels(
        raw,
        image_settings=project.filter_settings(image_id),
        default_settings=project.default_filter_settings(),
    )
    h, w = arr.shape[:2]
    if (w, h) != (rec.width, rec.height):
        raise ClinLensError(
            f"{rec.path}: the file is now {w}x{h} but was {rec.width}x{rec.height} when annotated"
        )
    return arr


@dataclass
class DatasetSummary:
    """What a model version records about its data (``training`` in the registry)."""

    images: int = 0  # reviewed training images (train + val)
    train_images: int = 0
    val_images: int = 0
    negatives: int = 0
    files: int = 0  # files written (tiles and augmented copies count one each)
    boxes: int = 0
    boxes_per_label: dict[str, int] = field(default_factory=dict)
    boxes_per_class: dict[str, int] = field(default_factory=dict)
    heldout_images: int = 0
    heldout_ids_hash: str = ""
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_enough(
    train: list[ReviewedImage], heldout: list[ReviewedImage], remap: ClassRemap, recipe: Any
) -> None:
    """Refuse (one line) a training without enough reviewed data or held-out images."""
    if not heldout and len(train) < recipe.min_images:
        # Say both at once: a new project lacks reviewed images of either kind.
        raise ClinLensError(
            f"nothing to train on yet: need at least {recipe.min_images} reviewed training "
            "images and some reviewed held-out images to measure the model on (have "
            f"{len(train)} and 0); review more images"
        )
    if not heldout:
        raise ClinLensError(
            "no held-out images yet: the gate needs reviewed held-out images to measure a "
            f"model on (have {len(train)} reviewed training image(s)); review more images"
        )
    kept: Counter[str] = Counter()
    for im in train:
        for b in im.boxes:
            if remap.class_of(b.label, b.width, b.height) is not None:
                kept[b.label] += 1
    total = sum(kept.values())
    if len(train) < recipe.min_images or total < recipe.min_boxes:
        have = ", ".join(f"{k} {v}" for k, v in sorted(kept.items())) or "none"
        raise ClinLensError(
            f"too few reviewed images to train: need at least {recipe.min_images} reviewed "
            f"training images and {recipe.min_boxes} reviewed boxes (at least one per label "
            f"to learn it); have {len(train)} image(s) and {total} box(es) ({have})"
        )


def split_val(train: list[ReviewedImage], fraction: float, seed: int) -> set[int]:
    """A seeded slice of the training images for validation (at least one)."""
    keys = sorted(
        train,
        key=lambda im: hashlib.sha256(
            f"val:{seed}:{im.sha256 or im.image_id}".encode()
        ).hexdigest(),
    )
    n = max(1, round(len(keys) * fraction)) if len(keys) > 1 else 0
    return {im.image_id for im in keys[:n]}


def augment(tile: np.ndarray, rng: random.Random, blur_p: float, contrast_p: float) -> np.ndarray:
    """Offline augmentation of a training tile: Gaussian blur and random brightness /
    contrast, each with its probability (no noise; the flip is ultralytics' ``fliplr``)."""
    import cv2

    out = tile
    if rng.random() < blur_p:
        k = rng.choice((3, 5))
        out = cv2.GaussianBlur(out, (k, k), 0)
    if rng.random() < contrast_p:
        alpha = rng.uniform(0.8, 1.2)  # contrast
        beta = rng.uniform(-0.2, 0.2) * 255  # brightness
        out = np.clip(out.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)
    return out


def build_dataset(
    project: Any,
    recipe: Any,
    remap: ClassRemap,
    out: Path,
    *,
    split: HeldoutSplit | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> tuple[Path, DatasetSummary]:
    """Write the YOLO dataset (images/train, images/val, labels, data.yaml) into ``out``.

    Returns the data.yaml path and the summary. Refuses too little data (one line).
    """
    from core.formats.eightbit import write_png

    images = reviewed_images(project, split)
    train = [im for im in images if im.role == TRAIN]
    heldout = [im for im in images if im.role == HELDOUT]
    check_enough(train, heldout, remap, recipe)
    val_ids = split_val(train, recipe.val_fraction, recipe.seed)
    summary = DatasetSummary(
        images=len(train),
        heldout_images=len(heldout),
        heldout_ids_hash=ids_hash(heldout),
    )
    for sub in ("images/train", "images/val", "labels/train", "labels/val"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    per_label: Counter[str] = Counter()
    per_class: Counter[str] = Counter()
    for done, im in enumerate(train, 1):
        check_cancel(cancel)
        part = "val" if im.image_id in val_ids else "train"
        try:
            arr = image_pixels(project, im.image_id)
        except ClinLensError as exc:
            summary.skipped.append(f"{im.path}: {exc}")
            continue
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        kept = [
            (cid, b)
            for b in im.boxes
            if (cid := remap.class_of(b.label, b.width, b.height)) is not None
        ]
        for cid, b in kept:
            per_label[b.label] += 1
            per_class[remap.names[cid]] += 1
        summary.boxes += len(kept)
        summary.negatives += not kept
        if part == "val":
            summary.val_images += 1
        else:
            summary.train_images += 1
        stem = f"im{im.image_id:06d}"
        rng = random.Random(f"{recipe.seed}:{im.sha256 or im.image_id}")
        for name, crop, lines in _pieces(arr, im, kept, recipe, rng, stem):
            write_png(crop, out / "images" / part / f"{name}.png")
            _write_lines(out / "labels" / part / f"{name}.txt", lines)
            summary.files += 1
            if part == "train":
                for k in range(recipe.augment_copies):
                    aug = augment(crop, rng, recipe.blur_p, recipe.contrast_p)
                    if aug is crop:
                        continue  # nothing drawn: no copy of an identical tile
                    write_png(aug, out / "images" / part / f"{name}_a{k}.png")
                    _write_lines(out / "labels" / part / f"{name}_a{k}.txt", lines)
                    summary.files += 1
        if progress is not None:
            progress(done, len(train), f"preparing training images ({done}/{len(train)})")
    if summary.val_images == 0 or summary.train_images == 0:
        raise ClinLensError(
            "too few readable reviewed images to train: need training and validation images "
            f"(have {summary.train_images} and {summary.val_images})"
        )
    summary.boxes_per_label = dict(sorted(per_label.items()))
    summary.boxes_per_class = dict(sorted(per_class.items()))
    names = "\n".join(f"  {i}: {_yaml_str(n)}" for i, n in sorted(remap.names.items()))
    data = out / "data.yaml"
    data.write_text(
        f"path: {_yaml_str(out.as_posix())}\ntrain: images/train\nval: images/val\n"
        f"names:\n{names}\n",
        encoding="utf-8",
    )
    return data, summary


def _pieces(
    arr: np.ndarray,
    im: ReviewedImage,
    kept: list[tuple[int, Box]],
    recipe: Any,
    rng: random.Random,
    stem: str,
) -> list[tuple[str, np.ndarray, list[str]]]:
    """(name, pixels, YOLO lines) of each training piece: tiles, or the whole image."""
    h, w = arr.shape[:2]
    if not recipe.tiled:
        lines = [yolo_line(cid, b.x1, b.y1, b.x2, b.y2, w, h) for cid, b in kept]
        return [(stem, arr, list(dict.fromkeys(lines)))]
    tboxes = [TileBox(b.x1, b.y1, b.x2, b.y2, cid) for cid, b in kept]
    tiles: list[Tile[int]]
    if tboxes:
        tiles = random_positive_tiles(w, h, tboxes, recipe.tiles, recipe.tile_size, rng)
    else:  # a reviewed negative: one random tile without labels
        tw, th = min(recipe.tile_size, w), min(recipe.tile_size, h)
        tiles = [Tile(rng.randint(0, w - tw), rng.randint(0, h - th), tw, th, ())]
    out = []
    for k, t in enumerate(tiles):
        crop = np.ascontiguousarray(arr[t.y0 : t.y0 + t.height, t.x0 : t.x0 + t.width])
        lines = [
            yolo_line(tb.payload, tb.x1, tb.y1, tb.x2, tb.y2, t.width, t.height) for tb in t.boxes
        ]
        out.append((f"{stem}_t{k:03d}", crop, list(dict.fromkeys(lines))))
    return out


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{ln}\n" for ln in lines), "utf-8", newline="\n")


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

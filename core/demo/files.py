"""The demo set: a few phantom X-rays (DICOM and TIFF) with ground truth, and a face photo.

``make_demo_files(out_dir)`` writes::

    out_dir/
      demo_01_full_body.dcm ...       phantoms, DICOM (DX; one CR MONOCHROME1) and 16-bit TIFF
      face_astronaut.jpg              the bundled real face photo
      ground_truth/<image stem>.json  boxes of each phantom
      demo_manifest.json              what was written (files, kinds, ground truth)

Ground truth lives in its own folder so that importing ``out_dir`` finds only images.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from core.annotations import Box
from core.demo.face import FACE_PHOTO_NAME, face_photo_path
from core.demo.phantom import generate_phantom
from core.demo.writers import read_ground_truth, write_dicom, write_ground_truth, write_tiff
from core.errors import ClinLensError

GROUND_TRUTH_DIR = "ground_truth"
MANIFEST_NAME = "demo_manifest.json"
LARGE_SIZE = (3000, 3000)


@dataclass(frozen=True)
class DemoItem:
    """One file of the demo set."""

    path: Path
    kind: str  # "xray" | "photo"
    format: str  # "dicom" | "tiff" | "jpeg"
    width: int
    height: int
    boxes: tuple[Box, ...]  # ground truth (empty for the photo)
    ground_truth: Path | None
    label_set: str  # built-in label set that fits: "xray" or "acne"
    description: str


@dataclass(frozen=True)
class _Plan:
    name: str
    size: tuple[int, int]
    view: str
    anomalies: tuple[str, ...] | None
    fmt: str  # "dicom" | "tiff"
    photometric: str = "MONOCHROME2"
    modality: str = "DX"
    bits: int = 14


# A varied set that shows every drawable class at least once, both file formats, DX and CR,
# MONOCHROME1 and 2, 12 and 14 bits, portrait and landscape.
_PLANS: tuple[_Plan, ...] = (
    _Plan(
        "full_body",
        (1500, 1216),
        "full",
        ("zipper", "belt buckle", "key", "watch", "glasses"),
        "dicom",
    ),
    _Plan(
        "chest",
        (1500, 1216),
        "chest",
        ("shirt button", "jewelry", "bra", "surgical implant"),
        "tiff",
    ),
    _Plan(
        "abdomen",
        (1216, 1500),
        "abdomen",
        ("surgical implant", "pants button", "zipper", "drugs", "piercing"),
        "dicom",
        "MONOCHROME1",
        "CR",
        12,
    ),
    _Plan(
        "legs", (1024, 1024), "legs", ("surgical implant", "ankle monitor", "key", "cuffs"), "tiff"
    ),
    _Plan(
        "upper_body",
        (1216, 1500),
        "upper",
        ("glasses", "piercing", "watch", "shirt button", "jewelry"),
        "dicom",
    ),
    _Plan(
        "screening",
        (800, 1000),
        "full",
        ("unknown anomaly", "belt buckle", "zipper", "key"),
        "tiff",
        bits=12,
    ),
)


def _plans(n: int, size: tuple[int, int] | None, large: bool) -> list[_Plan]:
    plans: list[_Plan] = []
    for i in range(n):
        base = _PLANS[i % len(_PLANS)]
        if i >= len(_PLANS):  # beyond the curated set: let the seed pick the objects
            base = _Plan(
                f"{base.name}_{i // len(_PLANS) + 1}", base.size, base.view, None, base.fmt
            )
        if size is not None:
            base = _Plan(
                base.name,
                size,
                base.view,
                base.anomalies,
                base.fmt,
                base.photometric,
                base.modality,
                base.bits,
            )
        plans.append(base)
    if large:
        plans.append(_Plan("large", LARGE_SIZE, "full", None, "dicom"))
    return plans


def _make_one(out: Path, index: int, plan: _Plan, seed: int) -> DemoItem:
    item_seed = seed * 1000 + index
    width, height = plan.size
    ph = generate_phantom(
        item_seed, width, height, plan.anomalies, view=plan.view, bits_stored=plan.bits
    )
    stem = f"demo_{index + 1:02d}_{plan.name}"
    if plan.fmt == "dicom":
        path = write_dicom(
            out / f"{stem}.dcm", ph, photometric=plan.photometric, modality=plan.modality
        )
    else:
        path = write_tiff(out / f"{stem}.tif", ph)
    gt = write_ground_truth(
        out / GROUND_TRUTH_DIR / f"{stem}.json",
        path.name,
        ph.width,
        ph.height,
        ph.boxes,
        view=ph.view,
        seed=item_seed,
        pixel_spacing_mm=list(ph.pixel_spacing),
        source="ClinLens synthetic phantom",
    )
    desc = f"{plan.modality if plan.fmt == 'dicom' else 'TIFF'} phantom, {ph.view} view, {ph.bits_stored}-bit"
    return DemoItem(path, "xray", plan.fmt, ph.width, ph.height, tuple(ph.boxes), gt, "xray", desc)


def make_demo_files(
    out_dir: str | Path,
    n_xrays: int = 6,
    seed: int = 0,
    *,
    size: tuple[int, int] | None = None,
    large: bool = False,
    workers: int | None = None,
) -> list[DemoItem]:
    """Write the demo set into ``out_dir`` (created if needed); returns one item per file.

    size: (width, height) for every phantom instead of the curated sizes.
    large: add one 3000 x 3000 DICOM phantom (a realistic full-resolution detector size).
    workers: threads generating phantoms (default: up to 2; numpy and OpenCV release the GIL).
    """
    if n_xrays < 0:
        raise ClinLensError(f"the number of demo X-rays must be 0 or more, not {n_xrays}")
    if seed < 0:
        raise ClinLensError(f"the demo seed must be 0 or more, not {seed}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ClinLensError(f"{out} is a file, not a folder for the demo files")
    try:
        (out / GROUND_TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClinLensError(f"cannot create the demo folder {out} ({exc.strerror or exc})") from exc
    plans = _plans(n_xrays, size, large)
    n_workers = workers or min(2, os.cpu_count() or 1, max(1, len(plans)))
    try:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            items = list(pool.map(lambda ip: _make_one(out, ip[0], ip[1], seed), enumerate(plans)))
        photo = out / FACE_PHOTO_NAME
        shutil.copyfile(face_photo_path(), photo)
    except OSError as exc:
        raise ClinLensError(
            f"cannot write the demo files into {out} ({exc.strerror or exc})"
        ) from exc
    items.append(_photo_item(photo))
    _write_manifest(out, items)
    return items


def _photo_item(photo: Path) -> DemoItem:
    from PIL import Image

    with Image.open(photo) as im:
        w, h = im.size
    return DemoItem(
        photo, "photo", "jpeg", w, h, (), None, "acne", "face photo (NASA, public domain)"
    )


def _write_manifest(out: Path, items: Sequence[DemoItem]) -> None:
    entries = [
        {
            "file": it.path.name,
            "kind": it.kind,
            "format": it.format,
            "width": it.width,
            "height": it.height,
            "label_set": it.label_set,
            "boxes": len(it.boxes),
            "ground_truth": it.ground_truth.relative_to(out).as_posix()
            if it.ground_truth
            else None,
            "description": it.description,
        }
        for it in items
    ]
    tmp = out / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps({"version": 1, "items": entries}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / MANIFEST_NAME)


def ground_truth_path(image_path: str | Path) -> Path:
    """Where the ground truth of a demo image lives (it may not exist for other files)."""
    p = Path(image_path)
    return p.parent / GROUND_TRUTH_DIR / f"{p.stem}.json"


def ground_truth_boxes(image_path: str | Path) -> list[Box]:
    """Ground-truth boxes of a demo image written by ``make_demo_files``; [] when it has none
    (the face photo, or any file that is not part of a demo set)."""
    gt = ground_truth_path(image_path)
    if not gt.is_file():
        return []
    return list(read_ground_truth(gt).boxes)

"""A small reviewed X-ray project for the training tests (16-bit phantoms, reviewed boxes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.ml.conftest import TINY_CLASSES, TINY_YAML, make_phantom, random_boxes


def make_reviewed_project(
    folder: Path, *, n_images: int = 14, size: int = 128, seed: int = 3, reviewed: bool = True
) -> list[int]:
    import tifffile

    from core.annotations import Box, builtin_label_set
    from core.store import NewImage, Project

    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    items, boxes = [], []
    for i in range(n_images):
        bx = random_boxes(rng, size, size, 2)
        path = folder / "images" / f"x{i}.tif"
        tifffile.imwrite(path, make_phantom(rng, size, size, bx))
        items.append(NewImage(path=str(path), width=size, height=size, bit_depth=16))
        boxes.append(bx)
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as project:
        ids = project.add_images(items)
        for image_id, bx in zip(ids, boxes, strict=True):
            project.add_boxes(
                image_id, [Box(b.x1, b.y1, b.x2, b.y2, label=TINY_CLASSES[b.cls]) for b in bx]
            )
            if reviewed:
                project.set_review_status(image_id, "done")
    return ids


def tiny_config(folder: Path) -> Path:
    path = folder / "tiny-yolov8t.yaml"
    path.write_text(TINY_YAML.format(nc=len(TINY_CLASSES)), encoding="utf-8")
    return path


def train_args(project: Path, cfg: Path, *extra: str) -> list[str]:
    return [
        "model",
        "train",
        str(project),
        "--epochs",
        "1",
        "--from",
        "scratch",
        "--arch",
        str(cfg),
        "--imgsz",
        "64",
        "--tile-size",
        "64",
        "--tiles",
        "2",
        "--batch",
        "8",
        "--device",
        "cpu",
        "--seed",
        "0",
        *extra,
    ]

"""Self-test steps that need the models: the detector and training child processes (started
from this executable, as the app starts them), dlib's landmarks and the skin patches on the
bundled face, and a severity prediction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ml.selftest import samples
from ml.selftest.context import Context
from ml.selftest.steps_core import StepFailed
from ml.selftest.tiny_model import CLASSES, build_checkpoint, write_config

DETECTOR_IMAGE = (500, 700)  # h, w: larger than the 256-px tile, so it is tiled
WORKER_TIMEOUT_S = 300.0


def _xray_project(folder: Path, shapes: list[tuple[int, int]], reviewed: bool) -> list[int]:
    """16-bit TIFF phantoms, each with two boxes of the built-in X-ray labels."""
    from core.annotations import Box, builtin_label_set
    from core.store import NewImage, Project

    images = folder / "Bilder"
    images.mkdir(parents=True, exist_ok=True)
    items, boxes = [], []
    for i, (h, w) in enumerate(shapes):
        arr = samples.pattern((h, w), bits=16)
        path = samples.write_tiff(images / f"Röntgen {i}.tif", arr, "zstd")
        items.append(NewImage(path=str(path), width=w, height=h, bit_depth=16))
        boxes.append(
            [
                Box(w * 0.5, h / 3, w * 0.5 + 24, h / 3 + 20, label=CLASSES[0]),
                Box(w * 0.1, h * 0.6, w * 0.1 + 30, h * 0.6 + 14, label=CLASSES[1]),
            ]
        )
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as project:
        ids = project.add_images(items)
        for image_id, bx in zip(ids, boxes, strict=True):
            if reviewed:
                project.add_boxes(image_id, bx)
                project.set_review_status(image_id, "done")
    return list(ids)


def detector_worker_step(ctx: Context) -> str:
    """Start ``detector-worker DIR`` as the app does and get tiled suggestions from it."""
    from core.workers import WorkerProcess, clinlens_argv
    from ml import registry

    folder = ctx.work / "Detektor Projekt"
    ids = _xray_project(folder, [DETECTOR_IMAGE], reviewed=False)
    checkpoint = build_checkpoint(ctx.folder("model"))
    registry.import_model(folder, checkpoint, "detector", "selftest")
    events: list[dict[str, Any]] = []
    worker = WorkerProcess(clinlens_argv("detector-worker", str(folder)), name="detector")
    try:
        done = worker.request(
            "suggest", images=ids, device="auto", conf=0.0001, on_event=events.append
        )
    finally:
        worker.close()
    images = [e for e in events if e.get("event") == "image"]
    skipped = [e for e in events if e.get("event") == "skipped"]
    if skipped:
        raise StepFailed(f"the detector skipped the image: {skipped[0].get('error')}")
    if len(images) != len(ids):
        raise StepFailed(f"the detector answered for {len(images)} of {len(ids)} images")
    boxes = sum(len(e.get("boxes") or []) for e in images)
    ctx.device = str(done.get("device") or ctx.device)
    h, w = DETECTOR_IMAGE
    return (
        f"'{Path(worker.argv[0]).name} {' '.join(worker.argv[1:2])}' child: {boxes} suggestion(s) on a "
        f"{w}x{h} image in 256-px tiles with model {done.get('model')} on {done.get('device')}"
    )


def face_step(ctx: Context) -> str:
    """dlib's 68 landmarks and the landmark patches on the bundled face; the eye cascade."""
    import cv2

    from core.demo.face import face_photo_path
    from core.imaging import read
    from ml.severity import landmarks
    from ml.severity.patches import extract_patches, find_eyes

    model = landmarks.landmark_model_path()
    raw = read(face_photo_path())
    patches = extract_patches(np.asarray(raw.pixels), name="the bundled face")
    if patches.method != "landmarks" or patches.landmarks is None:
        raise StepFailed(
            f"no landmarks on the bundled face (patches by '{patches.method}'): "
            + "; ".join(patches.warnings)
        )
    grey = cv2.cvtColor(np.asarray(raw.pixels), cv2.COLOR_RGB2GRAY)
    eyes = find_eyes(grey)  # OpenCV's Haar cascade, the grader's fallback
    regions = ", ".join(p.region for p in patches.patches)
    return (
        f"{len(patches.landmarks)} landmarks ({model.name}), patches {regions}; "
        f"eye cascade found {len(eyes)} eye(s)"
    )


def severity_step(ctx: Context) -> str:
    """Train a grader on a few graded faces made from the bundled one; grade one of them."""
    import cv2

    from core.annotations import builtin_label_set, builtin_scale
    from core.demo.face import face_photo_path
    from core.imaging import read
    from core.store import NewImage, Project
    from ml.severity.dataset import AugmentConfig
    from ml.severity.grader import SeverityGrader
    from ml.severity.synthetic import make_face
    from ml.severity.train import TrainConfig, train_severity

    base = np.asarray(read(face_photo_path()).pixels)
    if base.shape[:2] != (512, 512):
        base = np.asarray(cv2.resize(base, (512, 512)))
    scale = builtin_scale("acne4")
    rng = np.random.default_rng(0)
    grades = [float(g) for g in scale.allowed] * 3  # training needs 10 graded faces
    folder = ctx.work / "Gesicht Projekt"
    photos = folder / "Fotos"
    photos.mkdir(parents=True, exist_ok=True)
    items = []
    for i, grade in enumerate(grades):
        face = make_face(grade, scale, rng, base=base)
        path = photos / f"Gesicht {i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(face.pixels, cv2.COLOR_RGB2BGR))
        items.append(
            NewImage(path=str(path), width=512, height=512, bit_depth=8, samples_per_pixel=3)
        )
    with Project.create(folder, label_set=builtin_label_set("acne"), scales=[scale]) as project:
        ids = project.add_images(items)
        for image_id, grade in zip(ids, grades, strict=True):
            project.grading.set_grade(image_id, scale.name, grade)
    # No augmentation copies: the step proves the path, not the grader's accuracy.
    config = TrainConfig(scale=scale.name, folds=2, smote=False, augment=AugmentConfig(copies=0))
    train_severity(folder, config)
    grader = SeverityGrader.for_project(folder, scale.name, use_cache=False)
    with Project.open(folder, read_only=True) as project:
        result = grader.grade_image(project, ids[-1])
    s = result.suggestion
    return f"acne4 grade {s.label} (value {s.value:.2f}, confidence {s.confidence:.2f}) from {len(result.patches.patches)} patches"


def training_worker_step(ctx: Context) -> str:
    """One round of ``train-worker DIR`` (started as the app starts it): one epoch."""
    from core.store import Project
    from ml.training.recipe import preset
    from ml.training.session import run_training

    folder = ctx.work / "Training Projekt"
    ids = _xray_project(folder, [(96, 96)] * 3, reviewed=True)
    with Project.open(folder, read_only=True) as project:
        roles = project.heldout.roles()
    train = [i for i in ids if roles.get(i) == "train"]
    recipe = preset(
        "xray",
        epochs=1,
        imgsz=64,
        tile_size=64,
        tiles=1,
        batch=4,
        start="scratch",
        arch=str(write_config(ctx.folder("train-config"))),
        device="auto",
        min_images=min(2, len(train)),
        min_boxes=2,
        augment_copies=0,
        val_every=1,
    )
    result = run_training(folder, recipe, open_writer=lambda: Project.open(folder))
    ctx.device = str(result.get("device") or ctx.device)
    return (
        f"1 epoch on {len(train)} training image(s) in {result.get('seconds', 0):.1f} s on "
        f"{result.get('device')}: model {result.get('model')} ({result.get('status')})"
    )


STEPS = [
    ("detector-worker", detector_worker_step),
    ("face-landmarks", face_step),
    ("severity", severity_step),
    ("training-worker", training_worker_step),
]

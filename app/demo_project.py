"""The demo project a new user sees on first start: phantom X-rays + the face photo.

Built once under ``<app data>/demo-project`` from ``core.demo.make_demo_files``: about half
of the X-rays come pre-annotated with their ground truth (accepted boxes, "in progress")
so the user sees boxes at once; the others are new. The project has a required "image
quality" grade (so "done" shows how required grades work) and the optional acne grade,
which applies to photos only. Twelve demo faces (the bundled photo with painted lesions,
core.demo.faces) come with a human acne grade, and a few with their lesion boxes, so the
severity grader can be trained at once and suggest a grade for the original photo.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from core.paths import app_data_dir

DEMO_DIR_NAME = "demo-project"
DEMO_NAME = "ClinLens demo"

# A grade that fits every image of the demo (radiographs and the photo alike).
QUALITY_SCALE = {
    "title": "Image quality",
    "values": [
        {"value": 1, "label": "Non-diagnostic"},
        {"value": 2, "label": "Limited"},
        {"value": 3, "label": "Good"},
        {"value": 4, "label": "Excellent"},
    ],
    "required": True,
}


def demo_project_dir() -> Path:
    return app_data_dir() / DEMO_DIR_NAME


def demo_exists(folder: Path | None = None) -> bool:
    from core.store import DB_NAME

    return ((folder or demo_project_dir()) / DB_NAME).is_file()


def build_demo_project(
    folder: Path | None = None,
    *,
    n_xrays: int = 6,
    large: bool = False,
    progress: Any = None,
    cancel: Any = None,
) -> Path:
    """Create the demo project (idempotent); returns its folder.

    Built in a scratch folder and renamed into place, so an interrupted first start never
    leaves a half-made demo that would be opened next time.
    """
    import dataclasses

    from core.annotations import builtin_label_set, builtin_scale
    from core.annotations.scales import scale_from_mapping
    from core.demo import ground_truth_boxes, make_demo_files
    from core.demo.faces import BLOB_RADIUS, make_demo_faces
    from core.errors import JobCancelled
    from core.project_io import import_images
    from core.store import Project

    folder = folder or demo_project_dir()
    if demo_exists(folder):
        return folder
    scratch = folder.parent / f".{folder.name}.building"
    shutil.rmtree(scratch, ignore_errors=True)
    images = scratch / "images"
    if progress:
        progress(0, 4, "making demo X-rays")
    items = make_demo_files(images, n_xrays=n_xrays, large=large)
    faces = make_demo_faces(images / "faces")
    if cancel is not None and cancel.is_set():
        shutil.rmtree(scratch, ignore_errors=True)
        raise JobCancelled("demo project not built")
    if progress:
        progress(2, 4, "importing them")
    scales = [
        scale_from_mapping("quality", QUALITY_SCALE, "demo"),
        dataclasses.replace(builtin_scale("acne4"), required=False),
    ]
    with Project.create(
        scratch, label_set=builtin_label_set("xray"), scales=scales, name=DEMO_NAME, author="demo"
    ) as project:
        import_images(project, [images])
        xrays = [it for it in items if it.kind == "xray"]
        for item in xrays:
            # A TIFF has no modality to say it is a radiograph: the demo knows, and says
            # so, so its X-rays are never asked for an acne grade.
            record = project.find_image(path=item.path)
            if record is not None and project.grading.image_kind(record.id) != "xray":
                project.grading.set_image_kind(record.id, "xray")
        for i, item in enumerate(xrays):
            if i % 2:
                continue  # every other X-ray stays new, for the user to annotate
            record = project.find_image(path=item.path)
            boxes = ground_truth_boxes(item.path)
            if record is None or not boxes:
                continue
            human = [
                dataclasses.replace(b, source="human", status="accepted", author="demo")
                for b in boxes
            ]
            project.add_boxes(record.id, human)
            project.grading.set_review_status(record.id, "in_progress")
        _grade_faces(project, faces, BLOB_RADIUS + 1.5)
    if progress:
        progress(4, 4, "done")
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    return folder


LESION_LABEL = "papule"
FACES_WITH_BOXES = 4  # the first few graded faces also show their lesions as boxes


def _grade_faces(project: Any, faces: Any, half: float) -> None:
    """The demo faces' human acne grades, and lesion boxes on a few of them."""
    from core.annotations import Box, builtin_label_set

    for label in builtin_label_set("acne").labels:
        if project.definitions.label_set().by_name(label.name) is None:
            project.add_label(label.name, label.color)
    for i, face in enumerate(faces):
        record = project.find_image(path=face.path)
        if record is None:
            continue
        project.grading.set_grade(record.id, "acne4", face.grade, author="demo")
        if i < FACES_WITH_BOXES and face.blobs:
            boxes = [
                Box(x - half, y - half, x + half, y + half, LESION_LABEL, author="demo")
                for x, y in face.blobs
            ]
            project.add_boxes(record.id, boxes)
        project.grading.set_review_status(record.id, "in_progress")

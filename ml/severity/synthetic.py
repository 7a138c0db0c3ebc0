"""Synthetic graded faces for tests, benchmarks and demos (no download, no real patient).

Starts from scikit-image's astronaut portrait when scikit-image is installed (a dev
dependency), else from a drawn face-like image, and paints red papule-like blobs on the
skin around the landmark patches: more blobs = higher grade. Colour and brightness are
jittered per face so the descriptor has to look at the blobs, not at the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.annotations import GradingScale

# Skin areas of the astronaut photo (x1, y1, x2, y2 at 512 px) where blobs go: cheeks,
# forehead, chin - the regions the landmark patches look at, plus some margin.
_ASTRONAUT_SKIN = (
    (183, 108, 214, 142),
    (236, 108, 266, 142),
    (205, 60, 248, 86),
    (205, 158, 238, 178),
)
# Blob counts per acne4 grade, a Hayashi-like progression.
ACNE4_BLOBS = (0, 6, 16, 34)


def base_face() -> np.ndarray:
    """The 512 x 512 RGB portrait the synthetic faces start from."""
    try:
        from skimage import data

        return np.ascontiguousarray(data.astronaut())
    except Exception as exc:  # pragma: no cover - scikit-image is a dev dependency
        raise RuntimeError("synthetic faces need scikit-image (pip install scikit-image)") from exc


@dataclass(frozen=True)
class SyntheticFace:
    pixels: np.ndarray  # RGB uint8
    grade: float
    blobs: tuple[tuple[float, float], ...]  # centres, image coordinates


def blob_count_for(scale: GradingScale, grade: float) -> int:
    """How many blobs a face of ``grade`` gets (linear in the grade's rank on the scale)."""
    allowed = scale.allowed
    rank = int(np.argmin(np.abs(allowed - grade)))
    if scale.name == "acne4":
        return ACNE4_BLOBS[rank]
    return round(40 * rank / max(1, allowed.size - 1))


def make_face(
    grade: float,
    scale: GradingScale,
    rng: np.random.Generator,
    *,
    base: np.ndarray | None = None,
    size: int | None = None,
) -> SyntheticFace:
    img = (base if base is not None else base_face()).astype(np.float32)
    # Per-photo lighting and white balance, so grade is not readable from global colour.
    gain = rng.uniform(0.85, 1.15)
    tint = rng.uniform(0.94, 1.06, size=3)
    img = np.clip(img * gain * tint, 0, 255)
    n = blob_count_for(scale, grade)
    centres: list[tuple[float, float]] = []
    areas = np.array([(b[2] - b[0]) * (b[3] - b[1]) for b in _ASTRONAUT_SKIN], dtype=np.float64)
    which = rng.choice(len(_ASTRONAUT_SKIN), size=n, p=areas / areas.sum())
    overlay = img.copy()
    for k in which:
        x1, y1, x2, y2 = _ASTRONAUT_SKIN[k]
        cx, cy = rng.uniform(x1, x2), rng.uniform(y1, y2)
        r = rng.uniform(1.2, 2.6)
        colour = (rng.uniform(170, 215), rng.uniform(40, 80), rng.uniform(50, 85))
        cv2.circle(
            overlay,
            (round(cx * 16), round(cy * 16)),
            round(r * 16),
            colour,
            -1,
            cv2.LINE_AA,
            shift=4,
        )
        centres.append((cx, cy))
    blended = cv2.addWeighted(overlay, 0.75, img, 0.25, 0)
    out: np.ndarray = np.clip(blended, 0, 255).astype(np.uint8)
    if size is not None and size != out.shape[0]:
        scale_f = size / out.shape[0]
        out = np.asarray(cv2.resize(out, (size, size), interpolation=cv2.INTER_LINEAR))
        centres = [(x * scale_f, y * scale_f) for x, y in centres]
    return SyntheticFace(out, float(grade), tuple(centres))


def make_faces(
    grades: list[float], scale: GradingScale, *, seed: int = 0, size: int | None = None
) -> list[SyntheticFace]:
    rng = np.random.default_rng(seed)
    base = base_face()
    return [make_face(g, scale, rng, base=base, size=size) for g in grades]


def make_project(
    folder: str | Path,
    grades: list[float],
    *,
    scale_name: str = "acne4",
    seed: int = 0,
    size: int | None = None,
    lesion_boxes: bool = False,
) -> list[int]:
    """A project of synthetic face photos (PNG files in ``folder/photos``) with human grades.

    ``lesion_boxes``: also store each blob as an accepted human "papule" box. Returns the
    image ids in the order of ``grades``.
    """
    from core.annotations import Box, builtin_label_set, builtin_scale
    from core.store import NewImage, Project

    folder = Path(folder)
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    scale = builtin_scale(scale_name)
    faces = make_faces(grades, scale, seed=seed, size=size)
    items = []
    for i, face in enumerate(faces):
        path = photos / f"face_{i:04d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(face.pixels, cv2.COLOR_RGB2BGR))
        h, w = face.pixels.shape[:2]
        items.append(NewImage(path=str(path), width=w, height=h, bit_depth=8, samples_per_pixel=3))
    scales = [builtin_scale(n) for n in ("acne4", "iga5", "hyperpig")]
    with Project.create(folder, label_set=builtin_label_set("acne"), scales=scales) as project:
        ids = project.add_images(items)
        for image_id, face in zip(ids, faces, strict=True):
            project.grading.set_grade(image_id, scale_name, face.grade)
            if lesion_boxes and face.blobs:
                project.add_boxes(
                    image_id,
                    [Box(x - 3, y - 3, x + 3, y + 3, "papule") for x, y in face.blobs],
                )
    return ids

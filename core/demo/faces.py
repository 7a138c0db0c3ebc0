"""Graded demo faces: the bundled face photo with painted papule-like blobs, more blobs
for a higher acne grade, so a first start has enough human-graded photos to train the
severity grader and see a suggested grade (issue 17).

The same recipe as ml.severity.synthetic (which the tests and benchmarks use), but from
the bundled photo and with OpenCV only: the app never needs scikit-image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.demo.face import face_photo_path

# Skin areas of the 512 px photo (x1, y1, x2, y2): cheeks, forehead, chin.
SKIN = ((183, 108, 214, 142), (236, 108, 266, 142), (205, 60, 248, 86), (205, 158, 238, 178))
ACNE4_BLOBS = (0, 6, 16, 34)  # blobs per acne4 grade (a Hayashi-like progression)
DEMO_GRADES = (0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 0, 3)  # twelve faces, three of each grade
BLOB_RADIUS = 2.6  # the largest blob radius (px); a lesion box is a little larger


@dataclass(frozen=True)
class DemoFace:
    path: Path
    grade: int
    blobs: tuple[tuple[float, float], ...]  # centres, image coordinates


def _paint(base: np.ndarray, grade: int, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    import cv2

    img = base.astype(np.float32) * rng.uniform(0.85, 1.15) * rng.uniform(0.94, 1.06, size=3)
    img = np.clip(img, 0, 255)
    areas = np.array([(b[2] - b[0]) * (b[3] - b[1]) for b in SKIN], dtype=np.float64)
    which = rng.choice(len(SKIN), size=ACNE4_BLOBS[grade], p=areas / areas.sum())
    overlay = img.copy()
    centres = []
    for k in which:
        x1, y1, x2, y2 = SKIN[k]
        cx, cy = rng.uniform(x1, x2), rng.uniform(y1, y2)
        radius = rng.uniform(1.2, BLOB_RADIUS)
        bgr = (rng.uniform(50, 85), rng.uniform(40, 80), rng.uniform(170, 215))
        centre = (round(cx * 16), round(cy * 16))
        cv2.circle(overlay, centre, round(radius * 16), bgr, -1, cv2.LINE_AA, shift=4)
        centres.append((float(cx), float(cy)))
    out = np.clip(cv2.addWeighted(overlay, 0.75, img, 0.25, 0), 0, 255).astype(np.uint8)
    return out, centres


def make_demo_faces(
    out_dir: str | Path, grades: tuple[int, ...] = DEMO_GRADES, seed: int = 0
) -> list[DemoFace]:
    """Write one JPEG per grade in ``grades`` (acne4 values 0-3) into ``out_dir``."""
    import cv2

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = cv2.imread(str(face_photo_path()), cv2.IMREAD_COLOR)
    if base is None:
        raise OSError(f"cannot read the bundled face photo {face_photo_path()}")
    rng = np.random.default_rng(seed)
    faces = []
    for i, grade in enumerate(grades):
        pixels, centres = _paint(base, int(grade), rng)
        path = out / f"demo_face_{i + 1:02d}.jpg"
        if not cv2.imwrite(str(path), pixels, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"cannot write {path}")
        faces.append(DemoFace(path, int(grade), tuple(centres)))
    return faces

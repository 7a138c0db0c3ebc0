"""Face detection and the 68-point landmarks (dlib), on a downscaled copy for speed.

dlib's HOG frontal-face detector costs ~4x more per doubling of the side, so faces are
searched on a copy whose longest side is ``detect_max_side`` (512 px: ~13 ms on one core
for a 1024-px photo instead of ~50 ms); the landmark model then runs on the full-resolution
grey image inside the rescaled face box (~2 ms), so the points keep full precision.

The 68-point model ships in the ``face_recognition_models`` package. Its ``__init__``
imports ``pkg_resources`` (slow, deprecated), so the file is located with
``importlib.util.find_spec`` without importing the package.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import ModelError

LANDMARK_MODEL_RELPATH = "models/shape_predictor_68_face_landmarks.dat"
# dlib's CNN (max-margin object detection) face detector: finds turned faces (profile and
# three-quarter views, ACNE04's ~70 deg photos) that the HOG frontal detector misses;
# ~10x slower on the CPU, so it runs only when HOG finds nothing, on a small copy.
CNN_MODEL_RELPATH = "models/mmod_human_face_detector.dat"
CNN_MAX_SIDE = 384

# Landmark indices of the iBUG 68-point scheme (0-based). "Left"/"right" are the subject's.
JAW = slice(0, 17)
RIGHT_BROW = slice(17, 22)  # image left on a frontal photo
LEFT_BROW = slice(22, 27)
NOSE_BRIDGE = slice(27, 31)  # points 27-30: the midline of the face
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
MOUTH = slice(48, 68)

# dlib's own threshold is 0.0; real faces score ~1 and textures that merely look like a face
# (a spacesuit patch on scikit-image's astronaut) ~0. Detections below this are used only
# when nothing scores higher.
STRONG_FACE_SCORE = 0.3


def _model_file(relpath: str) -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for base in locations:
        candidate = Path(base) / relpath
        if candidate.is_file():
            return candidate
    return None


def landmark_model_path() -> Path:
    """Path of ``shape_predictor_68_face_landmarks.dat`` (ModelError if not installed)."""
    found = _model_file(LANDMARK_MODEL_RELPATH)
    if found is None:
        raise ModelError(
            "the face landmark model (shape_predictor_68_face_landmarks.dat) is missing: "
            "install the 'face-recognition-models' package"
        )
    return found


@cache
def _cnn_detector() -> Any | None:
    """dlib's CNN face detector, or None when its model file is not installed."""
    import dlib

    path = _model_file(CNN_MODEL_RELPATH)
    if path is None:
        return None
    try:
        return dlib.cnn_face_detection_model_v1(str(path))
    except RuntimeError:
        return None


@dataclass(frozen=True)
class FaceDetection:
    """One face: its box and 68 landmarks, in full-resolution continuous image coordinates."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    landmarks: np.ndarray  # (68, 2) float64, x then y
    detector: str = "hog"  # "hog" (frontal) or "cnn" (turned faces)

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)


_lock = threading.Lock()
# dlib's detector and shape predictor are not documented as thread-safe; the GUI may grade
# on two job lanes at once. A search costs ~15 ms, so one at a time is cheap insurance.
_run_lock = threading.Lock()


@cache
def _dlib_models() -> tuple[Any, Any]:
    import dlib

    path = landmark_model_path()
    try:
        predictor = dlib.shape_predictor(str(path))
    except RuntimeError as exc:
        raise ModelError(f"{path.name}: the face landmark model cannot be loaded ({exc})") from exc
    return dlib.get_frontal_face_detector(), predictor


def load_models() -> tuple[Any, Any]:
    """(detector, shape predictor), loaded once per process (~0.6 s)."""
    with _lock:
        return _dlib_models()


def _search(detector: Any, grey: np.ndarray, upsample: int) -> list[tuple[Any, float]]:
    rects, scores, _kinds = detector.run(grey, upsample, 0.0)
    return list(zip(rects, scores, strict=True))


def _cnn_search(grey: np.ndarray) -> tuple[list[tuple[Any, float]], float]:
    """(faces, scale) from the CNN detector on a copy of at most ``CNN_MAX_SIDE``."""
    with _lock:
        cnn = _cnn_detector()
    if cnn is None:
        return [], 1.0
    h, w = grey.shape
    scale = min(1.0, CNN_MAX_SIDE / max(h, w))
    small = grey if scale >= 1.0 else _resize(grey, scale)
    rgb = np.ascontiguousarray(np.stack([small] * 3, axis=-1))
    with _run_lock:
        found = cnn(rgb, 0)
    # mmod confidences: > 0 is a face by dlib's own threshold.
    return [(d.rect, float(d.confidence)) for d in found if d.confidence > 0], scale


def detect_faces(
    grey: np.ndarray, *, detect_max_side: int = 512, cnn: bool = True
) -> list[FaceDetection]:
    """All faces in a uint8 grey image, best candidates only, largest first.

    Searches a copy downscaled to ``detect_max_side``; when that finds nothing and the photo
    is larger, tries once more at up to twice that side (small faces in big photos). Tiny
    photos are upsampled once by dlib so faces down to ~40 px are found. When the frontal
    (HOG) detector finds nothing, dlib's CNN detector looks for a turned face (``cnn``).
    """
    if grey.ndim != 2 or grey.dtype != np.uint8:
        raise ValueError("detect_faces needs a 2-D uint8 image")
    detector, predictor = load_models()
    h, w = grey.shape
    found: list[tuple[Any, float]] = []
    scale = 1.0
    for max_side in (detect_max_side, detect_max_side * 2):
        scale = min(1.0, max_side / max(h, w))
        small = grey if scale >= 1.0 else _resize(grey, scale)
        upsample = 1 if max(small.shape) < 400 else 0
        with _run_lock:
            found = _search(detector, small, upsample)
        if found or scale >= 1.0:
            break
    strong = [f for f in found if f[1] >= STRONG_FACE_SCORE]
    chosen = strong or found
    detector_name = "hog"
    if not chosen and cnn:
        chosen, scale = _cnn_search(grey)
        detector_name = "cnn"
    faces: list[FaceDetection] = []
    import dlib

    for rect, score in chosen:
        inv = 1.0 / scale
        x1, y1 = rect.left() * inv, rect.top() * inv
        x2, y2 = (rect.right() + 1) * inv, (rect.bottom() + 1) * inv
        full = dlib.rectangle(round(x1), round(y1), round(x2), round(y2))
        with _run_lock:
            shape = predictor(grey, full)
        pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)
        # dlib gives pixel indices; +0.5 puts them at pixel centres in continuous coordinates.
        pts += 0.5
        box = (max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2))
        faces.append(
            FaceDetection(box=box, score=float(score), landmarks=pts, detector=detector_name)
        )
    faces.sort(key=lambda f: f.area, reverse=True)
    return faces


def _resize(grey: np.ndarray, scale: float) -> np.ndarray:
    h, w = grey.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def midline(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face's midline as (point, unit direction), fitted through nose-bridge points 27-30.

    A least-squares line (principal axis) rather than two points, so one badly placed
    point does not tilt it much. Direction points down the face (towards the chin).
    """
    pts = np.asarray(landmarks, dtype=np.float64)[NOSE_BRIDGE]
    centre = pts.mean(axis=0)
    _u, _s, vt = np.linalg.svd(pts - centre)
    direction = vt[0]
    if direction[1] < 0:
        direction = -direction
    return centre, direction / np.linalg.norm(direction)


def side_of_midline(points: np.ndarray, line: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """For (N, 2) points: -1 on the image-left side of the midline, +1 on the image-right
    side, 0 exactly on it. With the direction pointing down, image-left is the subject's
    right half on a frontal photo."""
    centre, direction = line
    rel = np.asarray(points, dtype=np.float64).reshape(-1, 2) - centre
    # 2-D cross product direction x rel: positive when rel lies to the image-left of the
    # downward direction (image y grows downwards).
    cross = direction[0] * rel[:, 1] - direction[1] * rel[:, 0]
    return -np.sign(cross).astype(int)

"""Skin patches of a face photo: forehead, cheeks and chin, with two fallbacks.

1. dlib face + 68 landmarks -> forehead, left cheek, right cheek, chin (``method="landmarks"``,
   the frontal HOG detector; ``method="cnn_landmarks"`` when only dlib's CNN detector
   found the face - turned faces, profile and three-quarter views);
2. no face: OpenCV's eye cascade -> cheek(s) below and forehead above the eye(s)
   (``method="eye_cascade"``), e.g. a close-up or a face turned too far for dlib;
3. no eyes either: squares inside the largest skin-coloured region
   (``method="skin_mask"``, ``ml.severity.skin_mask``);
4. nothing skin-coloured (or a greyscale photo): the whole image as one patch
   (``method="whole_image"``), with a warning that the photo may not show a face.

"Left"/"right" are the subject's (as a clinician says them): on a frontal photo the left
cheek is on the image's right. Every patch keeps the image reference and its box in
continuous image coordinates, so the GUI can draw it over the photo.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import cv2
import numpy as np

from core.errors import ClinLensError
from ml.severity import landmarks as lm

REGIONS = ("forehead", "left_cheek", "right_cheek", "chin")
METHODS = ("landmarks", "cnn_landmarks", "eye_cascade", "skin_mask", "whole_image")
PATCH_VERSION = 3  # bump when placement or warnings change: cached patch sets are then redone
MIN_SIDE_PX = 64  # below this a photo holds no usable skin texture
# A patch clipped by the image border to less than this share of its planned area is dropped.
MIN_VISIBLE_SHARE = 0.4

BoxT = tuple[float, float, float, float]
ImageRef = int | str | None


class FaceImageError(ClinLensError):
    """A photo that cannot be graded (too small, empty, not an image array)."""


@dataclass(frozen=True)
class Patch:
    """A skin region of one image: what it is, where it is, which image it belongs to."""

    region: str  # one of REGIONS, "skin_N" (skin mask) or "whole_image"
    box: BoxT  # x1, y1, x2, y2, continuous image coordinates
    image_ref: ImageRef = None  # project image id or path

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "box": list(self.box), "image_ref": self.image_ref}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Patch:
        x1, y1, x2, y2 = (float(v) for v in d["box"])
        return cls(region=str(d["region"]), box=(x1, y1, x2, y2), image_ref=d.get("image_ref"))


@dataclass(frozen=True)
class PatchSet:
    """The patches of one photo and how they were found (for overlay and messages)."""

    image_ref: ImageRef
    image_size: tuple[int, int]  # width, height
    method: str  # one of METHODS
    patches: tuple[Patch, ...]
    face_box: BoxT | None = None
    landmarks: np.ndarray | None = field(default=None, compare=False)  # (68, 2) or None
    faces_found: int = 0
    greyscale: bool = False
    warnings: tuple[str, ...] = ()

    def midline(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(point, direction) of the face midline, when landmarks were found."""
        return None if self.landmarks is None else lm.midline(self.landmarks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_ref": self.image_ref,
            "image_size": list(self.image_size),
            "method": self.method,
            "patches": [p.to_dict() for p in self.patches],
            "face_box": None if self.face_box is None else list(self.face_box),
            "landmarks": None if self.landmarks is None else self.landmarks.tolist(),
            "faces_found": self.faces_found,
            "greyscale": self.greyscale,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PatchSet:
        face = d.get("face_box")
        marks = d.get("landmarks")
        w, h = (int(v) for v in d["image_size"])
        return cls(
            image_ref=d.get("image_ref"),
            image_size=(w, h),
            method=str(d["method"]),
            patches=tuple(Patch.from_dict(p) for p in d["patches"]),
            face_box=None if face is None else tuple(float(v) for v in face),  # type: ignore[arg-type]
            landmarks=None if marks is None else np.asarray(marks, dtype=np.float64),
            faces_found=int(d.get("faces_found", 0)),
            greyscale=bool(d.get("greyscale", False)),
            warnings=tuple(str(w) for w in d.get("warnings", [])),
        )

    def with_ref(self, image_ref: ImageRef) -> PatchSet:
        return replace(
            self,
            image_ref=image_ref,
            patches=tuple(replace(p, image_ref=image_ref) for p in self.patches),
        )


# --- pixels --------------------------------------------------------------------------------
def to_rgb8(pixels: np.ndarray, bits_stored: int | None = None) -> tuple[np.ndarray, bool]:
    """(H, W, 3) uint8 RGB of a photo, and whether it was greyscale.

    The same fixed conversion at training and suggestion time (a model must see the same
    pixels): 16-bit photos are scaled by their bit depth, never by their own min/max.
    """
    a = np.asarray(pixels)
    if a.ndim not in (2, 3) or a.size == 0:
        raise FaceImageError(f"not a photo: pixel array of shape {a.shape}")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            top = 1.0 if float(np.nanmax(a)) <= 1.0 else 255.0
            a = np.clip(np.nan_to_num(a) / top * 255.0, 0, 255).astype(np.uint8)
        else:
            bits = bits_stored or (16 if a.dtype.itemsize >= 2 else 8)
            a = np.clip(a.astype(np.float32) * (255.0 / (2**bits - 1)), 0, 255).astype(np.uint8)
    grey = a.ndim == 2 or a.shape[2] == 1
    if grey:
        a2 = a if a.ndim == 2 else a[:, :, 0]
        return np.ascontiguousarray(np.repeat(a2[:, :, None], 3, axis=2)), True
    a = a[:, :, :3]
    # A colour file whose channels are identical is a greyscale photo in disguise.
    step = max(1, max(a.shape[:2]) // 256)
    sub = a[::step, ::step].astype(np.int16)
    same = (
        np.abs(sub[:, :, 0] - sub[:, :, 1]).max() <= 2
        and np.abs(sub[:, :, 1] - sub[:, :, 2]).max() <= 2
    )
    return np.ascontiguousarray(a), bool(same)


# --- geometry ------------------------------------------------------------------------------
def _clip_box(box: BoxT, w: int, h: int) -> BoxT:
    x1, y1, x2, y2 = box
    return (min(max(x1, 0.0), w), min(max(y1, 0.0), h), min(max(x2, 0.0), w), min(max(y2, 0.0), h))


def _area(box: BoxT) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _centred(cx: float, cy: float, bw: float, bh: float) -> BoxT:
    return (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)


def landmark_boxes(points: np.ndarray) -> dict[str, BoxT]:
    """Planned (unclipped) patch boxes from the 68 landmarks.

    Sizes scale with the face width (jaw point 0 to 16) so patches cover the same skin
    share on near and far faces. Cheeks sit below the eyes, between the jaw line and the
    nose; the forehead above the brows; the chin between lower lip and jaw tip.
    """
    p = np.asarray(points, dtype=np.float64)
    face_w = float(np.linalg.norm(p[16] - p[0]))
    side = 0.22 * face_w
    brow_top = float(p[17:27, 1].min())
    brow_mid_x = float((p[19, 0] + p[24, 0]) / 2)
    forehead = _centred(
        brow_mid_x, brow_top - 0.04 * face_w - 0.09 * face_w, 0.34 * face_w, 0.18 * face_w
    )
    boxes = {"forehead": forehead}
    # Subject's right cheek: below the right eye (36-41), between jaw (1-4) and nose (31).
    for region, eye, jaw, nose in (
        ("right_cheek", lm.RIGHT_EYE, (1, 2, 3), 31),
        ("left_cheek", lm.LEFT_EYE, (13, 14, 15), 35),
    ):
        eye_low = float(p[eye, 1].max())
        jaw_x = float(p[list(jaw), 0].mean())
        cx = (jaw_x + float(p[nose, 0])) / 2
        cy = (eye_low + float(p[33, 1])) / 2 + 0.06 * face_w
        boxes[region] = _centred(cx, cy, side, side)
    lip = float(p[57, 1])
    tip = float(p[8, 1])
    chin_h = max(0.6 * (tip - lip), 1.0)
    boxes["chin"] = _centred(
        float(p[8, 0] + p[57, 0]) / 2, (lip + tip) / 2 + 0.05 * (tip - lip), 0.26 * face_w, chin_h
    )
    return boxes


# --- eye cascade fallback -------------------------------------------------------------------
_cascade_lock = threading.Lock()


@cache
def _eye_cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_eye.xml"  # type: ignore[attr-defined]
    clf = cv2.CascadeClassifier(path)
    if clf.empty():
        raise FaceImageError(f"OpenCV's eye cascade cannot be loaded from {path}")
    return clf


def find_eyes(grey: np.ndarray, *, max_side: int = 384) -> list[BoxT]:
    """Eye boxes (full-resolution coordinates), the most plausible first.

    Two eyes of similar size side by side win over single detections (the cascade also
    fires on nostrils and mouth corners); otherwise the largest single eye.
    """
    h, w = grey.shape
    scale = min(1.0, max_side / max(h, w))
    small = (
        grey
        if scale >= 1.0
        else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    )
    small = cv2.equalizeHist(small)
    min_eye = max(12, int(min(small.shape) / 25))
    with _cascade_lock:  # OpenCV cascades keep per-call state: one caller at a time
        found = _eye_cascade().detectMultiScale(
            small, scaleFactor=1.1, minNeighbors=6, minSize=(min_eye, min_eye)
        )
    eyes = [
        (x / scale, y / scale, (x + ew) / scale, (y + eh) / scale)
        for x, y, ew, eh in np.asarray(found).reshape(-1, 4)
    ]
    eyes.sort(key=_area, reverse=True)
    for i, a in enumerate(eyes):
        for b in eyes[i + 1 :]:
            if _plausible_pair(a, b):
                return sorted([a, b], key=lambda e: e[0])
    return eyes[:1]


def _plausible_pair(a: BoxT, b: BoxT) -> bool:
    wa, wb = a[2] - a[0], b[2] - b[0]
    if not 0.6 <= wa / wb <= 1.6:
        return False
    ca = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2)
    cb = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    size = (wa + wb) / 2
    return abs(ca[1] - cb[1]) < 0.6 * size and 1.2 * size < abs(ca[0] - cb[0]) < 4.0 * size


def eye_boxes(eyes: list[BoxT], image_width: int) -> dict[str, BoxT]:
    """Planned patch boxes from one or two eye boxes.

    Proportions from an average face: the cheek centre lies ~1.6 eye widths below the eye
    centre, the forehead ~1.5 eye widths above. With one eye its side is a guess: an eye in
    the image's left half is taken as the subject's right eye (frontal photo).
    """
    boxes: dict[str, BoxT] = {}
    centres = [((e[0] + e[2]) / 2, (e[1] + e[3]) / 2, e[2] - e[0]) for e in eyes]
    size = float(np.mean([c[2] for c in centres]))
    for cx, cy, ew in centres:
        region = "right_cheek" if cx < image_width / 2 else "left_cheek"
        if len(centres) == 2:
            region = "right_cheek" if (cx, cy, ew) == centres[0] else "left_cheek"
        boxes[region] = _centred(cx, cy + 1.6 * ew, 1.1 * ew, 1.1 * ew)
    fx = float(np.mean([c[0] for c in centres]))
    fy = float(np.mean([c[1] for c in centres]))
    width = 1.6 * size if len(centres) == 2 else 1.2 * size
    boxes["forehead"] = _centred(fx, fy - 1.5 * size, width, 0.8 * size)
    return boxes


# --- extraction ----------------------------------------------------------------------------
MIN_PATCH_SIDE_PX = 8  # a patch narrower than this holds no measurable skin texture


def _keep_visible(
    planned: dict[str, BoxT], w: int, h: int
) -> tuple[list[Patch], list[str], list[str]]:
    """(usable patches, regions mostly outside the photo, regions too small to use)."""
    kept: list[Patch] = []
    outside: list[str] = []
    too_small: list[str] = []
    for region in (*REGIONS, "whole_image"):
        if region not in planned:
            continue
        box = planned[region]
        clipped = _clip_box(box, w, h)
        name = region.replace("_", " ")
        if min(box[2] - box[0], box[3] - box[1]) < MIN_PATCH_SIDE_PX:
            too_small.append(name)  # small before any clipping: the face is small
        elif (
            _area(clipped) < MIN_VISIBLE_SHARE * _area(box)
            or min(clipped[2] - clipped[0], clipped[3] - clipped[1]) < MIN_PATCH_SIDE_PX
        ):
            outside.append(name)  # cut off by the photo's edge
        else:
            kept.append(Patch(region=region, box=clipped))
    return kept, outside, too_small


def extract_patches(
    pixels: np.ndarray,
    image_ref: ImageRef = None,
    *,
    bits_stored: int | None = None,
    detect_max_side: int = 512,
    name: str | None = None,
) -> PatchSet:
    """Skin patches of one photo (see module doc for the three methods).

    ``pixels``: the photo as read (RGB or grey, 8 or 16 bit). Raises FaceImageError for a
    photo under 64 px on its short side. Warnings (several faces, greyscale, fallbacks,
    patches cut off by the border) travel in ``PatchSet.warnings``, in words for the user;
    ``name`` is how messages call the photo (default: "image <ref>").
    """
    rgb, greyscale = to_rgb8(pixels, bits_stored)
    h, w = rgb.shape[:2]
    if name is None:
        name = f"image {image_ref}" if image_ref is not None else "the photo"
    if min(h, w) < MIN_SIDE_PX:
        raise FaceImageError(
            f"{name} is too small to grade ({w}x{h} px): skin patches need at least "
            f"{MIN_SIDE_PX} px on the short side"
        )
    warnings: list[str] = []
    if greyscale:
        warnings.append(
            f"{name} is greyscale: redness and pigment cannot be measured, so the grade "
            "rests on texture only and is less reliable"
        )
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = lm.detect_faces(grey, detect_max_side=detect_max_side)
    result: PatchSet | None = None
    if faces:
        face = faces[0]
        if len(faces) > 1:
            warnings.append(f"{len(faces)} faces found in {name}: graded the largest one")
        kept, outside, too_small = _keep_visible(landmark_boxes(face.landmarks), w, h)
        if outside:
            warnings.append(f"{', '.join(outside)} outside the photo: graded the other patches")
        if too_small:
            warnings.append(
                f"{', '.join(too_small)} too small in this photo (under {MIN_PATCH_SIDE_PX} px): "
                "graded the other patches"
            )
        if kept:
            result = PatchSet(
                image_ref=image_ref,
                image_size=(w, h),
                method="landmarks" if face.detector == "hog" else "cnn_landmarks",
                patches=tuple(kept),
                face_box=face.box,
                landmarks=face.landmarks,
                faces_found=len(faces),
            )
    if result is None:
        eyes = find_eyes(grey)
        kept = _keep_visible(eye_boxes(eyes, w), w, h)[0] if eyes else []
        if kept:
            warnings.append(
                f"no whole face found in {name}: patches placed from "
                f"{'both eyes' if len(eyes) == 2 else 'one eye'} (less precise)"
            )
            result = PatchSet(image_ref, (w, h), "eye_cascade", tuple(kept))
        else:
            result = _skin_or_whole(rgb, greyscale, image_ref, name, warnings)
    return replace(result, greyscale=greyscale, warnings=tuple(warnings)).with_ref(image_ref)


def _skin_or_whole(
    rgb: np.ndarray, greyscale: bool, image_ref: ImageRef, name: str, warnings: list[str]
) -> PatchSet:
    """The last two fallbacks: skin-mask squares, else the whole image (said why)."""
    from ml.severity.skin_mask import skin_patches, skin_region

    h, w = rgb.shape[:2]
    region = None if greyscale else skin_region(rgb)
    boxes = skin_patches(region) if region is not None else []
    if boxes:
        warnings.append(
            f"no face or eye found in {name}: patches placed on its largest skin-coloured "
            "region (less precise)"
        )
        patches = tuple(Patch(f"skin_{i + 1}", b) for i, b in enumerate(boxes))
        return PatchSet(image_ref, (w, h), "skin_mask", patches)
    why = (
        "and it is greyscale, so skin cannot be told by colour"
        if greyscale
        else "and nothing in it is skin-coloured: it may not be a face photo"
    )
    warnings.append(f"no face or eye found in {name}, {why}; graded the whole image")
    whole = Patch("whole_image", (0.0, 0.0, float(w), float(h)))
    return PatchSet(image_ref, (w, h), "whole_image", (whole,))


def crop_patch(rgb: np.ndarray, box: BoxT, size: int) -> np.ndarray:
    """The patch resized to ``size`` x ``size`` (uint8 RGB); INTER_AREA when shrinking."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = _clip_box(box, w, h)
    c1, r1 = int(np.floor(x1)), int(np.floor(y1))
    c2, r2 = max(int(np.ceil(x2)), c1 + 1), max(int(np.ceil(y2)), r1 + 1)
    crop = rgb[r1:r2, c1:c2]
    interp = cv2.INTER_AREA if max(crop.shape[:2]) > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)


def translated_boxes(
    box: BoxT, image_size: tuple[int, int], *, shift: float = 0.15, steps: int = 1
) -> list[BoxT]:
    """Sliding-translation augmentation: copies of ``box`` moved by up to ``shift`` x its
    size in each direction (a (2*steps+1)^2 grid, the original excluded), kept inside the
    image. Shifts that would leave the image are skipped rather than squashed, so every
    copy has the original's size.
    """
    w, h = image_size
    bw, bh = box[2] - box[0], box[3] - box[1]
    out: list[BoxT] = []
    fractions = [shift * k / steps for k in range(-steps, steps + 1)] if steps > 0 else [0.0]
    for fy in fractions:
        for fx in fractions:
            if fx == 0 and fy == 0:
                continue
            moved = (box[0] + fx * bw, box[1] + fy * bh, box[2] + fx * bw, box[3] + fy * bh)
            if (
                moved[0] >= -1e-6
                and moved[1] >= -1e-6
                and moved[2] <= w + 1e-6
                and moved[3] <= h + 1e-6
            ):
                out.append(moved)
    return out

"""Skin patches without a face: the largest skin-coloured region of the photo.

When neither dlib detector nor the eye cascade finds a face (a profile photo cut at the
nose, a close-up of a cheek), grading the whole image mixes hair, background and clothes
into the features. Instead: a skin-colour mask in YCrCb (the classic Chai & Ngan box,
Cr 133-173 and Cb 77-127, which holds for light and dark skin alike because it ignores
luma), cleaned by a morphological opening and closing; its largest connected region;
up to four square patches inside it where the mask covers at least ``MIN_COVER`` of the
square. A region under ``MIN_SKIN_SHARE`` of the photo, or one of a flat colour (no
texture at all), is "no skin": the caller then says the photo may not show a face. Greyscale photos carry no colour: no skin mask.
"""

from __future__ import annotations

import cv2
import numpy as np

BoxT = tuple[float, float, float, float]
CR_RANGE = (133, 173)
CB_RANGE = (77, 127)
MIN_SKIN_SHARE = 0.05  # of the photo's area
MIN_COVER = 0.85  # of a patch that must be skin
MIN_LUMA_SD = 1.0  # a flat colour (a painted wall, a blank frame) is not a photo of skin
MAX_PATCHES = 4
WORK_SIDE = 256  # the mask is computed on a copy this size (speed; patches are large)


def skin_region(rgb: np.ndarray) -> np.ndarray | None:
    """Boolean mask (full size) of the largest skin region, None when under the minimum."""
    h, w = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    ycrcb = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    mask = cv2.inRange(ycrcb, (0, CR_RANGE[0], CB_RANGE[0]), (255, CR_RANGE[1], CB_RANGE[1]))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[biggest, cv2.CC_STAT_AREA] < MIN_SKIN_SHARE * mask.size:
        return None
    region = (labels == biggest).astype(np.uint8)
    if float(ycrcb[..., 0][region.astype(bool)].std()) < MIN_LUMA_SD:
        return None
    return cv2.resize(region, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def skin_patches(region: np.ndarray, *, min_side: int = 32) -> list[BoxT]:
    """Up to ``MAX_PATCHES`` non-overlapping squares mostly inside ``region``, largest
    covered first: squares of a third of the region's short side on a half-step grid."""
    ys, xs = np.nonzero(region)
    if xs.size == 0:
        return []
    x1, x2, y1, y2 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    side = max(min_side, min(x2 - x1, y2 - y1) // 3)
    integral = cv2.integral(region.astype(np.uint8))
    step = max(1, side // 2)
    candidates: list[tuple[float, BoxT]] = []
    for top in range(y1, max(y1 + 1, y2 - side + 1), step):
        for left in range(x1, max(x1 + 1, x2 - side + 1), step):
            b, r = min(top + side, region.shape[0]), min(left + side, region.shape[1])
            covered = (
                integral[b, r] - integral[top, r] - integral[b, left] + integral[top, left]
            ) / float(side * side)
            if covered >= MIN_COVER:
                candidates.append((covered, (float(left), float(top), float(r), float(b))))
    candidates.sort(key=lambda c: -c[0])
    chosen: list[BoxT] = []
    for _cover, box in candidates:
        if all(_overlap(box, other) == 0.0 for other in chosen):
            chosen.append(box)
        if len(chosen) == MAX_PATCHES:
            break
    return chosen


def _overlap(a: BoxT, b: BoxT) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)

"""Box geometry shared by the whole tree: area, intersection, IoU and one-to-one matching.

Boxes are ``x1, y1, x2, y2`` in continuous image coordinates (see ARCHITECTURE.md), given
as arrays of shape (N, 4) or longer rows whose first four columns are the corners (a
detection row ``x1, y1, x2, y2, score, class`` works as is). Tile merging (NMS and the
containment rule), detection evaluation, the active-learning queue and reader agreement
all measure overlap here, so "overlaps by 0.5" means the same thing everywhere.

Conventions, the same in every function:

- A box whose corners are reversed or equal has area 0 (never negative).
- Boxes that only touch along an edge or at a corner intersect with area 0.
- IoU is 0 when the union is 0 (two zero-area boxes), never NaN.
- An IoU threshold is inclusive: a pair *at* the threshold counts, as NMS in
  ``ml.detector.merge`` has always suppressed a box whose IoU equals it.

Pure numpy; no Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.annotations.rect import rect_area as rect_area  # one box, numpy-free (#17)

if TYPE_CHECKING:  # numpy.typing costs the window's start a few ms; hints only
    from numpy.typing import ArrayLike


def as_boxes(boxes: ArrayLike) -> np.ndarray:
    """``boxes`` as a float64 (N, 4+) array: a single box becomes one row, an empty
    sequence zero rows."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, arr.shape[1] if arr.ndim == 2 and arr.shape[1] >= 4 else 4)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f"boxes must have shape (N, 4) or (N, >4), not {arr.shape}")
    return arr


def box_area(boxes: ArrayLike) -> np.ndarray:
    """Areas, shape (N,); a box with reversed or equal corners has area 0."""
    b = as_boxes(boxes)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def intersection_matrix(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Pairwise intersection areas, shape (len(a), len(b)); touching boxes give 0."""
    a, b = as_boxes(a), as_boxes(b)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def iou_from_intersection(
    inter: np.ndarray, area_a: np.ndarray | float, area_b: np.ndarray | float
) -> np.ndarray:
    """IoU from intersections and the two boxes' areas (broadcast together); 0 where the
    union is 0. For callers that need the intersections themselves too (the containment
    rule of tile merging) and should not compute them twice."""
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def iou_matrix(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Pairwise IoU, shape (len(a), len(b)), values in [0, 1]."""
    a, b = as_boxes(a), as_boxes(b)
    return iou_from_intersection(
        intersection_matrix(a, b), box_area(a)[:, None], box_area(b)[None, :]
    )


def iou(a: ArrayLike, b: ArrayLike) -> float:
    """IoU of two single boxes ``(x1, y1, x2, y2)``."""
    a, b = as_boxes(a), as_boxes(b)
    if len(a) != 1 or len(b) != 1:
        raise ValueError("iou() compares two single boxes; use iou_matrix() for arrays")
    return float(iou_matrix(a, b)[0, 0])


@dataclass(frozen=True)
class BoxMatch:
    """A one-to-one matching of predicted (or reader A's) boxes to true (reader B's) ones.

    ``pairs`` are (pred index, truth index) in the order they were matched; ``ious`` their
    IoU, same order. Every index of either side is in exactly one of ``pairs`` or its
    ``unmatched_*`` list (which is sorted).
    """

    pairs: tuple[tuple[int, int], ...]
    ious: tuple[float, ...]
    unmatched_pred: tuple[int, ...]
    unmatched_truth: tuple[int, ...]


def match_boxes(
    pred: ArrayLike,
    truth: ArrayLike,
    iou_threshold: float = 0.5,
    scores: Sequence[float] | np.ndarray | None = None,
) -> BoxMatch:
    """Greedy one-to-one matching; a pair needs IoU >= ``iou_threshold`` (inclusive).

    With ``scores`` (one per predicted box; detection evaluation, as in PASCAL VOC and
    COCO): predictions are taken best score first, and each takes the free true box it
    overlaps most. Without (reader agreement, where neither side ranks its boxes): the
    pairs are taken in descending IoU.

    Ties are settled by index, so the answer never depends on sort instability: with
    scores, equal scores go in prediction order and a prediction's equal IoUs to the lower
    truth index; without, equal IoUs go to the lower prediction index, then the lower
    truth index. ``iou_threshold`` must be in (0, 1]: at 0, boxes that do not overlap at
    all would be "matched".
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], not {iou_threshold}")
    p, t = as_boxes(pred), as_boxes(truth)
    ious = iou_matrix(p, t)
    pairs: list[tuple[int, int]] = []
    pair_ious: list[float] = []
    pred_free = np.ones(len(p), dtype=bool)
    truth_free = np.ones(len(t), dtype=bool)
    if scores is not None:
        s = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(s) != len(p):
            raise ValueError(f"{len(s)} scores for {len(p)} predicted boxes")
        for i in np.argsort(-s, kind="stable"):
            if not truth_free.any():
                break
            row = np.where(truth_free, ious[i], -1.0)
            j = int(np.argmax(row))  # argmax takes the first (lowest index) of equal maxima
            if row[j] >= iou_threshold:
                pairs.append((int(i), j))
                pair_ious.append(float(row[j]))
                pred_free[i] = False
                truth_free[j] = False
    else:
        cand_i, cand_j = np.nonzero(ious >= iou_threshold)
        # lexsort: last key first - descending IoU, then pred index, then truth index.
        for k in np.lexsort((cand_j, cand_i, -ious[cand_i, cand_j])):
            i, j = int(cand_i[k]), int(cand_j[k])
            if pred_free[i] and truth_free[j]:
                pairs.append((i, j))
                pair_ious.append(float(ious[i, j]))
                pred_free[i] = False
                truth_free[j] = False
    return BoxMatch(
        pairs=tuple(pairs),
        ious=tuple(pair_ious),
        unmatched_pred=tuple(int(i) for i in np.flatnonzero(pred_free)),
        unmatched_truth=tuple(int(j) for j in np.flatnonzero(truth_free)),
    )

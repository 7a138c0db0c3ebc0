"""Merge per-tile detections into one list for the whole image.

Detections are float arrays of shape (N, 6): ``x1, y1, x2, y2, score, class``. A tile's
detections are in that tile's pixels; the result is in scaled-image pixels (see
``tiling.TilePlan``). Pure numpy, so the logic is tested with known per-tile outputs; area,
intersection and IoU come from ``core.annotations.geometry``, shared with evaluation.

An object on a tile border reaches the model in pieces. The rules, in order:

1. A box is *cut* on a side when it touches that side of its tile (within ``border_eps``)
   and the side is inside the image, not on the image's own edge.
2. A cut piece mostly inside an uncut box of the same class from another tile is dropped:
   with enough overlap some tile saw the object whole, and that box is the one to keep,
   even when the piece scored higher.
3. Remaining cut pieces of the same class from different tiles whose cut sides face each
   other and which overlap (or touch, when tiles do not overlap) are joined into their
   union — the object larger than the overlap comes back whole. Its score is the best
   piece's.
4. Class-aware NMS removes the duplicates that overlapping tiles produce, and a box from
   one tile lying mostly inside a better box of the same class from another tile is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.annotations.geometry import box_area, intersection_matrix, iou_from_intersection
from ml.detector.tiling import Tile

LEFT, TOP, RIGHT, BOTTOM = 0, 1, 2, 3
MERGED_TILE = -1  # tile index of a box joined from several tiles


def empty() -> np.ndarray:
    return np.zeros((0, 6), dtype=np.float64)


def cut_sides(
    local: np.ndarray, tile: Tile, image_size: tuple[int, int], border_eps: float
) -> np.ndarray:
    """(N, 4) bools: is each box cut on its left, top, right, bottom by this tile's edge."""
    w, h = image_size
    cut = np.zeros((len(local), 4), dtype=bool)
    if len(local) == 0:
        return cut
    cut[:, LEFT] = (local[:, 0] <= border_eps) & (tile.x0 > 0)
    cut[:, TOP] = (local[:, 1] <= border_eps) & (tile.y0 > 0)
    cut[:, RIGHT] = (local[:, 2] >= tile.width - border_eps) & (tile.x1 < w)
    cut[:, BOTTOM] = (local[:, 3] >= tile.height - border_eps) & (tile.y1 < h)
    return cut


def merge_tile_detections(
    per_tile: Sequence[np.ndarray],
    tiles: Sequence[Tile],
    image_size: tuple[int, int],
    *,
    iou_threshold: float = 0.5,
    border_eps: float = 4.0,
    containment: float = 0.7,
    max_det: int = 300,
    max_candidates: int = 3000,
) -> np.ndarray:
    """One (M, 6) array in image pixels, best score first. See the module docstring.

    Only the ``max_candidates`` best-scoring tile boxes take part: the merge compares boxes
    pairwise, and a very low threshold on a large image could otherwise need gigabytes.
    """
    if len(per_tile) != len(tiles):
        raise ValueError("one detection array per tile is needed")
    boxes, tile_ids, cuts = [], [], []
    for i, (dets, tile) in enumerate(zip(per_tile, tiles, strict=True)):
        d = np.asarray(dets, dtype=np.float64).reshape(-1, 6)
        d = d[(d[:, 2] > d[:, 0]) & (d[:, 3] > d[:, 1])]
        if len(d) == 0:
            continue
        # Boxes a model predicts past the tile edge (into padding) belong to the tile only.
        local = d.copy()
        local[:, [0, 2]] = np.clip(local[:, [0, 2]], 0, tile.width)
        local[:, [1, 3]] = np.clip(local[:, [1, 3]], 0, tile.height)
        cuts.append(cut_sides(local, tile, image_size, border_eps))
        local[:, [0, 2]] += tile.x0
        local[:, [1, 3]] += tile.y0
        boxes.append(local)
        tile_ids.append(np.full(len(local), i))
    if not boxes:
        return empty()
    det = np.concatenate(boxes)
    tid = np.concatenate(tile_ids)
    cut = np.concatenate(cuts)
    if len(det) > max_candidates:
        best = np.argsort(-det[:, 4], kind="stable")[:max_candidates]
        det, tid, cut = det[best], tid[best], cut[best]

    out = []
    for cls in np.unique(det[:, 5]):
        sel = det[:, 5] == cls
        out.append(
            _merge_class(det[sel], tid[sel], cut[sel], iou_threshold, border_eps, containment)
        )
    merged = np.concatenate(out) if out else empty()
    merged = merged[np.argsort(-merged[:, 4], kind="stable")][:max_det]
    return merged


def _merge_class(
    det: np.ndarray,
    tid: np.ndarray,
    cut: np.ndarray,
    iou_threshold: float,
    border_eps: float,
    containment: float,
) -> np.ndarray:
    is_cut: np.ndarray = np.asarray(cut.any(axis=1), dtype=bool)
    # Rule 2: pieces that another tile saw whole.
    if is_cut.any() and (~is_cut).any():
        pieces, whole = det[is_cut], det[~is_cut]
        inside = intersection_matrix(pieces, whole) / np.maximum(box_area(pieces), 1e-9)[:, None]
        other_tile = tid[is_cut][:, None] != tid[~is_cut][None, :]
        covered = np.asarray(((inside >= containment) & other_tile).any(axis=1), dtype=bool)
        keep = np.ones(len(det), dtype=bool)
        keep[np.flatnonzero(is_cut)[covered]] = False
        det, tid, cut, is_cut = det[keep], tid[keep], cut[keep], is_cut[keep]

    # Rule 3: join facing pieces.
    joined, joined_tid = _join_pieces(det[is_cut], tid[is_cut], cut[is_cut], border_eps)
    det = np.concatenate([det[~is_cut], joined])
    tid = np.concatenate([tid[~is_cut], joined_tid])

    # Rule 4: duplicates across overlapping tiles.
    return _nms_with_containment(det, tid, iou_threshold, containment)


def _join_pieces(
    det: np.ndarray, tid: np.ndarray, cut: np.ndarray, border_eps: float
) -> tuple[np.ndarray, np.ndarray]:
    n = len(det)
    if n < 2:
        return det, tid
    links = _facing_matrix(det, cut, border_eps) & (tid[:, None] != tid[None, :])
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for i, j in zip(*np.nonzero(np.triu(links, 1)), strict=True):
        parent[find(int(i))] = find(int(j))

    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    rows, tiles = [], []
    for members in groups.values():
        g = det[members]
        rows.append(
            [g[:, 0].min(), g[:, 1].min(), g[:, 2].max(), g[:, 3].max(), g[:, 4].max(), g[0, 5]]
        )
        tiles.append(tid[members[0]] if len(members) == 1 else MERGED_TILE)
    return np.asarray(rows, dtype=np.float64), np.asarray(tiles)


def _facing_matrix(det: np.ndarray, cut: np.ndarray, eps: float) -> np.ndarray:
    """(N, N) bools: pieces i and j continue each other across a tile border.

    They must overlap or touch in both axes (pieces meet inside the tiles' overlap), and i
    must be cut on the side facing j while j is cut on the side facing i.
    """
    x1, y1, x2, y2 = (det[:, k] for k in range(4))
    meet_x = np.minimum(x2[:, None], x2[None, :]) - np.maximum(x1[:, None], x1[None, :]) >= -eps
    meet_y = np.minimum(y2[:, None], y2[None, :]) - np.maximum(y1[:, None], y1[None, :]) >= -eps
    left_of = x1[:, None] < x1[None, :]
    above = y1[:, None] < y1[None, :]
    right_left = cut[:, None, RIGHT] & cut[None, :, LEFT] & left_of
    bottom_top = cut[:, None, BOTTOM] & cut[None, :, TOP] & above
    horizontal = right_left | right_left.T
    vertical = bottom_top | bottom_top.T
    return meet_x & meet_y & (horizontal | vertical)


def _nms_with_containment(
    det: np.ndarray, tid: np.ndarray, iou_threshold: float, containment: float
) -> np.ndarray:
    """Greedy NMS, best score first, one row of overlaps at a time.

    Row by row against the boxes still standing, rather than full N x N matrices: the same
    result, with memory linear in N (3,000 candidates needed ~360 MB as matrices).
    """
    if len(det) <= 1:
        return det
    order = np.argsort(-det[:, 4], kind="stable")
    det, tid = det[order], tid[order]
    area = box_area(det)
    alive = np.ones(len(det), dtype=bool)
    keep = []
    for i in range(len(det)):
        if not alive[i]:
            continue
        keep.append(i)
        later = np.flatnonzero(alive[i + 1 :]) + i + 1
        if not len(later):
            break
        inter = intersection_matrix(det[i : i + 1], det[later])[0]
        # Inclusive, as everywhere in core.annotations.geometry: IoU == threshold is a duplicate.
        dup = iou_from_intersection(inter, area[i], area[later]) >= iou_threshold
        # A box from another tile (or a joined box) lying inside the kept one is the same object.
        other = (tid[later] != tid[i]) | (tid[later] == MERGED_TILE) | (tid[i] == MERGED_TILE)
        dup |= other & (inter / np.maximum(area[later], 1e-9) >= containment)
        alive[later[dup]] = False
    return det[keep]

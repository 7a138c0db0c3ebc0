"""core.annotations.geometry: box area, IoU and one-to-one matching, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from core.annotations import Box
from core.annotations.geometry import (
    as_boxes,
    box_area,
    intersection_matrix,
    iou,
    iou_matrix,
    match_boxes,
    rect_area,
)

# --- area -----------------------------------------------------------------------------------


def test_area_is_width_times_height_and_never_negative() -> None:
    boxes = [
        [0, 0, 2, 3],  # 6
        [2, 3, 0, 0],  # reversed corners: 0, not +6
        [1, 1, 1, 5],  # zero width
        [0, 0, 4, 0.5],  # 2
    ]
    assert box_area(boxes).tolist() == [6.0, 0.0, 0.0, 2.0]
    assert rect_area(0, 0, 2, 3) == 6.0
    assert rect_area(2, 3, 0, 0) == 0.0
    assert Box(1, 1, 4, 3, "x").area == 6.0
    assert Box(4, 3, 1, 1, "x").area == 0.0


def test_empty_input_is_zero_boxes_and_detection_rows_are_accepted() -> None:
    assert box_area([]).shape == (0,)
    assert iou_matrix([], [[0, 0, 1, 1]]).shape == (0, 1)
    assert iou_matrix(np.zeros((0, 6)), np.zeros((0, 4))).shape == (0, 0)
    dets = np.array([[0, 0, 2, 2, 0.9, 3.0]])  # x1, y1, x2, y2, score, class
    assert box_area(dets).tolist() == [4.0]
    assert as_boxes([0, 0, 1, 1]).shape == (1, 4)
    with pytest.raises(ValueError, match="shape"):
        as_boxes([[0, 0, 1]])


# --- IoU ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),  # identical
        ([0, 0, 2, 2], [1, 0, 3, 2], 2 / 6),  # half of each: 2 / (4 + 4 - 2)
        ([0, 0, 4, 4], [1, 1, 3, 3], 4 / 16),  # one inside the other
        ([0, 0, 2, 1], [0, 0, 1, 1], 0.5),  # exactly 0.5 in floating point
        ([0, 0, 1, 1], [1, 0, 2, 1], 0.0),  # touching along an edge
        ([0, 0, 1, 1], [1, 1, 2, 2], 0.0),  # touching at a corner
        ([0, 0, 1, 1], [5, 5, 6, 6], 0.0),  # apart
        ([1, 1, 1, 1], [1, 1, 1, 1], 0.0),  # two identical points: union 0, not NaN
        ([1, 1, 1, 3], [0, 0, 4, 4], 0.0),  # a zero-width box inside another
        ([0.5, 0.5, 1.5, 1.5], [1, 1, 2, 2], 0.25 / 1.75),  # fractional coordinates
    ],
)
def test_iou_of_two_boxes(a: list[float], b: list[float], expected: float) -> None:
    assert iou(a, b) == pytest.approx(expected, abs=1e-12)
    assert iou(b, a) == pytest.approx(expected, abs=1e-12)  # symmetric


def test_iou_refuses_arrays_of_boxes() -> None:
    with pytest.raises(ValueError, match="single boxes"):
        iou([[0, 0, 1, 1], [0, 0, 2, 2]], [0, 0, 1, 1])


def test_iou_matrix_is_pairwise() -> None:
    a = [[0, 0, 2, 2], [10, 10, 12, 12]]
    b = [[0, 0, 2, 2], [1, 0, 3, 2], [11, 10, 12, 12]]
    inter = intersection_matrix(a, b)
    assert inter.tolist() == [[4.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
    m = iou_matrix(a, b)
    assert m.shape == (2, 3)
    np.testing.assert_allclose(m, [[1.0, 1 / 3, 0.0], [0.0, 0.0, 0.5]])
    assert np.all(np.isfinite(iou_matrix([[1, 1, 1, 1]], [[1, 1, 1, 1]])))


# --- matching -------------------------------------------------------------------------------


def test_a_pair_exactly_at_the_threshold_matches() -> None:
    pred, truth = [[0, 0, 2, 1]], [[0, 0, 1, 1]]  # IoU exactly 0.5
    at = match_boxes(pred, truth, 0.5)
    assert at.pairs == ((0, 0),) and at.ious == (0.5,)
    above = match_boxes(pred, truth, np.nextafter(0.5, 1.0))
    assert above.pairs == () and above.unmatched_pred == (0,) and above.unmatched_truth == (0,)


def test_the_threshold_is_inclusive_in_tile_merging_too() -> None:
    """The same rule as NMS in ml.detector.merge: a box at IoU == threshold is a duplicate."""
    from ml.detector.merge import merge_tile_detections
    from ml.detector.tiling import Tile

    dets = np.array([[0, 0, 20, 10, 0.9, 0], [0, 0, 10, 10, 0.8, 0]], dtype=np.float64)
    assert iou(dets[0, :4], dets[1, :4]) == 0.5
    merged = merge_tile_detections([dets], [Tile(0, 0, 100, 100)], (100, 100), iou_threshold=0.5)
    assert merged.tolist() == [dets[0].tolist()]
    above = np.nextafter(0.5, 1.0)
    kept = merge_tile_detections([dets], [Tile(0, 0, 100, 100)], (100, 100), iou_threshold=above)
    assert len(kept) == 2


def test_boxes_that_only_touch_never_match() -> None:
    m = match_boxes([[0, 0, 1, 1]], [[1, 0, 2, 1]], 1e-9)
    assert m.pairs == () and m.unmatched_pred == (0,) and m.unmatched_truth == (0,)


def test_zero_area_boxes_never_match_even_themselves() -> None:
    m = match_boxes([[1, 1, 1, 1]], [[1, 1, 1, 1]], 1e-9)
    assert m.pairs == ()


def test_identical_boxes_match_at_threshold_one() -> None:
    m = match_boxes([[0, 0, 3, 3], [5, 5, 6, 6]], [[5, 5, 6, 6], [0, 0, 3, 3]], 1.0)
    assert sorted(m.pairs) == [(0, 1), (1, 0)] and m.ious == (1.0, 1.0)


def test_without_scores_pairs_go_by_descending_iou() -> None:
    # pred0 overlaps truth0 at 0.8 and truth1 at 0.9; pred1 is truth1 exactly (1.0) and
    # overlaps truth0 at 80/90. Best pair first: (1, 1), then pred0 is left truth0.
    pred = [[0, 0, 10, 10], [0, 0, 10, 9]]
    truth = [[0, 0, 10, 8], [0, 0, 10, 9]]
    m = match_boxes(pred, truth, 0.5)
    assert m.pairs == ((1, 1), (0, 0))
    assert m.ious == pytest.approx((1.0, 0.8))
    assert m.unmatched_pred == () and m.unmatched_truth == ()


def test_with_scores_the_best_scored_prediction_chooses_first() -> None:
    # Same boxes, pred0 scored higher: it takes its best truth (truth1, 0.9), and pred1 is
    # left truth0 (80/90), as PASCAL VOC and COCO evaluation match.
    pred = [[0, 0, 10, 10], [0, 0, 10, 9]]
    truth = [[0, 0, 10, 8], [0, 0, 10, 9]]
    m = match_boxes(pred, truth, 0.5, scores=[0.9, 0.3])
    assert m.pairs == ((0, 1), (1, 0))
    assert m.ious == pytest.approx((0.9, 80 / 90))


def test_with_scores_a_better_score_beats_a_better_overlap() -> None:
    truth = [[0, 0, 10, 10]]
    pred = [[0, 0, 10, 10], [0, 0, 10, 6]]  # IoU 1.0 (score 0.5) and 0.6 (score 0.9)
    m = match_boxes(pred, truth, 0.5, scores=[0.5, 0.9])
    assert m.pairs == ((1, 0),) and m.unmatched_pred == (0,)


@pytest.mark.parametrize("scores", [None, [0.7, 0.7]])
def test_equal_ties_go_to_the_lower_prediction_index(scores: list[float] | None) -> None:
    truth = [[0, 0, 2, 2]]
    pred = [[0, 0, 2, 1], [0, 1, 2, 2]]  # both IoU 0.5 with the truth
    m = match_boxes(pred, truth, 0.5, scores=scores)
    assert m.pairs == ((0, 0),) and m.unmatched_pred == (1,) and m.unmatched_truth == ()


@pytest.mark.parametrize("scores", [None, [0.7]])
def test_equal_overlaps_go_to_the_lower_truth_index(scores: list[float] | None) -> None:
    pred = [[0, 0, 2, 2]]
    truth = [[0, 0, 2, 1], [0, 1, 2, 2]]  # both IoU 0.5 with the prediction
    m = match_boxes(pred, truth, 0.5, scores=scores)
    assert m.pairs == ((0, 0),) and m.unmatched_truth == (1,)


def test_matching_empty_sides() -> None:
    m = match_boxes([], [[0, 0, 1, 1], [2, 2, 3, 3]], 0.5)
    assert m.pairs == () and m.unmatched_pred == () and m.unmatched_truth == (0, 1)
    m = match_boxes([[0, 0, 1, 1]], [], 0.5, scores=[0.4])
    assert m.pairs == () and m.unmatched_pred == (0,) and m.unmatched_truth == ()


@pytest.mark.parametrize("scores", [False, True])
def test_every_box_is_matched_once_or_reported_unmatched(scores: bool) -> None:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 50, size=(40, 2))
    wh = rng.uniform(1, 20, size=(40, 2))
    boxes = np.hstack([xy, xy + wh])
    pred, truth = boxes[:25], boxes[25:] + rng.uniform(-2, 2, size=(15, 4))
    m = match_boxes(pred, truth, 0.3, scores=rng.uniform(size=25) if scores else None)
    matched_p = [i for i, _ in m.pairs]
    matched_t = [j for _, j in m.pairs]
    assert sorted(matched_p + list(m.unmatched_pred)) == list(range(25))
    assert sorted(matched_t + list(m.unmatched_truth)) == list(range(15))
    full = iou_matrix(pred, truth)
    assert all(full[i, j] >= 0.3 for i, j in m.pairs)
    assert m.ious == pytest.approx(tuple(full[i, j] for i, j in m.pairs))


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_a_threshold_outside_zero_to_one_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="iou_threshold"):
        match_boxes([[0, 0, 1, 1]], [[0, 0, 1, 1]], threshold)


def test_one_score_per_prediction_is_required() -> None:
    with pytest.raises(ValueError, match="scores"):
        match_boxes([[0, 0, 1, 1]], [[0, 0, 1, 1]], 0.5, scores=[0.1, 0.2])

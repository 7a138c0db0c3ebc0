"""Tiling and cross-tile merging, with known per-tile outputs (pure functions, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ClinLensError
from ml.detector.merge import merge_tile_detections
from ml.detector.tiling import (
    PAD_VALUE,
    Tile,
    TilingSpec,
    axis_starts,
    cut_tiles,
    plan_tiles,
    to_rgb8,
)
from tests.ml.conftest import make_blob_detector

# --- tiling -------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [700, 1000, 1216, 1500, 4096])
@pytest.mark.parametrize(("tile", "overlap"), [(512, 128), (512, 0), (256, 64)])
def test_tiles_cover_the_axis_with_at_least_the_requested_overlap(
    length: int, tile: int, overlap: int
) -> None:
    starts = axis_starts(length, tile, overlap)
    assert starts[0] == 0
    assert starts[-1] + tile == length  # last tile flush with the edge, every tile full size
    gaps = np.diff(starts)
    assert np.all(tile - gaps >= overlap)  # neighbours share at least `overlap` pixels
    assert np.all(gaps > 0)


def test_small_image_is_one_tile_fed_at_its_own_resolution() -> None:
    plan = plan_tiles(400, 300, TilingSpec(tile=512))
    assert plan.tiles == (Tile(0, 0, 400, 300),)
    assert plan.scale == 1.0
    assert plan.input_shape == (320, 416)  # padded to the stride, never upscaled


def test_default_tiling_of_a_1500x1216_xray_uses_native_pixels() -> None:
    plan = plan_tiles(1500, 1216, TilingSpec())
    assert len(plan.tiles) == 12  # 4 x 3 tiles of 512 with >= 128 px overlap
    assert plan.input_shape == (512, 512)
    covered = np.zeros((1216, 1500), dtype=bool)
    for t in plan.tiles:
        covered[t.y0 : t.y1, t.x0 : t.x1] = True
    assert covered.all()


def test_scaled_tiling_gives_the_2x2_layout_of_the_benchmark() -> None:
    plan = plan_tiles(1500, 1216, TilingSpec(tile=512, overlap=96, scale=0.6))
    assert plan.image_size == (900, 730)
    assert [(t.x0, t.y0) for t in plan.tiles] == [(0, 0), (388, 0), (0, 218), (388, 218)]


def test_whole_mode_resizes_the_long_side_to_the_model_size() -> None:
    plan = plan_tiles(1500, 1216, TilingSpec(tile=512, mode="whole"))
    assert len(plan.tiles) == 1
    assert plan.image_size == (512, 415)
    assert plan.scale == pytest.approx(512 / 1500)


@pytest.mark.parametrize(
    "bad", [{"tile": 500}, {"tile": 512, "overlap": 512}, {"mode": "mosaic"}, {"scale": 0.0}]
)
def test_invalid_tiling_settings_are_refused_with_a_message(bad: dict) -> None:
    with pytest.raises(ClinLensError):
        TilingSpec(**bad)


def test_tiling_round_trips_through_its_registry_dict() -> None:
    spec = TilingSpec(tile=256, overlap=40, scale=0.5, mode="tiles")
    assert TilingSpec.from_dict(spec.to_dict()) == spec
    assert TilingSpec.from_dict(None) == TilingSpec()
    assert TilingSpec(tile=256).overlap == 64  # default overlap is a quarter tile


def test_cut_tiles_copies_pixels_and_pads_right_and_bottom() -> None:
    img = np.arange(100 * 90, dtype=np.uint32).reshape(90, 100) % 251
    rgb = to_rgb8(img.astype(np.uint8))
    plan = plan_tiles(100, 90, TilingSpec(tile=64, overlap=16))
    batch = cut_tiles(rgb, plan)
    assert batch.shape == (len(plan.tiles), 64, 64, 3)
    for i, t in enumerate(plan.tiles):
        np.testing.assert_array_equal(
            batch[i, : t.height, : t.width], rgb[t.y0 : t.y1, t.x0 : t.x1]
        )
    one = plan_tiles(50, 40, TilingSpec(tile=64))
    padded = cut_tiles(rgb[:40, :50], one)
    assert padded.shape == (1, 64, 64, 3)
    assert (padded[0, 40:, :, :] == PAD_VALUE).all() and (padded[0, :, 50:, :] == PAD_VALUE).all()


def test_grey_render_becomes_three_equal_channels() -> None:
    grey = np.random.default_rng(0).integers(0, 255, (5, 7), dtype=np.uint8)
    rgb = to_rgb8(grey)
    assert rgb.shape == (5, 7, 3)
    assert all(np.array_equal(rgb[:, :, c], grey) for c in range(3))
    with pytest.raises(ClinLensError):
        to_rgb8(grey.astype(np.uint16))


# --- merging ------------------------------------------------------------------------------

# Two tiles side by side on a 200 x 100 image, overlapping on x in [80, 120).
LEFT_T, RIGHT_T = Tile(0, 0, 120, 100), Tile(80, 0, 200, 100)
SIZE = (200, 100)


def _d(*rows: tuple[float, ...]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)


def test_object_in_the_overlap_seen_by_both_tiles_comes_back_once() -> None:
    # object at image x 90..110: left tile local 90..110, right tile local 10..30
    out = merge_tile_detections(
        [_d((90, 40, 110, 60, 0.8, 0)), _d((10.5, 40, 30.5, 60, 0.7, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 1
    np.testing.assert_allclose(out[0, :4], [90, 40, 110, 60])
    assert out[0, 4] == pytest.approx(0.8)


def test_piece_cut_by_a_border_loses_to_the_whole_box_from_the_other_tile() -> None:
    # object at image x 100..140: the left tile ends at 120 and sees only 100..120 (cut),
    # with a *higher* score; the right tile sees it whole (local 20..60).
    out = merge_tile_detections(
        [_d((100, 30, 120, 50, 0.95, 0)), _d((20, 30, 60, 50, 0.6, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 1
    np.testing.assert_allclose(out[0, :4], [100, 30, 140, 50])


def test_object_larger_than_the_overlap_is_joined_from_its_pieces() -> None:
    # object at image x 60..160: left sees 60..120 (cut right), right sees 80..160 (cut left)
    out = merge_tile_detections(
        [_d((60, 20, 120, 70, 0.7, 0)), _d((0, 22, 80, 69, 0.9, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 1
    np.testing.assert_allclose(out[0, :4], [60, 20, 160, 70])
    assert out[0, 4] == pytest.approx(0.9)


def test_pieces_meeting_at_a_border_without_overlap_are_joined() -> None:
    a, b = Tile(0, 0, 100, 100), Tile(100, 0, 200, 100)
    out = merge_tile_detections(
        [_d((70, 10, 100, 30, 0.8, 0)), _d((0, 11, 25, 31, 0.8, 0))], [a, b], SIZE
    )
    assert len(out) == 1
    np.testing.assert_allclose(out[0, :4], [70, 10, 125, 31])


def test_object_on_a_four_tile_corner_comes_back_whole_once() -> None:
    tiles = [Tile(0, 0, 60, 60), Tile(40, 0, 100, 60), Tile(0, 40, 60, 100), Tile(40, 40, 100, 100)]
    # object at image 20..80 x 25..75: every tile sees a piece touching its inner borders
    per_tile = [
        _d((20, 25, 60, 60, 0.6, 0)),  # cut right + bottom
        _d((0, 25, 40, 60, 0.7, 0)),  # cut left + bottom
        _d((20, 0, 60, 35, 0.5, 0)),  # cut right + top
        _d((0, 0, 40, 35, 0.8, 0)),  # cut left + top
    ]
    out = merge_tile_detections(per_tile, tiles, (100, 100))
    assert len(out) == 1
    np.testing.assert_allclose(out[0, :5], [20, 25, 80, 75, 0.8])


def test_merging_is_class_aware() -> None:
    out = merge_tile_detections(
        [_d((90, 40, 110, 60, 0.8, 0), (90, 40, 110, 60, 0.6, 1)), _d((10, 40, 30, 60, 0.7, 1))],
        [LEFT_T, RIGHT_T],
        SIZE,
    )
    assert sorted(out[:, 5].tolist()) == [0.0, 1.0]


def test_pieces_of_different_classes_are_not_joined() -> None:
    out = merge_tile_detections(
        [_d((60, 20, 120, 70, 0.7, 0)), _d((0, 22, 80, 69, 0.9, 1))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 2


def test_boxes_on_the_image_edge_are_not_treated_as_cut() -> None:
    # Two separate objects touching the image's outer edges, one per tile: both kept as is.
    out = merge_tile_detections(
        [_d((0, 0, 20, 20, 0.9, 0)), _d((100, 80, 120, 100, 0.9, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 2
    np.testing.assert_allclose(sorted(out[:, 0].tolist()), [0, 180])


def test_cut_pieces_at_different_heights_are_not_joined() -> None:
    # Facing cut sides, but one piece is at y 10..30 and the other at y 60..90.
    out = merge_tile_detections(
        [_d((60, 10, 120, 30, 0.8, 0)), _d((0, 60, 60, 90, 0.8, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 2


def test_cut_pieces_cut_on_the_same_side_are_not_joined() -> None:
    # Two pieces overlapping inside the overlap, both cut on their right edge only (the
    # right-hand one by the middle tile's right border): they do not continue each other.
    a, b, c = Tile(0, 0, 100, 100), Tile(60, 0, 160, 100), Tile(140, 0, 240, 100)
    out = merge_tile_detections(
        [_d((70, 10, 100, 40, 0.8, 0)), _d((10, 30, 100, 45, 0.7, 0)), _d()],
        [a, b, c],
        (240, 100),
    )
    assert len(out) == 2


def test_separate_objects_of_one_class_in_different_tiles_are_kept() -> None:
    out = merge_tile_detections(
        [_d((10, 10, 30, 30, 0.9, 0)), _d((80, 60, 100, 80, 0.9, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 2


def test_empty_tiles_give_no_detections_and_max_det_caps_the_result() -> None:
    assert merge_tile_detections([_d(), _d()], [LEFT_T, RIGHT_T], SIZE).shape == (0, 6)
    many = _d(*[(i * 5, 0, i * 5 + 4, 4, 0.5 + i / 100, 0) for i in range(20)])
    out = merge_tile_detections([many], [Tile(0, 0, 120, 100)], (120, 100), max_det=5)
    assert len(out) == 5
    assert np.all(np.diff(out[:, 4]) <= 0)  # best first


# --- the real tiling -> model -> merge path, with a model whose outputs are known ---------


def test_detector_returns_a_border_straddling_object_whole_and_once() -> None:
    det = make_blob_detector(tile=128, overlap=32)
    img = np.zeros((200, 300), dtype=np.uint8)
    img[40:60, 85:115] = 255  # crosses the first tile border at x = 128 - overlap region
    img[120:180, 60:260] = 255  # wider than the overlap: no tile sees it whole
    img[150:160, 10:20] = 255  # small, inside one tile
    pred = det.predict_rgb8(img)
    boxes = sorted((d.x1, d.y1, d.x2, d.y2) for d in pred.detections)
    assert boxes == [(10, 150, 20, 160), (60, 120, 260, 180), (85, 40, 115, 60)]
    assert pred.tiles > 1
    assert det.calls == [pred.tiles]  # all tiles in one model call
    assert all(d.label == "key" for d in pred.detections)


def test_detector_maps_tile_boxes_back_through_the_tiling_scale() -> None:
    from ml.detector.tiling import TilingSpec

    det = make_blob_detector(tile=128, overlap=32)
    det.tiling = TilingSpec(tile=128, overlap=32, scale=0.5)
    img = np.zeros((400, 600), dtype=np.uint8)
    img[100:140, 300:380] = 255
    pred = det.predict_rgb8(img)
    assert len(pred.detections) == 1
    d = pred.detections[0]
    assert (d.x1, d.y1, d.x2, d.y2) == pytest.approx((300, 100, 380, 140), abs=2)


def test_a_flood_of_low_score_boxes_is_capped_before_the_pairwise_merge() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (5000, 2))
    boxes = np.column_stack([xy, xy + 10, rng.uniform(0, 1, 5000), np.zeros(5000)])
    out = merge_tile_detections([boxes], [Tile(0, 0, 120, 120)], (120, 120), max_candidates=500)
    assert 0 < len(out) <= 300
    assert out[0, 4] == pytest.approx(boxes[:, 4].max())


@pytest.mark.parametrize(
    "spec",
    [TilingSpec(tile=512, mode="whole"), TilingSpec(tile=512, overlap=96, scale=0.6)],
)
def test_boxes_map_back_with_each_axis_own_rounded_scale(spec: TilingSpec) -> None:
    # 1217 * 512 / 1500 = 415.4 and 1217 * 0.6 = 730.2 round down: one factor for both
    # axes put the image's bottom edge 1-2 px short of 1217.
    plan = plan_tiles(1500, 1217, spec)
    sw, sh = plan.image_size
    corners = plan.to_original(np.array([[0.0, 0.0, sw, sh]]))
    np.testing.assert_allclose(corners, [[0, 0, 1500, 1217]], atol=1e-9)


def test_an_object_on_the_bottom_edge_keeps_the_edge_in_whole_mode() -> None:
    det = make_blob_detector()
    det.tiling = TilingSpec(tile=512, mode="whole")
    img = np.zeros((1217, 1500), dtype=np.uint8)
    img[1100:1217, 300:600] = 255
    (d,) = det.predict_rgb8(img).detections
    # Inner edges move by up to ~3 px (area resampling blurs them at this scale); the
    # image's own edge maps back exactly.
    assert (d.x1, d.y1, d.x2, d.y2) == pytest.approx((300, 1100, 600, 1217), abs=3.5)
    assert d.y2 == pytest.approx(1217, abs=1e-6)


def test_merging_thousands_of_candidates_needs_little_memory() -> None:
    # A very low threshold on a big image: 3,000 boxes of one class reach the merge.
    import tracemalloc

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 500, (3000, 2))
    boxes = np.column_stack(
        [xy, xy + rng.uniform(5, 40, (3000, 2)), rng.uniform(0, 1, 3000), np.zeros(3000)]
    )
    tracemalloc.start()
    try:
        out = merge_tile_detections([boxes], [Tile(0, 0, 600, 600)], (600, 600))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(out) == 300 and out[0, 4] == pytest.approx(boxes[:, 4].max())
    assert peak < 50e6  # N x N overlap matrices took ~360 MB


# --- rule 4: NMS threshold and the containment duplicate ----------------------------------

# One tile covering the whole image: nothing is cut, so only rule 4 (NMS) applies.
WHOLE_T = Tile(0, 0, 500, 100)


@pytest.mark.parametrize(
    ("second_x1", "threshold", "kept"),
    [
        # a = x 0..300, b = x second_x1..second_x1+300, both y 40..50 (areas 3000)
        (100, 0.5, 1),  # intersection 2000 / union 4000: IoU exactly 0.5 -> a duplicate
        (99, 0.5, 1),  # 2010 / 3990 = 0.504: just above
        (101, 0.5, 2),  # 1990 / 4010 = 0.496: just below, two objects
        (180, 0.25, 1),  # 1200 / 4800: exactly a non-default threshold
        (181, 0.25, 2),  # 1190 / 4810 = 0.247
    ],
)
def test_nms_threshold_is_inclusive_iou_equal_to_it_is_a_duplicate(
    second_x1: float, threshold: float, kept: int
) -> None:
    a = (0, 40, 300, 50, 0.9, 0)
    b = (second_x1, 40, second_x1 + 300, 50, 0.8, 0)
    out = merge_tile_detections([_d(a, b)], [WHOLE_T], (500, 100), iou_threshold=threshold)
    assert len(out) == kept
    np.testing.assert_allclose(out[0], a)  # the better box is the one kept


def test_default_merge_threshold_is_0_5_inclusive() -> None:
    # What Detector passes (merge_iou=0.5) and the function's default agree at the edge.
    a, b = (0, 40, 300, 50, 0.9, 0), (100, 40, 400, 50, 0.8, 0)  # IoU exactly 0.5
    assert len(merge_tile_detections([_d(a, b)], [WHOLE_T], (500, 100))) == 1


# A box the left tile sees whole (x 82..115 stays clear of its border at 120), and a small
# box the right tile sees inside it (local x 10..25, clear of its border at 80): IoU 0.15,
# far below the NMS threshold, but the small box lies wholly inside the larger one.
BIG = (82, 20, 115, 80)  # image = left-tile pixels; area 33 x 60 = 1980
SMALL_IN_RIGHT_TILE = (10, 30, 25, 50)  # image x 90..105: area 300, all of it inside BIG


def test_small_box_from_another_tile_inside_a_better_box_is_a_duplicate() -> None:
    out = merge_tile_detections(
        [_d((*BIG, 0.9, 0)), _d((*SMALL_IN_RIGHT_TILE, 0.6, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 1
    np.testing.assert_allclose(out[0], [*BIG, 0.9, 0])


def test_small_box_inside_a_larger_one_from_the_same_tile_is_kept() -> None:
    # One tile reporting a box inside another saw two objects (a nested finding): only a
    # box from *another* tile counts as the same object seen twice.
    out = merge_tile_detections(
        [_d((*BIG, 0.9, 0), (90, 30, 105, 50, 0.6, 0)), _d()], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 2


def test_containment_needs_the_better_box_to_be_the_container() -> None:
    # The small box scores higher: it is kept first, and the big one is not inside it.
    out = merge_tile_detections(
        [_d((*BIG, 0.6, 0)), _d((*SMALL_IN_RIGHT_TILE, 0.9, 0))], [LEFT_T, RIGHT_T], SIZE
    )
    assert len(out) == 2


def test_containment_is_class_aware() -> None:
    out = merge_tile_detections(
        [_d((*BIG, 0.9, 0)), _d((*SMALL_IN_RIGHT_TILE, 0.6, 1))], [LEFT_T, RIGHT_T], SIZE
    )
    assert sorted(out[:, 5].tolist()) == [0.0, 1.0]


@pytest.mark.parametrize(
    ("small_x1", "kept"),
    [
        (108, 1),  # image x 108..118, y 30..40: 7 of its 10 columns inside BIG -> 0.7
        (109, 2),  # 6 of 10 -> 0.6, below the 0.7 containment default
    ],
)
def test_containment_threshold_is_inclusive_at_0_7(small_x1: float, kept: int) -> None:
    local = (small_x1 - RIGHT_T.x0, 30, small_x1 + 10 - RIGHT_T.x0, 40, 0.6, 0)
    out = merge_tile_detections([_d((*BIG, 0.9, 0)), _d(local)], [LEFT_T, RIGHT_T], SIZE)
    assert len(out) == kept

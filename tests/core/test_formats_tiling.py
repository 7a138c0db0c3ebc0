"""Random positive tiles and the fixed grid."""

from __future__ import annotations

import random

from core.formats.tiling import TileBox, clip_to_tile, grid_tiles, random_positive_tiles


def test_positive_tiles_each_hold_a_box_and_stay_inside() -> None:
    boxes = [TileBox(100.0, 100.0, 140.0, 150.0, "a"), TileBox(700.0, 20.0, 760.0, 40.0, "b")]
    tiles = random_positive_tiles(800, 600, boxes, 6, 256, random.Random(1))
    assert len(tiles) == 6
    assert len({(t.x0, t.y0) for t in tiles}) == 6
    for t in tiles:
        assert t.boxes
        assert 0 <= t.x0 <= 800 - 256 and 0 <= t.y0 <= 600 - 256
        for b in t.boxes:
            assert 0 <= b.x1 < b.x2 <= t.width and 0 <= b.y1 < b.y2 <= t.height


def test_positive_tiles_are_deterministic_for_a_seed() -> None:
    boxes = [TileBox(10.0, 10.0, 20.0, 20.0, 0)]
    a = random_positive_tiles(300, 300, boxes, 3, 64, random.Random("s"))
    b = random_positive_tiles(300, 300, boxes, 3, 64, random.Random("s"))
    assert a == b


def test_no_boxes_no_positive_tiles_and_small_image_is_one_tile() -> None:
    assert random_positive_tiles(100, 100, [], 5, 64, random.Random(0)) == []
    tiles = random_positive_tiles(50, 40, [TileBox(1.0, 1.0, 5.0, 5.0, 0)], 5, 64, random.Random(0))
    assert [(t.x0, t.y0, t.width, t.height) for t in tiles] == [(0, 0, 50, 40)]


def test_clipping_drops_boxes_below_the_fraction() -> None:
    boxes = [TileBox(90.0, 0.0, 110.0, 10.0, "half"), TileBox(95.0, 0.0, 115.0, 10.0, "quarter")]
    kept = clip_to_tile(boxes, 0, 0, 100, 100, min_fraction=0.3)
    assert [(b.payload, b.x1, b.x2) for b in kept] == [("half", 90.0, 100.0)]


def test_big_box_seed_is_kept_even_when_mostly_outside() -> None:
    big = TileBox(0.0, 0.0, 500.0, 500.0, "big")
    tiles = random_positive_tiles(600, 600, [big], 2, 100, random.Random(0))
    assert all(t.boxes and t.boxes[0].payload == "big" for t in tiles)


def test_grid_covers_the_image_with_overlap() -> None:
    tiles = grid_tiles(250, 100, [TileBox(200.0, 10.0, 240.0, 50.0, 0)], 100, overlap=0.2)
    assert [t.x0 for t in tiles] == [0, 80, 150]
    assert all(t.y0 == 0 and t.height == 100 for t in tiles)
    assert [len(t.boxes) for t in tiles] == [0, 0, 1]
    assert tiles[2].boxes[0].x1 == 50.0
    assert (
        len(grid_tiles(250, 100, [TileBox(200.0, 10.0, 240.0, 50.0, 0)], 100, keep_empty=False))
        == 1
    )

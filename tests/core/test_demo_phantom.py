"""Synthetic X-ray phantoms: pixel range, determinism, and ground truth that fits the image."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from core.annotations import builtin_label_set
from core.demo import VIEWS, anomaly_labels, generate_phantom, make_phantom

SMALL = (400, 320)


def test_phantom_is_uint16_with_a_realistic_radiograph_range() -> None:
    ph = generate_phantom(1, 480, 400, view="chest", bits_stored=14)
    px = ph.pixels
    assert px.dtype == np.uint16 and px.shape == (400, 480)
    assert int(px.max()) < 2**14
    # Air outside the body is dark, the body spans thousands of grey levels.
    assert int(np.percentile(px, 1)) < 0.1 * 2**14
    assert int(np.percentile(px, 99)) - int(np.percentile(px, 1)) > 2**11
    # Detector noise: flat regions are not perfectly flat.
    corner = px[:20, :20].astype(np.float64)
    assert corner.std() > 0.5
    lo, hi = ph.window_center - ph.window_width / 2, ph.window_center + ph.window_width / 2
    assert 0 <= lo < hi <= 2**14
    assert ph.pixel_spacing[0] > 0


@pytest.mark.parametrize("bits", [12, 13, 16])
def test_values_stay_below_two_to_the_bits_stored(bits: int) -> None:
    px, _ = make_phantom(2, *SMALL, ["watch", "key"], view="full", bits_stored=bits)
    assert int(px.max()) < 2**bits
    assert int(px.max()) > 2 ** (bits - 3)  # the range is used, not a sliver of it


def test_same_seed_gives_the_same_image_and_boxes() -> None:
    a = make_phantom(7, *SMALL)
    b = make_phantom(7, *SMALL)
    assert np.array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_different_seeds_give_different_images() -> None:
    a, _ = make_phantom(7, *SMALL, view="full")
    b, _ = make_phantom(8, *SMALL, view="full")
    assert not np.array_equal(a, b)


def test_asking_for_other_anomalies_keeps_the_same_body() -> None:
    """Independent random streams: the anomalies change, the patient does not."""
    a, _ = make_phantom(3, *SMALL, [], view="abdomen")
    b, boxes = make_phantom(3, *SMALL, ["key"], view="abdomen")
    outside = np.ones(a.shape, bool)
    for box in boxes:
        outside[
            int(box.y1) - 3 : int(np.ceil(box.y2)) + 3, int(box.x1) - 3 : int(np.ceil(box.x2)) + 3
        ] = False
    diff = np.abs(a.astype(np.int32) - b.astype(np.int32))[outside]
    assert np.median(diff) == 0


@pytest.mark.parametrize("size", [(32, 32), (64, 48), (40, 900), (1000, 40), (400, 320)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boxes_are_inside_the_image_and_named_from_the_xray_label_set(
    size: tuple[int, int], seed: int
) -> None:
    names = set(builtin_label_set("xray").names())
    for view in VIEWS:
        px, boxes = make_phantom(seed, *size, view=view)
        assert px.shape == (size[1], size[0])
        for b in boxes:
            assert b.label in names
            assert 0 <= b.x1 < b.x2 <= size[0]
            assert 0 <= b.y1 < b.y2 <= size[1]


def test_default_anomalies_are_picked_by_seed() -> None:
    labels = {b.label for s in range(6) for b in make_phantom(s, *SMALL)[1]}
    assert len(labels) >= 5


def test_every_drawable_anomaly_is_an_xray_label() -> None:
    names = set(builtin_label_set("xray").names())
    drawable = set(anomaly_labels())
    assert drawable <= names
    required = {"surgical implant", "key", "zipper", "shirt button", "pants button", "watch"}
    assert required | {"piercing", "belt buckle", "glasses"} <= drawable


@functools.cache
def _without(seed: int, view: str) -> np.ndarray:
    return make_phantom(seed, *SMALL, [], view=view)[0].astype(np.int32)


@pytest.mark.parametrize("label", anomaly_labels())
def test_each_anomaly_brightens_the_image_exactly_inside_its_box(label: str) -> None:
    """Same seed with and without the object: all the change is in the box, and the box is
    tight (every edge of it touches the object)."""
    for seed, view in ((0, "full"), (1, "upper"), (2, "abdomen"), (3, "legs")):
        ph = generate_phantom(seed, *SMALL, [label], view=view)
        assert label in {b.label for b in ph.boxes}, (view, ph.boxes)
        diff = ph.pixels.astype(np.int32) - _without(seed, view)
        visible = diff > 0.02 * ph.window_width
        inside = np.zeros(diff.shape, bool)
        for b in ph.boxes:
            x1, y1, x2, y2 = int(b.x1), int(b.y1), int(np.ceil(b.x2)), int(np.ceil(b.y2))
            inside[max(y1 - 2, 0) : y2 + 2, max(x1 - 2, 0) : x2 + 2] = True  # detector blur
            box_diff = diff[y1:y2, x1:x2]
            assert box_diff.max() > 0.02 * ph.window_width, (view, b)
            for edge in (box_diff[0], box_diff[-1], box_diff[:, 0], box_diff[:, -1]):
                assert edge.max() > 0, (view, b)  # tight: no empty margin
        assert not (visible & ~inside).any(), (view, label)


@pytest.mark.parametrize("view", ["chest", "abdomen", "legs", "full"])
def test_anomalies_are_brighter_than_the_tissue_around_them(view: str) -> None:
    ph = generate_phantom(5, 640, 512, list(anomaly_labels()), view=view)
    img = cv2.GaussianBlur(ph.pixels.astype(np.float32), (0, 0), 0.8)  # tame single-pixel noise
    h, w = img.shape
    assert len(ph.boxes) >= 8
    for b in ph.boxes:
        x1, y1, x2, y2 = int(b.x1), int(b.y1), int(np.ceil(b.x2)), int(np.ceil(b.y2))
        X1, Y1, X2, Y2 = max(x1 - 3, 0), max(y1 - 3, 0), min(x2 + 3, w), min(y2 + 3, h)
        ring = np.ones((Y2 - Y1, X2 - X1), bool)
        ring[y1 - Y1 : y2 - Y1, x1 - X1 : x2 - X1] = False
        around = img[Y1:Y2, X1:X2][ring]
        if around.size:
            assert img[y1:y2, x1:x2].max() > np.median(around) + 0.03 * ph.window_width, b


def test_unknown_or_undrawable_anomalies_are_refused() -> None:
    with pytest.raises(ValueError, match="not an xray label"):
        make_phantom(0, *SMALL, ["papule"])
    with pytest.raises(ValueError, match="not drawable"):
        make_phantom(0, *SMALL, ["holding shoes"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 8}, "outside"),
        ({"height": 100_000}, "outside"),
        ({"view": "knee"}, "unknown view"),
        ({"bits_stored": 8}, "bits_stored"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"seed": 0, "width": 64, "height": 64, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate_phantom(**args)  # type: ignore[arg-type]

"""Skin patches: landmarks on a real face photo, the two fallbacks, and bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data")

from ml.severity import landmarks as lm  # noqa: E402
from ml.severity.patches import (  # noqa: E402
    REGIONS,
    FaceImageError,
    PatchSet,
    crop_patch,
    extract_patches,
    to_rgb8,
    translated_boxes,
)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(skimage_data.astronaut())


def _inside(box: tuple[float, ...], outer: tuple[float, ...], slack: float = 0.0) -> bool:
    return (
        box[0] >= outer[0] - slack
        and box[1] >= outer[1] - slack
        and box[2] <= outer[2] + slack
        and box[3] <= outer[3] + slack
    )


def test_landmark_model_is_found_without_importing_the_package() -> None:
    import sys

    path = lm.landmark_model_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat"
    assert path.stat().st_size > 1_000_000
    assert "face_recognition_models" not in sys.modules


def test_astronaut_gets_four_landmark_patches_inside_the_face(astronaut: np.ndarray) -> None:
    ps = extract_patches(astronaut, image_ref=7)
    assert ps.method == "landmarks"
    assert ps.faces_found == 1
    assert ps.warnings == ()
    assert [p.region for p in ps.patches] == list(REGIONS)
    assert ps.face_box is not None and ps.landmarks is not None
    # The face: the box around its 68 landmarks (jaw to brows), extended upwards by 40 %
    # for the forehead, which has no landmarks.
    (lx1, ly1), (lx2, ly2) = ps.landmarks.min(axis=0), ps.landmarks.max(axis=0)
    face = (lx1, ly1 - 0.4 * (ly2 - ly1), lx2, ly2)
    fx1, fy1, fx2, fy2 = ps.face_box
    for p in ps.patches:
        assert p.image_ref == 7
        assert _inside(p.box, face), p
        cx, cy = (p.box[0] + p.box[2]) / 2, (p.box[1] + p.box[3]) / 2
        assert fx1 <= cx <= fx2 and fy1 - 0.3 * (fy2 - fy1) <= cy <= fy2, p
        assert p.box[2] - p.box[0] > 10 and p.box[3] - p.box[1] > 10
    by = {p.region: p.box for p in ps.patches}
    # Anatomy: forehead above the cheeks, chin below; the subject's left cheek is on the
    # image's right.
    assert by["forehead"][3] <= by["left_cheek"][1]
    assert by["chin"][1] >= by["left_cheek"][3] - 1
    assert by["left_cheek"][0] > by["right_cheek"][2]


def test_landmarks_of_a_downscaled_search_match_full_resolution(astronaut: np.ndarray) -> None:
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    grey = cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)
    fast = lm.detect_faces(grey, detect_max_side=512)[0]
    full = lm.detect_faces(grey, detect_max_side=1024)[0]
    face_w = fast.box[2] - fast.box[0]
    # Same face; landmarks within a few percent of the face width.
    assert np.median(np.linalg.norm(fast.landmarks - full.landmarks, axis=1)) < 0.05 * face_w


def test_crop_around_one_eye_falls_back_to_the_eye_cascade(astronaut: np.ndarray) -> None:
    crop = cv2.resize(astronaut[80:150, 170:240], None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    ps = extract_patches(crop, image_ref="eye.png")
    assert ps.method == "eye_cascade"
    assert ps.landmarks is None
    assert ps.patches and all(p.region in REGIONS for p in ps.patches)
    h, w = crop.shape[:2]
    assert all(_inside(p.box, (0, 0, w, h)) for p in ps.patches)
    assert any("eye" in msg for msg in ps.warnings)


def test_blank_image_falls_back_to_the_whole_image() -> None:
    blank = np.full((300, 400, 3), (200, 170, 150), np.uint8)
    ps = extract_patches(blank)
    assert ps.method == "whole_image"
    assert [(p.region, p.box) for p in ps.patches] == [("whole_image", (0.0, 0.0, 400.0, 300.0))]
    assert any("whole image" in msg for msg in ps.warnings)


def test_several_faces_use_the_largest_and_say_so(astronaut: np.ndarray) -> None:
    canvas = np.full((512, 1024, 3), 235, np.uint8)
    canvas[:, :512] = astronaut
    small = cv2.resize(astronaut, (400, 400), interpolation=cv2.INTER_AREA)
    canvas[56:456, 580:980] = small
    ps = extract_patches(canvas)
    assert ps.method == "landmarks"
    assert ps.faces_found >= 2
    assert any("faces found" in msg and "largest" in msg for msg in ps.warnings)
    assert ps.face_box is not None and ps.face_box[2] <= 512  # the bigger, left face


def test_greyscale_photo_is_graded_with_a_warning(astronaut: np.ndarray) -> None:
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    ps = extract_patches(grey)
    assert ps.greyscale
    assert ps.method == "landmarks"
    assert any("greyscale" in msg for msg in ps.warnings)


def test_tiny_photo_is_refused_with_its_size() -> None:
    with pytest.raises(FaceImageError, match=r"40x30 px.*64 px"):
        extract_patches(np.zeros((30, 40, 3), np.uint8), name="tiny.jpg")


def test_sixteen_bit_photo_is_scaled_by_its_bit_depth() -> None:
    pixels = np.full((8, 8, 3), 4095, np.uint16)
    rgb, grey = to_rgb8(pixels, bits_stored=12)
    assert rgb.dtype == np.uint8 and int(rgb.max()) == 255
    assert grey  # identical channels
    rgb16, _ = to_rgb8(np.full((8, 8, 3), 32768, np.uint16))
    assert int(rgb16[0, 0, 0]) == 127


def test_not_an_image_array_is_refused() -> None:
    with pytest.raises(FaceImageError):
        to_rgb8(np.zeros((0, 0, 3), np.uint8))


def test_translations_keep_size_and_stay_inside_the_image() -> None:
    box = (10.0, 10.0, 30.0, 30.0)
    moved = translated_boxes(box, (100, 100), shift=0.25, steps=1)
    assert len(moved) == 8
    for b in moved:
        assert b != box
        assert b[2] - b[0] == pytest.approx(20) and b[3] - b[1] == pytest.approx(20)
    # At the border, shifts that would leave the image are skipped, not squashed.
    edge = translated_boxes((0.0, 0.0, 20.0, 20.0), (100, 100), shift=0.25, steps=1)
    assert len(edge) == 3 and all(min(b) >= 0 for b in edge)


def test_crop_patch_resizes_to_a_square() -> None:
    rgb = np.zeros((50, 80, 3), np.uint8)
    rgb[10:20, 10:30] = 255
    out = crop_patch(rgb, (10.0, 10.0, 30.0, 20.0), 16)
    assert out.shape == (16, 16, 3)
    assert int(out.min()) == 255


def test_patch_set_round_trips_through_json(astronaut: np.ndarray) -> None:
    ps = extract_patches(astronaut, image_ref=3)
    back = PatchSet.from_dict(ps.to_dict())
    assert back.patches == ps.patches
    assert back.method == ps.method and back.face_box == ps.face_box
    assert ps.landmarks is not None and back.landmarks is not None
    assert np.allclose(back.landmarks, ps.landmarks)


def test_midline_splits_the_cheeks(astronaut: np.ndarray) -> None:
    ps = extract_patches(astronaut)
    line = ps.midline()
    assert line is not None
    by = {p.region: p.box for p in ps.patches}
    centres = np.array(
        [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in (by["right_cheek"], by["left_cheek"])]
    )
    assert lm.side_of_midline(centres, line).tolist() == [-1, 1]


def test_a_patch_too_small_to_use_is_not_called_outside_the_photo(astronaut: np.ndarray) -> None:
    # At 256 px the astronaut's chin patch is ~7 px high: inside the photo, but too small.
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    ps = extract_patches(small, name="small.png")
    assert ps.method == "landmarks" and "chin" not in {p.region for p in ps.patches}
    (warning,) = ps.warnings
    assert "chin too small" in warning and "outside" not in warning
    # A face cut by the photo's edge still says "outside".
    cut = extract_patches(astronaut[:150], name="cut.png")
    assert any("chin outside the photo" in w for w in cut.warnings)

"""Patches when the frontal detector fails: dlib's CNN detector, then the skin mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ml.severity import landmarks as lm
from ml.severity.patches import extract_patches


def _skin_texture(h: int = 320, w: int = 420, seed: int = 0) -> np.ndarray:
    """A close-up of skin: skin tone with pores/blotches, no face and no eyes."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (205, 150, 125)
    noise = cv2.GaussianBlur(rng.normal(0, 20, (h, w)).astype(np.float32), (0, 0), 2)
    img += noise[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def test_a_close_up_of_skin_gets_patches_on_the_skin_region() -> None:
    photo = _skin_texture()
    photo[:, :90] = (30, 60, 140)  # a blue background strip on the left
    ps = extract_patches(photo, image_ref="cheek.png")
    assert ps.method == "skin_mask"
    assert 1 <= len(ps.patches) <= 4
    assert all(p.region.startswith("skin_") and p.box[0] >= 88 for p in ps.patches)
    assert any("skin-coloured" in w for w in ps.warnings)


def test_a_photo_of_something_that_is_not_skin_says_so() -> None:
    rng = np.random.default_rng(1)
    leaves = np.zeros((300, 400, 3), np.uint8)
    leaves[..., 1] = rng.integers(90, 200, (300, 400))  # green texture
    ps = extract_patches(leaves, image_ref="garden.png")
    assert ps.method == "whole_image"
    assert any("may not be a face photo" in w for w in ps.warnings)


def test_a_greyscale_photo_without_a_face_is_graded_whole_and_says_why() -> None:
    grey = cv2.cvtColor(_skin_texture(), cv2.COLOR_RGB2GRAY)
    ps = extract_patches(grey, image_ref="grey.png")
    assert ps.method == "whole_image" and ps.greyscale
    assert any("greyscale" in w and "colour" in w for w in ps.warnings)


@pytest.mark.slow  # dlib's CNN detector on the CPU: ~1 s
def test_a_face_the_frontal_detector_misses_is_found_by_the_cnn_detector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from skimage import data

    face = np.ascontiguousarray(data.astronaut())
    monkeypatch.setattr(lm, "_search", lambda *a, **k: [])  # HOG finds nothing
    ps = extract_patches(face, image_ref="astronaut.png")
    assert ps.method == "cnn_landmarks"
    assert ps.face_box is not None and 120 < (ps.face_box[0] + ps.face_box[2]) / 2 < 300
    assert len(ps.patches) >= 3

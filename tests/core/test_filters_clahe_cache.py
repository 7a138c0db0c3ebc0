"""The CLAHE output is kept per window: tone changes reuse it, window/CLAHE changes do not,
the output is the same as without the cache, and OpenCV's split over threads changes no
pixel."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from core.filters import FilterSettings, render
from core.filters import clahe as clahe_cache
from core.imaging.raw import RawImage


def _raw(n: int = 300, seed: int = 0) -> RawImage:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n]
    px = (2000 + 6000 * np.exp(-((x - n / 2) ** 2 + (y - n / 2) ** 2) / (n * n / 8))).astype(
        np.float64
    )
    px += rng.normal(0, 200, px.shape)
    return RawImage(
        pixels=np.clip(px, 0, 16383).astype(np.uint16),
        source_format="png",
        bits_stored=14,
        photometric="MONOCHROME2",
    )


def _uncached(raw: RawImage, s: FilterSettings) -> np.ndarray:
    clahe_cache.clear()
    return render(dataclasses.replace(raw), s)  # a new image object: nothing kept applies


@pytest.fixture(autouse=True)
def _fresh() -> None:
    clahe_cache.clear()


def test_tone_changes_reuse_the_clahe_output_and_match_a_fresh_render() -> None:
    raw = _raw()
    base = FilterSettings(clahe=True, window_center=5000.0, window_width=6000.0)
    render(raw, base)
    assert clahe_cache.stats()["misses"] == 1
    tones = [
        base.replace(gamma=1.7),
        base.replace(brightness=0.1, contrast=1.4),
        base.replace(invert=True),
    ]
    out = [render(raw, s) for s in tones]
    st = clahe_cache.stats()
    assert (st["misses"], st["hits"]) == (1, 3)  # one CLAHE for four renders
    for s, got in zip(tones, out, strict=True):
        np.testing.assert_array_equal(got, _uncached(raw, s))


def test_window_clip_tiles_and_size_changes_recompute() -> None:
    raw = _raw()
    base = FilterSettings(clahe=True, window_center=5000.0, window_width=6000.0)
    render(raw, base)
    for s, size in (
        (base.replace(window_center=5100.0), None),
        (base.replace(clahe_clip=3.0), None),
        (base.replace(clahe_tiles=4), None),
        (base, 100),  # a preview is another image
    ):
        before = clahe_cache.stats()["misses"]
        got = render(raw, s, size)
        assert clahe_cache.stats()["misses"] == before + 1
        clahe_cache_state = clahe_cache.stats()
        want = render(dataclasses.replace(raw), s, size)
        np.testing.assert_array_equal(got, want)
        assert clahe_cache.stats()["misses"] == clahe_cache_state["misses"] + 1


def test_the_cache_is_bounded_and_lets_images_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clahe_cache, "MAX_ENTRIES", 2)
    s = FilterSettings(clahe=True)
    images = [_raw(64, seed=i) for i in range(4)]
    for raw in images:
        render(raw, s)
    assert clahe_cache.stats()["entries"] == 2
    del images
    render(_raw(64, seed=9), s)  # trimming drops the entries of images that are gone
    assert clahe_cache.stats()["entries"] <= 2


def test_opencv_splitting_clahe_over_threads_changes_no_pixel() -> None:
    raw = _raw(600)
    s = FilterSettings(clahe=True, clahe_tiles=8)
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = _uncached(raw, s)
        cv2.setNumThreads(4)
        four = _uncached(raw, s)
    finally:
        cv2.setNumThreads(before)
    np.testing.assert_array_equal(one, four)


def test_a_colour_photo_with_clahe_uses_the_cache_too() -> None:
    rng = np.random.default_rng(3)
    raw = RawImage(
        pixels=rng.integers(0, 256, (80, 90, 3), dtype=np.uint8),
        source_format="png",
        bits_stored=8,
        photometric="RGB",
    )
    s = FilterSettings(clahe=True)
    a = render(raw, s)
    b = render(raw, s.replace(gamma=1.5))
    assert clahe_cache.stats()["hits"] == 1
    np.testing.assert_array_equal(b, _uncached(raw, s.replace(gamma=1.5)))
    assert a.shape == (80, 90, 3)

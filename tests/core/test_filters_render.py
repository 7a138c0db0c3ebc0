"""Properties of render() on grey images built in the test (no files)."""

from __future__ import annotations

import numpy as np
import pytest

from core.filters import (
    PRESETS,
    FilterSettings,
    default_settings,
    histogram,
    preview_shape,
    render,
    resolve_window,
    voi_options,
)
from core.imaging.raw import RawImage, VoiWindow


def ramp16(h: int = 64, w: int = 1024, top: int = 65535) -> np.ndarray:
    """Every row is the same left-to-right ramp 0..top (uint16)."""
    row = np.linspace(0, top, w).round().astype(np.uint16)
    return np.tile(row, (h, 1))


def grey(
    pixels: np.ndarray,
    photometric: str = "MONOCHROME2",
    windows: tuple[VoiWindow, ...] = (),
    **kw: object,
) -> RawImage:
    return RawImage(
        pixels=pixels,
        source_format="dicom",
        bits_stored=pixels.dtype.itemsize * 8,
        photometric=photometric,
        voi_windows=windows,
        **kw,  # type: ignore[arg-type]
    )


def phantom(n: int = 256, seed: int = 0) -> np.ndarray:
    """Smooth body-like 12-bit image with noise and a bright block (uint16)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    img = 500 + 1500 * np.exp(-(((x - 0.5) / 0.3) ** 2 + ((y - 0.5) / 0.4) ** 2))
    img[(abs(x - 0.3) < 0.05) & (abs(y - 0.5) < 0.3)] += 1200
    img += rng.normal(0, 30, img.shape)
    return np.clip(img, 0, 4095).astype(np.uint16)


FULL_RANGE = FilterSettings(window_center=32768.0, window_width=65536.0)


def test_full_range_window_is_a_linear_map_to_8_bits() -> None:
    px = ramp16()
    out = render(grey(px), FULL_RANGE)
    assert out.dtype == np.uint8 and out.shape == px.shape
    expected = np.floor(px.astype(np.float64) / 65535.0 * 255.0 + 0.5)
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert out.min() == 0 and out.max() == 255


def test_8bit_grey_without_voi_is_shown_unchanged() -> None:
    px = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    out = render(grey(px), FilterSettings())
    np.testing.assert_array_equal(out, px)


def test_invert_is_the_negative_and_twice_is_identity() -> None:
    raw = grey(phantom())
    s = FilterSettings(window_center=1500, window_width=3000)
    plain = render(raw, s)
    inverted = render(raw, s.replace(invert=True))
    assert np.abs(inverted.astype(int) - (255 - plain.astype(int))).max() <= 1
    np.testing.assert_array_equal(render(raw, s.replace(invert=True).replace(invert=False)), plain)


@pytest.mark.parametrize(
    "settings",
    [
        FilterSettings(window_center=30000, window_width=8000),
        FilterSettings(window_center=100, window_width=1),
        FilterSettings(window_center=30000, window_width=8000, gamma=0.4, contrast=2.0),
        FilterSettings(brightness=0.3, contrast=0.5, gamma=3.0),
        FilterSettings(normalise="percentile", norm_low_pct=10, norm_high_pct=60),
        FilterSettings(normalise="minmax"),
    ],
)
def test_output_never_decreases_with_the_stored_value(settings: FilterSettings) -> None:
    px = ramp16(h=2)
    out = render(grey(px), settings)[0].astype(int)
    assert (np.diff(out) >= 0).all()
    assert out[-1] > out[0]


def test_window_saturates_outside_and_ramps_inside() -> None:
    px = ramp16(h=2, w=65536)  # every stored value once
    out = render(grey(px), FilterSettings(window_center=1000.5, window_width=201.0))[0]
    assert (out[:900] == 0).all()
    assert (out[1101:] == 255).all()
    assert 120 <= out[1000] <= 135


def test_monochrome1_is_inverted_by_default_and_invert_shows_stored_polarity() -> None:
    px = ramp16(h=2)
    s = FilterSettings(window_center=32768.0, window_width=65536.0)
    mono2 = render(grey(px), s)
    mono1 = render(grey(px, "MONOCHROME1"), s)
    assert mono1[0, 0] == 255 and mono1[0, -1] == 0
    assert np.abs(mono1.astype(int) - (255 - mono2.astype(int))).max() <= 1
    np.testing.assert_array_equal(render(grey(px, "MONOCHROME1"), s.replace(invert=True)), mono2)


def test_brightness_brightens_a_monochrome1_image_too() -> None:
    raw = grey(phantom(), "MONOCHROME1")
    s = FilterSettings(window_center=1500, window_width=3000)
    assert render(raw, s.replace(brightness=0.2)).mean() > render(raw, s).mean() + 20


def test_gamma_keeps_black_and_white_and_moves_mid_grey() -> None:
    px = ramp16(h=2)
    base = render(grey(px), FULL_RANGE)[0]
    bright = render(grey(px), FULL_RANGE.replace(gamma=2.0))[0]
    dark = render(grey(px), FULL_RANGE.replace(gamma=0.5))[0]
    for out in (bright, dark):
        assert out[0] == 0 and out[-1] == 255
    mid = len(base) // 2
    assert bright[mid] > base[mid] + 40  # 0.5 ** (1/2) = 0.71
    assert dark[mid] < base[mid] - 40  # 0.5 ** 2 = 0.25


def test_file_window_is_the_default_and_voi_index_picks_another() -> None:
    px = ramp16(h=2, w=65536)
    raw = grey(px, windows=(VoiWindow(1000.0, 100.0), VoiWindow(40000.0, 20000.0)))
    first = render(raw, FilterSettings())[0]
    assert first[949] == 0 and first[1050] == 255
    second = render(raw, FilterSettings(voi_index=1))[0]
    assert second[29999] == 0 and second[50001] == 255
    assert resolve_window(raw, FilterSettings()) == (1000.0, 100.0)
    assert len(voi_options(raw)) == 2


def test_without_voi_robust_percentiles_ignore_a_few_hot_pixels() -> None:
    px = phantom()
    px[:2, :2] = 65535  # dead/hot pixels must not squash the image into darkness
    out = render(grey(px), FilterSettings())
    assert out.mean() > 60
    assert (out == 255).mean() < 0.02


def test_default_settings_render_the_same_as_plain_settings() -> None:
    for raw in (grey(phantom()), grey(phantom(), "MONOCHROME1", (VoiWindow(1500, 2000),))):
        d = default_settings(raw)
        assert d.window_center is not None and d.window_width is not None
        np.testing.assert_array_equal(render(raw, d), render(raw, FilterSettings()))


def test_rescale_slope_and_intercept_put_windows_in_modality_units() -> None:
    px = (np.arange(4096, dtype=np.int16) - 1024).reshape(64, 64)  # CT-like stored values
    ct = grey(px, rescale_slope=1.0, rescale_intercept=-1024.0, modality="CT", rescale_type="HU")
    out = render(ct, FilterSettings(window_center=40, window_width=400)).ravel()
    hu = px.ravel().astype(float) - 1024.0
    assert (out[hu < -161] == 0).all() and (out[hu > 241] == 255).all()
    # A preset with a Hounsfield window uses it on CT
    soft = render(ct, PRESETS["soft_tissue"]).ravel()
    assert (soft[hu < -161] == 0).all()


def test_signed_16bit_values_index_the_lut_correctly() -> None:
    px = np.array([[-32768, -1, 0, 1, 32767]], dtype=np.int16)
    out = render(grey(px), FilterSettings(window_center=0.5, window_width=65536.0))[0]
    assert list(out) == sorted(out)
    assert out[0] == 0 and out[-1] == 255 and 126 <= out[2] <= 129


def test_float_pixels_take_the_arithmetic_path() -> None:
    px = np.linspace(-1.0, 1.0, 200, dtype=np.float32).reshape(10, 20)
    out = render(grey(px), FilterSettings(window_center=0.0, window_width=1.0, clahe=False))
    assert (
        out.dtype == np.uint8 and (out.ravel()[:50] == 0).all() and (out.ravel()[-50:] == 255).all()
    )
    assert render(grey(px), FilterSettings(clahe=True)).shape == px.shape


def test_clahe_raises_local_contrast_and_keeps_shape_and_dtype() -> None:
    px = phantom(512)
    raw = grey(px)
    s = FilterSettings(window_center=2000, window_width=4000)
    plain = render(raw, s).astype(float)
    eq = render(raw, s.replace(clahe=True, clahe_clip=3.0))
    assert eq.shape == px.shape and eq.dtype == np.uint8

    # local contrast: standard deviation inside 32x32 blocks, averaged
    def local_std(img: np.ndarray) -> float:
        b = img.astype(float).reshape(16, 32, 16, 32)
        return float(b.std(axis=(1, 3)).mean())

    assert local_std(eq) > 1.5 * local_std(plain)
    # and CLAHE keeps the order of grey levels in a flat-ish region roughly (no inversion)
    assert np.corrcoef(plain.ravel(), eq.astype(float).ravel())[0, 1] > 0.5


def test_clahe_clip_limit_means_what_it_means_on_8_bit_images() -> None:
    # The 16-bit path must not weaken CLAHE (sparse bins) or dim white (excess spread to
    # unused bins): it should match OpenCV's classic 8-bit CLAHE of the same window.
    import cv2

    px = phantom(512)
    out = render(grey(px), FilterSettings(window_center=2000.5, window_width=4001, clahe=True))
    w8 = np.floor(np.clip(px / 4000.0, 0, 1) * 255 + 0.5).astype(np.uint8)
    ref = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(w8)
    assert np.abs(out.astype(int) - ref.astype(int)).mean() < 2.0
    assert abs(int(out.max()) - int(ref.max())) <= 6


@pytest.mark.parametrize("out_size", [100, 257, 1000])
def test_preview_respects_the_maximum_side(out_size: int) -> None:
    px = phantom(512)[:, :300]  # 512 x 300
    out = render(grey(px), FilterSettings(clahe=True), out_size=out_size)
    h, w = preview_shape(512, 300, out_size)
    assert out.shape == (h, w)
    assert max(out.shape) == min(out_size, 512)


def test_preview_looks_like_the_full_render() -> None:
    raw = grey(phantom(600))
    s = FilterSettings(gamma=1.4)
    full = render(raw, s).astype(float)
    small = render(raw, s, out_size=200).astype(float)
    assert abs(full.mean() - small.mean()) < 3


def test_every_preset_renders() -> None:
    raws = [grey(phantom()), grey(phantom(), "MONOCHROME1", (VoiWindow(1500, 2000),))]
    for raw in raws:
        for name, s in PRESETS.items():
            out = render(raw, s, out_size=128)
            assert out.dtype == np.uint8 and out.shape == (128, 128), name
            assert out.std() > 5, name


def test_render_never_changes_the_input() -> None:
    px = phantom()
    raw = grey(px, "MONOCHROME1")
    before = px.copy()
    for s in [*PRESETS.values(), FilterSettings(invert=True, gamma=2.0)]:
        out = render(raw, s)
        assert not np.shares_memory(out, px)
    np.testing.assert_array_equal(raw.pixels, before)
    assert raw.pixels is px


def test_histogram_covers_the_modality_values() -> None:
    px = phantom()
    counts, edges = histogram(grey(px, rescale_intercept=-1000.0), bins=64)
    assert len(counts) == 64 and len(edges) == 65
    assert counts.sum() > 0
    assert edges[0] >= px.min() - 1000.0 - 1e-6 and edges[-1] <= px.max() - 1000.0 + 1e-6


def test_bad_preview_size_is_a_clinlens_error() -> None:
    from core.errors import ClinLensError

    with pytest.raises(ClinLensError):
        render(grey(phantom()), FilterSettings(), out_size=0)


def test_preview_keeps_geometry_so_boxes_line_up() -> None:
    # a bright vertical line at x = 1300 of 1955 must land at 1300 * 1000 / 1955 in the preview
    px = np.full((1841, 1955), 100, np.uint16)
    px[:, 1298:1302] = 4000
    out = render(grey(px), FilterSettings(window_center=2000, window_width=4000), out_size=1000)
    profile = out.astype(float).mean(axis=0)
    xs = np.arange(profile.size) + 0.5  # pixel centres, continuous coordinates
    weights = profile - profile.min()
    centre = float((weights * xs).sum() / weights.sum())
    assert abs(centre - 1300.0 * out.shape[1] / 1955) < 0.3


def test_numpy_lookup_fallback_matches_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.filters import lut

    px = phantom(1024)  # 1 Mpx: big enough for the two-thread split
    raw = grey(px)
    s = FilterSettings(gamma=1.5, invert=True)
    fast = render(raw, s)
    eq = render(raw, s.replace(clahe=True))
    monkeypatch.setattr(lut, "HAS_CV2_LUT16", False)
    np.testing.assert_array_equal(render(grey(px), s), fast)
    np.testing.assert_array_equal(render(grey(px), s.replace(clahe=True)), eq)


def test_minmax_keeps_a_tiny_bright_fragment_below_white_clipping() -> None:
    px = phantom(512)
    px[200, 301] = 4095  # one-pixel metal fragment a strided subsample would miss
    out = render(grey(px), FilterSettings(normalise="minmax"))
    assert out[200, 301] == 255
    assert (out == 255).sum() == 1


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_metal_preset_shows_metal_white_and_bone_dim(photometric: str) -> None:
    px = phantom(512)  # bone-like bar around x = 0.3
    px[100:140, 300:340] = 4095  # metal: the most attenuating values
    if photometric == "MONOCHROME1":
        px = (4095 - px).astype(np.uint16)  # same anatomy, stored the other way round
    out = render(grey(px, photometric), PRESETS["metal"])
    metal = out[105:135, 305:335].mean()
    bone = out[200:300, 140:160].mean()
    assert metal >= 250
    assert bone < metal - 100


def test_big_endian_pixels_render_like_native_ones() -> None:
    px = phantom()
    s = FilterSettings(clahe=True)
    np.testing.assert_array_equal(
        render(grey(px.astype(">u2")), s, out_size=100), render(grey(px), s, out_size=100)
    )


def test_repeated_previews_are_equal_independent_writable_arrays() -> None:
    raw = grey(phantom(600))
    s = FilterSettings(clahe=True)
    a = render(raw, s, out_size=150)
    b = render(raw, s.replace(gamma=1.2), out_size=150)
    c = render(raw, s, out_size=150)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)
    assert a.flags.writeable and not np.shares_memory(a, c)
    a[:] = 0  # the caller owns its result: scribbling on it changes no later render
    np.testing.assert_array_equal(render(raw, s, out_size=150), c)

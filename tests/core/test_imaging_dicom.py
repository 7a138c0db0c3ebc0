"""DICOM reading against real files shipped by pydicom / pydicom-data.

Our modality and VOI output must equal pydicom's reference functions
(``apply_modality_lut``, ``apply_voi_lut``) on the same stored pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from core.imaging import (
    apply_voi,
    has_voi,
    modality_range,
    modality_values,
    read,
    read_header,
    to_modality,
    voi_count,
    voi_labels,
)


def data(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None, f"pydicom test file {name} missing (is pydicom-data installed?)"
    return str(path)


def reference(name: str, frame: int | None = None) -> tuple[pydicom.Dataset, np.ndarray]:
    ds = pydicom.dcmread(data(name))
    arr = ds.pixel_array
    if frame is not None and int(ds.get("NumberOfFrames", 1) or 1) > 1:
        arr = arr[frame]
    return ds, arr


def pydicom_output_range(ds: pydicom.Dataset) -> tuple[float, float]:
    """pydicom's windowing output range (see pydicom.pixels.processing.apply_windowing)."""
    if ds.get("ModalityLUTSequence"):
        bits = ds.ModalityLUTSequence[0].LUTDescriptor[2]
        y_min, y_max = 0.0, 2.0**bits - 1
    elif ds.PixelRepresentation == 0:
        y_min, y_max = 0.0, 2.0**ds.BitsStored - 1
    else:
        y_min, y_max = -(2.0 ** (ds.BitsStored - 1)), 2.0 ** (ds.BitsStored - 1) - 1
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        y_min = y_min * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        y_max = y_max * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return y_min, y_max


def pydicom_voi_normalised(ds: pydicom.Dataset, modality: np.ndarray, index: int) -> np.ndarray:
    out = apply_voi_lut(modality, ds, index=index)
    if ds.get("VOILUTSequence"):
        bits = ds.VOILUTSequence[index].LUTDescriptor[2]
        return out.astype(np.float64) / (2.0**bits - 1)
    y_min, y_max = pydicom_output_range(ds)
    return (out - y_min) / (y_max - y_min)


# --- pixels and basic metadata ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["RG1_UNCR.dcm", "RG3_UNCR.dcm"])
def test_cr_monochrome1_is_read_at_full_depth_and_flagged(name: str) -> None:
    raw = read(data(name))
    ds, arr = reference(name)
    assert raw.photometric == "MONOCHROME1"
    assert raw.pixels.dtype == np.uint16
    np.testing.assert_array_equal(raw.pixels, arr)
    assert raw.bits_stored == ds.BitsStored
    assert raw.modality == "CR"
    assert (raw.window_center, raw.window_width) == (
        float(ds.WindowCenter),
        float(ds.WindowWidth),
    )
    assert raw.source_format == "dicom"
    assert raw.transfer_syntax == "1.2.840.10008.1.2.1"


@pytest.mark.parametrize(
    ("compressed", "uncompressed"),
    [("RG1_J2KR.dcm", "RG1_UNCR.dcm"), ("RG3_J2KR.dcm", "RG3_UNCR.dcm")],
)
def test_lossless_jpeg2000_cr_decodes_to_the_same_pixels_as_uncompressed(
    compressed: str, uncompressed: str
) -> None:
    j2k = read(data(compressed))
    unc = read(data(uncompressed))
    assert j2k.transfer_syntax == "1.2.840.10008.1.2.4.90"
    assert j2k.photometric == "MONOCHROME1"
    np.testing.assert_array_equal(j2k.pixels, unc.pixels)


def test_lossy_jpeg2000_cr_decodes_close_to_the_original() -> None:
    lossy = read(data("RG3_J2KI.dcm")).pixels.astype(np.float64)
    original = read(data("RG3_UNCR.dcm")).pixels.astype(np.float64)
    assert lossy.shape == original.shape
    assert np.abs(lossy - original).mean() < 0.02 * (original.max() - original.min())


@pytest.mark.parametrize(
    "name",
    ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm"],
)
def test_other_lossless_codecs_match_the_uncompressed_file(name: str) -> None:
    np.testing.assert_array_equal(read(data(name)).pixels, read(data("MR_small.dcm")).pixels)


def test_big_endian_file_gives_native_byte_order_with_same_values() -> None:
    raw = read(data("MR_small_bigendian.dcm"))
    assert raw.pixels.dtype.isnative
    np.testing.assert_array_equal(raw.pixels, read(data("MR_small.dcm")).pixels)


def test_ybr_jpeg_and_palette_colour_become_rgb() -> None:
    ybr = read(data("SC_rgb_jpeg_dcmtk.dcm"))
    assert ybr.photometric == "RGB" and ybr.pixels.shape == (100, 100, 3)
    palette = read(data("OBXXXX1A.dcm"))
    assert palette.photometric == "RGB" and palette.pixels.shape == (600, 800, 3)
    assert palette.extra["stored_photometric"] == "PALETTE COLOR"
    assert palette.voi_windows == () and palette.modality_lut is None


# --- modality LUT -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # CT, rescale intercept -1024 -> HU
        "693_UNCR.dcm",  # signed 14-bit CT with intercept
        "MR2_UNCR.dcm",  # MR with rescale slope 3.774114
        "mlut_18.dcm",  # Modality LUT Sequence
        "RG1_UNCR.dcm",  # no rescale at all
        "MR_small.dcm",
    ],
)
def test_modality_values_equal_pydicom_apply_modality_lut(name: str) -> None:
    ds, arr = reference(name)
    expected = apply_modality_lut(arr, ds).astype(np.float64)
    got = modality_values(read(data(name)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_ct_rescale_gives_hounsfield_units() -> None:
    raw = read(data("CT_small.dcm"))
    assert (raw.rescale_slope, raw.rescale_intercept) == (1.0, -1024.0)
    hu = modality_values(raw)
    np.testing.assert_array_equal(hu, raw.pixels.astype(np.float32) - 1024)


def test_mr_slope_is_kept() -> None:
    raw = read(data("MR2_UNCR.dcm"))
    assert raw.rescale_slope == pytest.approx(3.774114)


def test_modality_lut_sequence_is_used_instead_of_rescale() -> None:
    raw = read(data("mlut_18.dcm"))
    assert raw.modality_lut is not None
    table, first = raw.modality_lut
    assert first == -2048 and table.size == 4096
    # A ramp over every stored value maps exactly like the pixels (how filters build LUTs).
    ramp = np.arange(-2048, 2048)
    mapped = to_modality(raw, ramp)
    np.testing.assert_array_equal(mapped[raw.pixels.astype(np.int64) + 2048], modality_values(raw))
    assert modality_range(raw) == (float(table.min()), float(table.max()))


def test_modality_values_never_alias_the_stored_pixels() -> None:
    raw = read(data("RG1_UNCR.dcm"))
    before = raw.pixels.copy()
    values = modality_values(raw)
    values[:] = 0
    np.testing.assert_array_equal(raw.pixels, before)


# --- VOI ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("RG1_UNCR.dcm", 0),
        ("RG3_UNCR.dcm", 0),
        ("693_UNCR.dcm", 0),  # signed, intercept
        ("MR2_UNCR.dcm", 0),  # slope
        ("MR-SIEMENS-DICOM-WithOverlays.dcm", 0),  # two windows
        ("MR-SIEMENS-DICOM-WithOverlays.dcm", 1),
        ("vlut_04.dcm", 0),  # VOI LUT Sequence
    ],
)
def test_voi_equals_pydicom_apply_voi_lut(name: str, index: int) -> None:
    ds, arr = reference(name)
    expected = pydicom_voi_normalised(ds, apply_modality_lut(arr, ds), index)
    raw = read(data(name))
    got = apply_voi(raw, modality_values(raw), index)
    assert got.dtype == np.float32
    assert got.min() >= 0.0 and got.max() <= 1.0
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_multi_valued_window_is_kept_in_order_with_explanations() -> None:
    raw = read(data("MR-SIEMENS-DICOM-WithOverlays.dcm"))
    assert [(w.center, w.width, w.explanation) for w in raw.voi_windows] == [
        (450.0, 790.0, "WINDOW1"),
        (200.0, 443.0, "WINDOW2"),
    ]
    assert voi_count(raw) == 2
    assert voi_labels(raw)[1].startswith("WINDOW2")


def test_voi_lut_sequence_is_loaded_and_listed_first() -> None:
    raw = read(data("vlut_04.dcm"))
    assert raw.voi_lut is not None
    table, first, bits = raw.voi_lut
    assert (table.size, first, bits) == (256, 0, 16)
    assert has_voi(raw) and voi_labels(raw)[0].startswith("VOI LUT")


def test_image_without_any_voi_says_so() -> None:
    raw = read(data("CT_small.dcm"))
    assert not has_voi(raw)
    with pytest.raises(ValueError, match="no VOI"):
        apply_voi(raw, modality_values(raw))


@pytest.mark.parametrize("function", ["LINEAR_EXACT", "SIGMOID"])
def test_voi_lut_functions_equal_pydicom(tmp_path: Path, function: str) -> None:
    ds = pydicom.dcmread(data("MR_small.dcm"))
    ds.VOILUTFunction = function
    path = tmp_path / "f.dcm"
    ds.save_as(path)
    raw = read(path)
    assert raw.voi_lut_function == function
    expected = pydicom_voi_normalised(ds, apply_modality_lut(ds.pixel_array, ds), 0)
    np.testing.assert_allclose(apply_voi(raw, modality_values(raw)), expected, atol=1e-5)


# --- frames, spacing ------------------------------------------------------------------------------
def test_multi_frame_opens_first_frame_by_default_and_any_frame_on_request() -> None:
    _, all_frames = reference("emri_small.dcm")
    first = read(data("emri_small.dcm"))
    assert (first.frame_index, first.frame_count) == (0, 10)
    np.testing.assert_array_equal(first.pixels, all_frames[0])
    seventh = read(data("emri_small.dcm"), frame=7)
    assert seventh.frame_index == 7
    np.testing.assert_array_equal(seventh.pixels, all_frames[7])


def test_compressed_multi_frame_decodes_the_requested_frame() -> None:
    _, all_frames = reference("emri_small_jpeg_2k_lossless.dcm")
    np.testing.assert_array_equal(
        read(data("emri_small_jpeg_2k_lossless.dcm"), frame=4).pixels, all_frames[4]
    )
    _, colour = reference("SC_rgb_rle_2frame.dcm")
    raw = read(data("SC_rgb_rle_2frame.dcm"), frame=1)
    np.testing.assert_array_equal(raw.pixels, colour[1])


def test_enhanced_multi_frame_takes_rescale_window_and_spacing_from_functional_groups() -> None:
    raw = read(data("eCT_Supplemental.dcm"), frame=1)
    assert raw.frame_count == 2
    assert raw.rescale_intercept == -1024.0
    assert raw.window_center is not None and raw.window_width is not None
    assert raw.pixel_spacing == pytest.approx((0.388672, 0.388672))


def test_pixel_spacing_from_pixel_spacing_tag() -> None:
    raw = read(data("CT_small.dcm"))
    assert raw.pixel_spacing == pytest.approx((0.661468, 0.661468))
    assert raw.extra["pixel_spacing_source"] == "PixelSpacing"


def test_pixel_spacing_falls_back_to_imager_pixel_spacing(tmp_path: Path) -> None:
    ds = pydicom.dcmread(data("CT_small.dcm"))
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = [0.15, 0.2]
    path = tmp_path / "dx.dcm"
    ds.save_as(path)
    raw = read(path)
    assert raw.pixel_spacing == pytest.approx((0.15, 0.2))
    assert raw.extra["pixel_spacing_source"] == "ImagerPixelSpacing"


def test_zero_pixel_spacing_is_treated_as_unknown() -> None:
    assert read(data("RG1_UNCR.dcm")).pixel_spacing is None


# --- header -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["RG1_UNCR.dcm", "RG3_J2KR.dcm", "CT_small.dcm", "emri_small.dcm", "OBXXXX1A.dcm"]
)
def test_header_agrees_with_full_read(name: str) -> None:
    header = read_header(data(name))
    raw = read(data(name))
    assert (header.width, header.height) == (raw.width, raw.height)
    assert header.samples_per_pixel == raw.samples_per_pixel
    assert header.bits_stored == raw.bits_stored
    assert header.photometric == raw.photometric
    assert header.modality == raw.modality
    assert header.frame_count == raw.frame_count
    assert (header.window_center, header.window_width) == (raw.window_center, raw.window_width)

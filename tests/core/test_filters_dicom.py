"""render() on real DICOM files from pydicom-data: the default view must be the file's own
VOI exactly as pydicom applies it (scaled to 8 bits, MONOCHROME1 inverted)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from core.filters import PRESETS, FilterSettings, default_settings, render, resolve_window
from core.imaging import read


def data_file(name: str) -> str:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not available from pydicom-data")
    return str(path)


def pydicom_display(path: str) -> np.ndarray:
    """What a radiologist expects, computed with pydicom only (no ClinLens code)."""
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    values = apply_voi_lut(apply_modality_lut(arr, ds), ds).astype(np.float64)
    if "VOILUTSequence" in ds:
        y_min, y_max = 0.0, float(2 ** int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1)
    else:  # apply_windowing's output range
        bits = int(ds.BitsStored)
        if ds.PixelRepresentation == 0:
            y_min, y_max = 0.0, float(2**bits - 1)
        else:
            y_min, y_max = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
        if "RescaleSlope" in ds and "RescaleIntercept" in ds:
            y_min = y_min * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            y_max = y_max * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    unit = np.clip((values - y_min) / (y_max - y_min), 0.0, 1.0)
    out = np.floor(unit * 255.0 + 0.5)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        out = 255.0 - out
    return out.astype(np.uint8)


@pytest.mark.parametrize("name", ["RG1_UNCR.dcm", "RG3_UNCR.dcm", "MR_small.dcm", "vlut_04.dcm"])
def test_default_render_matches_pydicom_voi(name: str) -> None:
    path = data_file(name)
    ours = render(read(path), FilterSettings())
    expected = pydicom_display(path)
    assert ours.shape == expected.shape and ours.dtype == np.uint8
    diff = np.abs(ours.astype(int) - expected.astype(int))
    assert diff.max() <= 1, f"{name}: max difference {diff.max()} grey levels"


def test_monochrome1_cr_shows_bone_bright() -> None:
    raw = read(data_file("RG1_UNCR.dcm"))
    assert raw.photometric == "MONOCHROME1"
    out = render(raw, FilterSettings())
    # the spine runs down the middle of this chest film: brighter than the lungs beside it
    h, w = out.shape
    spine = out[h // 3 : 2 * h // 3, w // 2 - 40 : w // 2 + 40].mean()
    lung = out[h // 3 : 2 * h // 3, w // 4 - 40 : w // 4 + 40].mean()
    assert spine > lung + 20


def test_lossless_jpeg2000_renders_like_the_uncompressed_file() -> None:
    a = render(read(data_file("RG3_UNCR.dcm")), FilterSettings(), out_size=400)
    b = render(read(data_file("RG3_J2KR.dcm")), FilterSettings(), out_size=400)
    np.testing.assert_array_equal(a, b)


def test_ct_soft_tissue_preset_is_the_hounsfield_window() -> None:
    path = data_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    hu = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    out = render(read(path), PRESETS["soft_tissue"]).astype(int)
    # W400/L40, DICOM LINEAR, then the preset's gamma 1.1 on top
    unit = np.clip((hu - 39.5) / 399.0 + 0.5, 0.0, 1.0) ** (1 / 1.1)
    expected = np.floor(unit * 255 + 0.5)
    assert np.abs(out - expected).max() <= 1


def test_modality_lut_sequence_puts_the_window_in_modality_units() -> None:
    path = data_file("mlut_18.dcm")
    ds = pydicom.dcmread(path)
    values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    c, w = float(np.median(values)), float(values.max() - values.min()) / 2
    out = render(read(path), FilterSettings(window_center=c, window_width=w)).astype(int)
    expected = np.floor(np.clip((values - (c - 0.5)) / (w - 1) + 0.5, 0, 1) * 255 + 0.5)
    assert np.abs(out - expected).max() <= 1


def test_ct_without_window_gets_robust_percentiles_and_defaults_render_alike() -> None:
    raw = read(data_file("CT_small.dcm"))
    window = resolve_window(raw, FilterSettings())
    assert window is not None and window[1] > 100
    np.testing.assert_array_equal(render(raw, default_settings(raw)), render(raw, FilterSettings()))


def test_every_preset_renders_a_real_cr_preview() -> None:
    raw = read(data_file("RG3_UNCR.dcm"))
    for name, s in PRESETS.items():
        out = render(raw, s, out_size=256)
        assert out.shape == (256, 256) and out.std() > 5, name

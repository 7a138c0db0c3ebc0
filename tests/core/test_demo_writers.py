"""Phantoms written as DICOM and 16-bit TIFF read back exactly, with the right tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile
from pydicom.uid import UID, ExplicitVRLittleEndian

from core.demo import (
    generate_phantom,
    read_ground_truth,
    write_dicom,
    write_ground_truth,
    write_tiff,
)
from core.demo.phantom import Phantom
from core.errors import FormatError
from core.imaging import read, read_header

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
CR = "1.2.840.10008.5.1.4.1.1.1"


@pytest.fixture(scope="module")
def phantom() -> Phantom:
    return generate_phantom(4, 320, 256, ["key", "watch"], view="full", bits_stored=14)


def test_dicom_is_a_valid_dx_file_with_the_expected_tags(tmp_path: Path, phantom: Phantom) -> None:
    path = write_dicom(tmp_path / "a.dcm", phantom)
    assert path.read_bytes()[128:132] == b"DICM"  # preamble + prefix: a proper Part 10 file
    ds = pydicom.dcmread(path)  # no force=True needed
    meta = ds.file_meta
    assert meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert meta.MediaStorageSOPClassUID == DX_FOR_PRESENTATION == ds.SOPClassUID
    assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    for uid in (ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID):
        assert UID(uid).is_valid
    assert len({ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID}) == 3
    assert ds.Modality == "DX"
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert (ds.Rows, ds.Columns) == (256, 320)
    assert (ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (1, 16, 14, 13)
    assert ds.PixelRepresentation == 0
    assert float(ds.RescaleSlope) == 1.0 and float(ds.RescaleIntercept) == 0.0
    assert float(ds.WindowCenter) == pytest.approx(phantom.window_center, abs=0.1)
    assert float(ds.WindowWidth) == pytest.approx(phantom.window_width, abs=0.1)
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx(list(phantom.pixel_spacing))
    assert str(ds.PatientName) == "DEMO^PHANTOM"
    assert ds.PatientIdentityRemoved == "YES"
    assert np.array_equal(ds.pixel_array, phantom.pixels)


def test_dicom_window_covers_the_body_not_the_whole_range(tmp_path: Path, phantom: Phantom) -> None:
    ds = pydicom.dcmread(write_dicom(tmp_path / "w.dcm", phantom))
    c, w = float(ds.WindowCenter), float(ds.WindowWidth)
    assert 0 < c - w / 2 < c + w / 2 < 2**14
    px = phantom.pixels
    inside = ((px >= c - w / 2) & (px <= c + w / 2)).mean()
    assert inside > 0.2  # a real part of the image is shown with contrast


def test_monochrome1_cr_stores_inverted_values_and_a_matching_window(
    tmp_path: Path, phantom: Phantom
) -> None:
    ds = pydicom.dcmread(
        write_dicom(tmp_path / "m1.dcm", phantom, photometric="MONOCHROME1", modality="CR")
    )
    top = 2**14 - 1
    assert ds.SOPClassUID == CR and ds.Modality == "CR"
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    assert np.array_equal(ds.pixel_array.astype(np.int32), top - phantom.pixels.astype(np.int32))
    assert float(ds.WindowCenter) == pytest.approx(top - phantom.window_center, abs=0.1)


def test_window_is_given_in_rescaled_units(tmp_path: Path, phantom: Phantom) -> None:
    ds = pydicom.dcmread(
        write_dicom(tmp_path / "r.dcm", phantom, rescale_slope=0.5, rescale_intercept=-100.0)
    )
    assert float(ds.RescaleSlope) == 0.5 and float(ds.RescaleIntercept) == -100.0
    assert float(ds.WindowCenter) == pytest.approx(phantom.window_center * 0.5 - 100.0, abs=0.1)
    assert float(ds.WindowWidth) == pytest.approx(phantom.window_width * 0.5, abs=0.1)


def test_same_phantom_and_name_give_byte_identical_dicom(tmp_path: Path, phantom: Phantom) -> None:
    a = write_dicom(tmp_path / "x" / "same.dcm", phantom).read_bytes()
    b = write_dicom(tmp_path / "y" / "same.dcm", phantom).read_bytes()
    assert a == b
    c = write_dicom(tmp_path / "other.dcm", phantom)
    assert (
        pydicom.dcmread(c).SOPInstanceUID
        != pydicom.dcmread(tmp_path / "x" / "same.dcm").SOPInstanceUID
    )


def test_dicom_reads_back_through_clinlens_imaging(tmp_path: Path, phantom: Phantom) -> None:
    path = write_dicom(tmp_path / "c.dcm", phantom)
    raw = read(path)
    assert raw.source_format == "dicom"
    assert np.array_equal(raw.pixels, phantom.pixels)
    assert (raw.bits_stored, raw.photometric, raw.modality) == (14, "MONOCHROME2", "DX")
    assert raw.window_center == pytest.approx(phantom.window_center, abs=0.1)
    assert raw.pixel_spacing == pytest.approx(phantom.pixel_spacing)
    # Patient tags are kept apart and never shown.
    assert "DEMO" not in repr(raw)
    header = read_header(path)
    assert (header.width, header.height, header.bits_stored) == (320, 256, 14)


def test_bad_photometric_or_modality_is_refused(tmp_path: Path, phantom: Phantom) -> None:
    with pytest.raises(ValueError, match="photometric"):
        write_dicom(tmp_path / "p.dcm", phantom, photometric="RGB")
    with pytest.raises(ValueError, match="modality"):
        write_dicom(tmp_path / "p.dcm", phantom, modality="CT")


def test_tiff_is_16_bit_grey_with_its_resolution(tmp_path: Path, phantom: Phantom) -> None:
    path = write_tiff(tmp_path / "a.tif", phantom)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.bitspersample == 16
        assert page.photometric == tifffile.PHOTOMETRIC.MINISBLACK
        assert np.array_equal(page.asarray(), phantom.pixels)
        x_res = page.tags["XResolution"].value
        assert x_res[0] / x_res[1] == pytest.approx(10.0 / phantom.pixel_spacing[1], rel=1e-6)
    raw = read(path)
    assert raw.source_format == "tiff" and np.array_equal(raw.pixels, phantom.pixels)
    assert raw.pixel_spacing == pytest.approx(phantom.pixel_spacing, rel=1e-6)


def test_writers_leave_no_temporary_files(tmp_path: Path, phantom: Phantom) -> None:
    write_dicom(tmp_path / "a.dcm", phantom)
    write_tiff(tmp_path / "a.tif", phantom)
    write_ground_truth(tmp_path / "a.json", "a.dcm", 320, 256, phantom.boxes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dcm", "a.json", "a.tif"]


def test_ground_truth_round_trips(tmp_path: Path, phantom: Phantom) -> None:
    path = write_ground_truth(tmp_path / "gt.json", "a.dcm", 320, 256, phantom.boxes, view="full")
    gt = read_ground_truth(path)
    assert (gt.file, gt.width, gt.height) == ("a.dcm", 320, 256)
    assert [(b.label, b.x1, b.y1, b.x2, b.y2) for b in gt.boxes] == [
        (b.label, b.x1, b.y1, b.x2, b.y2) for b in phantom.boxes
    ]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"file": "a", "width": 2,\n "height": ', "line 2"),
        ('{"file": "a", "width": 2, "height": 2}', "boxes"),
        ('{"file": "a", "width": 2, "height": 2, "boxes": [{"label": "key"}]}', "x1"),
    ],
)
def test_malformed_ground_truth_raises_a_format_error_naming_the_file(
    tmp_path: Path, text: str, match: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError, match=match) as err:
        read_ground_truth(path)
    assert "broken.json" in str(err.value)

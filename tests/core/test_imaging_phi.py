"""Patient tags live only in RawImage.patient: never in repr/str, extra, headers, messages,
warnings or logs."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom import config
from pydicom.data import get_testdata_file

from core.errors import ImageReadError
from core.imaging import read, read_header

SECRETS = {
    "PatientName": "Secretname^Jane",
    "PatientID": "SECRETPID77",
    "PatientBirthDate": "SECRETDOB",  # invalid DA: pydicom would warn quoting the value
    "PatientAge": "SECRETAGE",  # invalid AS, likewise
    "PatientSex": "F",
    "OtherPatientIDs": "SECRETOTHERID",
    "InstitutionName": "Secret General Hospital",
    "ReferringPhysicianName": "Secretdoctor^Who",
    "AccessionNumber": "SECRETACC1",
    "StudyID": "SECRETSTUDY",
}
MARKERS = ("secret",)


@pytest.fixture
def phi_dicom(tmp_path: Path) -> Path:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    path = tmp_path / "ct_with_phi.dcm"
    with config.disable_value_validation():  # store the invalid values as they are
        for keyword, value in SECRETS.items():
            setattr(ds, keyword, value)
        ds.save_as(path)
    return path


def leaks(text: str) -> bool:
    return any(marker in text.lower() for marker in MARKERS)


def test_patient_tags_are_kept_apart_and_complete(phi_dicom: Path) -> None:
    raw = read(phi_dicom)
    for keyword, value in SECRETS.items():
        assert raw.patient[keyword] == value
    assert not leaks(repr(raw)) and not leaks(str(raw))
    assert not leaks(repr(raw.patient)) and not leaks(str(raw.patient))
    assert not leaks(repr(dict(raw.extra)))
    assert not leaks(repr(read_header(phi_dicom)))


def test_reading_does_not_echo_patient_values_in_warnings_or_logs(
    phi_dicom: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = read(phi_dicom)
        dict(raw.patient)
        read_header(phi_dicom)
    assert not any(leaks(str(w.message)) for w in caught)
    assert not leaks(caplog.text)


def test_error_messages_carry_no_patient_values(phi_dicom: Path, tmp_path: Path) -> None:
    payload = phi_dicom.read_bytes()
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(payload[: len(payload) - 5000])
    with pytest.raises(ImageReadError) as info:
        read(broken)
    assert "truncated" in str(info.value) and not leaks(str(info.value))

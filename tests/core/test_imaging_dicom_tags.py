"""The DICOM tags viewer's rows: the header without a single patient tag."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import config, dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from core.demo import generate_phantom, write_dicom
from core.errors import ImageReadError
from core.imaging.dicom_meta import PATIENT_KEYWORDS
from core.imaging.dicom_tags import is_hidden, read_tag_rows

SECRETS = {
    "PatientName": "Secretname^Jane",
    "PatientID": "SECRETPID77",
    "PatientBirthDate": "19700101",
    "PatientSex": "F",
    "PatientAge": "053Y",
    "OtherPatientIDs": "SECRETOTHERID",
    "InstitutionName": "Secret General Hospital",
    "ReferringPhysicianName": "Secretdoctor^Who",
    "PerformingPhysicianName": "Secretperformer^A",
    "AccessionNumber": "SECRETACC1",
    "StudyID": "SECRETSTUDY",
    "StudyDescription": "secret study text",
}


@pytest.fixture
def phi_dicom(tmp_path: Path) -> Path:
    path = write_dicom(tmp_path / "x.dcm", generate_phantom(1, 64, 48))
    ds = dcmread(path)
    with config.disable_value_validation():
        for keyword, value in SECRETS.items():
            setattr(ds, keyword, value)
        ds.OperatorsName = "Secretoperator^B"  # a PN outside the patient list
        ds.add_new(0x00091001, "LO", "secret vendor field")  # private
        item = Dataset()
        item.PatientName = "Secretnested^C"
        item.CodeMeaning = "kept nested"
        ds.ReferencedStudySequence = Sequence([item])
        ds.save_as(path)
    return path


def test_no_patient_tag_reaches_the_view(phi_dicom: Path) -> None:
    rows = read_tag_rows(phi_dicom)
    text = "\n".join(f"{r.tag} {r.keyword} {r.vr} {r.value}" for r in rows).lower()
    assert "secret" not in text
    shown = {r.keyword for r in rows}
    assert not shown & set(PATIENT_KEYWORDS)
    assert not any(r.tag.startswith("(0010,") for r in rows)
    assert not any(r.vr == "PN" for r in rows)


def test_the_technical_tags_are_shown(phi_dicom: Path) -> None:
    rows = {r.keyword: r for r in read_tag_rows(phi_dicom)}
    assert rows["Modality"].value == "DX"
    assert rows["Rows"].value == "48" and rows["Columns"].value == "64"
    assert rows["PixelSpacing"].tag == "(0028,0030)"
    assert rows["TransferSyntaxUID"].value  # the file meta comes first
    assert rows["CodeMeaning"].depth == 1  # sequences are walked with the same rule
    assert "PixelData" not in rows  # the header only


def test_the_rule_covers_the_exports_patient_list() -> None:
    from pydicom.datadict import tag_for_keyword

    for keyword in PATIENT_KEYWORDS:
        assert is_hidden(int(tag_for_keyword(keyword)), None), keyword  # type: ignore[arg-type]
    assert not is_hidden(0x00080060, "CS")  # Modality


def test_a_non_dicom_file_is_a_readable_error(tmp_path: Path) -> None:
    bad = tmp_path / "not.dcm"
    bad.write_bytes(b"hello" * 100)
    with pytest.raises(ImageReadError):
        read_tag_rows(bad)

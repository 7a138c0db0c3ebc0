"""``main.py info``: the JSON contract, the text listing, no patient tags, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import tifffile
from pydicom.data import get_testdata_file

from core.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {
    "width",
    "height",
    "bits_stored",
    "samples_per_pixel",
    "modality",
    "photometric",
    "window_center",
    "window_width",
}


def data(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None
    return str(path)


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def info_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert cli_main(["info", *args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "exactly one JSON object on one line"
    return json.loads(out)


def test_json_contract_for_the_cr_file_via_main_py() -> None:
    result = run_main("info", data("RG1_UNCR.dcm"), "--json")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts.keys() >= CONTRACT_KEYS
    assert facts["width"] == 1841 and facts["height"] == 1955
    assert facts["bits_stored"] == 15 and facts["samples_per_pixel"] == 1
    assert facts["modality"] == "CR" and facts["photometric"] == "MONOCHROME1"
    assert facts["window_center"] == 15000 and facts["window_width"] == 30000
    assert facts["format"] == "dicom" and facts["dtype"] == "uint16"


def test_window_is_null_when_absent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tifffile.imwrite(tmp_path / "x.tif", np.zeros((6, 8), np.uint16))
    facts = info_json(capsys, str(tmp_path / "x.tif"))
    assert facts["window_center"] is None and facts["window_width"] is None
    assert facts["modality"] is None
    assert (facts["width"], facts["height"], facts["bits_stored"]) == (8, 6, 16)


def test_ct_facts_include_rescale_and_spacing(capsys: pytest.CaptureFixture[str]) -> None:
    facts = info_json(capsys, data("CT_small.dcm"))
    assert facts["rescale_intercept"] == -1024 and facts["rescale_slope"] == 1
    assert facts["pixel_spacing"] == pytest.approx([0.661468, 0.661468])
    assert facts["transfer_syntax"] == "1.2.840.10008.1.2.1"


def test_frame_option_selects_a_frame(capsys: pytest.CaptureFixture[str]) -> None:
    facts = info_json(capsys, data("emri_small.dcm"), "--frame", "3")
    assert facts["frame"] == 3 and facts["frame_count"] == 10


def test_no_patient_tags_in_json_or_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = pydicom.dcmread(data("CT_small.dcm"))
    ds.PatientName = "Secretname^Jane"
    ds.PatientID = "SECRETPID"
    ds.PatientBirthDate = "19700101"
    ds.InstitutionName = "Secret Hospital"
    ds.AccessionNumber = "SECRETACC"
    path = tmp_path / "phi.dcm"
    ds.save_as(path)
    facts = info_json(capsys, str(path))
    text = json.dumps(facts).lower()
    assert "secret" not in text and "19700101" not in text
    assert not {"PatientName", "PatientID", "patient"} & facts.keys()
    assert cli_main(["info", str(path)]) == 0
    listing = capsys.readouterr().out
    assert "secret" not in listing.lower() and "width" in listing


def test_text_listing_is_key_value_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["info", data("MR-SIEMENS-DICOM-WithOverlays.dcm")]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = dict(line.split(None, 1) for line in lines)
    assert table["width"] == "484" and table["modality"] == "MR"
    assert "WINDOW2" in table["voi_windows"]


def _missing(folder: Path) -> Path:
    return folder / "missing.dcm"


def _empty(folder: Path) -> Path:
    path = folder / "empty.dcm"
    path.write_bytes(b"")
    return path


def _no_pixels(folder: Path) -> Path:
    return Path(data("rtplan.dcm"))


@pytest.mark.parametrize(
    ("make", "words"),
    [(_missing, "does not exist"), (_empty, "empty"), (_no_pixels, "no pixel data")],
)
def test_errors_exit_2_with_one_line(
    tmp_path: Path, make: Callable[[Path], Path], words: str
) -> None:
    result = run_main("info", str(make(tmp_path)), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and words in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_frame_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["info", data("CT_small.dcm"), "--frame", "5"]) == 2
    assert "frame 5 does not exist" in capsys.readouterr().err


def test_an_all_nan_float_tiff_has_no_stored_range_and_prints_no_warning(
    tmp_path: Path,
) -> None:
    # numpy's nanmin would print "RuntimeWarning: All-NaN slice encountered" raw on stderr.
    tifffile.imwrite(tmp_path / "nan.tif", np.full((4, 5), np.nan, np.float32))
    result = run_main("info", str(tmp_path / "nan.tif"), "--json")
    assert result.returncode == 0 and result.stderr == ""
    facts = json.loads(result.stdout)
    assert facts["stored_min"] is None and facts["stored_max"] is None
    assert facts["dtype"] == "float32"

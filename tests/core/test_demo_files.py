"""The demo set on disk and the ``demo files`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main as cli_main
from core.demo import anomaly_labels, ground_truth_boxes, make_demo_files
from core.demo.files import GROUND_TRUTH_DIR, MANIFEST_NAME
from core.errors import ClinLensError
from core.imaging import SUPPORTED_SUFFIXES, read


def test_default_set_mixes_formats_and_shows_every_anomaly_class(tmp_path: Path) -> None:
    items = make_demo_files(tmp_path)
    xrays = [it for it in items if it.kind == "xray"]
    photos = [it for it in items if it.kind == "photo"]
    assert len(xrays) == 6 and len(photos) == 1
    assert {it.format for it in xrays} == {"dicom", "tiff"}
    assert (1500, 1216) in {(it.width, it.height) for it in xrays}
    assert {b.label for it in xrays for b in it.boxes} == set(anomaly_labels())


def test_every_written_file_reads_back_and_matches_its_item(tmp_path: Path) -> None:
    items = make_demo_files(tmp_path, n_xrays=3, size=(256, 200), seed=5)
    for it in items:
        assert it.path.parent == tmp_path and it.path.suffix.lower() in SUPPORTED_SUFFIXES
        raw = read(it.path)
        assert (raw.width, raw.height) == (it.width, it.height)
        if it.kind == "xray":
            assert raw.pixels.dtype.name == "uint16" and raw.samples_per_pixel == 1
            assert it.label_set == "xray" and it.ground_truth is not None
            assert ground_truth_boxes(it.path) == list(it.boxes)
        else:
            assert raw.samples_per_pixel == 3 and it.boxes == ()
            assert ground_truth_boxes(it.path) == []


def test_ground_truth_sits_apart_so_an_import_finds_only_images(tmp_path: Path) -> None:
    items = make_demo_files(tmp_path, n_xrays=2, size=(200, 160))
    top_level = {p.name for p in tmp_path.iterdir() if p.is_file()}
    assert top_level == {it.path.name for it in items} | {MANIFEST_NAME}
    gt_files = sorted(p.name for p in (tmp_path / GROUND_TRUTH_DIR).iterdir())
    assert gt_files == sorted(f"{it.path.stem}.json" for it in items if it.kind == "xray")
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert [e["file"] for e in manifest["items"]] == [it.path.name for it in items]
    assert [e["boxes"] for e in manifest["items"]] == [len(it.boxes) for it in items]


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    a = make_demo_files(tmp_path / "a", n_xrays=2, size=(160, 128), seed=9)
    b = make_demo_files(tmp_path / "b", n_xrays=2, size=(160, 128), seed=9, workers=1)
    for x, y in zip(a, b, strict=True):
        assert x.path.read_bytes() == y.path.read_bytes(), x.path.name


def test_more_xrays_than_the_curated_set_get_seeded_anomalies(tmp_path: Path) -> None:
    items = make_demo_files(tmp_path, n_xrays=8, size=(128, 128))
    names = [it.path.name for it in items if it.kind == "xray"]
    assert len(names) == len(set(names)) == 8


def test_out_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ClinLensError, match="is a file"):
        make_demo_files(target, n_xrays=1)


def test_cli_writes_the_demo_files_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    code = cli_main(["demo", "files", str(out), "--n", "2", "--seed", "3", "--size", "240x200"])
    assert code == 0
    printed = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir() if p.suffix in (".dcm", ".tif", ".jpg"))
    assert len(names) == 3
    for name in names:
        assert name in printed
    assert "wrote 3 files" in printed


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "files", "OUT", "--size", "big"],
        ["demo", "files", "OUT", "--size", "10x10"],
        ["demo", "files", "OUT", "--n", "-1"],
        ["demo", "files", "OUT", "--seed", "-5"],
        ["demo"],
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(tmp_path / "o") if a == "OUT" else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        cli_main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err


def test_cli_reports_an_unwritable_target_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    assert cli_main(["demo", "files", str(target), "--n", "1", "--size", "64x64"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a file" in err and "\n" not in err

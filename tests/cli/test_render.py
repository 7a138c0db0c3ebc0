"""``python main.py render FILE -o OUT.png [...]``: the CLI contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydicom.data import get_testdata_file

from core.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


def cr_file(name: str = "RG1_UNCR.dcm") -> str:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not available from pydicom-data")
    return str(path)


def read_png(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f"{path} is not a readable PNG"
    return img


def expected_rg1() -> np.ndarray:
    """pydicom's own VOI window on RG1_UNCR, scaled to 8 bits, MONOCHROME1 inverted."""
    import pydicom
    from pydicom.pixels import apply_voi_lut

    ds = pydicom.dcmread(cr_file())
    values = apply_voi_lut(ds.pixel_array, ds).astype(np.float64)
    top = float(2 ** int(ds.BitsStored) - 1)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    return (255 - np.floor(np.clip(values / top, 0, 1) * 255 + 0.5)).astype(np.uint8)


def test_default_render_is_the_files_voi_window_inverted(tmp_path: Path) -> None:
    out = tmp_path / "rg1.png"
    assert cli_main(["render", cr_file(), "-o", str(out)]) == 0
    img = read_png(out)
    assert img.dtype == np.uint8 and img.ndim == 2
    diff = np.abs(img.astype(int) - expected_rg1().astype(int))
    assert diff.max() <= 1


def test_size_limits_the_longest_side(tmp_path: Path) -> None:
    out = tmp_path / "small.png"
    assert cli_main(["render", cr_file(), "-o", str(out), "--size", "500"]) == 0
    img = read_png(out)
    assert max(img.shape) == 500
    # 1955 x 1841 keeps its aspect ratio
    assert abs(img.shape[1] / img.shape[0] - 1841 / 1955) < 0.01


def test_options_change_the_image(tmp_path: Path) -> None:
    base = tmp_path / "base.png"
    cli_main(["render", cr_file(), "-o", str(base), "--size", "300"])
    ref = read_png(base).astype(int)
    variants = {
        "window": ["--window", "12000", "8000"],
        "gamma": ["--gamma", "2"],
        "clahe": ["--clahe", "3"],
        "invert": ["--invert"],
        "preset": ["--preset", "bone"],
    }
    for name, opts in variants.items():
        out = tmp_path / f"{name}.png"
        assert cli_main(["render", cr_file(), "-o", str(out), "--size", "300", *opts]) == 0
        img = read_png(out).astype(int)
        assert img.shape == ref.shape
        assert np.abs(img - ref).mean() > 3, name
    inverted = read_png(tmp_path / "invert.png").astype(int)
    assert np.abs(inverted - (255 - ref)).max() <= 1


def test_colour_photo_round_trips_in_rgb_order(tmp_path: Path) -> None:
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[..., 0] = 200  # red photo: a BGR/RGB mix-up would come out blue
    rgb[10:30, 20:40] = (30, 160, 90)
    src = tmp_path / "photo.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.png"
    assert cli_main(["render", str(src), "-o", str(out)]) == 0
    np.testing.assert_array_equal(cv2.cvtColor(read_png(out), cv2.COLOR_BGR2RGB), rgb)


def test_existing_output_is_replaced_and_no_temp_file_is_left(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    assert cli_main(["render", cr_file("RG3_UNCR.dcm"), "-o", str(out), "--size", "64"]) == 0
    assert read_png(out).shape == (64, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--gamma", "0"], "gamma"),
        (["--preset", "lungs"], "preset"),
        (["--window", "40", "-5"], "window_width"),
        (["--clahe", "-1"], "clahe_clip"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    out = tmp_path / "x.png"
    assert cli_main(["render", cr_file(), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err
    assert not out.exists()


def test_missing_and_unreadable_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.png"
    assert cli_main(["render", str(tmp_path / "nope.dcm"), "-o", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    junk = tmp_path / "notes.dcm"
    junk.write_text("this is not an image\n")
    assert cli_main(["render", str(junk), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.dcm" in err
    assert cli_main(["render", cr_file(), "-o", str(tmp_path / "no" / "dir.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_main_py_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "render",
            str(tmp_path / "missing.dcm"),
            "-o",
            str(tmp_path / "o.png"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "missing.dcm" in proc.stderr

"""``self-test``: each step passes here and fails, with one line naming the cause, when what
it proves is missing (a DICOM codec, a TIFF codec, the landmark model, a worker child)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.selftest import runner, steps_core, steps_ml
from ml.selftest.context import Context

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_torch_for_the_device_line(monkeypatch) -> None:
    # The report's device line imports torch (seconds); these tests check the steps.
    monkeypatch.setattr(runner, "device_label", lambda: "CPU (test)")


def _step(name: str):  # type: ignore[no-untyped-def]
    return dict(steps_core.STEPS + steps_ml.STEPS)[name]


def _run(name: str, tmp_path: Path) -> runner.StepResult:
    work = tmp_path / "Selbsttest ü"
    work.mkdir()
    return runner.run_step(name, _step(name), Context(work))


def test_the_codec_steps_pass_and_read_back_exact_pixels(tmp_path: Path) -> None:
    report = runner.run_selftest(
        steps=steps_core.STEPS[:4], keep=tmp_path / "kept"
    )  # dicom x3 + TIFF
    assert report.passed, report.to_dict()
    assert [s.name for s in report.steps] == [
        "dicom-jpeg2000", "dicom-jpeg-ls", "dicom-rle", "tiff-16bit",
    ]  # fmt: skip
    assert all("pixels exact" in s.message and s.seconds >= 0 for s in report.steps)
    # The scratch folder has a space and non-ASCII letters; --keep leaves it.
    assert (tmp_path / "kept" / "Selbsttest Müller ü" / "samples" / "jpeg-ls.dcm").is_file()


def test_a_missing_dicom_decoder_fails_its_step_naming_the_codec(
    tmp_path: Path, monkeypatch
) -> None:
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless

    decoder = get_decoder(JPEGLSLossless)
    monkeypatch.setattr(decoder, "_available", {})
    monkeypatch.setattr(decoder, "_unavailable", {"pylibjpeg": ("pylibjpeg-libjpeg>=2.1",)})
    result = _run("dicom-jpeg-ls", tmp_path)
    assert not result.ok
    assert "JPEG-LS" in result.message and "pylibjpeg-libjpeg" in result.message
    assert "\n" not in result.message
    (tmp_path / "other").mkdir()
    assert _run("dicom-rle", tmp_path / "other").ok, "only the JPEG-LS decoder is missing"


def test_a_missing_tiff_codec_fails_the_tiff_step_naming_it(tmp_path: Path, monkeypatch) -> None:
    import tifffile

    class NoZstd(dict):  # what tifffile answers when imagecodecs' zstd extension is missing
        def __getitem__(self, key: int) -> None:
            raise KeyError("<COMPRESSION.ZSTD: 50000> requires the 'imagecodecs' package")

        def __contains__(self, key: object) -> bool:
            return False

    tifffile.TIFF.DECOMPRESSORS  # noqa: B018 - resolve the cached property first
    monkeypatch.setitem(vars(tifffile.TIFF), "DECOMPRESSORS", NoZstd())
    result = _run("tiff-16bit", tmp_path)
    assert not result.ok
    assert "imagecodecs" in result.message and "\n" not in result.message


def test_a_missing_landmark_model_fails_the_face_step_naming_the_file(
    tmp_path: Path, monkeypatch
) -> None:
    import importlib.util

    from ml.severity import landmarks

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "face_recognition_models" else real(name, *a),
    )
    landmarks._dlib_models.cache_clear()
    try:
        result = _run("face-landmarks", tmp_path)
    finally:
        landmarks._dlib_models.cache_clear()
    assert not result.ok
    assert "shape_predictor_68_face_landmarks.dat" in result.message


def test_a_wrong_render_fails_the_filter_step(tmp_path: Path, monkeypatch) -> None:
    import numpy as np

    import core.filters

    monkeypatch.setattr(core.filters, "render", lambda raw, s, out_size=None: np.zeros((2, 2)))
    result = _run("render-filters", tmp_path)
    assert not result.ok and "not uint8 at full size" in result.message


def test_the_cli_exits_1_with_a_json_report_when_a_step_fails(monkeypatch, capsys) -> None:
    from core.cli import main as cli_main

    def broken(ctx: Context) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(
        runner, "default_steps", lambda: [("fine", lambda ctx: "fine"), ("broken", broken)]
    )
    assert cli_main(["self-test", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is False and doc["device"] == "CPU (test)"
    assert [(s["name"], s["ok"], s["message"]) for s in doc["steps"]] == [
        ("fine", True, "fine"),
        ("broken", False, "OSError: disk full"),
    ]
    assert set(doc["steps"][0]) == {"name", "ok", "seconds", "message"}
    assert cli_main(["self-test", "--step", "fine"]) == 0
    assert "self-test passed" in capsys.readouterr().out
    assert cli_main(["self-test", "--step", "nope"]) == 2


def test_a_worker_that_cannot_start_fails_the_detector_step(tmp_path: Path, monkeypatch) -> None:
    import core.workers

    monkeypatch.setattr(
        core.workers, "clinlens_argv", lambda *a: [str(tmp_path / "no-such-ClinLens"), *a]
    )
    monkeypatch.setattr(steps_ml, "build_checkpoint", lambda folder: _fake_checkpoint(folder))
    import ml.registry

    monkeypatch.setattr(ml.registry, "import_model", lambda *a, **k: None)
    result = _run("detector-worker", tmp_path)
    assert not result.ok and "cannot start the detector process" in result.message


def _fake_checkpoint(folder: Path) -> Path:
    path = folder / "fake.pt"
    path.write_bytes(b"")
    return path


@pytest.mark.slow
def test_the_whole_self_test_passes_from_source(tmp_path: Path) -> None:
    env = {**os.environ, "CLINLENS_DATA_DIR": str(tmp_path / "data"), "CLINLENS_DEVICE": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "self-test", "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900,
    )  # fmt: skip
    doc = json.loads(done.stdout)
    assert done.returncode == 0, doc
    assert doc["passed"] is True and doc["device"].startswith("CPU")
    names = [s["name"] for s in doc["steps"]]
    assert names == [n for n, _ in steps_core.STEPS + steps_ml.STEPS]
    assert all(s["ok"] for s in doc["steps"])

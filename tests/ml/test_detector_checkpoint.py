"""Model files that are not usable YOLO detectors: one clear line each, nothing installed,
nothing printed, nothing deleted - through the loader and through ``model import``."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from core.cli import main as cli_main
from core.errors import ModelError
from tests.ml.conftest import make_xray_project


def _torchscript(path: Path) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.save is deprecated in favour of export
        torch.jit.save(torch.jit.script(torch.nn.Conv2d(3, 4, 3)), str(path))


def _state_dict(path: Path) -> None:
    import torch

    torch.save(torch.nn.Conv2d(3, 4, 3).state_dict(), path)


def _foreign_module(path: Path) -> None:
    # A pickle whose first opcode imports a module nobody has (ultralytics' loader answers
    # that by trying to pip-install it): GLOBAL, empty tuple, NEWOBJ, STOP.
    path.write_bytes(b"cclinlens_no_such_module\nThing\n)\x81.")


def _text(path: Path) -> None:
    path.write_text("these are not the weights you are looking for\n")


FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "torchscript": (_torchscript, "TorchScript"),
    "state_dict": (_state_dict, "only weights"),
    "foreign_module": (_foreign_module, "clinlens_no_such_module"),
    "text": (_text, "damaged"),
}


@pytest.fixture()
def no_pip(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) any attempt to run a subprocess, such as ``pip install``."""
    from ml import offline

    offline.configure()
    import torch  # noqa: F401  (importing torch runs ldconfig; that is not the loader's doing)
    import ultralytics.nn.tasks  # noqa: F401

    calls: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        calls.append(repr(args[:1]))
        raise AssertionError(f"subprocess started while loading a model: {args[:1]!r}")

    for name in ("run", "check_output", "check_call", "Popen", "call"):
        monkeypatch.setattr(subprocess, name, refuse)
    return calls


@pytest.mark.parametrize("kind", sorted(FILES))
def test_unusable_files_get_a_specific_message_and_no_side_effects(
    tmp_path: Path, kind: str, no_pip: list[str]
) -> None:
    from ml.detector.checkpoint import load_detector_checkpoint

    make, expected = FILES[kind]
    path = tmp_path / "model.pt"
    make(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ModelError, match=expected) as err:
            load_detector_checkpoint(path)
    assert "model.pt" in str(err.value) and "\n" not in str(err.value)
    assert [str(w.message) for w in caught] == []
    assert no_pip == []
    assert path.is_file()  # never removed


def test_a_bare_file_name_is_never_treated_as_an_official_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_pip: list[str]
) -> None:
    # Ultralytics deletes and re-downloads a damaged file passed by an official asset name
    # ("yolov8n.pt"); a user's file of that name must only be refused.
    from ml.detector.checkpoint import load_detector_checkpoint

    monkeypatch.chdir(tmp_path)
    Path("yolov8n.pt").write_bytes(b"PK\x03\x04 truncated" * 4)
    with pytest.raises(ModelError):
        load_detector_checkpoint("yolov8n.pt")
    assert Path("yolov8n.pt").is_file()


@pytest.mark.parametrize("kind", sorted(FILES))
def test_model_import_of_an_unusable_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    folder = tmp_path / "proj"
    make_xray_project(folder, n_images=1, with_corrupt=False)
    make, expected = FILES[kind]
    path = tmp_path / f"{kind}.pt"
    make(path)
    rc = cli_main(["model", "import", str(folder), str(path), "--kind", "detector"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and expected in err and "unexpected" not in err
    assert [p.name for p in (folder / "models").iterdir()] == []

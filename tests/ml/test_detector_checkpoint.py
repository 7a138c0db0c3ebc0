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
from tests.ml.conftest import TINY_CLASSES, make_xray_project, tiny_yolo  # noqa: F401


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


# --- the safe loader: checked pickle, weights_only=True, ultralytics never given the path ------
@pytest.mark.slow
def test_the_safe_loader_gives_exactly_the_model_ultralytics_own_loader_gives(
    tiny_yolo: Path,  # noqa: F811
) -> None:
    import torch
    from ultralytics.nn.tasks import load_checkpoint

    from ml.detector.checkpoint import load_detector_checkpoint

    ours = load_detector_checkpoint(tiny_yolo)
    # The tests' own checkpoint, through ultralytics (which unpickles without limits).
    theirs, _ = load_checkpoint(str(tiny_yolo), device="cpu", fuse=False)
    theirs = theirs.fuse(verbose=False).eval()
    x = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = ours.model(x), theirs(x)
    a, b = (
        (a[0] if isinstance(a, (list, tuple)) else a),
        (b[0] if isinstance(b, (list, tuple)) else b),
    )
    assert torch.equal(a, b)
    assert ours.names == dict(enumerate(TINY_CLASSES)) and ours.imgsz == 128
    assert ours.stride == 32 and ours.info["task"] == "detect"


@pytest.mark.slow
def test_a_fused_checkpoint_with_namespaces_numpy_dates_and_paths_loads(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    # What real ultralytics checkpoints carry besides the model: a fused model pickles its
    # bound forward_fuse through getattr; training arguments as IterableSimpleNamespace
    # (with a Path), metrics as numpy scalars and arrays, a datetime.
    import datetime
    import pathlib

    import numpy as np
    import torch
    from ultralytics.utils import IterableSimpleNamespace

    from ml.detector.checkpoint import load_detector_checkpoint
    from ml.model_safety import load_checkpoint, scan_checkpoint

    ckpt = dict(load_checkpoint(tiny_yolo.read_bytes(), tiny_yolo.name))
    model = (ckpt.get("ema") or ckpt["model"]).float().fuse(verbose=False).half()
    ckpt.update(
        model=model,
        ema=None,
        train_args=IterableSimpleNamespace(imgsz=96, data=pathlib.Path("data/data.yaml")),
        train_metrics={"fitness": np.float64(0.5), "p": np.float32(0.25), "curve": np.zeros(3)},
        date=datetime.datetime(2024, 5, 1, 12, 0),
    )
    path = tmp_path / "fused.pt"
    torch.save(ckpt, path)
    found = scan_checkpoint(path.read_bytes(), path.name).globals
    assert {"builtins.getattr", "ultralytics.utils.IterableSimpleNamespace"} <= found
    assert any(name.startswith("numpy.") for name in found)
    loaded = load_detector_checkpoint(path)
    assert loaded.names == dict(enumerate(TINY_CLASSES)) and loaded.imgsz == 96


def test_scanning_a_checkpoint_needs_no_torch(tmp_path: Path) -> None:
    # The GUI's process checks files too (adopting an upgraded project's models); torch
    # must never load there.
    import pickle
    import sys
    import zipfile

    path = tmp_path / "m.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("m/data.pkl", pickle.dumps({"ok": 1}, protocol=2))
    code = (
        "import sys; from pathlib import Path; from ml.model_safety import scan_checkpoint\n"
        "print(sorted(scan_checkpoint(Path(sys.argv[1]).read_bytes(), 'm.pt').globals))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[]", "False"]


@pytest.mark.parametrize(
    ("pickle_bytes", "message"),
    [
        (b"\x80\x02cbuiltins\ngetattr\nq\x00ctorch.nn.modules.conv\nConv2d\nX\x08\x00\x00\x00__init__\x86R.", "'__init__'"),
        (b"\x80\x02ctorch.nn.modules.conv\nConv2d\n)R.", "calls 'torch.nn.modules.conv.Conv2d'"),
        (b"\x80\x02ctorch\nFloatStorage\n)R.", "calls 'torch.FloatStorage'"),
        (b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n)R.", "torch._tensor._rebuild_from_type_v2"),
        (b"\x80\x02cfunctools\npartial\n)R.", "functools.partial"),
        (b"\x80\x02cimportlib\nimport_module\n)R.", "importlib.import_module"),
        (b"\x80\x02csubprocess\nPopen\n)R.", "subprocess.Popen"),
        (b"\x80\x02cbuiltins\neval\n)R.", "builtins.eval"),
        (b"(cposix\nsystem\nX\x02\x00\x00\x00idtR.", "posix.system"),
        (b"(X\x02\x00\x00\x00idiposix\nsystem\n.", "posix.system"),
        (b"\x80\x02\x82\x01)R.", "extension codes"),
        (b"(X\x01\x00\x00\x00aX\x07\x00\x00\x00forwardibuiltins\ngetattr\n.", "getattr with"),
    ],
    ids=["getattr-init", "reduce-module-class", "reduce-storage", "rebuild-from-type",
         "partial", "importlib", "subprocess", "eval", "reduce-tuple", "inst", "ext1",
         "inst-getattr"],
)  # fmt: skip
def test_the_scan_refuses_each_forbidden_use_by_name(
    tmp_path: Path, pickle_bytes: bytes, message: str
) -> None:
    import zipfile

    from ml.model_safety import scan_checkpoint

    path = tmp_path / "m.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("m/data.pkl", pickle_bytes)
    with pytest.raises(ModelError, match="refused") as err:
        scan_checkpoint(path.read_bytes(), "m.pt")
    assert message in str(err.value) and "\n" not in str(err.value)

"""A model file can never execute code in ClinLens: a corpus of hostile model files.

Every file is made here, in ``tmp_path`` (no checked-in binaries). Each payload would
create a marker file if anything unpickled it. Through the real command line, in a child
process (``python main.py model import DIR FILE --kind ...`` and ``predict``/``severity``
on a registered file tampered with afterwards), each must exit 2 with exactly one line
on stderr, no traceback, nothing left in ``models/`` - and the marker must never appear.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import shlex
import sqlite3
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelError
from tests.ml.conftest import make_xray_project, tiny_yolo  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


class Payload:
    """Unpickling this creates ``marker``: the proof that code ran."""

    def __init__(self, how: str, marker: Path) -> None:
        self.how = how
        self.marker = str(marker)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        if self.how == "system":
            return (os.system, (f"touch {shlex.quote(self.marker)}",))
        if self.how == "exec":
            return (exec, (f"open({self.marker!r}, 'w').close()",))
        if self.how == "open":
            return (open, (self.marker, "w"))
        if self.how == "getattr":  # a bound method pickles as getattr(obj, name)
            return (pathlib.Path(self.marker).touch, ())
        raise ValueError(self.how)


# --- making the files ---------------------------------------------------------------------------
def _raw(how: str, protocol: int) -> Callable[[Path, Path, Path], None]:
    def make(path: Path, marker: Path, _tiny: Path) -> None:
        path.write_bytes(pickle.dumps(Payload(how, marker), protocol=protocol))

    return make


def _memo_stack_global(path: Path, marker: Path, _tiny: Path) -> None:
    # Protocol 4: module and name pushed, memoized, popped, fetched back from the memo.
    def text(s: str) -> bytes:
        b = s.encode()
        return b"\x8c" + bytes([len(b)]) + b  # SHORT_BINUNICODE

    cmd = f"touch {shlex.quote(str(marker))}"
    path.write_bytes(
        b"\x80\x04"
        + text("posix") + b"\x94" + b"0"  # MEMOIZE, POP
        + text("system") + b"\x94" + b"0"
        + b"h\x00h\x01"  # BINGET 0, BINGET 1
        + b"\x93"  # STACK_GLOBAL
        + text(cmd) + b"\x85"  # TUPLE1
        + b"R."  # REDUCE, STOP
    )  # fmt: skip


def _computed_stack_global(path: Path, marker: Path, _tiny: Path) -> None:
    # The module name is built while loading (here by _codecs.encode), so it cannot be read.
    path.write_bytes(
        b"\x80\x04"
        + b"\x8c\x07_codecs\x8c\x06encode\x93"
        + b"\x8c\x05posix\x8c\x06latin1\x86R"
        + b"\x8c\x06system\x93"
        + b"\x8c\x02id\x85R."
    )


def _torch_zip_payload(path: Path, marker: Path, _tiny: Path) -> None:
    import torch

    torch.save({"model": Payload("system", marker)}, path)


def _checkpoint(tiny: Path) -> dict:
    # The tiny checkpoint, read the safe way (it is the tests' own, but nothing unpickles
    # model files with weights_only=False in this repository).
    from ml.model_safety import load_checkpoint

    return dict(load_checkpoint(tiny.read_bytes(), tiny.name))


def _valid_checkpoint_with(how: str) -> Callable[[Path, Path, Path], None]:
    def make(path: Path, marker: Path, tiny: Path) -> None:
        import torch

        ckpt = _checkpoint(tiny)
        ckpt["train_metrics"] = {"fitness": Payload(how, marker)}
        torch.save(ckpt, path)

    return make


def _truncated(path: Path, _marker: Path, tiny: Path) -> None:
    data = tiny.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path, _marker: Path, _tiny: Path) -> None:
    path.write_bytes(b"")


def _text(path: Path, _marker: Path, _tiny: Path) -> None:
    path.write_text("these are not the weights you are looking for\n")


def _zip_with(members: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _benign_pickle() -> bytes:
    return pickle.dumps({"ok": 1}, protocol=2)


def _zip_bomb_ratio(path: Path, _marker: Path, _tiny: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ckpt/data.pkl", _benign_pickle())
        zf.writestr("ckpt/data/0", b"\0" * (64 << 20), compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(buf.getvalue())


def _zip_bomb_declared(path: Path, _marker: Path, _tiny: Path) -> None:
    # A stored entry whose central-directory size claims 3.75 GB.
    data = bytearray(_zip_with({"ckpt/data.pkl": _benign_pickle(), "ckpt/data/0": b"x" * 64}))
    central = data.rfind(b"PK\x01\x02")  # the last entry's central-directory header
    struct.pack_into("<I", data, central + 24, 0xF0000000)
    path.write_bytes(bytes(data))


def _torchscript(path: Path, _marker: Path, _tiny: Path) -> None:
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(torch.nn.Conv2d(3, 4, 3)), str(path))


def _two_pickles(path: Path, marker: Path, tiny: Path) -> None:
    with zipfile.ZipFile(tiny) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    root = next(iter(members)).split("/")[0]
    members[f"{root}/extra.pkl"] = pickle.dumps(Payload("system", marker), protocol=2)
    path.write_bytes(_zip_with(members))


def _prefixed_zip(path: Path, _marker: Path, tiny: Path) -> None:
    path.write_bytes(b"#!junk in front of the archive\n" + tiny.read_bytes())


def _legacy_format(path: Path, marker: Path, _tiny: Path) -> None:
    import torch

    torch.save({"model": Payload("system", marker)}, path, _use_new_zipfile_serialization=False)


DETECTOR_FILES: dict[str, tuple[Callable[[Path, Path, Path], None], str]] = {
    "raw-system-protocol2": (_raw("system", 2), "posix.system"),
    "raw-exec-protocol2": (_raw("exec", 2), "builtins.exec"),
    "raw-open-protocol2": (_raw("open", 2), "io.open"),
    "raw-system-protocol0": (_raw("system", 0), "posix.system"),
    "raw-system-protocol4-stack-global": (_raw("system", 4), "posix.system"),
    "raw-exec-protocol5": (_raw("exec", 5), "builtins.exec"),
    "protocol4-memo-stack-global": (_memo_stack_global, "posix.system"),
    "protocol4-computed-stack-global": (_computed_stack_global, "computes"),
    "torch-zip-with-payload": (_torch_zip_payload, "posix.system"),
    "valid-checkpoint-plus-system-payload": (_valid_checkpoint_with("system"), "posix.system"),
    "valid-checkpoint-plus-exec-payload": (_valid_checkpoint_with("exec"), "builtins.exec"),
    "valid-checkpoint-plus-getattr-trick": (_valid_checkpoint_with("getattr"), "'touch'"),
    "truncated": (_truncated, "truncated"),
    "empty": (_empty, "empty"),
    "text-named-pt": (_text, "damaged"),
    "zip-bomb-ratio": (_zip_bomb_ratio, "zip bomb"),
    "zip-bomb-declared-size": (_zip_bomb_declared, "zip bomb"),
    "torchscript": (_torchscript, "TorchScript"),
    "two-pickles": (_two_pickles, "2 pickles"),
    "data-before-the-archive": (_prefixed_zip, "in front"),
    "legacy-format": (_legacy_format, "legacy format"),
}


def _joblib_payload(path: Path, marker: Path, _tiny: Path) -> None:
    import joblib

    joblib.dump({"format": "clinlens-severity", "x": Payload("system", marker)}, path)


def _npz_with_objects(path: Path, marker: Path, _tiny: Path) -> None:
    doc = json.dumps({"format": "clinlens-severity", "format_version": 2}).encode()
    with open(path, "wb") as fh:
        np.savez(
            fh,
            __model__=np.frombuffer(doc, dtype=np.uint8),
            a0=np.array([Payload("system", marker)], dtype=object),
        )


def _npz_pickle_member(path: Path, marker: Path, _tiny: Path) -> None:
    # An extra entry that is a pickle, not an array.
    doc = json.dumps({"format": "clinlens-severity", "format_version": 2}).encode()
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(doc, dtype=np.uint8), allow_pickle=False)
    members = {"__model__.npy": buf.getvalue()}
    members["a0.npy"] = pickle.dumps(Payload("system", marker))
    path.write_bytes(_zip_with(members))


SEVERITY_FILES: dict[str, tuple[Callable[[Path, Path, Path], None], str, str]] = {
    "joblib-payload": (_joblib_payload, ".joblib", "joblib format"),
    "joblib-payload-named-npz": (_joblib_payload, ".npz", "joblib format"),
    "npz-with-object-arrays": (_npz_with_objects, ".npz", "Python objects"),
    "npz-with-a-pickle-entry": (_npz_pickle_member, ".npz", "damaged"),
}


# --- running the command line ------------------------------------------------------------------
def _main(*argv: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLINLENS_DATA_DIR": str(env_dir)}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _assert_refused(done: subprocess.CompletedProcess[str], marker: Path, expected: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr  # exactly one line
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    assert expected in done.stderr, done.stderr
    assert not marker.exists(), "the payload ran"


@pytest.fixture()
def project_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    make_xray_project(folder, n_images=1, with_corrupt=False)
    return folder


@pytest.mark.parametrize("case", sorted(DETECTOR_FILES))
def test_a_hostile_detector_file_is_refused_at_import_and_never_runs(
    case: str,
    project_dir: Path,
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    make, expected = DETECTOR_FILES[case]
    marker = tmp_path / "PWNED"
    path = tmp_path / f"{case}.pt"
    make(path, marker, tiny_yolo)
    assert not marker.exists(), "making the file ran the payload"
    done = _main(
        "model", "import", str(project_dir), str(path), "--kind", "detector", env_dir=tmp_path
    )
    _assert_refused(done, marker, expected)
    assert list((project_dir / "models").iterdir()) == []


@pytest.mark.parametrize("case", sorted(SEVERITY_FILES))
def test_a_hostile_severity_file_is_refused_at_import_and_never_runs(
    case: str, project_dir: Path, tmp_path: Path
) -> None:
    make, suffix, expected = SEVERITY_FILES[case]
    marker = tmp_path / "PWNED"
    path = tmp_path / f"{case}{suffix}"
    make(path, marker, tmp_path)
    assert not marker.exists()
    done = _main(
        "model", "import", str(project_dir), str(path), "--kind", "severity", env_dir=tmp_path
    )
    _assert_refused(done, marker, expected)
    assert list((project_dir / "models").iterdir()) == []


def test_the_scanner_runs_nothing_for_any_file_of_the_corpus(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    # The same corpus straight through the loader in this process (no child to hide in).
    from ml.detector.checkpoint import load_detector_checkpoint

    marker = tmp_path / "PWNED"
    for case, (make, _expected) in sorted(DETECTOR_FILES.items()):
        path = tmp_path / f"{case}.pt"
        make(path, marker, tiny_yolo)
        with pytest.raises(ModelError) as err:
            load_detector_checkpoint(path)
        assert "\n" not in str(err.value), case
        assert not marker.exists(), case


# --- registered, then tampered with -----------------------------------------------------------
def _import_tiny(project_dir: Path, tiny: Path, env_dir: Path) -> dict:
    done = _main(
        "model", "import", str(project_dir), str(tiny), "--kind", "detector", "--name", "tiny",
        "--json", env_dir=env_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("json_too", [False, True], ids=["file-swapped", "file-and-json-swapped"])
def test_a_registered_model_swapped_for_a_payload_is_never_loaded(
    json_too: bool,
    project_dir: Path,
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from core.hashing import sha256_file

    entry = _import_tiny(project_dir, tiny_yolo, tmp_path)
    marker = tmp_path / "PWNED"
    stored = project_dir / "models" / entry["file"]
    _valid_checkpoint_with("system")(stored, marker, tiny_yolo)
    if json_too:  # an attacker who edits the JSON beside the file to the new hash
        meta_path = stored.with_name(stored.name + ".json")
        meta = json.loads(meta_path.read_text())
        meta["sha256"] = sha256_file(stored)
        meta_path.write_text(json.dumps(meta))
    done = _main("predict", str(project_dir), "--all", env_dir=tmp_path)
    _assert_refused(done, marker, "changed since it was imported")
    done = _main("model", "list", str(project_dir), env_dir=tmp_path)
    assert done.returncode == 0 and "changed since it was imported: never loaded" in done.stdout


def test_a_model_and_json_dropped_into_models_by_hand_are_never_loaded(
    project_dir: Path,
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from core.hashing import sha256_file

    entry = _import_tiny(project_dir, tiny_yolo, tmp_path)
    marker = tmp_path / "PWNED"
    dropped = project_dir / "models" / "evil-v1.pt"
    _valid_checkpoint_with("system")(dropped, marker, tiny_yolo)
    meta = {**entry, "clinlens_model": 1, "name": "evil", "file": dropped.name}
    meta["sha256"] = sha256_file(dropped)
    meta["created"] = "2999-01-01T00:00:00+00:00"  # newest: would be the active one
    meta.pop("notes", None)
    dropped.with_name(dropped.name + ".json").write_text(json.dumps(meta))
    done = _main("predict", str(project_dir), "--all", env_dir=tmp_path)
    _assert_refused(done, marker, "not recorded in this project's database")


def test_a_registered_severity_model_swapped_for_a_payload_is_never_loaded(
    tmp_path: Path,
) -> None:
    from core.annotations import builtin_label_set, builtin_scale
    from core.store import Project
    from ml.severity import model_io

    folder = tmp_path / "faces"
    Project.create(
        folder, label_set=builtin_label_set("acne"), scales=[builtin_scale("acne4")]
    ).close()
    info = model_io.register_model(folder, _small_severity_model())
    marker = tmp_path / "PWNED"
    stored = folder / "models" / info.file
    for make in (_npz_with_objects, _joblib_payload):
        make(stored, marker, tmp_path)
        model_io._loaded.clear()
        with pytest.raises(ModelError, match="changed since it was imported"):
            model_io.load_model(folder, "acne4")
        assert not marker.exists()


# --- the valid checkpoint still works ---------------------------------------------------------
def test_the_valid_tiny_checkpoint_still_imports_and_predicts(
    project_dir: Path,
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    entry = _import_tiny(project_dir, tiny_yolo, tmp_path)
    assert entry["classes"] == ["key", "belt buckle"] and entry["imgsz"] == 128
    done = _main(
        "predict", str(project_dir), "--all", "--conf", "0.0001", "--device", "cpu", "--json",
        env_dir=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["suggestions"] > 0
    done = _main("model", "list", str(project_dir), "--json", env_dir=tmp_path)
    assert [m["trust"] for m in json.loads(done.stdout)["models"]] == ["trusted"]


# --- severity: the old joblib format --------------------------------------------------------------
def _small_severity_model(kind: str = "ridge", dim: int = 20):  # type: ignore[no-untyped-def]
    from core.annotations import builtin_scale
    from ml.severity.model_io import SeverityModel
    from ml.severity.reference import ReferenceIndex
    from ml.severity.regressor import PatchRegressor, RegressorConfig

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, dim))
    y = rng.integers(0, 4, size=80).astype(float)
    reg = PatchRegressor(builtin_scale("acne4"), RegressorConfig(kind=kind)).fit(X, y)
    refs = ReferenceIndex(
        reg.embed(X[:8]), np.arange(8), [f"p{i}.png" for i in range(8)], y[:8], ["x"] * 8
    )
    return SeverityModel(
        scale=builtin_scale("acne4"),
        backbone="builtin",
        weights_path=None,
        weights_sha=None,
        regressor=reg,
        references=refs,
        smote=True,
        augment={"copies": 4, "shift": 0.15},
        training={"faces": 8},
        metrics={"regression": {"mae": np.float64(0.25)}},
    )


def _old_project_with_joblib_model(folder: Path, model, tiny: Path | None = None) -> Path:  # type: ignore[no-untyped-def]
    """A project as the joblib-era ClinLens left it: a .joblib and its JSON, schema 1."""
    import joblib
    import pytest

    from core.annotations import builtin_label_set, builtin_scale
    from core.hashing import sha256_file
    from core.store import DB_NAME, Project
    from core.store import schema as store_schema

    # Made at schema 1 exactly: only the first migration runs.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_schema, "MIGRATIONS", store_schema.MIGRATIONS[:1])
        Project.create(
            folder, label_set=builtin_label_set("acne"), scales=[builtin_scale("acne4")]
        ).close()
    models = folder / "models"
    payload = model.to_payload()
    payload["format_version"] = 1
    payload["regressor"]["config"] = model.regressor.config  # v1 pickled the dataclass
    joblib.dump(payload, models / "severity-acne4-v1.joblib", compress=3)
    files = [("severity-acne4-v1.joblib", "severity-acne4", "severity", {"scale": "acne4"})]
    if tiny is not None:
        (models / "old-v1.pt").write_bytes(tiny.read_bytes())
        files.append(("old-v1.pt", "old", "detector", {}))
    for file, name, kind, extra in files:
        meta = {
            "clinlens_model": 1, "name": name, "version": 1, "kind": kind, "file": file,
            "sha256": sha256_file(models / file), "size": (models / file).stat().st_size,
            "created": "2024-01-01T00:00:00+00:00", "source": "trained", "status": "active",
            "classes": [], "imgsz": None, "tiling": None, "filter_settings": None,
            "training": None, "metrics": None, "extra": extra,
        }  # fmt: skip
        (models / f"{file}.json").write_text(json.dumps(meta))
    conn = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    return folder


def test_an_old_joblib_model_is_refused_then_converted_once_after_trust(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from ml import registry
    from ml.severity import model_io

    model = _small_severity_model("rbf", 200)  # scaler + PCA + Nystroem + ridge
    folder = _old_project_with_joblib_model(tmp_path / "old", model, tiny_yolo)
    # Opened for writing once (the upgrade), the registry adopts the old entries.
    done = _main("model", "list", str(folder), "--json", env_dir=tmp_path)
    assert done.returncode == 2 and "older ClinLens" in done.stderr  # read-only: not yet
    from core.store import Project

    with Project.open(folder) as project:
        trust = {
            m.file: registry.trust_state(project.folder, m) for m in registry.list_models(folder)
        }
        records = project.model_trust.records()
    assert trust == {"old-v1.pt": "trusted", "severity-acne4-v1.joblib": "trusted"}
    assert {f: r.origin for f, r in records.items()} == {
        "old-v1.pt": "adopted",
        "severity-acne4-v1.joblib": "legacy",
    }

    model_io._loaded.clear()
    with pytest.raises(ModelError, match="severity convert DIR severity-acne4:1 --trust"):
        model_io.load_model(folder, "acne4")

    done = _main("severity", "convert", str(folder), "severity-acne4", env_dir=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--trust" in done.stderr
    done = _main("severity", "convert", str(folder), "severity-acne4", "--trust", env_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "converted severity-acne4:1 to severity-acne4:2" in done.stdout

    statuses = {m.ref: (m.status, m.file) for m in registry.list_models(folder, "severity")}
    assert statuses == {
        "severity-acne4:1": ("retired", "severity-acne4-v1.joblib"),
        "severity-acne4:2": ("active", "severity-acne4-v2.npz"),
    }
    model_io._loaded.clear()
    converted = model_io.load_model(folder, "acne4")
    X = np.random.default_rng(9).normal(size=(40, 200))
    np.testing.assert_allclose(
        converted.regressor.predict_patches(X), model.regressor.predict_patches(X), atol=1e-9
    )
    np.testing.assert_allclose(converted.regressor.embed(X), model.regressor.embed(X), atol=1e-9)
    with Project.open(folder) as project:
        assert project.model_trust.get("severity-acne4-v2.npz").origin == "converted"  # type: ignore[union-attr]


def test_an_old_joblib_model_swapped_after_the_upgrade_is_not_converted_even_with_trust(
    tmp_path: Path,
) -> None:
    from ml import registry

    folder = _old_project_with_joblib_model(tmp_path / "old", _small_severity_model())
    from core.store import Project

    with Project.open(folder):
        registry.list_models(folder)  # the adoption records the file's hash
    marker = tmp_path / "PWNED"
    _joblib_payload(folder / "models" / "severity-acne4-v1.joblib", marker, tmp_path)
    done = _main("severity", "convert", str(folder), "severity-acne4", "--trust", env_dir=tmp_path)
    _assert_refused(done, marker, "changed since it was imported")


def test_an_upgraded_project_adopts_only_files_that_pass_the_scanner_and_only_once(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from core.hashing import sha256_file
    from core.store import Project
    from ml import registry

    folder = _old_project_with_joblib_model(tmp_path / "old", _small_severity_model(), tiny_yolo)
    marker = tmp_path / "PWNED"
    evil = folder / "models" / "evil-v1.pt"
    _valid_checkpoint_with("system")(evil, marker, tiny_yolo)
    meta = json.loads((folder / "models" / "old-v1.pt.json").read_text())
    meta.update(name="evil", file=evil.name, sha256=sha256_file(evil))
    (folder / "models" / "evil-v1.pt.json").write_text(json.dumps(meta))
    with Project.open(folder) as project:
        registry.list_models(folder)
        assert set(project.model_trust.records()) == {"old-v1.pt", "severity-acne4-v1.joblib"}
        assert not project.model_trust.adoption_pending()
    # A JSON-only entry that appears later is never adopted.
    late = folder / "models" / "late-v1.pt"
    late.write_bytes(tiny_yolo.read_bytes() + b"\0")
    meta.update(name="late", file=late.name, sha256=sha256_file(late))
    (folder / "models" / "late-v1.pt.json").write_text(json.dumps(meta))
    with Project.open(folder) as project:
        states = {m.file: registry.trust_state(folder, m) for m in registry.list_models(folder)}
    assert states["evil-v1.pt"] == states["late-v1.pt"] == "unrecorded"
    assert states["old-v1.pt"] == "trusted"
    assert not marker.exists()

"""The model registry: only registered, unchanged files are ever loaded."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ModelError
from core.hashing import sha256_file
from ml import registry
from ml.registry import NoModelError


@pytest.fixture(autouse=True)
def _placeholder_severity_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These tests exercise the generic registry with placeholder bytes as model files.

    The real severity check and inspector read a file to learn its scale and would refuse
    them; they have their own tests (tests/cli/test_severity.py, test_hostile_models.py),
    so here the kind accepts anything.
    """
    severity = registry.get_kind("severity")
    monkeypatch.setitem(
        registry.kinds._REGISTERED, "severity", dataclasses.replace(severity, check=None)
    )
    registry.set_inspector("severity", lambda _path: {})
    yield
    registry.set_inspector("severity", None)


def make_project(folder: Path) -> Path:
    """An empty project: the registry records each model's checksum in its database."""
    from core.annotations import builtin_label_set
    from core.store import Project

    Project.create(folder, label_set=builtin_label_set("xray"), scales=[]).close()
    return folder


@pytest.fixture()
def project_dir(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def _file(tmp_path: Path, name: str, content: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content)
    return p


def test_import_copies_the_file_and_records_its_hash_and_metadata(
    project_dir: Path, tmp_path: Path
) -> None:
    src = _file(tmp_path, "grader.joblib", b"severity model bytes")
    info = registry.import_model(
        project_dir,
        src,
        "severity",
        "acne grader",
        metadata={"metrics": {"mae": 0.4}, "training": {"images": 120}, "scale": "acne4"},
    )
    stored = project_dir / "models" / info.file
    assert stored.read_bytes() == src.read_bytes()
    assert info.sha256 == registry.file_sha256(src)
    assert (info.name, info.version, info.kind, info.ref) == (
        "acne grader",
        1,
        "severity",
        "acne grader:1",
    )
    assert info.metrics == {"mae": 0.4} and info.training == {"images": 120}
    assert info.extra["scale"] == "acne4"  # unknown keys are kept, under extra
    meta = json.loads((project_dir / "models" / f"{info.file}.json").read_text())
    assert meta["sha256"] == info.sha256 and meta["source"] == "grader.joblib"
    assert registry.list_models(project_dir) == [info]


def test_a_second_import_of_the_same_name_gets_the_next_version(
    project_dir: Path, tmp_path: Path
) -> None:
    one = registry.import_model(project_dir, _file(tmp_path, "a.bin", b"one"), "severity", "g")
    two = registry.import_model(project_dir, _file(tmp_path, "b.bin", b"two"), "severity", "g")
    assert (one.version, two.version) == (1, 2)
    assert one.file != two.file
    assert registry.find_model(project_dir, "severity").ref == "g:2"  # newest active
    assert registry.find_model(project_dir, "severity", "g:1").ref == "g:1"
    assert registry.find_model(project_dir, "severity", "g", version=1).ref == "g:1"


def test_importing_the_same_bytes_twice_returns_the_existing_entry(
    project_dir: Path, tmp_path: Path
) -> None:
    src = _file(tmp_path, "m.bin", b"same")
    first = registry.import_model(project_dir, src, "severity", "m")
    again = registry.import_model(project_dir, src, "severity", "m")
    assert again == first
    assert len(registry.list_models(project_dir)) == 1
    # from another path, with the same metadata and another status: still the same entry
    copy = _file(tmp_path, "copy.bin", b"same")
    assert registry.import_model(project_dir, copy, "severity", "m", status="candidate") == first
    assert sorted(p.name for p in (project_dir / "models").iterdir()) == [
        first.file,
        f"{first.file}.json",
    ]


def test_the_same_bytes_under_another_name_are_a_new_entry(
    project_dir: Path, tmp_path: Path
) -> None:
    src = _file(tmp_path, "m.bin", b"same")
    first = registry.import_model(project_dir, src, "severity", "m")
    other = registry.import_model(project_dir, src, "severity", "other name")
    assert (other.ref, other.sha256) == ("other name:1", first.sha256)
    assert other.file != first.file
    assert [m.ref for m in registry.list_models(project_dir)] == ["m:1", "other name:1"]
    assert {registry.trust_state(project_dir, m) for m in (first, other)} == {"trusted"}
    assert registry.find_model(project_dir, "severity", "m").ref == "m:1"


def test_the_same_bytes_with_other_metadata_are_the_next_version(
    project_dir: Path, tmp_path: Path
) -> None:
    src = _file(tmp_path, "m.bin", b"same")
    tiles = {"tile": 512, "overlap": 128, "scale": 1.0, "mode": "tiles"}
    whole = {"tile": 640, "overlap": 160, "scale": 1.0, "mode": "whole"}
    first = registry.import_model(project_dir, src, "severity", "m", metadata={"tiling": tiles})
    second = registry.import_model(project_dir, src, "severity", "m", metadata={"tiling": whole})
    assert (first.version, second.version) == (1, 2)
    assert (first.tiling, second.tiling) == (tiles, whole)
    assert registry.find_model(project_dir, "severity", "m:1").tiling == tiles  # unchanged
    assert registry.trust_state(project_dir, second) == "trusted"
    # each setting again: its own entry, whichever version it is
    assert (
        registry.import_model(project_dir, src, "severity", "m", metadata={"tiling": tiles})
        == first
    )
    assert (
        registry.import_model(project_dir, src, "severity", "m", metadata={"tiling": whole})
        == second
    )
    # no metadata at all is different metadata too
    third = registry.import_model(project_dir, src, "severity", "m")
    assert (third.version, third.tiling) == (3, None)
    assert len(registry.list_models(project_dir)) == 3


def test_derived_metadata_sees_what_the_inspector_read(project_dir: Path, tmp_path: Path) -> None:
    from ml.detector.tiling import TilingSpec

    registry.set_inspector("severity", lambda _path: {"imgsz": 640, "classes": ["a"]})
    seen: list[dict] = []

    def whole(described: dict) -> dict:
        seen.append(described)
        return {"tiling": TilingSpec.for_model(described.get("imgsz"), mode="whole").to_dict()}

    src = _file(tmp_path, "m.bin", b"weights")
    info = registry.import_model(project_dir, src, "severity", "m", derive=whole)
    assert seen == [{"imgsz": 640, "classes": ["a"]}]
    assert info.imgsz == 640
    assert info.tiling == {"tile": 640, "overlap": 160, "scale": 1.0, "mode": "whole"}
    # the same derived settings again are the same entry, not a new version
    assert registry.import_model(project_dir, src, "severity", "m", derive=whole) == info
    # derived metadata overrides the caller's
    over = registry.import_model(
        project_dir, src, "severity", "m", metadata={"tiling": {"tile": 32}}, derive=whole
    )
    assert over == info


def test_a_changed_model_file_is_refused_with_a_clear_message(
    project_dir: Path, tmp_path: Path
) -> None:
    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"good"), "severity", "m")
    assert registry.verified_path(project_dir, info).is_file()
    (project_dir / "models" / info.file).write_bytes(b"evil")
    with pytest.raises(ModelError, match="changed since it was imported"):
        registry.verified_path(project_dir, info)


def test_a_missing_model_file_is_reported(project_dir: Path, tmp_path: Path) -> None:
    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"x"), "severity", "m")
    (project_dir / "models" / info.file).unlink()
    with pytest.raises(ModelError, match="missing"):
        registry.verified_path(project_dir, info)


def test_files_dropped_into_models_by_hand_are_never_used(project_dir: Path) -> None:
    (project_dir / "models" / "dropped.pt").write_bytes(b"not registered")
    assert registry.list_models(project_dir) == []
    assert registry.unregistered_files(project_dir) == ["dropped.pt"]
    with pytest.raises(NoModelError):
        registry.find_model(project_dir, "detector")


def test_metadata_pointing_outside_its_own_file_is_ignored(
    project_dir: Path, tmp_path: Path
) -> None:
    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"x"), "severity", "m")
    meta_path = project_dir / "models" / f"{info.file}.json"
    meta = json.loads(meta_path.read_text())
    meta["file"] = "../../elsewhere.bin"
    meta_path.write_text(json.dumps(meta))
    assert registry.list_models(project_dir) == []


def test_no_model_yet_says_how_to_get_one(project_dir: Path) -> None:
    with pytest.raises(NoModelError, match="model import") as err:
        registry.find_model(project_dir, "detector")
    assert isinstance(err.value, ModelError)
    with pytest.raises(NoModelError):
        registry.find_model(project_dir.parent / "no-models-folder", "detector")


def test_unknown_model_name_lists_the_registered_ones(project_dir: Path, tmp_path: Path) -> None:
    registry.import_model(project_dir, _file(tmp_path, "m.bin", b"x"), "severity", "m")
    with pytest.raises(ModelError, match="m:1"):
        registry.find_model(project_dir, "severity", "nope")


def test_candidates_are_kept_aside_until_promoted(project_dir: Path, tmp_path: Path) -> None:
    old = registry.import_model(project_dir, _file(tmp_path, "a.bin", b"a"), "severity", "g")
    new = registry.import_model(
        project_dir, _file(tmp_path, "b.bin", b"b"), "severity", "g", status="candidate"
    )
    assert registry.find_model(project_dir, "severity").ref == old.ref
    promoted = registry.promote(project_dir, new)
    assert promoted.status == "active"
    assert registry.find_model(project_dir, "severity").ref == new.ref
    statuses = {m.ref: m.status for m in registry.list_models(project_dir)}
    assert statuses == {"g:1": "candidate", "g:2": "active"}


def test_only_candidates_means_no_usable_model(project_dir: Path, tmp_path: Path) -> None:
    registry.import_model(
        project_dir, _file(tmp_path, "a.bin", b"a"), "severity", "g", status="candidate"
    )
    with pytest.raises(NoModelError, match="promote"):
        registry.find_model(project_dir, "severity")


def test_update_model_changes_metadata_but_never_the_file_identity(
    project_dir: Path, tmp_path: Path
) -> None:
    info = registry.import_model(project_dir, _file(tmp_path, "a.bin", b"a"), "severity", "g")
    updated = registry.update_model(project_dir, info, metrics={"map50": 0.7})
    assert registry.list_models(project_dir)[0].metrics == {"map50": 0.7}
    assert updated.sha256 == info.sha256
    with pytest.raises(ModelError):
        registry.update_model(project_dir, info, sha256="0" * 64)


@pytest.mark.parametrize("name", [" ", "../escape", "a/b", "x" * 65, "-dash-first"])
def test_bad_model_names_are_refused(project_dir: Path, tmp_path: Path, name: str) -> None:
    src = _file(tmp_path, "a.bin", b"a")
    with pytest.raises(ModelError, match="invalid model name"):
        registry.import_model(project_dir, src, "severity", name)


def test_unknown_kind_and_missing_file_are_refused(project_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="kind"):
        registry.import_model(project_dir, _file(tmp_path, "a.bin", b"a"), "segmenter", "x")
    with pytest.raises(ModelError, match="does not exist"):
        registry.import_model(project_dir, tmp_path / "missing.pt", "detector", "x")


def test_a_failing_inspector_leaves_nothing_in_models(project_dir: Path, tmp_path: Path) -> None:
    def refuse(_path: Path) -> dict:
        raise ValueError("unreadable")

    registry.set_inspector("severity", refuse)
    try:
        with pytest.raises(ModelError, match="not a usable severity model"):
            registry.import_model(project_dir, _file(tmp_path, "a.bin", b"a"), "severity", "g")
    finally:
        registry.set_inspector("severity", None)
    assert list((project_dir / "models").iterdir()) == []


def test_corrupt_detector_file_is_refused_at_import_and_nothing_is_kept(
    project_dir: Path, tmp_path: Path
) -> None:
    src = _file(tmp_path, "broken.pt", b"PK\x03\x04 this is not a checkpoint" * 10)
    with pytest.raises(ModelError, match=r"broken\.pt"):
        registry.import_model(project_dir, src, "detector", "broken")
    assert list((project_dir / "models").iterdir()) == []


def test_loaders_get_the_checked_bytes_or_a_private_copy_of_them(
    project_dir: Path, tmp_path: Path
) -> None:
    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"payload"), "severity", "m")
    assert registry.read_verified(project_dir, info) == b"payload"
    with registry.verified_file(project_dir, info) as copy:
        assert copy.read_bytes() == b"payload"
        assert copy != registry.model_path(project_dir, info)
    assert not copy.exists()
    registry.model_path(project_dir, info).write_bytes(b"tampered")
    with pytest.raises(ModelError, match="changed since it was imported"):
        registry.read_verified(project_dir, info)


@pytest.mark.parametrize("step", ["copy", "rename"])
def test_a_disk_error_during_import_is_a_model_error_and_leaves_nothing(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    import os
    import shutil

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(
        shutil if step == "copy" else os, "copyfile" if step == "copy" else "replace", full
    )
    with pytest.raises(ModelError, match="No space left on device"):
        registry.import_model(project_dir, _file(tmp_path, "m.bin", b"x"), "severity", "m")
    assert list((project_dir / "models").iterdir()) == []
    assert registry.list_models(project_dir) == []


# --- the table of kinds -----------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_imports_no_kind_until_one_is_needed() -> None:
    code = (
        "import sys; from ml import registry; "
        "print(sorted(m for m in sys.modules if m.startswith(('ml.detector', 'ml.severity'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_each_builtin_kind_registers_itself_when_first_needed() -> None:
    assert registry.known_kinds() == ("detector", "severity")
    detector = registry.get_kind("detector")
    severity = registry.get_kind("severity")
    assert (detector.name, detector.suffixes) == ("detector", (".pt",))
    assert (severity.name, severity.suffixes) == ("severity", (".npz",))
    from ml.detector.checkpoint import inspect_detector
    from ml.severity.model_io import inspect_severity

    assert (detector.describe, severity.describe) == (inspect_detector, inspect_severity)
    with pytest.raises(ModelError, match="use one of detector, severity"):
        registry.get_kind("segmenter")


def test_a_registered_kind_is_stored_and_described_like_the_builtin_ones(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def describe(path: Path) -> dict:
        seen.append(path.read_text())
        return {"classes": ["lesion"], "extra": {"arch": "unet"}}

    monkeypatch.setattr(registry.kinds, "_REGISTERED", dict(registry.kinds._REGISTERED))
    registry.register_kind(registry.ModelKind("segmenter", (".onnx",), describe))
    assert registry.known_kinds() == ("detector", "severity", "segmenter")
    info = registry.import_model(project_dir, _file(tmp_path, "s.onnx", b"seg"), "segmenter")
    assert seen == ["seg"]
    assert (info.kind, info.classes, info.extra) == ("segmenter", ("lesion",), {"arch": "unet"})
    assert registry.find_model(project_dir, "segmenter").ref == info.ref


def test_the_trust_anchor_is_the_project_wide_sha256(project_dir: Path, tmp_path: Path) -> None:
    src = _file(tmp_path, "m.bin", b"bytes")
    assert registry.file_sha256(src) == sha256_file(src)
    with pytest.raises(ModelError, match=r"cannot read model file missing\.bin"):
        registry.file_sha256(tmp_path / "missing.bin")


# --- trust: the hash in the project database ----------------------------------------------
def test_the_hash_is_recorded_in_the_project_database(project_dir: Path, tmp_path: Path) -> None:
    from core.store import Project

    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"model"), "severity", "m")
    with Project.open(project_dir, read_only=True) as project:
        record = project.model_trust.get(info.file)
    assert record is not None and (record.sha256, record.kind, record.origin) == (
        info.sha256,
        "severity",
        "imported",
    )
    assert registry.trust_state(project_dir, info) == "trusted"


def test_an_edited_json_cannot_make_a_tampered_file_load(project_dir: Path, tmp_path: Path) -> None:
    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"good"), "severity", "m")
    stored = registry.model_path(project_dir, info)
    stored.write_bytes(b"evil")
    meta_path = project_dir / "models" / f"{info.file}.json"
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = sha256_file(stored)
    meta_path.write_text(json.dumps(meta))
    (edited,) = registry.list_models(project_dir)
    with pytest.raises(ModelError, match="changed since it was imported"):
        registry.read_verified(project_dir, edited)
    assert registry.trust_state(project_dir, edited) == "changed"
    # The JSON edited alone (the file untouched) is refused too.
    stored.write_bytes(b"good")
    with pytest.raises(ModelError, match="was edited"):
        registry.read_verified(project_dir, edited)


def test_a_json_and_file_dropped_by_hand_are_listed_but_never_loaded(
    project_dir: Path, tmp_path: Path
) -> None:
    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"x"), "severity", "m")
    dropped = dataclasses.replace(info, name="drop", file="drop-v1.bin")
    (project_dir / "models" / "drop-v1.bin").write_bytes(b"x")
    meta = {registry.MARKER: 1, **dropped.to_dict()}
    (project_dir / "models" / "drop-v1.bin.json").write_text(json.dumps(meta))
    assert [m.ref for m in registry.list_models(project_dir)] == ["drop:1", "m:1"]
    with pytest.raises(ModelError, match="not recorded in this project's database"):
        registry.read_verified(project_dir, registry.find_model(project_dir, "severity", "drop"))
    assert registry.trust_state(project_dir, dropped) == "unrecorded"


def test_a_folder_that_is_not_a_project_cannot_register_models(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    (folder / "models").mkdir(parents=True)
    with pytest.raises(ModelError, match="not a ClinLens project"):
        registry.import_model(folder, _file(tmp_path, "m.bin", b"x"), "severity", "m")
    assert list((folder / "models").iterdir()) == []


def test_a_trusted_file_name_is_never_used_again(project_dir: Path, tmp_path: Path) -> None:
    first = registry.import_model(project_dir, _file(tmp_path, "a.bin", b"one"), "severity", "g")
    for leftover in project_dir.joinpath("models").iterdir():  # removed by hand
        leftover.unlink()
    second = registry.import_model(project_dir, _file(tmp_path, "b.bin", b"two"), "severity", "g")
    assert (first.file, second.file) == ("g-v1.bin", "g-v2.bin")
    assert registry.read_verified(project_dir, second) == b"two"


def test_an_import_staged_by_a_reader_loads_only_after_the_writer_confirms_it(
    project_dir: Path, tmp_path: Path
) -> None:
    info = registry.import_model(
        project_dir, _file(tmp_path, "m.bin", b"bytes"), "severity", "m", confirm=False
    )
    assert registry.trust_state(project_dir, info) == "unrecorded"
    with pytest.raises(ModelError, match="not recorded"):
        registry.read_verified(project_dir, info)
    assert registry.confirm_import(project_dir, info) == info
    assert registry.read_verified(project_dir, info) == b"bytes"


def test_confirming_refuses_a_file_changed_after_the_reader_checked_it(
    project_dir: Path, tmp_path: Path
) -> None:
    info = registry.import_model(
        project_dir, _file(tmp_path, "m.bin", b"bytes"), "severity", "m", confirm=False
    )
    registry.model_path(project_dir, info).write_bytes(b"swapped")
    with pytest.raises(ModelError, match="changed after it was imported"):
        registry.confirm_import(project_dir, info)
    assert registry.trust_state(project_dir, info) == "unrecorded"


def test_a_read_only_process_checks_models_while_another_writes(
    project_dir: Path, tmp_path: Path
) -> None:
    from core.store import Project

    info = registry.import_model(project_dir, _file(tmp_path, "m.bin", b"abc"), "severity", "m")
    code = (
        "import sys; from core.store import Project; from ml import registry\n"
        "with Project.open(sys.argv[1], read_only=True) as p:\n"
        "    (info,) = registry.list_models(p.folder)\n"
        "    print(registry.read_verified(p.folder, info).decode())\n"
        "print(registry.read_verified(sys.argv[1], info).decode())\n"  # no project open
    )
    with Project.open(project_dir):  # the writer, as the GUI is
        out = subprocess.run(
            [sys.executable, "-c", code, str(project_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["abc", "abc"]
        # A second program cannot record a model while this one writes the project.
        record = (
            "import sys; from ml import registry\n"
            "registry.import_model(sys.argv[1], sys.argv[2], 'detector', 'x', inspect=False)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", record, str(project_dir), str(_file(tmp_path, "n.pt", b"n"))],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode != 0 and "another ClinLens has it open for writing" in out.stderr
    assert [m.ref for m in registry.list_models(project_dir)] == [info.ref]

"""Pseudonymised exports: no file name of the project's images reaches an export folder,
the ids are stable, the id -> image list stays in the project; and the audit log keeps no
absolute source path."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.annotations import Box
from core.formats.naming import pseudonym_ids
from core.formats.voc import read_voc
from core.project_io import ExportOptions, export_project, import_images
from core.store import DB_NAME, Project
from core.store.relocate import relocate_from_folder
from tests.core.conftest import files_of, new_project, write_grey16, write_rgb

# Names burned into file and folder names, as clinics do; none may reach an export.
SECRETS = ("doe_jane", "smith_john", "müller", "_chest", "_knee", "ct_head")


def _patient_named_project(tmp: Path) -> Project:
    from pydicom.data import get_testdata_file

    src = tmp / "src" / "SMITH_JOHN_2024"
    write_rgb(src / "DOE_JANE_chest.png", seed=1)
    write_rgb(src / "SMITH_JOHN_knee.jpg.png", seed=2)
    write_grey16(src / "Müller Anna hand.png", seed=3)
    shutil.copyfile(get_testdata_file("CT_small.dcm"), src / "DOE_JANE_ct_head.dcm")
    project = new_project(tmp / "proj")
    import_images(project, [src])
    for k, rec in enumerate(project.images()):
        project.add_box(rec.id, Box(1.0, 2.0, 20.0, 21.0, ("zipper", "watch")[k % 2]))
        project.set_grade(rec.id, "acne4", float(k % 4))
    return project


def _leaks(root: Path) -> list[str]:
    """Every place under ``root`` (a file or folder name, or a file's bytes) that holds a
    secret name, compared case-insensitively."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root)).lower()
        found += [f"name {rel}: {s}" for s in SECRETS if s in rel]
        if path.is_file():
            blob = path.read_bytes().lower()
            found += [f"bytes of {rel}: {s}" for s in SECRETS if s.encode() in blob]
    return found


# --- the ids -----------------------------------------------------------------------------
def test_ids_come_from_the_hash_and_settle_collisions_without_renaming_earlier_images() -> None:
    a, b = "ab" * 32, "ab" * 6 + "cd" * 26  # the same first 12 hex digits
    ids = pseudonym_ids([(3, b), (1, a), (2, None), (4, a), (5, "NOT-A-HASH")])
    assert ids[1] == "img-" + a[:12]  # the earlier image keeps the short id
    assert ids[3] == "img-" + b[:16]  # lengthened until it differs
    assert ids[4] == f"img-{a[:12]}-4"  # a second copy of the same content
    assert ids[2] == "img-id2" and ids[5] == "img-id5"  # no (usable) hash: the row id
    assert len(set(ids.values())) == 5
    # Adding an image later never changes the ids the others had.
    assert {k: v for k, v in pseudonym_ids([(1, a), (3, b)]).items()} == {
        1: ids[1],
        3: ids[3],
    }
    assert all(re.fullmatch(r"img-[0-9a-z-]+", v) for v in ids.values())


# --- no names in the export --------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "extra"),
    [
        ("voc", {}),
        ("voc", {"images": False}),
        ("yolo", {"split": (0.5, 0.5, 0.0)}),
        ("yolo", {"tile_grid": True, "tile_size": 32, "split": (1.0, 0.0, 0.0)}),
    ],
)
def test_patient_names_never_reach_a_pseudonymised_export(
    tmp_path: Path, fmt: str, extra: dict[str, object]
) -> None:
    project = _patient_named_project(tmp_path)
    out = tmp_path / "out"
    report = export_project(project, ExportOptions(fmt, out, **extra, statuses=None))  # type: ignore[arg-type]
    assert report.pseudonymised and report.images == 4  # outside the project: the default
    assert _leaks(out) == []
    ids = pseudonym_ids([(r.id, r.sha256) for r in project.images()])
    named = [p for p in out.rglob("*.*") if p.parent != out and "ImageSets" not in p.parts]
    stems = {p.name.split(".")[0].split("_")[0] for p in named}
    assert stems == set(ids.values())  # every annotation/image/tile file is named by its id
    rows = (out / "grades.csv").read_text().splitlines()[1:]
    assert {r.split(",")[0].split(".")[0] for r in rows} == set(ids.values())
    if fmt == "voc":
        for xml in (out / "Annotations").iterdir():
            ann = read_voc(xml)
            assert ann.image_name == xml.stem + Path(ann.image_name).suffix
        listed = (out / "ImageSets" / "Main" / "train.txt").read_text().split()
        assert listed == sorted(listed)  # not in import (i.e. original name) order


def test_ids_are_the_same_in_every_export_whatever_the_filters(tmp_path: Path) -> None:
    project = _patient_named_project(tmp_path)
    export_project(project, ExportOptions("voc", tmp_path / "o1", statuses=None))
    export_project(project, ExportOptions("voc", tmp_path / "o2", statuses=None))
    assert files_of(tmp_path / "o1") == files_of(tmp_path / "o2")
    first = project.images()[0]
    project.grading.set_review_status(first.id, "in_progress")
    export_project(
        project, ExportOptions("voc", tmp_path / "o3", images=False, statuses=("in_progress",))
    )
    (xml,) = (tmp_path / "o3" / "Annotations").iterdir()
    assert (tmp_path / "o1" / "Annotations" / xml.name).read_bytes() == xml.read_bytes()


def test_the_id_list_is_kept_in_the_project_and_not_in_the_export(tmp_path: Path) -> None:
    project = _patient_named_project(tmp_path)
    out = tmp_path / "out"
    report = export_project(project, ExportOptions("yolo", out, statuses=None))
    assert report.id_map is not None
    kept = Path(report.id_map)
    assert kept.parent == project.folder / "exports" / "pseudonyms"
    record = json.loads(kept.read_text("utf-8"))
    by_id = {r.id: r for r in project.images()}
    assert len(record["images"]) == 4
    for pid, entry in record["images"].items():
        rec = by_id[entry["image_id"]]
        assert entry["path"] == rec.path and entry["sha256"] == rec.sha256
        assert pid == pseudonym_ids([(r.id, r.sha256) for r in by_id.values()])[rec.id]
    assert "pseudonymised" in "\n".join(report.summary()) and str(kept) in report.summary()[1]
    # The export itself holds nothing that leads back: no list, no original name.
    assert not any("pseudonym" in p.name for p in out.rglob("*")) and _leaks(out) == []


def test_a_project_folder_that_cannot_keep_the_list_costs_a_note_not_the_export(
    tmp_path: Path,
) -> None:
    project = _patient_named_project(tmp_path)
    (project.folder / "exports" / "pseudonyms").write_text("in the way")  # not a folder
    report = export_project(
        project, ExportOptions("voc", tmp_path / "out", images=False, statuses=None)
    )
    assert report.images == 4 and report.id_map is None
    assert report.notes and "could not be kept" in report.notes[0]


def test_no_pseudonymise_keeps_the_file_names_as_before(tmp_path: Path) -> None:
    project = _patient_named_project(tmp_path)
    out = tmp_path / "out"
    report = export_project(project, ExportOptions("voc", out, pseudonymise=False, statuses=None))
    assert not report.pseudonymised and report.id_map is None
    assert "DOE_JANE_chest.xml" in {p.name for p in (out / "Annotations").iterdir()}
    assert not (project.folder / "exports" / "pseudonyms").exists()


def test_an_export_inside_the_project_keeps_names_unless_asked(tmp_path: Path) -> None:
    project = _patient_named_project(tmp_path)
    inside = project.folder / "exports" / "voc"
    assert not export_project(
        project, ExportOptions("voc", inside, images=False, statuses=None)
    ).pseudonymised
    assert (inside / "Annotations" / "DOE_JANE_chest.xml").is_file()
    asked = project.folder / "exports" / "voc-anon"
    assert export_project(
        project, ExportOptions("voc", asked, images=False, pseudonymise=True, statuses=None)
    ).pseudonymised
    assert _leaks(asked) == []


def test_a_pseudonymised_voc_round_trip_is_byte_stable(tmp_path: Path) -> None:
    project = _patient_named_project(tmp_path)
    first = tmp_path / "voc1"
    export_project(project, ExportOptions("voc", first, split=(1.0, 0.0, 0.0), statuses=None))
    again = new_project(tmp_path / "b")
    report = import_images(
        again,
        [first / "JPEGImages"],
        annotations=first / "Annotations",
        fmt="voc",
        grades_csv=first / "grades.csv",
    )
    assert not report.skipped and not report.skipped_annotations and not report.skipped_grades
    second = tmp_path / "voc2"
    export_project(again, ExportOptions("voc", second, split=(1.0, 0.0, 0.0), statuses=None))
    # The rendered (16-bit, DICOM) images are new files with new hashes, so new ids; the
    # copied photos keep theirs and their annotation files are byte for byte the same.
    one, two = files_of(first), files_of(second)
    same = [k for k in one if k.startswith("Annotations/") and k in two]
    assert len(same) == 2 and all(one[k] == two[k] for k in same)


# --- the audit log -----------------------------------------------------------------------
def test_the_audit_log_keeps_no_absolute_source_path(tmp_path: Path) -> None:
    project = _patient_named_project(tmp_path)
    inside = write_rgb(project.folder / "scans" / "DOE_JANE_inside.png", seed=7)
    import_images(project, [inside])
    # Move one file away and let the folder search find it, and point another by hand.
    moved = tmp_path / "moved" / "DOE_JANE_2025"
    moved.mkdir(parents=True)
    first, second = project.images()[:2]
    shutil.move(project.image_path(first), moved / Path(first.path).name)
    assert relocate_from_folder(project, moved.parent).relocated
    shutil.copyfile(project.image_path(second), moved / "copy.png")
    project.relocate_image(second.id, moved / "copy.png")
    export_project(project, ExportOptions("voc", tmp_path / "out", images=False, statuses=None))
    project.close()
    conn = sqlite3.connect(tmp_path / "proj" / DB_NAME)
    try:
        rows = conn.execute("SELECT action, before, after FROM audit").fetchall()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    text = "\n".join(f"{a} {b} {c}" for a, b, c in rows)
    assert str(tmp_path) not in text and os.sep + "src" + os.sep not in text
    assert "SMITH_JOHN_2024" not in text and "DOE_JANE_2025" not in text
    paths = [
        json.loads(blob)["path"]
        for action, before, after in rows
        if action in ("add_image", "relocate_image")
        for blob in (before, after)
        if blob and "path" in json.loads(blob)
    ]
    assert "scans/DOE_JANE_inside.png" in paths  # inside the project: relative, as stored
    hashed = [p for p in paths if p != "scans/DOE_JANE_inside.png"]
    assert len(hashed) == 4 + 2 * 2 and all(re.fullmatch(r"sha256:[0-9a-f]{64}", p) for p in hashed)
    assert len(set(hashed)) == 4 + 2  # 4 imported places, 2 new ones: still told apart

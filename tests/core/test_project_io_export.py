"""Project import/export: round trips, grades, 16-bit rendering, splits, refusals."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from core.annotations import Box
from core.errors import ClinLensError, JobCancelled, UnknownLabelError
from core.formats.voc import read_voc
from core.formats.yolo import read_yolo_labels
from core.project_io import ExportOptions, export_project, import_images
from core.store import Project
from tests.core.conftest import (
    annotated_project,
    files_of,
    new_project,
    write_grey16,
    write_rgb,
)


def _reimport_voc(export: Path, folder: Path, images: Path | None = None) -> Project:
    project = new_project(folder)
    report = import_images(
        project,
        [images or export / "JPEGImages"],
        annotations=export / "Annotations",
        fmt="voc",
        grades_csv=export / "grades.csv",
    )
    assert not report.skipped and not report.skipped_annotations and not report.skipped_grades
    return project


@pytest.mark.parametrize("with_16bit", [False, True])
def test_voc_export_import_export_is_byte_stable(tmp_path: Path, with_16bit: bool) -> None:
    a = annotated_project(tmp_path / "a", with_16bit=with_16bit)
    first = tmp_path / "voc1"
    export_project(a, ExportOptions("voc", first, pseudonymise=False, statuses=None))
    b = _reimport_voc(first, tmp_path / "b")
    second = tmp_path / "voc2"
    export_project(b, ExportOptions("voc", second, pseudonymise=False, statuses=None))
    one, two = files_of(first), files_of(second)
    if with_16bit:
        # The 16-bit source comes back as its 8-bit rendering (another sha256, so the
        # seeded split may place it elsewhere); every annotation file is still identical.
        one = {k: v for k, v in one.items() if not k.startswith("ImageSets")}
        two = {k: v for k, v in two.items() if not k.startswith("ImageSets")}
    assert len(one) > 10 and one == two


def test_voc_without_images_is_byte_stable_too(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", with_16bit=False)
    first = tmp_path / "voc1"
    export_project(a, ExportOptions("voc", first, images=False, pseudonymise=False, statuses=None))
    assert not (first / "JPEGImages").exists()
    b = _reimport_voc(first, tmp_path / "b", images=tmp_path / "a" / "src")
    second = tmp_path / "voc2"
    export_project(b, ExportOptions("voc", second, images=False, pseudonymise=False, statuses=None))
    assert files_of(first) == files_of(second)


def test_voc_export_writes_devkit_pixels_flags_and_true_size(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=2)
    out = tmp_path / "voc"
    export_project(a, ExportOptions("voc", out, pseudonymise=False, statuses=None))
    ann = read_voc(out / "Annotations" / "img01.xml")
    assert (ann.width, ann.height, ann.depth) == (64, 48, 3)
    first, second, third = ann.boxes
    assert (first.x1, first.y1, first.x2, first.y2) == (0.0, 0.0, 10.0, 10.0)  # VOC 1..10
    assert second.difficult and second.pose == "Left"
    assert third.truncated and third.occluded and (third.x2, third.y2) == (64.0, 48.0)
    assert read_voc(out / "Annotations" / "xray16.xml").depth == 1
    sets = out / "ImageSets" / "Main"
    listed = sorted(
        s for name in ("train", "val", "test") for s in (sets / f"{name}.txt").read_text().split()
    )
    assert listed == sorted(p.stem for p in (out / "Annotations").iterdir())


def test_yolo_export_import_round_trip_within_1e_6(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a")
    out = tmp_path / "yolo"
    report = export_project(a, ExportOptions("yolo", out, split=(0.5, 0.5, 0.0), statuses=None))
    assert report.images == 7 and sum(report.splits.values()) == 7
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {lab.id: lab.name for lab in a.label_set().labels}
    assert data["path"] == str(out.resolve()) and "test" not in data
    c = new_project(tmp_path / "c")
    rep = import_images(c, [out / "images"], annotations=out, fmt="yolo")
    assert len(rep.added) == 7 and not rep.skipped and not rep.skipped_annotations
    by_sha = {r.sha256: r for r in c.images()}
    for rec in a.images():
        if rec.sha256 not in by_sha:  # the 16-bit image was rendered to 8-bit
            continue
        mine = sorted((b.label, b.x1, b.y1, b.x2, b.y2) for b in a.boxes(rec.id))
        theirs = sorted((b.label, b.x1, b.y1, b.x2, b.y2) for b in c.boxes(by_sha[rec.sha256].id))
        assert len(mine) == len(theirs)
        for m, t in zip(mine, theirs, strict=True):
            assert m[0] == t[0]
            assert np.allclose(
                np.array(m[1::2]) / rec.width, np.array(t[1::2]) / rec.width, atol=1e-6
            )
            assert np.allclose(
                np.array(m[2::2]) / rec.height, np.array(t[2::2]) / rec.height, atol=1e-6
            )


def test_grades_csv_written_beside_exports_and_imported(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", with_16bit=False)
    out = tmp_path / "voc"
    export_project(a, ExportOptions("voc", out, pseudonymise=False, statuses=None))
    text = (out / "grades.csv").read_text()
    assert text.splitlines()[0] == "image,scale,value,author,source"
    assert "img03.png,acne4,3,tester,human" in text
    b = new_project(tmp_path / "b")
    rep = import_images(
        b,
        [out / "JPEGImages"],
        annotations=out / "Annotations",
        fmt="voc",
        grades_csv=out / "grades.csv",
    )
    assert rep.grades == 6 and not rep.skipped_grades
    got = {
        Path(r.path).name: [(g.scale, g.value, g.author) for g in b.grades(r.id)]
        for r in b.images()
    }
    assert got["img03.png"] == [("acne4", 3.0, "tester")]


def test_16bit_images_exported_with_their_recorded_filter_settings(tmp_path: Path) -> None:
    from core.filters import FilterSettings, render
    from core.imaging import read

    src = write_grey16(tmp_path / "src" / "scan.png")
    project = new_project(tmp_path / "p")
    import_images(project, [src])
    rec = project.images()[0]
    settings = FilterSettings(window_center=20000.0, window_width=8000.0, invert=True)
    project.set_filter_settings(rec.id, settings.to_dict())
    # Reviewed: an unreviewed image without boxes is left out of a YOLO export.
    project.set_grade(rec.id, "acne4", 0.0)
    project.set_review_status(rec.id, "done")
    out = tmp_path / "yolo"
    export_project(project, ExportOptions("yolo", out, split=(1.0, 0.0, 0.0), pseudonymise=False))
    import cv2

    written = cv2.imread(str(out / "images" / "train" / "scan.png"), cv2.IMREAD_UNCHANGED)
    expected = render(read(src), settings)
    assert written.dtype == np.uint8 and np.array_equal(written, expected)
    # and not what a plain reader's default would have produced
    assert not np.array_equal(written, render(read(src), FilterSettings()))


def test_photos_are_copied_byte_for_byte(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=2, with_16bit=False)
    out = tmp_path / "voc"
    export_project(a, ExportOptions("voc", out, pseudonymise=False, statuses=None))
    assert (out / "JPEGImages" / "img00.png").read_bytes() == (
        tmp_path / "a" / "src" / "img00.png"
    ).read_bytes()


def test_patient_tags_never_reach_an_export(tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    dcm = tmp_path / "src" / "study.dcm"
    dcm.parent.mkdir()
    shutil.copyfile(get_testdata_file("CT_small.dcm"), dcm)
    project = new_project(tmp_path / "p")
    import_images(project, [dcm])
    from core.annotations import Box

    project.add_box(project.images()[0].id, Box(10.0, 10.0, 50.0, 50.0, "key"))
    for fmt in ("voc", "yolo"):
        out = tmp_path / fmt
        export_project(project, ExportOptions(fmt, out, split=(1.0, 0.0, 0.0), statuses=None))
        blob = b"".join(files_of(out).values())
        assert b"CompressedSamples" not in blob and b"1CT1" not in blob


def test_colliding_stems_are_disambiguated_deterministically(tmp_path: Path) -> None:
    write_rgb(tmp_path / "src" / "a" / "scan.png", seed=1)
    write_rgb(tmp_path / "src" / "b" / "SCAN.png", seed=2)
    write_rgb(tmp_path / "src" / "c" / "other.png", seed=3)
    project = new_project(tmp_path / "p")
    import_images(project, [tmp_path / "src"])
    export_project(
        project, ExportOptions("voc", tmp_path / "o1", pseudonymise=False, statuses=None)
    )
    export_project(
        project, ExportOptions("voc", tmp_path / "o2", pseudonymise=False, statuses=None)
    )
    names = sorted(p.name for p in (tmp_path / "o1" / "JPEGImages").iterdir())
    assert len(names) == 3 and "other.png" in names
    assert all(n.lower().startswith("scan_") for n in names if n != "other.png")
    assert files_of(tmp_path / "o1") == files_of(tmp_path / "o2")


def test_split_follows_the_seed(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=20, with_16bit=False)
    outs = []
    for i, seed in enumerate((1, 1, 2)):
        out = tmp_path / f"o{i}"
        export_project(a, ExportOptions("voc", out, seed=seed, images=False, statuses=None))
        outs.append((out / "ImageSets" / "Main" / "val.txt").read_text())
    assert outs[0] == outs[1] and outs[0] != outs[2]


def test_random_positive_tiles_hold_boxes_and_match_the_tile_size(tmp_path: Path) -> None:
    import cv2

    a = annotated_project(tmp_path / "a", n=3, with_16bit=False)
    out = tmp_path / "tiles"
    report = export_project(
        a, ExportOptions("yolo", out, tiles=2, tile_size=32, split=(1.0, 0.0, 0.0), statuses=None)
    )
    pngs = sorted((out / "images" / "train").glob("*.png"))
    assert len(pngs) == report.files == 6
    for png in pngs:
        assert cv2.imread(str(png)).shape[:2] == (32, 32)
        assert read_yolo_labels(out / "labels" / "train" / f"{png.stem}.txt")


def test_grid_tiles_cover_each_image(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=1, with_16bit=False)
    out = tmp_path / "grid"
    export_project(
        a,
        ExportOptions(
            "yolo",
            out,
            tile_grid=True,
            tile_size=32,
            tile_overlap=0.0,
            split=(1.0, 0.0, 0.0),
            pseudonymise=False,
            statuses=None,
        ),
    )
    assert sorted(p.stem for p in (out / "images" / "train").iterdir()) == [
        "img00_x0_y0", "img00_x0_y16", "img00_x32_y0", "img00_x32_y16",
    ]  # fmt: skip


def test_agnostic_remap_gives_one_class(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=3, with_16bit=False)
    out = tmp_path / "yolo"
    export_project(
        a,
        ExportOptions(
            "yolo", out, remap="agnostic", images=False, split=(1.0, 0.0, 0.0), statuses=None
        ),
    )
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {0: "anomaly"}
    classes = {
        r.class_id for f in (out / "labels" / "train").iterdir() for r in read_yolo_labels(f)
    }
    assert classes == {0}


def test_export_refuses_labels_the_registry_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.annotations import Box, LabelSet

    a = annotated_project(tmp_path / "a", n=2, with_16bit=False)
    a.add_label("toaster")
    a.add_box(a.images()[0].id, Box(1.0, 1.0, 5.0, 5.0, "toaster"))
    full = a.label_set()
    # A registry that lost a label (e.g. an edited database): the export must refuse.
    reduced = LabelSet(full.name, tuple(lab for lab in full.labels if lab.name != "toaster"))
    monkeypatch.setattr(a, "label_set", lambda: reduced)
    with pytest.raises(UnknownLabelError, match="toaster") as err:
        export_project(a, ExportOptions("voc", tmp_path / "o", statuses=None))
    assert "nothing was written" in str(err.value) and "img00.png" in str(err.value)
    assert not (tmp_path / "o").exists()


def test_export_into_a_non_empty_folder_is_refused(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=1, with_16bit=False)
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ClinLensError, match="not empty"):
        export_project(a, ExportOptions("yolo", out, statuses=None))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_cancelled_export_leaves_nothing_and_progress_is_reported(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=4, with_16bit=False)
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int, _what: str) -> None:
        seen.append((done, total))
        cancel.set()

    with pytest.raises(JobCancelled):
        export_project(
            a,
            ExportOptions("yolo", tmp_path / "o", statuses=None),
            progress=progress,
            cancel=cancel,
        )
    assert seen and seen[0][1] == 4
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.partial-*"))


def test_read_only_project_can_be_exported(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=2, with_16bit=False)
    a.close()
    with Project.open(tmp_path / "a" / "proj", read_only=True) as ro:
        report = export_project(
            ro, ExportOptions("voc", tmp_path / "o", images=False, statuses=None)
        )
    assert report.images == 2 and report.boxes == 5


def test_annotations_are_found_beside_the_images_in_both_layouts(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=3, with_16bit=False)
    voc, yolo = tmp_path / "voc", tmp_path / "yolo"
    export_project(a, ExportOptions("voc", voc, statuses=None))
    export_project(a, ExportOptions("yolo", yolo, split=(0.5, 0.5, 0.0), statuses=None))
    b = new_project(tmp_path / "b")
    rep = import_images(b, [voc / "JPEGImages"], fmt="voc")  # Annotations/ is the twin
    assert len(rep.added) == 3 and rep.boxes == 7 and rep.without_annotation == 0
    c = new_project(tmp_path / "c")
    rep = import_images(c, [yolo / "images"], fmt="yolo")  # labels/ and data.yaml
    assert len(rep.added) == 3 and rep.boxes == 7 and rep.without_annotation == 0
    # One split on its own: labels/train is the twin, data.yaml two levels up.
    d = new_project(tmp_path / "d")
    rep = import_images(d, [yolo / "images" / "train"], fmt="yolo")
    assert len(rep.added) >= 1 and rep.without_annotation == 0 and not rep.skipped


def test_only_reviewed_boxes_are_exported_unless_suggestions_are_asked_for(tmp_path: Path) -> None:
    from core.annotations import Box

    project = new_project(tmp_path / "p")
    import_images(project, [write_rgb(tmp_path / "src" / "a.png")])
    image_id = project.images()[0].id
    model = {"source": "model", "model_version": "v1", "score": 0.9}
    project.add_boxes(
        image_id,
        [
            Box(1.0, 1.0, 9.0, 9.0, "zipper"),
            Box(2.0, 2.0, 8.0, 8.0, "watch", status="suggested", **model),  # type: ignore[arg-type]
            Box(3.0, 3.0, 7.0, 7.0, "key", status="rejected", **model),  # type: ignore[arg-type]
            Box(4.0, 4.0, 9.0, 9.0, "bra", status="edited", **model),  # type: ignore[arg-type]
        ],
    )
    export_project(
        project,
        ExportOptions("voc", tmp_path / "o1", images=False, pseudonymise=False, statuses=None),
    )
    assert [b.label for b in read_voc(tmp_path / "o1" / "Annotations" / "a.xml").boxes] == [
        "zipper",
        "bra",
    ]
    export_project(
        project,
        ExportOptions(
            "voc",
            tmp_path / "o2",
            images=False,
            include_suggested=True,
            pseudonymise=False,
            statuses=None,
        ),
    )
    got = [b.label for b in read_voc(tmp_path / "o2" / "Annotations" / "a.xml").boxes]
    assert got == ["zipper", "watch", "bra"]


@pytest.mark.parametrize(("fmt", "images"), [("yolo", False), ("voc", False), ("yolo", True)])
def test_an_image_of_unknown_size_is_skipped_not_exported_broken(
    tmp_path: Path, fmt: str, images: bool
) -> None:
    from core.annotations import Box
    from core.store import NewImage

    a = annotated_project(tmp_path / "a", n=2, with_16bit=False)
    # What the GUI keeps for a file it could not read: size 0 x 0 and the reason.
    (bad,) = a.add_images([NewImage(str(tmp_path / "gone.png"), 0, 0, error="damaged file")])
    a.add_box(bad, Box(1.0, 1.0, 5.0, 5.0, "zipper"))
    report = export_project(a, ExportOptions(fmt, tmp_path / "o", images=images, statuses=None))
    assert report.images == 2
    (line,) = report.skipped
    assert "gone.png" in line and "size is unknown" in line and "damaged file" in line
    assert not list((tmp_path / "o").rglob("gone*"))


def test_annotations_name_the_same_image_file_with_and_without_images(tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    src = tmp_path / "src"
    write_rgb(src / "photo.png", seed=1)
    write_grey16(src / "xray16.png", seed=2)
    shutil.copyfile(get_testdata_file("CT_small.dcm"), src / "study.dcm")
    project = new_project(tmp_path / "p")
    import_images(project, [src])
    study = next(r for r in project.images() if r.path.endswith("study.dcm"))
    project.set_grade(study.id, "acne4", 1.0)
    names = {}
    for images in (True, False):
        out = tmp_path / f"voc{images}"
        export_project(
            project,
            ExportOptions(
                "voc", out, split=(1.0, 0.0, 0.0), images=images, pseudonymise=False, statuses=None
            ),
        )
        names[images] = sorted(read_voc(p).image_name for p in (out / "Annotations").iterdir())
        names[images].append((out / "grades.csv").read_text().splitlines()[1].split(",")[0])
    assert names[True] == names[False] == ["photo.png", "study.png", "xray16.png", "study.png"]


# --- destinations (the CLI's hostile cases are in tests/cli/test_export_destinations.py) ---
def test_a_full_disk_fails_the_export_rather_than_skipping_every_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from core.project_io import writers

    a = annotated_project(tmp_path / "a", n=3, with_16bit=False)

    def full(src: Path, dst: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(writers, "copy_file", full)
    with pytest.raises(ClinLensError, match=r"the disk is full.*nothing was written"):
        export_project(a, ExportOptions("voc", tmp_path / "o", statuses=None))
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.partial-*"))


def test_an_unreadable_source_is_still_skipped_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from core.project_io import writers

    a = annotated_project(tmp_path / "a", n=3, with_16bit=False)
    real_copy = writers.copy_file

    def picky(src: Path, dst: Path) -> None:
        if src.name == "img01.png":  # the source's error, not the export folder's
            raise OSError(errno.EACCES, "Permission denied", str(src))
        real_copy(src, dst)

    monkeypatch.setattr(writers, "copy_file", picky)
    report = export_project(
        a, ExportOptions("voc", tmp_path / "o", pseudonymise=False, statuses=None)
    )
    assert report.images == 2 and len(report.skipped) == 1 and "img01.png" in report.skipped[0]


def test_managed_folders_are_refused_and_a_link_is_written_where_it_leads(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=1, with_16bit=False)
    for bad in (a.folder, a.models_dir / "x", a.exports_dir / ".." / "models", a.exports_dir):
        with pytest.raises(ClinLensError, match="nothing was written"):
            export_project(a, ExportOptions("voc", bad, images=False, statuses=None))
    assert sorted(p.name for p in a.folder.iterdir() if p.is_dir()) == ["exports", "models"]
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    report = export_project(a, ExportOptions("voc", tmp_path / "link", images=False, statuses=None))
    assert report.out == str(tmp_path / "link") and report.pseudonymised
    assert (tmp_path / "real" / "Annotations").is_dir() and (tmp_path / "link").is_symlink()


# --- reviewed only, unless asked (issue #11) ----------------------------------------------
def _two_reviewed_one_new(tmp: Path) -> Project:
    """Three images: two reviewed (one of them a true negative), one new without boxes."""
    src = tmp / "src"
    for i in range(3):
        write_rgb(src / f"r{i}.png", seed=40 + i)
    project = new_project(tmp / "p")
    import_images(project, [src])
    a, b, c = project.images()
    project.add_boxes(a.id, [Box(1.0, 1.0, 20.0, 20.0, "zipper")])
    for rec in (a, b):
        project.set_grade(rec.id, "acne4", 1.0)
        project.set_review_status(rec.id, "done")
    assert project.image(c.id).review_status == "new"
    return project


def test_export_holds_reviewed_images_only_by_default(tmp_path: Path) -> None:
    project = _two_reviewed_one_new(tmp_path)
    out = tmp_path / "yolo"
    report = export_project(
        project, ExportOptions("yolo", out, split=(1.0, 0.0, 0.0), pseudonymise=False)
    )
    labels = sorted(p.name for p in (out / "labels" / "train").iterdir())
    assert labels == ["r0.txt", "r1.txt"]  # r1: a reviewed negative, an empty label file
    assert (out / "labels" / "train" / "r1.txt").read_text() == ""
    assert not (out / "unreviewed.lst").exists()
    assert report.images == 2 and report.not_reviewed_left_out == 1
    assert any("not yet reviewed" in line for line in report.summary())


def test_unreviewed_images_are_exported_on_request_and_flagged(tmp_path: Path) -> None:
    project = _two_reviewed_one_new(tmp_path)
    voc = tmp_path / "voc"
    report = export_project(project, ExportOptions("voc", voc, pseudonymise=False, statuses=None))
    # VOC keeps it (an empty object list), flagged as unreviewed
    assert (voc / "unreviewed.lst").read_text().split() == ["r2"]
    assert (voc / "Annotations" / "r2.xml").is_file() and report.unreviewed == 1
    c = project.images()[2]
    project.add_boxes(c.id, [Box(2.0, 2.0, 30.0, 30.0, "watch")])  # now in progress
    yolo = tmp_path / "yolo"
    report = export_project(
        project,
        ExportOptions("yolo", yolo, split=(1.0, 0.0, 0.0), pseudonymise=False, statuses=None),
    )
    names = sorted(p.name for p in (yolo / "labels" / "train").iterdir())
    assert names == ["r0.txt", "r1.txt", "r2.txt"]
    assert (yolo / "unreviewed.lst").read_text().split() == ["r2"]
    assert report.unreviewed == 1 and report.unreviewed_without_boxes == 0


def test_yolo_never_writes_an_empty_label_file_for_an_unreviewed_image(tmp_path: Path) -> None:
    project = _two_reviewed_one_new(tmp_path)
    out = tmp_path / "yolo"
    export_project(
        project,
        ExportOptions("yolo", out, split=(0.5, 0.5, 0.0), pseudonymise=False, statuses=None),
    )
    names = {p.name for p in out.rglob("*.txt")}
    assert "r2.txt" not in names and {"r0.txt", "r1.txt"} <= names
    assert not list(out.rglob("r2.*")) and not (out / "unreviewed.lst").exists()


def test_an_export_of_a_project_with_nothing_reviewed_says_why(tmp_path: Path) -> None:
    project = annotated_project(tmp_path, n=2, with_16bit=False)
    with pytest.raises(ClinLensError, match="no reviewed"):
        export_project(project, ExportOptions("voc", tmp_path / "o"))

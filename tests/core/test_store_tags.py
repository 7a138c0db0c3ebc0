"""Image-level lesion-type tags: filled from the boxes, a grader's choice wins, undoable,
kept across reopening, and a migration adds the table to an older project."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.annotations import Box
from core.annotations.history import History
from core.annotations.tags import AUTO, HUMAN, LESION_TYPES, tag_kinds_for
from core.errors import ProjectError
from core.store import Project, schema
from tests.core.conftest import add_image, new_project

KIND = LESION_TYPES.name


@pytest.fixture
def acne(tmp_path: Path) -> Project:
    p = new_project(tmp_path / "p", labels="acne", scales=("acne4",))
    yield p
    p.close()


def test_labels_map_to_lesion_types_by_their_words() -> None:
    want = {
        "whitehead comedone": "comedone",
        "blackhead comedone": "comedone",
        "papule": "papule",
        "Pustules": "pustule",
        "nodule/cyst": "nodule",
        "post-inflammatory erythema": None,
        "lesion": None,
        "zipper": None,
    }
    assert {k: LESION_TYPES.option_of(k) for k in want} == want
    assert LESION_TYPES.from_labels(["pustule", "papule", "nodule/cyst", "papule"]) == (
        "papule", "pustule", "nodule",
    )  # fmt: skip
    assert [k.name for k in tag_kinds_for(["lesion"], ["acne4"])] == [KIND]
    assert tag_kinds_for(["zipper", "watch"], ["acne4"]) == []  # X-ray labels: none


def test_tags_follow_the_boxes_until_the_grader_chooses(acne: Project) -> None:
    img = add_image(acne)
    assert acne.tags.get(img, KIND).tags == () and acne.tags.get(img, KIND).source == AUTO
    acne.add_boxes(img, [Box(0, 0, 5, 5, "papule"), Box(5, 5, 9, 9, "whitehead comedone")])
    acne.add_boxes(img, [Box(1, 1, 4, 4, "pustule", source="model", status="suggested")])
    t = acne.tags.get(img, KIND)
    assert (t.tags, t.source) == (("comedone", "papule"), AUTO)  # suggestions do not count
    chosen = acne.tags.set(img, KIND, ["nodule", "papule", "papule"])
    assert (chosen.tags, chosen.source, chosen.auto) == (
        ("papule", "nodule"), HUMAN, ("comedone", "papule"),
    )  # fmt: skip
    acne.add_boxes(img, [Box(2, 2, 8, 8, "pustule")])  # a new box: the choice still wins
    assert acne.tags.get(img, KIND).tags == ("papule", "nodule")
    acne.tags.set(img, KIND, [])  # "none present" is a choice too
    assert acne.tags.get(img, KIND).tags == () and acne.tags.get(img, KIND).source == HUMAN
    back = acne.tags.reset(img, KIND)
    assert (back.tags, back.source) == (("comedone", "papule", "pustule"), AUTO)
    with pytest.raises(ProjectError, match="'acne' is not a Lesion types present option"):
        acne.tags.set(img, KIND, ["acne"])
    actions = [e.action for e in acne.audit_events(image_id=img)]
    assert actions.count("set_tags") == 2 and "reset_tags" in actions


def test_by_image_and_reopening(tmp_path: Path, acne: Project) -> None:
    a, b = add_image(acne, "a.png"), add_image(acne, "b.png")
    acne.add_boxes(a, [Box(0, 0, 5, 5, "nodule/cyst")])
    acne.tags.set(b, KIND, ["comedone"])
    folder = acne.folder
    acne.close()
    with Project.open(folder, read_only=True) as again:
        got = {i: (t.tags, t.source) for i, t in again.tags.by_image(KIND).items()}
        assert got == {a: (("nodule",), AUTO), b: (("comedone",), HUMAN)}
        assert [k.name for k in again.tags.kinds()] == [KIND]


def test_undo_and_redo_of_a_choice(acne: Project) -> None:
    img = add_image(acne)
    acne.add_boxes(img, [Box(0, 0, 5, 5, "papule")])
    h = History(acne)
    h.set_tags(img, KIND, ["pustule"])
    h.reset_tags(img, KIND)
    assert acne.tags.get(img, KIND).source == AUTO
    h.undo()
    assert acne.tags.get(img, KIND).tags == ("pustule",)
    h.undo()
    assert (acne.tags.get(img, KIND).tags, acne.tags.get(img, KIND).source) == (("papule",), AUTO)
    h.redo()
    assert acne.tags.get(img, KIND).tags == ("pustule",)


def test_the_migration_adds_the_table_to_a_database_one_step_older(tmp_path: Path) -> None:
    # Found by its description, not its number: the list grows at merges.
    idx = next(i for i, m in enumerate(schema.MIGRATIONS) if "image-level tags" in m.description)
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    schema.migrate(conn, "x", schema.MIGRATIONS[:idx])
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "image_tags" not in tables and "images" in tables
    assert schema.migrate(conn, "x", schema.MIGRATIONS[: idx + 1]) == [idx + 1]
    cols = [r[1] for r in conn.execute("PRAGMA table_info(image_tags)")]
    assert cols[:3] == ["image_id", "kind", "tags"]


def test_the_grades_csv_gains_a_lesion_types_column(tmp_path: Path, acne: Project) -> None:
    import csv

    from core.formats.grades_csv import read_grades_csv
    from core.project_io import ExportOptions, export_project
    from tests.core.conftest import write_rgb

    src = tmp_path / "src"
    for i in range(3):
        write_rgb(src / f"f{i}.png", seed=i)
    from core.project_io import import_images

    import_images(acne, [src])
    a, b, c = (r.id for r in acne.images())
    acne.add_boxes(a, [Box(0, 0, 5, 5, "pustule"), Box(5, 5, 9, 9, "papule")])
    acne.set_grade(a, "acne4", 2.0)
    acne.tags.set(b, KIND, ["nodule"])  # tags, no grade: a row of its own
    out = tmp_path / "exp"
    export_project(acne, ExportOptions("voc", out, pseudonymise=False, statuses=None))
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert list(rows[0]) == ["image", "scale", "value", "author", "source", KIND]
    got = {(r["image"], r["scale"], r["value"]): r[KIND] for r in rows}
    assert got == {
        ("f0.png", "acne4", "2"): "papule;pustule",
        ("f1.png", "", ""): "nodule",
        ("f2.png", "", ""): "",
    }
    # The file reads back as grades: the tag-only rows are skipped, not refused.
    back = read_grades_csv(out / "grades.csv", {s.name: s for s in acne.scales()})
    assert [(r.image, r.scale, r.value) for r in back] == [("f0.png", "acne4", 2.0)]
    assert c  # the third image is exported with its (empty) tags


def test_an_xray_project_keeps_the_five_columns(tmp_path: Path) -> None:
    from core.project_io import ExportOptions, export_project

    p = new_project(tmp_path / "x", labels="xray", scales=("acne4",))
    img = add_image(p)
    assert p.tags.kinds() == []
    p.add_boxes(img, [Box(0, 0, 5, 5, "zipper")])
    # add_image stores no file: export with --no-images (annotations only)
    out = tmp_path / "e"
    export_project(p, ExportOptions("voc", out, pseudonymise=False, statuses=None, images=False))
    assert (out / "grades.csv").read_text().splitlines()[0] == "image,scale,value,author,source"
    p.close()

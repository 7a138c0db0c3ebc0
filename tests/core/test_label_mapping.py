"""Label names as datasets spell them: likely matches reported, mapped only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotations import builtin_label_set
from core.annotations.label_match import label_key, near_twins, plan_mapping
from core.annotations.labels import label_categories
from core.errors import FormatError, UnknownLabelError
from core.formats.voc import VocObject, voc_xml
from core.project_io import import_images
from core.store import Project
from tests.core.conftest import new_project, write_rgb

ACNE04_NAMES = ("whitehead and blackhead", "pustules", "papules", "nodules and cysts")


def _dataset(root: Path, names: list[str]) -> tuple[Path, Path]:
    """One image per label name with one box each, VOC files beside in ``ann``."""
    for i, name in enumerate(names):
        write_rgb(root / "imgs" / f"f{i}.png", 64, 48, seed=i)
        (root / "ann").mkdir(parents=True, exist_ok=True)
        (root / "ann" / f"f{i}.xml").write_bytes(
            voc_xml(
                filename=f"f{i}.png",
                width=64,
                height=48,
                depth=3,
                objects=[VocObject(name, 2, 2, 20, 20)],
            )
        )
    return root / "imgs", root / "ann"


def _labels_of_boxes(project: Project) -> list[str]:
    return sorted(b.label for r in project.images() for b in project.boxes(r.id))


def test_near_twins_differ_by_case_plural_spacing_or_punctuation_only() -> None:
    assert label_key("Papules") == label_key("papule")
    assert label_key("white-head  comedones") == label_key("whitehead comedone")
    assert label_key("nodule_cyst") == label_key("nodule/cyst")
    assert label_key("nodules and cysts") != label_key("nodule/cyst")  # "and" is a word
    assert label_key("glasses") == label_key("glass")
    assert near_twins("papule", ["papule", "pustule"]) == []  # itself is not a twin
    assert near_twins("Pustules", ["papule", "pustule"]) == ["pustule"]


def test_map_labels_auto_maps_papules_onto_papule(tmp_path: Path) -> None:
    imgs, ann = _dataset(tmp_path, ["Papules", "pustule"])
    project = new_project(tmp_path / "p", labels="acne")
    report = import_images(project, [imgs], annotations=ann, fmt="voc", map_labels="auto")
    assert report.labels_mapped == {"Papules": "papule"}
    assert report.labels_added == []
    assert _labels_of_boxes(project) == ["papule", "pustule"]
    assert "Papules -> papule" in "\n".join(report.summary())


def test_nothing_is_mapped_without_being_asked(tmp_path: Path) -> None:
    imgs, ann = _dataset(tmp_path, ["Papules"])
    project = new_project(tmp_path / "p", labels="acne")
    with pytest.raises(UnknownLabelError, match=r"'Papules' looks like 'papule'.*--map-labels"):
        import_images(project, [imgs], annotations=ann, fmt="voc")
    assert project.image_count() == 0


def test_add_labels_refuses_a_near_twin_without_force(tmp_path: Path) -> None:
    imgs, ann = _dataset(tmp_path, ["papules"])
    project = new_project(tmp_path / "p", labels="acne")
    before = project.label_set().names()
    with pytest.raises(FormatError, match=r"near-twin.*'papules' looks like 'papule'.*--force"):
        import_images(project, [imgs], annotations=ann, fmt="voc", add_labels=True)
    assert project.image_count() == 0 and project.label_set().names() == before
    report = import_images(project, [imgs], annotations=ann, fmt="voc", add_labels=True, force=True)
    assert report.labels_added == ["papules"]


def test_add_labels_refuses_dataset_names_that_are_twins_of_each_other(tmp_path: Path) -> None:
    imgs, ann = _dataset(tmp_path, ["Toaster", "toasters"])
    project = new_project(tmp_path / "p")
    with pytest.raises(FormatError, match="'Toaster' and 'toasters' are twins"):
        import_images(project, [imgs], annotations=ann, fmt="voc", add_labels=True)


def test_two_candidates_are_never_guessed_between(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p", labels="acne")
    project.add_label("Papule")  # now both "papule" and "Papule"
    plan = plan_mapping(["papules"], project.label_set().names(), "auto")
    assert plan.mapped == {} and plan.likely == {"papules": ["papule", "Papule"]}
    imgs, ann = _dataset(tmp_path, ["papules"])
    with pytest.raises(UnknownLabelError, match=r"'papule' or 'Papule'.*never guessed"):
        import_images(project, [imgs], annotations=ann, fmt="voc", map_labels="auto")
    assert project.image_count() == 0


def test_a_map_file_maps_the_four_acne04_names_to_lesion(tmp_path: Path) -> None:
    imgs, ann = _dataset(tmp_path, list(ACNE04_NAMES))
    mapping = tmp_path / "acne04.yaml"
    mapping.write_text("".join(f"{n}: lesion\n" for n in ACNE04_NAMES))
    project = new_project(tmp_path / "p", labels="acne")
    report = import_images(project, [imgs], annotations=ann, fmt="voc", map_labels=str(mapping))
    assert report.labels_mapped == dict.fromkeys(ACNE04_NAMES, "lesion")
    assert _labels_of_boxes(project) == ["lesion"] * 4


def test_a_map_file_naming_a_label_the_project_lacks_stops_before_any_write(
    tmp_path: Path,
) -> None:
    imgs, ann = _dataset(tmp_path, ["pustules"])
    mapping = tmp_path / "m.yaml"
    mapping.write_text("pustules: pimple\n")
    project = new_project(tmp_path / "p", labels="acne")
    with pytest.raises(FormatError, match="'pimple' is not a label of this project"):
        import_images(project, [imgs], annotations=ann, fmt="voc", map_labels=str(mapping))
    assert project.image_count() == 0
    mapping.write_text("- a list\n")
    with pytest.raises(FormatError, match="dataset name: project label"):
        import_images(project, [imgs], annotations=ann, fmt="voc", map_labels=str(mapping))
    mapping.write_text("a: &x b\nc: *x\n")  # the bounded loader refuses aliases
    with pytest.raises(FormatError, match="anchors"):
        import_images(project, [imgs], annotations=ann, fmt="voc", map_labels=str(mapping))


def test_acne_labels_carry_categories_for_the_lesion_count() -> None:
    cats = label_categories(builtin_label_set("acne"))
    assert [n for n, c in cats.items() if c == "inflammatory"] == [
        "papule",
        "pustule",
        "nodule/cyst",
    ]
    assert cats["lesion"] == "untyped" and cats["blackhead comedone"] == "comedonal"
    assert label_categories(builtin_label_set("xray")) == {}

"""The generic label of a class-agnostic model suits the project: 'unknown anomaly' for
X-rays, 'lesion' for acne, and a refusal that says which label to add when it is missing."""

from __future__ import annotations

import pytest

from core.annotations import Label, LabelSet, builtin_label_set
from core.errors import ModelError
from ml.detector.classmap import (
    find_generic_label,
    label_set_kind,
    map_classes,
    suited_generic_label,
)


def _labels(*names: str, name: str = "t", title: str = "") -> LabelSet:
    return LabelSet(
        name=name,
        labels=tuple(Label(id=i, name=n) for i, n in enumerate(names)),
        title=title or name,
    )


def _with(label_set: LabelSet, *extra: str) -> LabelSet:
    labels = list(label_set.labels)
    labels += [Label(id=len(labels) + i, name=n) for i, n in enumerate(extra)]
    return LabelSet(name=label_set.name, labels=tuple(labels), title=label_set.title)


def test_xray_projects_label_agnostic_boxes_unknown_anomaly() -> None:
    cmap = map_classes({0: "object"}, builtin_label_set("xray"))
    assert cmap.generic and cmap.label_for(0) == "unknown anomaly"


def test_acne_projects_label_agnostic_boxes_lesion_before_other_catch_alls() -> None:
    # 'unknown anomaly' and 'other' are catch-alls too, but 'lesion' is what acne calls for
    acne = _with(builtin_label_set("acne"), "other", "unknown anomaly", "lesion")
    cmap = map_classes({0: "anomaly"}, acne)
    assert cmap.generic and cmap.label_for(0) == "lesion"
    assert "'lesion'" in cmap.notes[0]


def test_each_set_prefers_its_own_generic_label_when_it_has_both() -> None:
    both = ("papule", "unknown anomaly", "lesion")
    assert find_generic_label(_labels(*both, name="xray")) == "unknown anomaly"
    assert find_generic_label(_labels(*both, name="acne")) == "lesion"


def test_the_builtin_acne_set_maps_an_agnostic_model_to_lesion() -> None:
    acne = builtin_label_set("acne")
    assert acne.names()[-1] == "lesion"  # appended last: the older ids never move
    assert find_generic_label(acne) == "lesion"


def test_an_acne_project_without_lesion_is_told_exactly_which_label_to_add() -> None:
    # An acne project made before the set had 'lesion' (its labels were fixed at creation).
    full = builtin_label_set("acne")
    acne = _labels(*(n for n in full.names() if n != "lesion"), name="acne", title=full.title)
    with pytest.raises(ModelError) as caught:
        map_classes({0: "object"}, acne, model_label="model 'blob:1'")
    message = str(caught.value)
    assert "add a label 'lesion' to the project" in message
    assert "model 'blob:1' finds lesions without naming them" in message
    assert "generic label" in message and "unknown anomaly" not in message
    assert "\n" not in message


def test_an_xray_project_without_its_generic_label_is_told_to_add_unknown_anomaly() -> None:
    xray = _labels("zipper", "watch", name="xray", title="X-ray anomalies")
    with pytest.raises(ModelError, match=r"finds anomalies.*add a label 'unknown anomaly'"):
        map_classes({0: "object"}, xray)


@pytest.mark.parametrize(
    ("name", "title", "kind"),
    [
        ("xray", "", "xray"),
        ("acne", "", "acne"),
        ("X-Ray", "", "xray"),
        ("chest", "Chest radiographs", "xray"),
        ("face", "Acne lesions of the face", "acne"),
        ("derm", "Skin findings", "acne"),
        ("t", "", None),
    ],
)
def test_other_label_sets_are_recognised_by_their_name_or_title(
    name: str, title: str, kind: str | None
) -> None:
    assert label_set_kind(_labels("a", name=name, title=title)) == kind


def test_a_recognised_custom_set_uses_its_kinds_label_then_the_known_catch_alls() -> None:
    skin = _labels("papule", "lesion", "other", name="mine", title="Skin lesions")
    assert suited_generic_label(skin) == "lesion"
    assert find_generic_label(skin) == "lesion"
    no_lesion = _labels("papule", "other", name="mine", title="Skin lesions")
    assert find_generic_label(no_lesion) == "other"  # fallback rule: a known catch-all


def test_a_models_recorded_generic_label_wins_when_the_project_has_it() -> None:
    acne = _with(builtin_label_set("acne"), "lesion", "other lesion")
    cmap = map_classes({0: "object"}, acne, generic_label="other lesion")
    assert cmap.label_for(0) == "other lesion"
    # recorded but missing here: the project's own generic label is used instead
    cmap = map_classes({0: "object"}, _with(builtin_label_set("acne"), "lesion"), generic_label="x")
    assert cmap.label_for(0) == "lesion"


def test_an_unrecognised_set_without_any_catch_all_gets_a_generic_hint() -> None:
    with pytest.raises(ModelError) as caught:
        map_classes({0: "object"}, _labels("car", "bus"))
    message = str(caught.value)
    assert "finds objects without naming them" in message
    assert "add a generic label (such as 'unknown anomaly' or 'lesion') to the project" in message


def test_a_single_class_the_acne_set_has_is_mapped_by_name_not_made_generic() -> None:
    cmap = map_classes({0: "Papule"}, builtin_label_set("acne"))
    assert not cmap.generic and cmap.label_for(0) == "papule"

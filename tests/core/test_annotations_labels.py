"""Label sets and grading scales: built-ins, user files, and refusals of bad definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotations import builtin_label_set, builtin_scale
from core.annotations.labels import load_label_set_yaml
from core.annotations.scales import scale_from_mapping
from core.errors import FormatError


def test_xray_set_has_the_18_study_classes_with_stable_ids_and_hotkeys() -> None:
    xray = builtin_label_set("xray")
    assert len(xray.labels) == 18
    assert [lab.id for lab in xray.labels] == list(range(18))
    assert xray.labels[0].name == "zipper" and xray.labels[-1].name == "pants button"
    assert [lab.hotkey for lab in xray.labels[:9]] == [str(i) for i in range(1, 10)]
    assert xray.labels[9].hotkey is None


@pytest.mark.parametrize(
    ("value", "grade"), [(0.49, 0), (0.5, 1), (1.49, 1), (1.5, 2), (2.5, 3), (-3, 0), (7, 3)]
)
def test_acne4_maps_continuous_values_by_its_edges(value: float, grade: float) -> None:
    assert builtin_scale("acne4").to_grade(value) == grade


def test_hyperpig_snaps_to_halves_within_zero_to_nine() -> None:
    scale = builtin_scale("hyperpig")
    assert len(scale.values) == 19
    assert scale.to_grade(3.26) == 3.5 and scale.to_grade(3.24) == 3.0
    assert scale.to_grade(12) == 9.0 and scale.to_grade(-1) == 0.0
    assert scale.group_of(0.0) == "none" and scale.group_of(7.0) == "severe"


def test_user_label_set_that_is_not_utf8_is_a_format_error(tmp_path: Path) -> None:
    bad = tmp_path / "labels.yaml"
    bad.write_bytes(b"labels:\n  - caf\xe9\n")
    with pytest.raises(FormatError, match="UTF-8"):
        load_label_set_yaml(bad)


def test_user_label_set_rejects_colours_that_are_not_hex(tmp_path: Path) -> None:
    bad = tmp_path / "labels.yaml"
    bad.write_text("labels:\n  - {name: lesion, color: red}\n", encoding="utf-8")
    with pytest.raises(FormatError, match="#rrggbb"):
        load_label_set_yaml(bad)


def test_user_label_set_accepts_plain_names(tmp_path: Path) -> None:
    ok = tmp_path / "derm.yaml"
    ok.write_text("name: derm\nlabels: [naevus, melanoma]\n", encoding="utf-8")
    labels = load_label_set_yaml(ok)
    assert labels.name == "derm" and labels.names() == ["naevus", "melanoma"]


def test_scale_with_a_typoed_step_is_refused_before_it_is_expanded() -> None:
    with pytest.raises(FormatError, match="at most 1000"):
        scale_from_mapping("bad", {"range": {"min": 0, "max": 9, "step": 0.0000001}})

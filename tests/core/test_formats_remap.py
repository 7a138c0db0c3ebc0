"""Class remapping for export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.annotations import builtin_label_set
from core.errors import FormatError, UnknownLabelError
from core.formats.remap import make_remap

XRAY = builtin_label_set("xray")


def test_none_keeps_registry_ids_and_names() -> None:
    r = make_remap("none", XRAY)
    assert r.names == {lab.id: lab.name for lab in XRAY.labels}
    assert r.class_of("watch", 5, 5) == 1


def test_agnostic_is_one_anomaly_class() -> None:
    r = make_remap("agnostic", XRAY)
    assert r.names == {0: "anomaly"}
    assert {r.class_of(n, 1, 1) for n in XRAY.names()} == {0}


def test_sizes_use_box_area_thresholds() -> None:
    r = make_remap("sizes", XRAY)
    assert r.names == {0: "small", 1: "medium", 2: "large"}
    assert [r.class_of("key", s, s) for s in (32, 33, 96, 97)] == [0, 1, 1, 2]


def test_user_map_merges_drops_and_keeps_unmapped(tmp_path: Path) -> None:
    p = tmp_path / "map.yaml"
    p.write_text("zipper head: zipper\nbra: null\nshirt button: button\npants button: button\n")
    r = make_remap(p, XRAY)
    assert r.class_of("zipper head", 1, 1) == r.class_of("zipper", 1, 1) == 0
    assert r.class_of("bra", 1, 1) is None
    assert r.names[r.class_of("pants button", 1, 1)] == "button"  # type: ignore[index]
    assert r.names[r.class_of("watch", 1, 1)] == "watch"  # type: ignore[index]
    assert sorted(r.names) == list(range(len(r.names)))


def test_user_map_json_with_size_thresholds(tmp_path: Path) -> None:
    p = tmp_path / "sizes.json"
    p.write_text(json.dumps({"mode": "sizes", "small_max_area": 10, "medium_max_area": 100}))
    r = make_remap(p, XRAY)
    assert [r.class_of("key", s, s) for s in (3, 5, 20)] == [0, 1, 2]


def test_user_map_with_unknown_label_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "map.yaml"
    p.write_text("toaster: x\n")
    with pytest.raises(UnknownLabelError, match="toaster") as err:
        make_remap(p, XRAY)
    assert err.value.labels == ["toaster"]


def test_missing_map_file_and_unknown_box_label() -> None:
    with pytest.raises(FormatError, match="no such map file"):
        make_remap("nowhere.yaml", XRAY)
    with pytest.raises(UnknownLabelError, match="toaster"):
        make_remap("none", XRAY).class_of("toaster", 1, 1)

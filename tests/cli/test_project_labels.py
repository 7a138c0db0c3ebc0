"""``project labels`` / ``project photo-view`` and ``project import --map-labels`` on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_project import run
from tests.core.test_label_mapping import _dataset


def test_labels_lists_and_adds_refusing_near_twins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "p"
    assert run(capsys, "project", "create", d, "--labels", "acne")[0] == 0
    code, out, _ = run(capsys, "project", "labels", d, "--json")
    rows = json.loads(out)["labels"]
    assert code == 0 and rows[2] == {
        "id": 2,
        "name": "papule",
        "category": "inflammatory",
        "boxes": 0,
    }
    code, _, err = run(capsys, "project", "labels", d, "--add", "Papules")
    assert code == 2 and "'Papules' looks like 'papule'" in err and "Traceback" not in err
    code, out, _ = run(capsys, "project", "labels", d, "--add", "milia", "--json")
    assert code == 0 and json.loads(out)["added"] == ["milia"]
    assert json.loads(out)["labels"][-1] == {
        "id": 11,
        "name": "milia",
        "category": None,
        "boxes": 0,
    }
    code, _, err = run(capsys, "project", "labels", d, "--add", "milia")
    assert code == 2 and "already has" in err


def test_import_map_labels_auto_and_photo_view(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imgs, ann = _dataset(tmp_path / "src", ["Pustules"])
    d = tmp_path / "p"
    run(capsys, "project", "create", d, "--labels", "acne")
    args = ("project", "import", d, imgs, "--annotations", ann, "--format", "voc")
    code, _, err = run(capsys, *args)
    assert code == 2 and "'Pustules' looks like 'pustule'" in err
    code, out, _ = run(capsys, *args, "--map-labels", "auto", "--json")
    assert code == 0 and json.loads(out)["labels_mapped"] == {"Pustules": "pustule"}
    assert run(capsys, "project", "photo-view", d)[1].strip() == "full_face"
    assert run(capsys, "project", "photo-view", d, "one_side")[1].strip() == "one_side"
    assert run(capsys, "project", "photo-view", d)[1].strip() == "one_side"

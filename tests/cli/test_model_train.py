"""``model train|evaluate|promote|rollback`` end to end: a real tiny training in the real
training worker, driven through the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ml.training_fixtures import make_reviewed_project, tiny_config, train_args

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLINLENS_DATA_DIR": str(env_dir), "CLINLENS_DEVICE": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        cwd=ROOT,
    )


def _audit_actions(project: Path) -> list[str]:
    from core.store import Project

    with Project.open(project, read_only=True) as p:
        return [e.action for e in p.audit_events(limit=1000)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("train-cli")
    project = base / "proj"
    make_reviewed_project(project)
    cfg = tiny_config(base)
    first = _cli(*train_args(project, cfg, "--json"), env_dir=base / "data")
    assert first.returncode == 0, first.stderr[-2000:]
    # The same recipe and seed again: the same weights, so no better on the held-out set.
    second = _cli(*train_args(project, cfg, "--json"), env_dir=base / "data")
    assert second.returncode == 0, second.stderr[-2000:]
    return {
        "base": base,
        "project": project,
        "cfg": cfg,
        "first": json.loads(first.stdout),
        "second": json.loads(second.stdout),
        "stderr": first.stderr,
    }


def test_first_training_becomes_active_with_heldout_metrics(trained: dict) -> None:
    doc = trained["first"]
    assert doc["model"] == "detector:1"
    assert doc["status"] == "active"
    assert doc["previous"] is None
    assert doc["epochs"] == 1
    assert doc["device"].startswith("CPU")
    assert doc["heldout"]["images"] >= 1
    assert set(doc["heldout"]) == {"images", "precision", "recall", "f1", "ap50"}
    assert "epoch 1/1" in trained["stderr"]  # progress on stderr
    from ml import registry

    info = registry.find_model(trained["project"], "detector", "detector:1")
    assert registry.trust_state(trained["project"], info) == "trusted"
    assert info.training["heldout_ids_hash"]
    assert info.training["boxes_per_label"]
    assert info.training["recipe"]["preset"] == "xray"
    assert info.tiling == {"tile": 64, "overlap": 16, "scale": 1.0, "mode": "tiles"}
    assert "operating_threshold" in info.extra
    assert "promote_model" in _audit_actions(trained["project"])


def test_a_model_no_better_than_the_active_stays_candidate(trained: dict) -> None:
    doc = trained["second"]
    assert doc["model"] == "detector:2"
    assert doc["status"] == "candidate"
    assert doc["previous"]["model"] == "detector:1"
    assert doc["previous"]["f1"] == doc["heldout"]["f1"]


def test_evaluate_promote_and_rollback(trained: dict) -> None:
    project, data = trained["project"], trained["base"] / "data"
    ev = _cli("model", "evaluate", str(project), "--json", env_dir=data)
    assert ev.returncode == 0, ev.stderr
    report = json.loads(ev.stdout)
    assert report["model"] == "detector:1"
    assert {"images", "precision", "recall", "f1", "ap50", "per_class", "count"} <= set(report)
    # --curves: what Model > Evaluate draws (every true box is in one true row, found or not)
    ev = _cli("model", "evaluate", str(project), "--json", "--curves", env_dir=data)
    assert ev.returncode == 0, ev.stderr
    views = json.loads(ev.stdout)
    labels, matrix = views["confusion"]["labels"], views["confusion"]["matrix"]
    assert labels[-1] == "background" and len(matrix) == len(labels) == len(matrix[0])
    assert sum(sum(row) for row in matrix[:-1]) == views["tp"] + views["fn"]
    for curve in views["pr_curves"].values():
        assert len(curve["recall"]) == len(curve["precision"]) <= 200
        assert all(0.0 <= v <= 1.0 for v in curve["recall"] + curve["precision"])

    pr = _cli("model", "promote", str(project), "detector:2", "--json", env_dir=data)
    assert pr.returncode == 0, pr.stderr
    assert json.loads(pr.stdout) == {"model": "detector:2", "status": "active"}
    rb = _cli("model", "rollback", str(project), "--json", env_dir=data)
    assert rb.returncode == 0, rb.stderr
    assert json.loads(rb.stdout) == {
        "retired": "detector:2",
        "model": "detector:1",
        "status": "active",
    }
    actions = _audit_actions(project)
    assert {"promote_model", "demote_model", "rollback_model"} <= set(actions)


def test_refusals_are_one_line_exit_2(tmp_path: Path) -> None:
    unreviewed = tmp_path / "unreviewed"
    make_reviewed_project(unreviewed, n_images=6, reviewed=False)
    cfg = tiny_config(tmp_path)
    res = _cli(*train_args(unreviewed, cfg), env_dir=tmp_path / "data")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "held-out" in res.stderr

    few = tmp_path / "few"
    make_reviewed_project(few, n_images=3, seed=3)  # image 3 (index) is held out
    res = _cli(*train_args(few, cfg), env_dir=tmp_path / "data")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert "too few reviewed images" in res.stderr or "held-out" in res.stderr


def test_fine_tuning_a_named_version_with_a_map_file_remap(trained: dict) -> None:
    from ml import registry

    project, cfg, base = trained["project"], trained["cfg"], trained["base"]
    # Fine-tuning a named version with a map file that merges both labels into one class:
    # the start model's backbone is reused although its head had two classes.
    merge = base / "merge.yaml"
    merge.write_text("key: metal object\nbelt buckle: metal object\n", encoding="utf-8")
    third = _cli(
        *train_args(project, cfg, "--json", "--from", "detector:1", "--remap", str(merge)),
        env_dir=base / "data",
    )
    assert third.returncode == 0, third.stderr[-2000:]
    doc = json.loads(third.stdout)
    assert doc["model"] == "detector:3"
    info = registry.find_model(trained["project"], "detector", "detector:3")
    assert info.training["start"] == "detector:1"
    assert info.training["recipe"]["start"] == "detector:1"
    # The map merges the two labels into one class; labels it does not name keep theirs.
    assert "metal object" in info.classes and not {"key", "belt buckle"} & set(info.classes)
    by_label = info.extra["remap"]["by_label"]
    assert info.extra["remap"]["mode"] == "map" and by_label["key"] == by_label["belt buckle"]
    # Its held-out boxes were scored against the merged class, not the project's labels.
    assert doc["heldout"]["images"] == trained["first"]["heldout"]["images"]

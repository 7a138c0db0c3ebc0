"""``queue`` with a tiny real YOLO: file order without a model, scores computed and stored
with the active version, refreshed when another version is promoted, held-out images never
ranked, unreadable images skipped, a fully reviewed project said so; the detector process's
``score`` request reports what the GUI stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main as cli_main
from core.store import Project
from core.workers import WorkerProcess, clinlens_argv
from ml import registry
from ml.registry.versions import promote_version
from tests.ml.conftest import make_xray_project, tiny_yolo  # noqa: F401

pytestmark = pytest.mark.slow


def _queue(capsys: pytest.CaptureFixture[str], folder: Path, *extra: str) -> dict:
    rc = cli_main(["queue", str(folder), "--json", "--device", "cpu", *extra])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def test_queue_scores_with_the_active_version_and_refreshes_after_a_promotion(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tiny_yolo: Path,  # noqa: F811
) -> None:
    folder = tmp_path / "proj"
    ids = make_xray_project(folder, n_images=6)
    broken = ids[-1]
    first = _queue(capsys, folder, "--n", "20")
    assert first["model"] is None and any("no active model" in n for n in first["notes"])
    assert [i["image"] for i in first["images"] if i["score"] is None]

    registry.import_model(folder, tiny_yolo, "detector", "tiny")
    doc = _queue(capsys, folder, "--n", "20")
    assert doc["model"] == "tiny:1"
    assert [s["image"] for s in doc["skipped"]] == [broken], "the broken PNG is skipped"
    with Project.open(folder, read_only=True) as p:
        roles = p.heldout.roles()
        stored = p.scores.scores("detector", "tiny:1")
    held = {i for i in ids if roles[i] == "heldout"}
    assert held, "the phantom project holds held-out images"
    assert not held & set(stored), "held-out images are never scored for ranking"
    for item in doc["images"]:
        if item["image"] in held:
            assert item["score"] is None and "held-out" in item["reasons"][0]
        else:
            assert item["score"] == round(stored[item["image"]].score, 4) and item["reasons"]
    assert doc["computed"] == len(stored) > 0
    again = _queue(capsys, folder, "--n", "20")
    assert again["computed"] == 0, "stored scores are reused"

    # A second version becomes active: its own scores are computed, the old ones kept apart.
    info = registry.import_model(folder, tiny_yolo, "detector", "tiny2")
    with Project.open(folder) as p:
        promote_version(p, info)
    doc2 = _queue(capsys, folder, "--n", "20")
    assert doc2["model"] == info.ref and doc2["computed"] == len(stored)
    with Project.open(folder, read_only=True) as p:
        assert set(p.scores.models("detector")) == {"tiny:1", info.ref}

    # The detector process's score request: what the GUI stores.
    events: list[dict] = []
    worker = WorkerProcess(clinlens_argv("detector-worker", str(folder)), name="detector")
    try:
        train_ids = [i for i in ids if i not in held]
        done = worker.request(
            "score", images=train_ids, kind="detector", device="cpu", on_event=events.append
        )
    finally:
        worker.close()
    scored = [e for e in events if e.get("event") == "scored"]
    assert done["model"] == info.ref and done["scored"] == len(scored) == len(train_ids) - 1
    assert done["skipped"] == 1
    assert all(e["model"] == info.ref and isinstance(e["features"], list) for e in scored)

    with Project.open(folder) as p:
        for i in ids:
            p.set_review_status(i, "done")
    last = _queue(capsys, folder)
    assert last["images"] == [] and any("every image is reviewed" in n for n in last["notes"])

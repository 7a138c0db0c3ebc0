"""Storing suggestions: replace only pending ones of the same model, skip unreadable images,
stop on cancel, report progress. Uses a torch-free detector with known outputs."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest

from core.annotations import Box, builtin_label_set
from core.errors import JobCancelled, ModelError, UnknownLabelError
from core.store import Project
from ml.detector.classmap import map_classes
from ml.suggest import iter_suggestions, model_name_of, store_suggestions, suggest_images
from tests.ml.conftest import make_blob_detector, make_xray_project


@pytest.fixture()
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    ids = make_xray_project(tmp_path / "proj", n_images=3)
    with Project.open(tmp_path / "proj") as p:
        p.test_ids = ids  # type: ignore[attr-defined]
        yield p


def _detector(model_ref: str = "blob:2"):  # type: ignore[no-untyped-def]
    # The phantoms' metal objects render near white: the blob "model" finds each one.
    return make_blob_detector(
        tile=128,
        overlap=32,
        threshold=230,
        class_map=map_classes({0: "key"}, builtin_label_set("xray")),
        model_ref=model_ref,
    )


def test_model_name_ignores_the_version() -> None:
    assert model_name_of("xray det:12") == "xray det"
    assert model_name_of("plain") == "plain"
    assert model_name_of(None) is None


def test_batch_stores_suggestions_and_skips_the_unreadable_image(project: Project) -> None:
    ids = project.test_ids  # type: ignore[attr-defined]
    seen: list[tuple] = []
    summary = suggest_images(project, ids, _detector(), progress=lambda *a: seen.append(a))
    assert summary.images == 3
    assert [s["image_id"] for s in summary.skipped] == [ids[-1]]
    assert "broken.png" in summary.skipped[0]["path"] and summary.skipped[0]["error"]
    stored = [b for i in ids for b in project.boxes(i)]
    assert summary.suggestions == len(stored) > 0
    for b in stored:
        assert (b.source, b.status, b.model_version, b.label) == (
            "model",
            "suggested",
            "blob:2",
            "key",
        )
        assert b.score is not None and 0 < b.score <= 1
    assert seen[0][:2] == (0, 4) and seen[-1][:2] == (4, 4)  # (done, total, message)
    assert summary.device == "CPU (stub)" and summary.model == "blob:2"


def test_repredicting_replaces_only_pending_suggestions_of_that_model(project: Project) -> None:
    image = project.test_ids[0]  # type: ignore[attr-defined]
    geometry = {"x1": 5.0, "y1": 5.0, "x2": 15.0, "y2": 15.0}
    mine = Box(
        label="key",
        source="model",
        status="suggested",
        score=0.5,
        model_version="blob:1",
        **geometry,
    )
    kept = project.add_boxes(
        image,
        [
            dataclasses.replace(mine, status="accepted"),
            dataclasses.replace(mine, status="rejected"),
            Box(label="watch", **geometry),  # human
            dataclasses.replace(mine, model_version="other:3"),  # another model's pending
        ],
    )
    edited = project.update_box(project.add_box(image, mine).id, x2=20.0)  # -> "edited"
    assert edited.status == "edited"
    pending_old = project.add_boxes(image, [mine, dataclasses.replace(mine, x1=6.0)])
    before = {b.id: b for b in [*kept, edited]}

    outcome = next(iter_suggestions(project, [image], _detector("blob:2")))

    after = {b.id: b for b in project.boxes(image, include_rejected=True)}
    for box_id, box in before.items():
        assert after[box_id] == box  # untouched, field for field
    assert not {b.id for b in pending_old} & set(after)  # pending ones of blob:* replaced
    assert outcome.replaced == 2
    new = [b for b in after.values() if b.model_version == "blob:2"]
    assert len(new) == len(outcome.boxes) > 0


def test_a_set_cancel_token_stops_the_batch_and_keeps_finished_images(project: Project) -> None:
    ids = project.test_ids  # type: ignore[attr-defined]
    token = threading.Event()

    def progress(done: int, total: int | None = None, message: str = "") -> None:
        if done == 1:
            token.set()  # the user presses cancel after the first image

    with pytest.raises(JobCancelled):
        suggest_images(project, ids, _detector(), progress=progress, cancel=token)
    assert project.boxes(ids[0])  # the first image's suggestions are stored
    assert not project.boxes(ids[1])


def test_a_model_failing_on_every_image_stops_the_batch(project: Project) -> None:
    det = _detector()

    def broken(_chunk: np.ndarray) -> list[np.ndarray]:
        raise RuntimeError("weights do not fit")

    det._run_model = broken  # type: ignore[method-assign]
    with pytest.raises(ModelError, match="detector failed"):
        suggest_images(project, project.test_ids, det)  # type: ignore[attr-defined]


def test_store_suggestions_is_one_transaction(project: Project) -> None:
    image = project.test_ids[0]  # type: ignore[attr-defined]
    old = project.add_box(
        image,
        Box(1, 1, 9, 9, "key", source="model", status="suggested", model_version="blob:1"),
    )
    bad = Box(1, 1, 9, 9, "no such label", source="model", status="suggested")
    with pytest.raises(UnknownLabelError):
        store_suggestions(project, image, [bad], "blob:2")
    assert [b.id for b in project.boxes(image)] == [old.id]  # the delete was rolled back


def test_an_image_deleted_from_disk_mid_batch_is_skipped_and_the_rest_done(
    project: Project,
) -> None:
    ids = project.test_ids[:3]  # type: ignore[attr-defined]
    det = _detector()
    real = det.predict_raw

    def delete_the_next(raw: object, **kwargs: object) -> object:
        # While image 1 is being analysed, someone moves image 2 away.
        project.image_path(project.image(ids[1])).unlink(missing_ok=True)
        return real(raw, **kwargs)  # type: ignore[arg-type]

    det.predict_raw = delete_the_next  # type: ignore[method-assign]
    summary = suggest_images(project, ids, det)
    assert summary.images == 2
    (skipped,) = summary.skipped
    assert skipped["image_id"] == ids[1] and "does not exist" in skipped["error"]
    assert project.boxes(ids[2])  # the batch went on after the missing image

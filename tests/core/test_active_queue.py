"""The review queue over stored scores: versions kept apart, held-out never ranked but offered
at the held-out rate, file order without a model, k-center spreading a batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.active.diversity import k_center
from core.active.queue import build_queue
from core.store import NewImage, Project
from core.store.schema import latest_version
from core.store.scores import StoredScore
from tests.core.conftest import add_image, open_test_project


def _project(tmp_path: Path):  # type: ignore[no-untyped-def]
    return next(open_test_project(tmp_path))


def test_scores_are_stored_per_model_version_and_old_versions_can_be_dropped(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    try:
        assert project.schema_version == latest_version()
        a, b = add_image(project, "a.png"), add_image(project, "b.png")
        feats = np.arange(4, dtype=np.float32)
        project.scores.put(
            "detector", "det:1", [StoredScore(a, 0.9, ("3 uncertain boxes",), feats)]
        )
        project.scores.put("detector", "det:2", [StoredScore(a, 0.1), StoredScore(b, 0.5)])
        one = project.scores.scores("detector", "det:1", with_features=True)
        assert one[a].score == 0.9 and one[a].reasons == ("3 uncertain boxes",)
        assert np.array_equal(one[a].features, feats)
        assert set(project.scores.scores("detector", "det:2")) == {a, b}
        assert project.scores.missing("detector", "det:1", [a, b]) == [b]
        assert project.scores.models("detector") == {"det:1": 1, "det:2": 2}
        project.scores.put("detector", "det:2", [StoredScore(b, 0.7)])  # replaced, not added
        assert project.scores.scores("detector", "det:2")[b].score == 0.7
        assert project.scores.forget_others("detector", "det:2") == 1
        assert project.scores.models("detector") == {"det:2": 2}
    finally:
        project.close()
    with Project.open(tmp_path / "proj", read_only=True) as ro:  # readers see them
        assert ro.scores.models("detector") == {"det:2": 2}


class _S:
    def __init__(self, score: float, reasons=("r",), features=None) -> None:  # type: ignore[no-untyped-def]
        self.score, self.reasons, self.features = score, reasons, features


def test_held_out_images_are_never_ranked_but_offered_at_the_held_out_rate() -> None:
    cands = [(i, f"im{i}.png") for i in range(1, 21)]
    roles = {i: ("heldout" if i % 5 == 0 else "train") for i in range(1, 21)}
    # Held-out images get the highest scores: ranking would put them first.
    scores = {i: _S(1.0 if roles[i] == "heldout" else i / 100) for i in range(1, 21)}
    q = build_queue(cands, roles, scores, 20, model="det:1", fraction=0.2)
    ranked = [it for it in q.items if not it.heldout]
    held = [it for it in q.items if it.heldout]
    assert [it.image_id for it in ranked] == sorted(
        (i for i in range(1, 21) if roles[i] == "train"), key=lambda i: -i
    )
    assert all(it.score is None for it in held), "held-out images carry no rank"
    assert [it.image_id for it in held] == [5, 10, 15, 20], "held-out in file order"
    positions = [k for k, it in enumerate(q.items) if it.heldout]
    assert positions == [0, 5, 10, 15], "one in five: the held-out fraction"
    # Already reviewed enough held-out images: the first pick is a ranked one.
    q2 = build_queue(cands, roles, scores, 1, fraction=0.2, reviewed=(7, 2))
    assert not q2.items[0].heldout and q2.items[0].image_id == 19


def test_without_a_model_the_queue_is_file_order_and_says_so() -> None:
    cands = [(3, "c"), (1, "a"), (2, "b")]
    q = build_queue(cands, {1: "train", 2: "train", 3: "train"}, None, 3)
    assert [it.image_id for it in q.items] == [3, 1, 2]
    assert any("no active model" in n for n in q.notes)
    empty = build_queue([], {}, {}, 5)
    assert empty.items == [] and any("every image is reviewed" in n for n in empty.notes)


def test_unscored_images_follow_the_scored_ones() -> None:
    cands = [(1, "a"), (2, "b"), (3, "c")]
    q = build_queue(cands, {}, {2: _S(0.3)}, 3, fraction=0.0)
    assert [it.image_id for it in q.items] == [2, 1, 3]
    assert q.items[1].reasons == ("not scored yet",)


def test_k_center_does_not_pick_near_duplicates() -> None:
    rng = np.random.default_rng(0)
    # Five near-copies of one image with the top scores, and three distinct images.
    dup = np.ones((5, 3)) + rng.normal(0, 1e-3, (5, 3))
    distinct = np.array([[5.0, 0, 0], [0, 5.0, 0], [0, 0, 5.0]])
    feats = np.vstack([dup, distinct])
    scores = [0.99, 0.98, 0.97, 0.96, 0.95, 0.5, 0.4, 0.3]
    picks = k_center(feats, scores, 3)
    assert picks[0] == 0, "the batch starts with the best-scored image"
    assert sum(1 for p in picks if p < 5) == 1, "one of the duplicates, not three"
    # Through the queue: diversity reorders the batch.
    cands = [(i, str(i)) for i in range(8)]
    s = {i: _S(scores[i], features=feats[i]) for i in range(8)}
    q = build_queue(cands, {}, s, 3, fraction=0.0, diversity=True)
    assert sum(1 for it in q.items if it.image_id < 5) == 1


@pytest.mark.parametrize("window", [2000, 3])
def test_review_next_from_the_store_is_the_first_item_of_the_full_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """``next_from_store`` (a few LIMIT-1 queries) answers what ``build_queue`` over every
    candidate and score answers, across statuses, filters, ties, held-out rate, exclusion."""
    from core.active.queue import next_from_store
    from core.annotations import builtin_label_set

    # A window of 3 of the best scores sends most answers the candidates' way (and ties
    # across the window's edge): both ways must answer what build_queue answers.
    monkeypatch.setattr("core.store.scores.WINDOW", window)

    # No grading scales: "done" needs no grade here.
    project = Project.create(tmp_path / "p", label_set=builtin_label_set("xray"), scales=[])
    try:
        ids = project.add_images(
            [NewImage(str(project.folder / f"{'ab'[i % 2]}{i}.png"), 10, 10) for i in range(60)]
        )
        rng = np.random.default_rng(3)
        statuses = ("new", "in_progress", "to_review", "done")
        unreviewed = ["new", "in_progress", "to_review"]
        for trial in range(25):
            for i in ids:
                project.set_review_status(i, statuses[int(rng.integers(0, 4))])
            model = None if trial % 5 == 0 else f"det:{trial}"
            if model is not None:
                chosen = [i for i in ids if rng.random() < 0.7]
                # Coarse values: ties must break by file order as in build_queue.
                project.scores.put(
                    "detector",
                    model,
                    [StoredScore(i, float(rng.integers(0, 5)) / 4, (f"r{i}",)) for i in chosen],
                )
            filters: dict[str, object] = {"status": unreviewed}
            if trial % 3 == 1:
                filters["search"] = "a"
            if trial % 4 == 2:
                filters["status"] = ["to_review"]
            exclude = ids[int(rng.integers(0, len(ids)))] if trial % 2 else None
            roles = project.heldout.roles()
            summary = project.heldout.summary()
            done = project.image_count(status="done")
            cands = [
                (i, project.image(i).path)
                for i in project.image_ids_where(**filters)  # type: ignore[arg-type]
                if i != exclude
            ]
            scores = None if model is None else project.scores.scores("detector", model)
            want = build_queue(
                cands,
                roles,
                scores,
                1,
                model=model,
                fraction=project.heldout.fraction(),
                reviewed=(done - summary["reviewed"], summary["reviewed"]),
            )
            got = next_from_store(project, "detector", model, filters, exclude=exclude)
            assert [it.image_id for it in got.items] == [it.image_id for it in want.items], trial
            assert [it.reasons for it in got.items] == [it.reasons for it in want.items], trial
            assert [it.heldout for it in got.items] == [it.heldout for it in want.items], trial
            for note in ("no active model", "every image is reviewed"):
                assert any(note in n for n in got.notes) == any(note in n for n in want.notes)
    finally:
        project.close()

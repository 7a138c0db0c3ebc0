"""Grade mapping, confidence, SMOTE, metrics, Hayashi lesion counts, reference cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from core.annotations import Box, builtin_scale
from ml.severity.evaluate import (
    fold_splits,
    grade_metrics,
    lesion_count_metrics,
    regression_metrics,
)
from ml.severity.grading import edge_margin, suggest_grade
from ml.severity.imbalance import smote_balance
from ml.severity.lesion_count import (
    counted_labels,
    hayashi_grade,
    lesion_count_grade,
)
from ml.severity.reference import ReferenceIndex
from ml.severity.regressor import PatchRegressor, RegressorConfig

ACNE4 = builtin_scale("acne4")
HYPERPIG = builtin_scale("hyperpig")
IGA5 = builtin_scale("iga5")


# --- grade mapping ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (-0.7, 0),
        (0.0, 0),
        (0.499, 0),
        (0.5, 1),  # on an edge: the upper grade
        (0.501, 1),
        (1.499, 1),
        (1.5, 2),
        (1.501, 2),
        (2.499, 2),
        (2.5, 3),
        (2.501, 3),
        (3.8, 3),
    ],
)
def test_acne4_maps_scores_at_and_around_each_edge(score: float, grade: int) -> None:
    assert ACNE4.to_grade(score) == grade
    assert suggest_grade(ACNE4, [score]).value == grade


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (0.0, 0.0),
        (0.2499, 0.0),
        (0.25, 0.5),
        (4.74, 4.5),
        (4.75, 5.0),
        (8.8, 9.0),
        (12.0, 9.0),
        (-1.0, 0.0),
    ],
)
def test_hyperpig_maps_to_the_nearest_half_step_within_0_to_9(score: float, grade: float) -> None:
    assert suggest_grade(HYPERPIG, [score]).value == grade


@pytest.mark.parametrize(
    ("score", "grade"), [(0.49, 0), (0.5, 1), (2.49, 2), (2.5, 3), (3.49, 3), (3.5, 4), (9.0, 4)]
)
def test_iga5_maps_like_acne4_with_five_grades(score: float, grade: int) -> None:
    assert suggest_grade(IGA5, [score]).value == grade


def test_face_grade_is_the_mean_of_its_patches_clipped_to_the_scale() -> None:
    s = suggest_grade(ACNE4, {"forehead": 1.0, "chin": 2.0, "left_cheek": 1.2, "right_cheek": 1.4})
    assert s.continuous == pytest.approx(1.4)
    assert s.value == 1 and s.label == "Moderate"
    assert suggest_grade(ACNE4, [5.0, 6.0]).continuous == 3.0


def test_confidence_falls_with_disagreement_edges_and_fallback_methods() -> None:
    sure = suggest_grade(ACNE4, [2.0, 2.0, 2.0, 2.0])
    assert sure.confidence == pytest.approx(1.0)
    split = suggest_grade(ACNE4, [1.0, 3.0, 2.0, 2.0])  # mean 2, half the patches disagree
    assert split.agreement == 0.5 and split.confidence < sure.confidence
    edge = suggest_grade(ACNE4, [1.49, 1.49])
    assert edge.margin == pytest.approx(0.02) and edge.confidence < 0.52
    assert suggest_grade(ACNE4, [2.0], method="whole_image").confidence == pytest.approx(0.6)
    grey = suggest_grade(ACNE4, [2.0], method="eye_cascade", greyscale=True)
    assert grey.confidence == pytest.approx(0.85 * 0.8)


def test_edge_margin_is_one_on_the_grade_and_zero_on_the_edge() -> None:
    assert edge_margin(ACNE4, 1.0) == 1.0
    assert edge_margin(ACNE4, 1.5) == 0.0
    assert edge_margin(ACNE4, 1.25) == pytest.approx(0.5)
    assert edge_margin(ACNE4, 3.0) == 1.0 and edge_margin(ACNE4, 0.0) == 1.0


# --- SMOTE ----------------------------------------------------------------------------------
def test_smote_balances_every_grade_to_the_largest() -> None:
    rng = np.random.default_rng(0)
    y = np.array([0.0] * 40 + [1.0] * 12 + [2.0] * 6 + [3.0] * 3)
    X = rng.normal(size=(y.size, 6)) + y[:, None]
    Xr, yr, report = smote_balance(X, y, ACNE4)
    values, counts = np.unique(yr, return_counts=True)
    assert values.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert counts.tolist() == [40, 40, 40, 40]
    assert report.applied and report.k_neighbors == 2  # smallest grade (3 rows) - 1
    assert report.before == {0.0: 40, 1.0: 12, 2.0: 6, 3.0: 3}
    assert Xr.shape == (160, 6)
    # The original rows are kept as they were.
    assert np.allclose(Xr[: y.size], X, atol=1e-5)


def test_smote_can_be_switched_off() -> None:
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.array([0.0] * 9 + [3.0])
    Xr, _yr, report = smote_balance(X, y, ACNE4, enabled=False)
    assert Xr is X and not report.applied


def test_a_grade_with_a_single_row_is_replicated_and_the_rest_interpolated() -> None:
    # A rare grade may reach a training fold as one patch row (one whole-image photo):
    # SMOTE cannot interpolate it, but training must not fail for that.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(15, 3))
    y = np.array([0.0] * 10 + [1.0] * 4 + [3.0])
    Xr, yr, report = smote_balance(X, y, ACNE4)
    assert dict(zip(*np.unique(yr, return_counts=True), strict=True)) == {0.0: 10, 1.0: 10, 3.0: 10}
    assert report.replicated == (3.0,) and report.k_neighbors == 3
    np.testing.assert_allclose(Xr[:15], X, atol=1e-6)  # originals first, unchanged
    np.testing.assert_allclose(Xr[yr == 3.0], np.repeat(X[14:], 10, axis=0), atol=1e-6)
    # Only single-row minorities: nothing to interpolate, every copy is the row itself.
    _Xs, ys, rep = smote_balance(X[[0, 1, 2, 14]], np.array([0.0, 0.0, 0.0, 3.0]), ACNE4)
    assert int((ys == 3.0).sum()) == 3 and rep.replicated == (3.0,) and rep.applied


def test_smote_k_neighbors_shrinks_to_the_smallest_grade() -> None:
    rng = np.random.default_rng(3)
    y = np.array([0.0] * 12 + [2.0] * 2)
    _Xr, yr, report = smote_balance(rng.normal(size=(14, 2)), y, ACNE4, k_neighbors=5)
    assert report.k_neighbors == 1 and int((yr == 2.0).sum()) == 12


def test_smote_works_on_half_step_grades() -> None:
    rng = np.random.default_rng(1)
    y = np.array([0.5] * 10 + [6.5] * 4)
    _Xr, yr, _ = smote_balance(rng.normal(size=(14, 3)), y, HYPERPIG)
    assert sorted(set(yr.tolist())) == [0.5, 6.5]
    assert int((yr == 6.5).sum()) == 10


# --- metrics ---------------------------------------------------------------------------------
def test_regression_metrics_equal_sklearn_on_known_vectors() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0, 1.0, 0.0])
    p = np.array([0.2, 0.8, 2.5, 2.4, 1.1, 0.0])
    m = regression_metrics(y, p)
    assert m["shift"] == 1.0
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert m["medae"] == pytest.approx(skm.median_absolute_error(y, p))
    assert m["explained_variance"] == pytest.approx(skm.explained_variance_score(y, p))
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y + 1, p + 1))
    assert m["mean_poisson_deviance"] == pytest.approx(skm.mean_poisson_deviance(y + 1, p + 1))
    assert m["mean_gamma_deviance"] == pytest.approx(skm.mean_gamma_deviance(y + 1, p + 1))
    # Hand-checked value: errors 0.2, 0.2, 0.5, 0.6, 0.1, 0 -> MAE 1.6 / 6.
    assert m["mae"] == pytest.approx(1.6 / 6)


def test_grade_metrics_equal_sklearn_and_cover_every_grade() -> None:
    t = [0, 0, 1, 1, 2, 3, 3]
    p = [0, 1, 1, 1, 2, 2, 3]
    m = grade_metrics(t, p, ACNE4)
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["error_rate"] == pytest.approx(2 / 7)
    prec, rec, f1, _ = skm.precision_recall_fscore_support(t, p, average="macro", zero_division=0)
    assert (m["precision_macro"], m["recall_macro"], m["f1_macro"]) == pytest.approx(
        (prec, rec, f1)
    )
    assert m["confusion_matrix"] == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]
    hp = grade_metrics([0.5, 9.0], [0.5, 8.5], HYPERPIG)
    assert len(hp["confusion_matrix"]) == 19 and hp["accuracy"] == 0.5


def test_lesion_count_metrics_per_hayashi_group() -> None:
    true = [2, 4, 10, 30, 60]
    pred = [3, 4, 7, 35, 50]
    m = lesion_count_metrics(true, pred)
    err = np.array(pred) - np.array(true)
    assert m["overall"]["mae"] == pytest.approx(np.abs(err).mean())
    assert m["overall"]["rmse"] == pytest.approx(np.sqrt((err**2).mean()))
    assert m["overall"]["mean_error"] == pytest.approx(err.mean())
    assert m["overall"]["sd_error"] == pytest.approx(err.std(ddof=1))
    mild = m["groups"]["Mild"]
    assert mild["n"] == 2 and mild["mean_error"] == pytest.approx(0.5)
    assert m["groups"]["Moderate"]["mae"] == 3
    assert m["groups"]["Very severe"]["mean_error"] == -10


def test_folds_keep_every_face_once_and_stratify_when_possible() -> None:
    grades = np.array([0.0] * 10 + [1.0] * 6 + [3.0] * 2)
    splits = fold_splits(grades, 3)
    tested = np.concatenate([te for _tr, te in splits])
    assert sorted(tested.tolist()) == list(range(18))
    for _tr, te in splits:
        assert (grades[te] == 1.0).sum() == 2  # 6 moderate faces over 3 folds


# --- Hayashi ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "grade"), [(0, 0), (5, 0), (6, 1), (20, 1), (21, 2), (50, 2), (51, 3), (400, 3)]
)
def test_hayashi_thresholds(count: int, grade: int) -> None:
    assert hayashi_grade(count) == grade


def _boxes(n: int, x: float, status: str = "accepted", label: str = "papule") -> list[Box]:
    return [Box(x, 10 + 3 * i, x + 2, 12 + 3 * i, label, status=status) for i in range(n)]


def test_lesions_are_counted_on_the_worse_half_face() -> None:
    line = (np.array([100.0, 100.0]), np.array([0.0, 1.0]))  # vertical midline at x = 100
    boxes = _boxes(4, 40) + _boxes(7, 150)  # 4 on the image left, 7 on the right
    result = lesion_count_grade(boxes, line)
    assert (result.right_half, result.left_half, result.total) == (4, 7, 11)
    assert result.count == 7 and result.grade == 1 and result.by_midline
    # Counting the total instead would be 11 - still moderate - but 3 + 3 per side is mild.
    assert lesion_count_grade(_boxes(3, 40) + _boxes(3, 150), line).grade == 0


def test_rejected_boxes_and_other_labels_do_not_count() -> None:
    boxes = (
        _boxes(6, 40)
        + _boxes(10, 40, status="rejected")
        + _boxes(10, 40, label="blackhead comedone")
    )
    result = lesion_count_grade(
        boxes, None, labels=counted_labels(["papule", "pustule", "blackhead comedone"])
    )
    assert result.count == 6 and result.grade == 1
    assert not result.by_midline and result.notes  # no midline: one half face, said so
    assert lesion_count_grade(boxes, None).count == 16  # every label when asked for all


def test_suggested_model_boxes_count_towards_the_hayashi_grade() -> None:
    # Five reviewed lesions are mild (0-5); one pending model suggestion makes six, moderate.
    reviewed = _boxes(5, 40)
    suggested = [Box(60, 10, 62, 12, "papule", source="model", status="suggested", score=0.4)]
    assert lesion_count_grade(reviewed, None).grade == 0
    result = lesion_count_grade(reviewed + suggested, None)
    assert (result.count, result.total, result.grade, result.label) == (6, 6, 1, "Moderate")
    # Suggestions alone are counted too, and edited boxes with them; rejected never.
    only_model = [
        Box(40, 10 + 3 * i, 42, 12 + 3 * i, "pustule", source="model", status=status)
        for i, status in enumerate(["suggested"] * 4 + ["edited"] * 3 + ["rejected"] * 9)
    ]
    assert lesion_count_grade(only_model, None).count == 7


def test_suggested_boxes_count_on_their_half_face() -> None:
    line = (np.array([100.0, 100.0]), np.array([0.0, 1.0]))  # vertical midline at x = 100
    boxes = _boxes(3, 40) + _boxes(4, 150, status="suggested")  # 3 left, 4 pending right
    result = lesion_count_grade(boxes, line)
    assert (result.right_half, result.left_half, result.count) == (3, 4, 4)


def test_a_projects_suggested_boxes_reach_the_grade_the_gui_shows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``SeverityGrader.grade_image`` (what the GUI's severity panel calls) counts the
    project's stored suggestions: the store's ``boxes()`` must hand them over and the
    counting rules must keep them. The model part is stubbed; the store is real."""
    from core.annotations import builtin_label_set
    from core.store import NewImage, Project
    from ml.severity.grader import SeverityGrader, SeverityResult
    from ml.severity.patches import PatchSet

    with Project.create(
        tmp_path / "faces", label_set=builtin_label_set("acne"), scales=[ACNE4], author="dr.a"
    ) as project:
        (image_id,) = project.add_images([NewImage(str(tmp_path / "face.png"), 200, 200)])
        project.add_boxes(
            image_id,
            [Box(10, 10 + 5 * i, 14, 14 + 5 * i, "papule", status="accepted") for i in range(5)]
            + [
                Box(50, 10 + 5 * i, 54, 14 + 5 * i, "pustule", source="model",
                    status="suggested", score=0.3)
                for i in range(2)
            ]
            + [Box(90, 10, 94, 14, "papule", source="model", status="rejected", score=0.9)]
            + [Box(120, 10, 124, 14, "blackhead comedone", status="accepted")]
        )  # fmt: skip

        stub_result = SeverityResult(
            image_id=image_id,
            suggestion=None,  # type: ignore[arg-type]
            patches=PatchSet(image_ref=None, image_size=(200, 200), method="whole", patches=()),
            references=(),
            model_ref="stub:1",
        )
        grader = SeverityGrader.__new__(SeverityGrader)  # no model: only the counting runs
        grader.cache = None
        grader._grade_source = lambda source, k, cache: stub_result  # type: ignore[method-assign]
        result = grader.grade_image(project, image_id)

    lc = result.lesion_count
    assert lc is not None
    # 5 accepted + 2 suggested papules/pustules; the rejected one and the comedone do not count.
    assert (lc.total, lc.count, lc.grade, lc.label) == (7, 7, 1, "Moderate")
    assert lc.labels == ("papule", "pustule", "nodule/cyst", "lesion") and not lc.by_midline


def test_counted_labels_fall_back_to_every_label() -> None:
    assert counted_labels(["comedone", "Papule", "pustule"]) == ("Papule", "pustule")
    assert counted_labels(["acne"]) is None


# --- regressor and reference cases ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ridge", "rbf"])
def test_regressor_orders_faces_by_grade_and_stays_in_range(kind: str) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0.0, 1.0, 2.0, 3.0], 30)
    X = rng.normal(scale=0.3, size=(y.size, 8))
    X[:, 0] += y
    reg = PatchRegressor(ACNE4, RegressorConfig(kind=kind)).fit(X, y)
    test = np.zeros((4, 8))
    test[:, 0] = [0.0, 1.0, 2.0, 3.0]
    pred = reg.predict_patches(test)
    assert np.all(np.diff(pred) > 0.3)
    assert reg.predict_patches(np.full((1, 8), 50.0)).item() <= 3.0
    faces = reg.predict_faces(test, np.array([0, 0, 1, 1]))
    assert faces == pytest.approx([pred[:2].mean(), pred[2:].mean()])


def test_wide_features_are_reduced_by_pca_and_unknown_regressors_refused() -> None:
    from core.errors import ClinLensError

    rng = np.random.default_rng(0)
    y = np.repeat([0.0, 3.0], 40)
    X = rng.normal(size=(80, 300))
    X[:, :3] += y[:, None]
    reg = PatchRegressor(ACNE4).fit(X, y)
    assert reg.embed(X[:2]).shape == (2, 64)
    with pytest.raises(ClinLensError, match="unknown regressor"):
        PatchRegressor(ACNE4, RegressorConfig(kind="svm")).fit(X, y)


def test_reference_cases_are_the_nearest_graded_faces() -> None:
    idx = ReferenceIndex(
        vectors=np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.2, 0.1]]),
        image_ids=np.array([10, 11, 12, 13]),
        image_refs=["a.png", "b.png", "c.png", "d.png"],
        grades=np.array([0.0, 1.0, 3.0, 0.0]),
        labels=["Mild", "Moderate", "Very severe", "Mild"],
    )
    cases = idx.query(np.array([0.1, 0.0]), k=2)
    assert [c.image_id for c in cases] == [10, 13]
    assert cases[0].distance <= cases[1].distance and 0 < cases[0].similarity <= 1
    own = idx.query(np.array([0.0, 0.0]), k=1, exclude_image_id=10)
    assert own[0].image_id == 13
    back = ReferenceIndex.from_state(idx.to_state())
    assert [c.image_id for c in back.query(np.array([5.0, 5.0]), k=1)] == [12]

"""Agreement figures equal the reference libraries' on fixed vectors: scikit-learn's
quadratic kappa, krippendorff's alpha, statsmodels' Fleiss kappa, pingouin's ICC -- with
perfect agreement, total disagreement, a reader who never varies and missing ratings."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from core.agreement import stats

NAN = np.nan
ACNE = [0.0, 1.0, 2.0, 3.0]
# units x readers
VARIED = np.array(
    [[0, 0, 1], [1, 1, 1], [2, 3, 2], [3, 3, 2], [1, 2, 1], [0, 1, 0], [2, 2, 3], [3, 2, 3]],
    dtype=float,
)
PERFECT = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]], dtype=float)
OPPOSITE = np.array([[0, 3], [3, 0], [0, 3], [3, 0]], dtype=float)  # total disagreement
CONSTANT = np.array([[2, 0], [2, 1], [2, 2], [2, 3]], dtype=float)  # reader 0 never varies
MISSING = np.array([[0, 0, NAN], [1, NAN, 1], [2, 3, 2], [NAN, 3, 2], [1, 2, 1]], dtype=float)


@pytest.mark.parametrize("ratings", [VARIED, PERFECT, OPPOSITE, MISSING])
def test_quadratic_kappa_equals_scikit_learn(ratings: np.ndarray) -> None:
    x, y = stats.pair_values(ratings, 0, 1)
    expected = cohen_kappa_score(x.astype(int), y.astype(int), labels=[0, 1, 2, 3],
                                 weights="quadratic")  # fmt: skip
    assert stats.weighted_kappa(x, y, ACNE) == pytest.approx(expected, abs=1e-12)


def test_known_kappa_values() -> None:
    assert stats.weighted_kappa(*stats.pair_values(PERFECT, 0, 1), ACNE) == 1.0
    assert stats.weighted_kappa(*stats.pair_values(OPPOSITE, 0, 1), ACNE) == pytest.approx(-1.0)


def test_kappa_of_a_reader_who_never_varies_is_zero_and_of_two_constants_undefined() -> None:
    x, y = stats.pair_values(CONSTANT, 0, 1)
    assert stats.weighted_kappa(x, y, ACNE) == pytest.approx(0.0)
    same = np.array([2.0, 2.0, 2.0])
    assert stats.weighted_kappa(same, same, ACNE) is None  # 0/0: no variation to agree on
    assert stats.weighted_kappa(np.array([]), np.array([]), ACNE) is None


@pytest.mark.parametrize("ratings", [VARIED, OPPOSITE, CONSTANT, MISSING])
def test_fleiss_kappa_equals_statsmodels(ratings: np.ndarray) -> None:
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    complete = stats.complete_rows(ratings).astype(int)
    table, _ = aggregate_raters(complete, n_cat=4)
    assert stats.fleiss_kappa(ratings, ACNE) == pytest.approx(fleiss_kappa(table), abs=1e-12)


def test_fleiss_kappa_perfect_is_one_and_all_one_grade_is_undefined() -> None:
    assert stats.fleiss_kappa(PERFECT, ACNE) == pytest.approx(1.0)
    assert stats.fleiss_kappa(np.full((4, 3), 2.0), ACNE) is None


@pytest.mark.parametrize("ratings", [VARIED, PERFECT, OPPOSITE, CONSTANT, MISSING])
@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_krippendorff_alpha_equals_the_package(ratings: np.ndarray, level: str) -> None:
    kwargs = {"value_domain": ACNE} if level == "ordinal" else {}
    expected = krippendorff.alpha(reliability_data=ratings.T, level_of_measurement=level, **kwargs)
    assert stats.krippendorff_alpha(ratings, level, ACNE) == pytest.approx(expected, abs=1e-12)


def test_krippendorff_alpha_of_one_value_everywhere_is_none_not_an_error() -> None:
    assert stats.krippendorff_alpha(np.full((4, 2), 1.0), "ordinal", ACNE) is None


def _pingouin_icc(ratings: np.ndarray) -> dict[str, tuple[float, float, float]]:
    import pandas as pd
    import pingouin

    rows = [
        {"t": i, "r": j, "s": v}
        for i, row in enumerate(ratings)
        for j, v in enumerate(row)
        if not math.isnan(v)
    ]
    saved = pingouin.options.get("round.column.CI95")
    pingouin.options["round.column.CI95"] = None  # full precision, not 2 decimals
    try:
        table = pingouin.intraclass_corr(
            data=pd.DataFrame(rows), targets="t", raters="r", ratings="s", nan_policy="omit"
        ).set_index("Type")
    finally:
        pingouin.options["round.column.CI95"] = saved
    return {
        key: (float(table.at[t, "ICC"]), *map(float, table.at[t, "CI95"]))
        for key, t in (("icc2_1", "ICC(A,1)"), ("icc3_1", "ICC(C,1)"))
    }


HYPERPIG = np.array(
    [[1.0, 1.5, 1.0], [3.0, 3.5, 4.0], [6.0, 5.0, 6.5], [0.5, 0.5, 1.0], [8.0, 7.5, 9.0],
     [4.5, 4.0, 4.0], [2.0, 3.0, 2.5]]
)  # fmt: skip
HYPERPIG_MISSING = np.vstack([HYPERPIG, [[NAN, 2.0, 2.5], [5.0, NAN, 5.5]]])
# A reader who never varies and one who varies a lot: a low, possibly negative ICC.
HYPERPIG_CONSTANT = np.array([[4.0, 1.0], [4.0, 6.0], [4.0, 2.5], [4.0, 8.0], [4.0, 3.0]])


@pytest.mark.parametrize("ratings", [HYPERPIG, HYPERPIG_MISSING, HYPERPIG_CONSTANT, VARIED])
def test_icc_equals_pingouin(ratings: np.ndarray) -> None:
    ours = stats.icc(ratings)
    assert ours is not None
    for key, (value, lo, hi) in _pingouin_icc(ratings).items():
        assert ours[key]["value"] == pytest.approx(value, abs=1e-9)
        assert ours[key]["ci95"] == pytest.approx([lo, hi], abs=1e-9)


def test_icc_of_perfect_agreement_is_one_and_needs_two_complete_units() -> None:
    ours = stats.icc(np.array([[1.0, 1.0], [3.0, 3.0], [5.0, 5.0]]))
    assert ours is not None and ours["icc2_1"]["value"] == pytest.approx(1.0)
    assert stats.icc(np.array([[1.0, 2.0], [3.0, NAN]])) is None


def test_bland_altman_and_mad_by_hand() -> None:
    x, y = np.array([1.0, 2.0, 3.0, 5.0]), np.array([1.5, 2.0, 2.0, 4.0])
    d = x - y  # -0.5, 0, 1, 1
    ba = stats.bland_altman(x, y)
    assert ba is not None and ba["bias"] == pytest.approx(d.mean())
    sd = float(np.std(d, ddof=1))
    assert (ba["lower"], ba["upper"]) == pytest.approx((d.mean() - 1.96 * sd, d.mean() + 1.96 * sd))
    assert stats.mean_absolute_difference(x, y) == pytest.approx(0.625)


def test_model_against_readers_with_leave_one_out() -> None:
    ratings = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, NAN]])
    model = np.array([2.0, 2.0, 1.0])
    out = stats.model_vs_readers(ratings, ["a", "b", "c"], model)
    # readers' mean: 2, 2, 0.5 -> model errors 0, 0, 0.5
    assert out["to_readers_mean"]["mae"] == pytest.approx(0.5 / 3)
    assert out["to_readers_mean"]["rmse"] == pytest.approx(math.sqrt(0.25 / 3))
    # a vs mean(b, c): 2.5, 2, 1 -> errors 1.5, 0, 1
    assert out["readers_leave_one_out"]["a"]["mae"] == pytest.approx(2.5 / 3)
    assert out["to_readers"]["c"]["n"] == 2  # c did not grade the third image
    assert out["within_readers_spread"] is True

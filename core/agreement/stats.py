"""Agreement statistics over a ratings matrix (units x readers, NaN = not rated).

Well-kept libraries where they exist: scikit-learn's ``cohen_kappa_score`` (quadratic
weights) and the ``krippendorff`` package. Fleiss' kappa and the ICCs are a few lines of
algebra; tests check them against statsmodels' ``fleiss_kappa`` and pingouin's
``intraclass_corr`` on fixed vectors. A statistic that is undefined on the data (e.g.
kappa when both readers never vary, ICC with fewer than two complete units) is None --
JSON ``null`` -- never a made-up number.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import f as f_dist


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def complete_rows(ratings: np.ndarray) -> np.ndarray:
    """The units every reader rated."""
    return ratings[~np.isnan(ratings).any(axis=1)]


def pair_values(ratings: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Readers a's and b's grades on the units both rated."""
    both = ~np.isnan(ratings[:, a]) & ~np.isnan(ratings[:, b])
    return ratings[both, a], ratings[both, b]


def weighted_kappa(x: np.ndarray, y: np.ndarray, categories: Sequence[float]) -> float | None:
    """Quadratic-weighted Cohen's kappa (scikit-learn) over the scale's categories.

    Grades are mapped to category indices so that the weights follow grade steps; None
    when undefined (no units, or no variation to agree on beyond chance).
    """
    if len(x) == 0:
        return None
    from sklearn.metrics import cohen_kappa_score

    index = {float(c): i for i, c in enumerate(categories)}
    xi = [index[float(v)] for v in x]
    yi = [index[float(v)] for v in y]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(xi, yi, labels=list(range(len(categories))), weights="quadratic")
    return _finite(float(value))


def fleiss_kappa(ratings: np.ndarray, categories: Sequence[float]) -> float | None:
    """Fleiss' kappa over the units every reader rated (equal raters per unit)."""
    rows = complete_rows(ratings)
    n, k = rows.shape
    if n == 0 or k < 2:
        return None
    cats = np.asarray(categories, dtype=np.float64)
    counts = np.stack([(np.isclose(rows, c)).sum(axis=1) for c in cats], axis=1).astype(float)
    p_j = counts.sum(axis=0) / (n * k)
    p_i = (np.square(counts).sum(axis=1) - k) / (k * (k - 1))
    p_bar, p_e = p_i.mean(), np.square(p_j).sum()
    if math.isclose(p_e, 1.0):
        return None  # everyone always gave the same one grade: chance agreement is total
    return _finite((p_bar - p_e) / (1.0 - p_e))


def krippendorff_alpha(
    ratings: np.ndarray, level: str, categories: Sequence[float] | None = None
) -> float | None:
    """Krippendorff's alpha (``krippendorff`` package); missing ratings allowed."""
    import krippendorff

    data = ratings.T  # the package wants readers x units
    usable = (~np.isnan(data)).sum(axis=0) >= 2
    if usable.sum() == 0:
        return None
    kwargs: dict[str, Any] = {"level_of_measurement": level}
    if categories is not None and level == "ordinal":
        kwargs["value_domain"] = list(categories)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = krippendorff.alpha(reliability_data=data, **kwargs)
    except (ValueError, ZeroDivisionError):
        return None  # e.g. only one value in the data: no disagreement to measure
    return _finite(float(value))


def icc(ratings: np.ndarray) -> dict[str, Any] | None:
    """ICC(2,1) (absolute agreement, two-way random) and ICC(3,1) (consistency, two-way
    mixed) with 95 % confidence intervals, over the complete units (as pingouin's
    ``intraclass_corr``, McGraw & Wong 1996). None with fewer than two complete units."""
    rows = complete_rows(ratings)
    n, k = rows.shape
    if n < 2 or k < 2:
        return None
    grand = rows.mean()
    ss_rows = k * np.square(rows.mean(axis=1) - grand).sum()
    ss_cols = n * np.square(rows.mean(axis=0) - grand).sum()
    ss_err = np.square(rows - grand).sum() - ss_rows - ss_cols
    df1, df2 = n - 1, (n - 1) * (k - 1)
    msb, msj, mse = ss_rows / df1, ss_cols / (k - 1), ss_err / df2
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        f3 = msb / mse
        f3l = f3 / f_dist.ppf(0.975, df1, df2)
        f3u = f3 * f_dist.ppf(0.975, df2, df1)
        l3, u3 = (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)
        fj = msj / mse
        vn = df2 * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        f2u = f_dist.ppf(0.975, n - 1, v)
        f2l = f_dist.ppf(0.975, v, n - 1)
        l2 = n * (msb - f2u * mse) / (f2u * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (f2l * msb - mse) / (k * msj + (k * n - k - n) * mse + n * f2l * msb)
    return {
        "icc2_1": {"value": _finite(icc2), "ci95": [_finite(l2), _finite(u2)]},
        "icc3_1": {"value": _finite(icc3), "ci95": [_finite(l3), _finite(u3)]},
        "n": int(n),
    }


def mean_absolute_difference(x: np.ndarray, y: np.ndarray) -> float | None:
    return _finite(float(np.mean(np.abs(x - y)))) if len(x) else None


def bland_altman(x: np.ndarray, y: np.ndarray) -> dict[str, float | None] | None:
    """Bias (mean of x - y) and the 95 % limits of agreement (bias +- 1.96 SD, ddof 1)."""
    if len(x) < 2:
        return None
    diff = x - y
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    return {
        "bias": _finite(bias),
        "sd": _finite(sd),
        "lower": _finite(bias - 1.96 * sd),
        "upper": _finite(bias + 1.96 * sd),
    }


def rmse_mae(pred: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """RMSE and MAE of ``pred`` against ``truth`` (pairs with both present)."""
    ok = ~np.isnan(pred) & ~np.isnan(truth)
    d = pred[ok] - truth[ok]
    if not len(d):
        return {"n": 0, "rmse": None, "mae": None}
    return {
        "n": len(d),
        "rmse": _finite(float(np.sqrt(np.mean(np.square(d))))),
        "mae": _finite(float(np.mean(np.abs(d)))),
    }


def model_vs_readers(
    ratings: np.ndarray, readers: Sequence[str], model: np.ndarray
) -> dict[str, Any]:
    """The model's RMSE/MAE to each reader and to the readers' mean, beside each reader's
    RMSE/MAE to the mean of the other readers (leave-one-out): "is the model within the
    readers' spread" as numbers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mean of an all-NaN row is NaN, on purpose
        mean_all = np.nanmean(ratings, axis=1)
        loo = {}
        for i, name in enumerate(readers):
            others = np.delete(ratings, i, axis=1)
            loo[name] = rmse_mae(ratings[:, i], np.nanmean(others, axis=1))
    to_mean = rmse_mae(model, mean_all)
    reader_rmses = [v["rmse"] for v in loo.values() if v["rmse"] is not None]
    within = None
    if to_mean["rmse"] is not None and reader_rmses:
        within = bool(to_mean["rmse"] <= max(reader_rmses))
    return {
        "n": int((~np.isnan(model) & ~np.isnan(mean_all)).sum()),
        "to_readers": {name: rmse_mae(model, ratings[:, i]) for i, name in enumerate(readers)},
        "to_readers_mean": to_mean,
        "readers_leave_one_out": loo,
        "within_readers_spread": within,
    }

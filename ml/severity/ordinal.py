"""Ordinal-aware grades from regression scores: grade edges fitted on training folds.

A ridge regression trained on imbalanced grades shrinks towards the common grade: with
the scale's fixed edges (half-way between grades) nearly every ACNE04 face came out
"moderate". This head keeps the regression (an ordinal scale stays ordered) but moves the
K-1 edges between grades to where they separate the *training* faces best: coordinate
search, edge by edge, over the training scores between the neighbouring edges,
maximising balanced accuracy (the mean recall over grades, so a rare grade counts as
much as the common one), a few passes. Edges stay increasing, so the grade is still a
monotone function of the score.

The scores the edges are fitted on must not include the faces they will grade:
``cross_validate(head="edges")`` fits them per outer fold on inner out-of-fold scores
of that fold's training faces only.
"""

from __future__ import annotations

import numpy as np

PASSES = 3


def _balanced_accuracy(pred: np.ndarray, truth: np.ndarray, levels: np.ndarray) -> float:
    recalls = [float(np.mean(pred[truth == v] == v)) for v in levels if np.any(truth == v)]
    return float(np.mean(recalls)) if recalls else 0.0


def apply_edges(scores: np.ndarray, edges: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The grade of each score: ``levels[i]`` for scores between edge i-1 and edge i."""
    return levels[np.searchsorted(edges, np.asarray(scores, dtype=np.float64), side="right")]


def fit_edges(scores: np.ndarray, grades: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """K-1 increasing edges over ``scores`` that grade ``grades`` best (balanced accuracy).

    Starts from the midpoints between ``levels`` (the plain rounding head); an edge only
    moves when that helps, so with uninformative scores it stays put.
    """
    s = np.asarray(scores, dtype=np.float64)
    g = np.asarray(grades, dtype=np.float64)
    lv = np.asarray(levels, dtype=np.float64)
    edges = (lv[:-1] + lv[1:]) / 2.0
    if s.size == 0 or lv.size < 2:
        return edges
    candidates = np.unique(s)
    cuts = np.concatenate([[candidates[0] - 1e-6], (candidates[:-1] + candidates[1:]) / 2.0])
    cuts = np.concatenate([cuts, [candidates[-1] + 1e-6]])
    best = _balanced_accuracy(apply_edges(s, edges, lv), g, lv)
    for _ in range(PASSES):
        moved = False
        for i in range(edges.size):
            low = edges[i - 1] if i > 0 else -np.inf
            high = edges[i + 1] if i + 1 < edges.size else np.inf
            for c in cuts[(cuts > low) & (cuts < high)]:
                trial = edges.copy()
                trial[i] = c
                score = _balanced_accuracy(apply_edges(s, trial, lv), g, lv)
                if score > best + 1e-12:
                    best, edges, moved = score, trial, True
        if not moved:
            break
    return edges

"""Greedy k-center (Sener & Savarese 2018): a batch that covers the feature space.

Among the ``pool`` best-scored candidates, pick the best one first (or the one farthest
from what is already labelled), then repeatedly the candidate farthest from everything
picked or labelled. Scores choose *which* images may be picked, distances *which of
them*, so a batch of K is not K near-duplicates of the single most uncertain image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def k_center(
    features: np.ndarray,
    scores: Sequence[float],
    k: int,
    *,
    labelled: np.ndarray | None = None,
    pool_factor: int = 3,
) -> list[int]:
    """Indices (into ``features``) of ``k`` picks, in pick order."""
    x = np.asarray(features, dtype=np.float64)
    n = len(x)
    k = min(int(k), n)
    if k <= 0:
        return []
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="stable")
    pool = order[: max(k, min(n, pool_factor * k))]
    xs = x[pool]
    # Scale-free distances: standardise each feature over the pool.
    mu, sd = xs.mean(axis=0), xs.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    z = (xs - mu) / sd
    dist = np.full(len(pool), np.inf)
    if labelled is not None and len(labelled):
        zl = (np.asarray(labelled, dtype=np.float64).reshape(-1, x.shape[1]) - mu) / sd
        for row in zl:
            dist = np.minimum(dist, np.sqrt(((z - row) ** 2).sum(axis=1)))
    picked: list[int] = []
    for _ in range(k):
        if picked or np.isfinite(dist).any():
            j = int(np.argmax(np.where(np.isin(np.arange(len(pool)), picked), -1.0, dist)))
        else:
            j = 0  # the best-scored candidate starts the batch
        picked.append(j)
        dist = np.minimum(dist, np.sqrt(((z - z[j]) ** 2).sum(axis=1)))
    return [int(pool[j]) for j in picked]

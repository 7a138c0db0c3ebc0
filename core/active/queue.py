"""The review order: most informative unreviewed image first, held-out images at a steady rate.

Input: the candidates (unreviewed images passing the image list's filters, in file order),
each image's frozen role (``core.store.heldout``) and the stored scores of the active model
version (``core.store.scores``). Rules:

- training-role images with a score are ranked by it, highest first (optionally spread
  by k-center on their features); those not scored yet follow in file order;
- held-out images are never ranked (a test set chosen by the model would stop being a
  fair test): they are offered in file order, one whenever the reviewed held-out share
  would fall below the project's held-out fraction, so the held-out set keeps growing at
  the rate it was drawn with;
- no scores (no active model): file order, and the result says so.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.active.diversity import k_center

HELDOUT = "heldout"
HELDOUT_REASON = "held-out image: keeps the test set growing (never ranked)"


@dataclass(frozen=True)
class QueueItem:
    image_id: int
    path: str
    score: float | None
    reasons: tuple[str, ...]
    heldout: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image_id,
            "path": self.path,
            "score": None if self.score is None else round(self.score, 4),
            "reasons": list(self.reasons),
        }


@dataclass
class Queue:
    items: list[QueueItem]
    model: str | None
    notes: list[str] = field(default_factory=list)


def build_queue(
    candidates: Sequence[tuple[int, str]],
    roles: Mapping[int, str],
    scores: Mapping[int, Any] | None,
    n: int,
    *,
    model: str | None = None,
    fraction: float = 0.2,
    reviewed: tuple[int, int] = (0, 0),
    diversity: bool = False,
) -> Queue:
    """The first ``n`` images to review. ``scores``: image id -> object with ``score``,
    ``reasons`` (and ``features`` when ``diversity``); None = no active model.
    ``reviewed``: (training, held-out) images already reviewed (for the held-out rate)."""
    notes: list[str] = []
    train = [(i, p) for i, p in candidates if roles.get(i) != HELDOUT]
    held = [(i, p) for i, p in candidates if roles.get(i) == HELDOUT][:n]
    if scores is None:
        notes.append("no active model: images in file order")
        ranked = [QueueItem(i, p, None, ("file order (no active model)",)) for i, p in train[:n]]
    else:
        scored = [(i, p) for i, p in train if i in scores]
        key = lambda ip: (-float(scores[ip[0]].score), ip[0])  # noqa: E731
        if diversity or n * 4 >= len(scored):
            scored.sort(key=key)
        else:  # "review next" asks for one of thousands: no full sort
            scored = heapq.nsmallest(n, scored, key=key)
        if diversity and len(scored) > 1:
            feats = [scores[i].features for i, _ in scored]
            if all(f is not None for f in feats) and len({len(f) for f in feats}) == 1:
                order = k_center(
                    np.stack(feats), [scores[i].score for i, _ in scored], min(n, len(scored))
                )
                rest = [j for j in range(len(scored)) if j not in set(order)]
                scored = [scored[j] for j in order + rest]
        ranked = [
            QueueItem(i, p, float(scores[i].score), tuple(scores[i].reasons)) for i, p in scored
        ]
        unscored = [(i, p) for i, p in train if i not in scores]
        if unscored:
            notes.append(f"{len(unscored)} image(s) not scored yet: they follow in file order")
        ranked += [QueueItem(i, p, None, ("not scored yet",)) for i, p in unscored[:n]]
    items: list[QueueItem] = []
    done_train, done_held = reviewed
    ti = hi = 0
    while len(items) < n and (ti < len(ranked) or hi < len(held)):
        due = done_held < fraction * (done_train + done_held + 1)
        if hi < len(held) and (due or ti >= len(ranked)):
            i, p = held[hi]
            items.append(QueueItem(i, p, None, (HELDOUT_REASON,), heldout=True))
            hi += 1
            done_held += 1
        else:
            items.append(ranked[ti])
            ti += 1
            done_train += 1
    if not candidates:
        notes.append("every image is reviewed: nothing left to review")
    return Queue(items, model, notes)


def next_from_store(
    project: Any,
    kind: str,
    model: str | None,
    filters: Mapping[str, Any],
    *,
    exclude: int | None = None,
) -> Queue:
    """The first item of :func:`build_queue` over the unreviewed images passing
    ``filters`` (``Project.images`` filters; ``status`` must be unreviewed ones), read
    straight from the store: a few indexed queries with LIMIT 1 instead of every score and
    every candidate in Python (review next at 20,000 images: ``benchmarks/active_learning.py``).
    ``model`` None: no active model, file order."""
    pick = project.scores.next(
        kind, model, lambda conn: project.filter_sql(conn, **filters), exclude=exclude
    )
    notes: list[str] = []
    ranked: QueueItem | None = None
    if model is None:
        notes.append("no active model: images in file order")
        if pick.first_train is not None:
            i, p = pick.first_train
            ranked = QueueItem(i, p, None, ("file order (no active model)",))
    elif pick.best is not None:
        i, p, score, reasons = pick.best
        ranked = QueueItem(i, p, score, reasons)
    elif pick.first_train is not None:
        notes.append(f"{pick.unscored} image(s) not scored yet: they follow in file order")
        i, p = pick.first_train
        ranked = QueueItem(i, p, None, ("not scored yet",))
    done_train, done_held = pick.reviewed
    due = done_held < project.heldout.fraction() * (done_train + done_held + 1)
    items: list[QueueItem] = []
    if pick.first_heldout is not None and (due or ranked is None):
        i, p = pick.first_heldout
        items.append(QueueItem(i, p, None, (HELDOUT_REASON,), heldout=True))
    elif ranked is not None:
        items.append(ranked)
    else:
        notes.append("every image is reviewed: nothing left to review")
    return Queue(items, model, notes)

"""Box agreement between readers: F1 at IoU 0.5 per label for each pair of readers, and a
consensus box set (boxes matched across readers, kept when a majority drew them,
coordinates averaged).

Matching is ``core.annotations.geometry.match_boxes`` without scores (neither reader ranks
their boxes), one label at a time.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from core.annotations import Box
from core.annotations.geometry import match_boxes

IOU = 0.5
CONSENSUS_AUTHOR = "consensus"


def _coords(boxes: Sequence[Box]) -> np.ndarray:
    return np.array([[b.x1, b.y1, b.x2, b.y2] for b in boxes], dtype=np.float64).reshape(-1, 4)


def pair_f1(
    per_image: Mapping[int, Mapping[str, Sequence[Box]]], a: str, b: str, iou: float = IOU
) -> dict[str, Any]:
    """F1 of reader a's boxes against b's (symmetric: 2 TP / (n_a + n_b)), per label and
    overall, over the images both readers read (present in both of their mappings)."""
    tally: dict[str, list[int]] = {}  # label -> [matched, n_a, n_b]
    images = 0
    for readers in per_image.values():
        if a not in readers or b not in readers:
            continue
        images += 1
        labels = {x.label for x in (*readers[a], *readers[b])}
        for label in labels:
            ba = [x for x in readers[a] if x.label == label]
            bb = [x for x in readers[b] if x.label == label]
            m = match_boxes(_coords(ba), _coords(bb), iou) if ba and bb else None
            t = tally.setdefault(label, [0, 0, 0])
            t[0] += 0 if m is None else len(m.pairs)
            t[1] += len(ba)
            t[2] += len(bb)

    def f1(t: list[int]) -> float | None:
        return None if t[1] + t[2] == 0 else 2.0 * t[0] / (t[1] + t[2])

    total = [sum(t[i] for t in tally.values()) for i in range(3)]
    return {
        "readers": [a, b],
        "images": images,
        "f1": f1(total),
        "per_label": {
            label: {"f1": f1(t), "matched": t[0], "boxes": [t[1], t[2]]}
            for label, t in sorted(tally.items())
        },
    }


def box_agreement(
    per_image: Mapping[int, Mapping[str, Sequence[Box]]], readers: Sequence[str]
) -> list[dict[str, Any]]:
    return [pair_f1(per_image, a, b) for a, b in itertools.combinations(readers, 2)]


def consensus_boxes(readers: Mapping[str, Sequence[Box]], iou: float = IOU) -> list[Box]:
    """The boxes a majority of the image's readers drew (strictly more than half), each the
    mean of its matched boxes. Readers are taken in name order; each reader's boxes are
    matched one-to-one against the running mean of every group so far (same label)."""
    names = sorted(readers)
    needed = len(names) // 2 + 1
    groups: list[tuple[str, list[Box]]] = []  # (label, member boxes)
    for name in names:
        for label in sorted({b.label for b in readers[name]}):
            mine = [b for b in readers[name] if b.label == label]
            open_groups = [g for g in groups if g[0] == label]
            means = _coords([_mean(g[1]) for g in open_groups])
            matched: set[int] = set()
            if open_groups:
                m = match_boxes(_coords(mine), means, iou)
                for i, j in m.pairs:
                    open_groups[j][1].append(mine[i])
                    matched.add(i)
            groups.extend((label, [b]) for i, b in enumerate(mine) if i not in matched)
    out = []
    for _, members in groups:
        if len(members) >= needed:
            mean = _mean(members)
            out.append(dataclasses.replace(mean, author=CONSENSUS_AUTHOR, status="accepted"))
    return out


def _mean(boxes: Sequence[Box]) -> Box:
    c = _coords(boxes).mean(axis=0)
    return Box(float(c[0]), float(c[1]), float(c[2]), float(c[3]), label=boxes[0].label)

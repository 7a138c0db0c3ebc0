"""Deterministic train/val/test split, stratified by label and grade.

Each image gets a stratum (its rarest label, and its grades). Inside a stratum images are
ordered by a seeded hash of a stable key (the image's sha256), so the split depends only on
the seed and the data, never on insertion order. Images are then dealt out one by one to
the split furthest behind its share - both within the stratum and overall - which keeps
every label and grade in proportion and the totals on target even with many tiny strata.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence

from core.errors import ClinLensError

SPLITS = ("train", "val", "test")


def parse_split(text: str) -> tuple[float, float, float]:
    """'0.8,0.1,0.1' or '0.9,0.1' -> (train, val, test); must sum to 1."""
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise ClinLensError(f"--split '{text}': give 2 or 3 fractions like 0.8,0.1,0.1") from None
    # "not 0 <= p" also refuses NaN, which every comparison (the sum check too) lets through.
    if len(parts) not in (2, 3) or not all(0.0 <= p <= 1.0 for p in parts):
        raise ClinLensError(f"--split '{text}': give 2 or 3 fractions like 0.8,0.1,0.1")
    if abs(sum(parts) - 1.0) > 1e-6:
        raise ClinLensError(f"--split '{text}': the fractions must add up to 1")
    if parts[0] <= 0:
        raise ClinLensError(f"--split '{text}': the training fraction must be above 0")
    train, val, *rest = parts
    return (train, val, rest[0] if rest else 0.0)


def stratum_key(
    labels: Iterable[str],
    grades: Iterable[tuple[str, float]],
    label_counts: Mapping[str, int],
) -> tuple[str, tuple[tuple[str, float], ...]]:
    """(rarest label in the image or '', sorted grades) - the image's stratum."""
    present = set(labels)
    rarest = min(present, key=lambda n: (label_counts.get(n, 0), n)) if present else ""
    return rarest, tuple(sorted(grades))


def _order_key(seed: int, key: str) -> bytes:
    return hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=16).digest()


def assign_splits(
    keys: Sequence[str],
    strata: Sequence[Hashable],
    fractions: tuple[float, float, float],
    seed: int,
) -> list[str]:
    """The split name ('train'/'val'/'test') of each item, in input order.

    ``keys`` must be stable and unique per item (e.g. sha256); ``strata`` any hashables.
    """
    if len(keys) != len(strata):
        raise ValueError("keys and strata differ in length")
    groups: dict[Hashable, list[int]] = {}
    for i, s in enumerate(strata):
        groups.setdefault(s, []).append(i)
    # Strata in a fixed order (largest first keeps big groups' shares exact; repr breaks ties).
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), repr(kv[0])))
    active = [k for k, f in enumerate(fractions) if f > 0]
    total: Counter[int] = Counter()
    n_done = 0
    result = [""] * len(keys)
    for _, members in ordered:
        members = sorted(members, key=lambda i: _order_key(seed, keys[i]))
        local: Counter[int] = Counter()
        for m, i in enumerate(members):
            # Deficit within the stratum plus overall deficit; first split wins ties.
            best = max(
                active,
                key=lambda k: (
                    fractions[k] * (m + 1) - local[k] + fractions[k] * (n_done + 1) - total[k],
                    -k,
                ),
            )
            local[best] += 1
            total[best] += 1
            n_done += 1
            result[i] = SPLITS[best]
    _fill_empty(result, keys, active, seed)
    return result


def _fill_empty(result: list[str], keys: Sequence[str], active: list[int], seed: int) -> None:
    """Give every requested split at least one item when there are enough items: an empty
    val split makes a training run fail, however small the dataset."""
    if len(result) < len(active):
        return
    for k in active:
        name = SPLITS[k]
        if name in result:
            continue
        counts = Counter(result)
        donor = max((SPLITS[j] for j in active), key=lambda s: (counts[s], -SPLITS.index(s)))
        if counts[donor] <= 1:
            continue
        pick = min(
            (i for i, s in enumerate(result) if s == donor), key=lambda i: _order_key(seed, keys[i])
        )
        result[pick] = name

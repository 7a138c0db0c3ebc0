"""Source groups for honest cross-validation: photos of one face never split across folds.

Exported datasets often hold several copies of one photo (Roboflow's flips, crops and
colour jitter) or several photos of one patient. A plain k-fold puts some in training
and the others in test, and the score measures memory, not grading. Two sources of
grouping, joined (union-find):

- a ``group`` given with the grades (``project.source_groups``): photos with the same
  group are one source;
- near-duplicate content: a 256-bit difference hash (dHash, Krawetz; 16 x 16 gradient
  signs) of the photo and of its mirror image; two photos whose hashes differ in at most
  ``max_distance`` bits are one source (a flipped copy matches through the mirror hash).
  The classic 64-bit hash is too coarse for faces taken in one pose: on the 142 ACNE04
  development photos (no copies among them) distinct faces came within 5 of 64 bits;
  at 256 bits the closest two distinct faces differ in 40, re-encoded or brightened
  copies in a few.

``fold_splits`` in ``ml.severity.evaluate`` then uses scikit-learn's
StratifiedGroupKFold (GroupKFold when a grade is too rare to stratify).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

HASH_VERSION = 2
HASH_SIDE = 16  # 16 x 16 = 256 bits
DEFAULT_MAX_DISTANCE = 20  # of 256 bits (distinct ACNE04 faces: >= 40)


def dhash(rgb: np.ndarray) -> tuple[int, int]:
    """(hash, hash of the mirrored photo): 256-bit difference hashes of a uint8 photo."""
    grey = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (HASH_SIDE + 1, HASH_SIDE), interpolation=cv2.INTER_AREA)
    small = small.astype(np.int16)

    def bits(img: np.ndarray) -> int:
        diff = (img[:, 1:] > img[:, :-1]).ravel()
        return int(sum(1 << i for i, b in enumerate(diff) if b))

    return bits(small), bits(small[:, ::-1])


def _hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def source_groups(
    given: Sequence[str | None],
    hashes: Sequence[tuple[int, int] | None] | None = None,
    *,
    max_distance: int = DEFAULT_MAX_DISTANCE,
) -> np.ndarray:
    """One group number per photo (0..G-1, in first-seen order).

    ``given``: each photo's group name, None when unknown. ``hashes``: ``dhash`` of each
    photo (None: not known); near-duplicates join one group. Quadratic in photos, which
    is fine for a few thousand (1,416 photos: ~1 M XORs, about a second).
    """
    n = len(given)
    uf = _UnionFind(n)
    first: dict[str, int] = {}
    for i, g in enumerate(given):
        if g is not None:
            uf.union(i, first.setdefault(g, i))
    if hashes is not None and max_distance >= 0:
        known = [(i, h) for i, h in enumerate(hashes) if h is not None]
        for a in range(len(known)):
            i, (hi, _mi) = known[a]
            for b in range(a + 1, len(known)):
                j, (hj, mj) = known[b]
                if min(_hamming(hi, hj), _hamming(hi, mj)) <= max_distance:
                    uf.union(i, j)
    roots = [uf.find(i) for i in range(n)]
    numbers: dict[int, int] = {}
    return np.asarray([numbers.setdefault(r, len(numbers)) for r in roots], dtype=int)

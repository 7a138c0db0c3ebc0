"""Reference cases: the graded faces most similar to the current one.

The hyperpigmentation study's idea: a grader calibrates by looking at faces already given
a grade that look alike. Each training face is stored as the mean of its patch vectors in
the regressor's standardised (PCA) space - the space the grade is read from, so
"similar" means similar in what drives the grade, not in raw pixel statistics.
Euclidean distance; similarity = 1 / (1 + distance) for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ReferenceCase:
    image_id: int | None
    image_ref: str  # path (or id as text) so the GUI can show a thumbnail
    grade: float
    label: str
    distance: float

    @property
    def similarity(self) -> float:
        return 1.0 / (1.0 + self.distance)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "image_ref": self.image_ref,
            "grade": self.grade,
            "label": self.label,
            "distance": round(self.distance, 4),
            "similarity": round(self.similarity, 4),
        }


@dataclass
class ReferenceIndex:
    vectors: np.ndarray  # (n_faces, d) in the regressor's embedding space
    image_ids: np.ndarray  # (n_faces,) int, -1 when unknown
    image_refs: list[str]
    grades: np.ndarray  # (n_faces,) human grades
    labels: list[str]

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def query(
        self, vector: np.ndarray, k: int = 5, *, exclude_image_id: int | None = None
    ) -> list[ReferenceCase]:
        """The ``k`` nearest graded faces, nearest first (the face itself excluded)."""
        if len(self) == 0 or k <= 0:
            return []
        v = np.asarray(vector, dtype=np.float64).reshape(1, -1)
        d = np.sqrt(((self.vectors - v) ** 2).sum(axis=1))
        if exclude_image_id is not None:
            d = np.where(self.image_ids == exclude_image_id, np.inf, d)
        order = np.argsort(d, kind="stable")[:k]
        return [
            ReferenceCase(
                image_id=None if self.image_ids[i] < 0 else int(self.image_ids[i]),
                image_ref=self.image_refs[i],
                grade=float(self.grades[i]),
                label=self.labels[i],
                distance=float(d[i]),
            )
            for i in order
            if np.isfinite(d[i])
        ]

    def to_state(self) -> dict[str, Any]:
        return {
            "vectors": self.vectors.astype(np.float32),
            "image_ids": self.image_ids.astype(np.int64),
            "image_refs": list(self.image_refs),
            "grades": self.grades.astype(np.float64),
            "labels": list(self.labels),
        }

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> ReferenceIndex:
        return cls(
            vectors=np.asarray(d["vectors"], dtype=np.float64),
            image_ids=np.asarray(d["image_ids"], dtype=np.int64),
            image_refs=[str(r) for r in d["image_refs"]],
            grades=np.asarray(d["grades"], dtype=np.float64),
            labels=[str(x) for x in d["labels"]],
        )

"""The similarity grader: grade a face by the graded faces it looks most like.

As in the hyperpigmentation study, a grader calibrates by comparing with faces already
graded. Plain distances between backbone features mostly measure what the backbone was
trained on (ImageNet objects, lighting, skin tone), so an embedding head learns which
directions matter for the grade: a small MLP (standardised features -> 256 -> 64, unit
length) trained with a **triplet loss** on the cached, frozen patch features - cheap, no
photo is decoded and the backbone never runs. Triplets are every (anchor, positive,
negative) of a batch with the positive of the anchor's grade and the negative of
another; the margin grows with the grade difference (a "mild" face should sit nearer
"moderate" than "very severe"), so the space stays ordinal. Batches draw the same number
of patches from each grade, so rare grades shape the space as much as the common one.

Grading: each patch of the face is embedded, its ``k`` most similar reference faces
(cosine similarity to the unit mean of each training face's patch embeddings) vote with
weights ``softmax(similarity / temperature)``; the patch score is the weighted mean
grade, the face score the mean over patches, the grade the scale's nearest value. The
head is stored as plain arrays and runs in numpy at grading time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.annotations import GradingScale
from core.jobs import CancelToken, ProgressFn, check_cancel

GRADER_KINDS = ("regression", "similarity")
MAX_BATCH = 64  # triplets per batch grow with its cube (128: 10x slower)


@dataclass(frozen=True)
class SimilarityConfig:
    dim: int = 64
    hidden: int = 256
    steps: int = 200
    margin: float = 0.2  # per grade step of difference between anchor and negative
    lr: float = 1e-3
    weight_decay: float = 1e-4
    k: int = 5
    temperature: float = 0.1
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def triplet_loss(emb: Any, grades: Any, margin: float, step: float) -> Any:
    """Mean hinge over every valid triplet of the batch (torch tensors).

    ``emb`` (B, d) unit vectors, ``grades`` (B,); a triplet is valid when the positive has
    the anchor's grade (and is another row) and the negative another grade; its margin is
    ``margin * |grade difference| / step``."""
    import torch

    d = torch.cdist(emb, emb)
    same = grades[:, None] == grades[None, :]
    eye = torch.eye(len(grades), dtype=torch.bool)
    pos = same & ~eye  # (a, p)
    neg = ~same  # (a, n)
    gap = (grades[:, None] - grades[None, :]).abs() / step  # (a, n)
    hinge = d[:, :, None] - d[:, None, :] + margin * gap[:, None, :]  # (a, p, n)
    valid = pos[:, :, None] & neg[:, None, :]
    count = valid.sum()
    if int(count) == 0:
        return (emb * 0).sum()
    # A masked sum, not hinge[valid]: indexing ~2M triplets by a mask is far slower.
    return (torch.relu(hinge) * valid).sum() / count


def _balanced_batch(rng: np.random.Generator, by_grade: list[np.ndarray], size: int) -> np.ndarray:
    per = max(2, size // max(len(by_grade), 1))
    return np.concatenate([rng.choice(rows, per, replace=rows.size < per) for rows in by_grade])


@dataclass
class SimilarityGrader:
    """Embedding head + reference faces; ``fit`` then ``face_scores``."""

    scale: GradingScale
    config: SimilarityConfig = field(default_factory=SimilarityConfig)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    layers: list[np.ndarray] = field(default_factory=list)  # W1, b1, W2, b2
    ref_vectors: np.ndarray | None = None  # (faces, dim) unit
    ref_grades: np.ndarray | None = None
    losses: list[float] = field(default_factory=list)

    # --- training ------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        row_grades: np.ndarray,
        row_face: np.ndarray,
        ref_rows: np.ndarray | None = None,
        *,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> SimilarityGrader:
        """Train on patch rows ``X`` (grade and face of each row), then take every face of
        ``row_face`` as a reference (from the rows flagged in ``ref_rows``: the original,
        not shifted, patches; all rows when None)."""
        import torch

        # One thread: the ops are tiny, and on a busy machine two threads made the
        # steps 12x slower (60 steps: 6.4 s vs 0.5 s under load 5).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._fit(X, row_grades, row_face, ref_rows, progress, cancel)
        finally:
            torch.set_num_threads(threads)

    def _fit(
        self,
        X: np.ndarray,
        row_grades: np.ndarray,
        row_face: np.ndarray,
        ref_rows: np.ndarray | None,
        progress: ProgressFn | None,
        cancel: CancelToken | None,
    ) -> SimilarityGrader:
        import torch
        from torch import nn

        cfg = self.config
        X = np.asarray(X, dtype=np.float32)
        g = np.asarray(row_grades, dtype=np.float32)
        self.mean = X.mean(axis=0)
        self.std = X.std(axis=0) + 1e-6
        Z = torch.from_numpy((X - self.mean) / self.std)
        gt = torch.from_numpy(g)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        net = nn.Sequential(
            nn.Linear(X.shape[1], cfg.hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(cfg.hidden, cfg.dim),
        )
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        by_grade = [np.flatnonzero(g == v) for v in np.unique(g)]
        step = float(np.min(np.diff(self.scale.allowed))) if self.scale.allowed.size > 1 else 1.0
        self.losses = []
        for i in range(cfg.steps):
            check_cancel(cancel)
            idx = torch.from_numpy(_balanced_batch(rng, by_grade, MAX_BATCH))
            emb = nn.functional.normalize(net(Z[idx]), dim=1)
            loss = triplet_loss(emb, gt[idx], cfg.margin, step)
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.losses.append(float(loss.detach()))
            if progress is not None and (i % 20 == 0 or i + 1 == cfg.steps):
                progress(i + 1, cfg.steps, f"similarity embedding: step {i + 1} of {cfg.steps}")
        net.eval()
        lin1, lin2 = net[0], net[3]
        assert isinstance(lin1, nn.Linear) and isinstance(lin2, nn.Linear)
        self.layers = [
            t.detach().numpy().astype(np.float32).copy()
            for t in (lin1.weight, lin1.bias, lin2.weight, lin2.bias)
        ]
        keep = np.ones(len(X), bool) if ref_rows is None else np.asarray(ref_rows, bool)
        self.set_references(X[keep], np.asarray(row_face)[keep], g[keep])
        return self

    def set_references(self, X: np.ndarray, row_face: np.ndarray, row_grades: np.ndarray) -> None:
        """Reference faces: unit mean of each face's patch embeddings, with its grade."""
        faces, inverse = np.unique(row_face, return_inverse=True)
        emb = self.embed(X)
        sums = np.zeros((faces.size, emb.shape[1]))
        np.add.at(sums, inverse, emb)
        self.ref_vectors = _unit(sums)
        grades = np.zeros(faces.size)
        grades[inverse] = row_grades
        self.ref_grades = grades

    # --- grading -------------------------------------------------------------------------
    def embed(self, X: np.ndarray) -> np.ndarray:
        """Unit embeddings of patch rows (numpy only)."""
        if self.mean is None or self.std is None or not self.layers:
            raise ValueError("the similarity grader is not trained")
        w1, b1, w2, b2 = self.layers
        z = (np.asarray(X, dtype=np.float32) - self.mean) / self.std
        return _unit(np.maximum(z @ w1.T + b1, 0.0) @ w2.T + b2)

    def face_vector(self, X: np.ndarray) -> np.ndarray:
        """One face's embedding (unit mean of its patches'), the space of the references."""
        return _unit(self.embed(X).sum(axis=0, keepdims=True))[0]

    def nearest(self, X: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reference indices most similar to the face of patch rows ``X``, and similarities."""
        assert self.ref_vectors is not None
        sims = self.ref_vectors @ self.face_vector(X)
        order = np.argsort(-sims, kind="stable")[: k or self.config.k]
        return order, sims[order]

    def patch_scores(self, X: np.ndarray) -> np.ndarray:
        """Similarity-weighted mean grade of each patch's k nearest reference faces."""
        assert self.ref_vectors is not None and self.ref_grades is not None
        if len(X) == 0:
            return np.zeros(0)
        sims = self.embed(X) @ self.ref_vectors.T  # (patches, refs)
        k = min(self.config.k, sims.shape[1])
        near = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(sims, near, axis=1) / self.config.temperature
        w = np.exp(top - top.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        return (w * self.ref_grades[near]).sum(axis=1)

    def face_scores(self, X: np.ndarray, face_index: np.ndarray) -> np.ndarray:
        """Mean patch score per face (``face_index`` maps rows to faces 0..n-1)."""
        s = self.patch_scores(X)
        face_index = np.asarray(face_index, dtype=int)
        n = int(face_index.max()) + 1 if face_index.size else 0
        return np.bincount(face_index, weights=s, minlength=n) / np.maximum(
            np.bincount(face_index, minlength=n), 1
        )

    # --- the model file ------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "mean": self.mean,
            "std": self.std,
            "layers": list(self.layers),
            "ref_vectors": self.ref_vectors,
            "ref_grades": self.ref_grades,
        }

    @classmethod
    def from_state(cls, scale: GradingScale, d: dict[str, Any]) -> SimilarityGrader:
        names = SimilarityConfig.__dataclass_fields__
        cfg = SimilarityConfig(**{k: v for k, v in dict(d["config"]).items() if k in names})
        return cls(
            scale,
            cfg,
            mean=np.asarray(d["mean"], np.float32),
            std=np.asarray(d["std"], np.float32),
            layers=[np.asarray(a, np.float32) for a in d["layers"]],
            ref_vectors=np.asarray(d["ref_vectors"], np.float64),
            ref_grades=np.asarray(d["ref_grades"], np.float64),
        )


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)

"""From photos to patch feature rows: patches (cached) -> crops -> features (cached).

A photo is only decoded when something about it is not cached yet, so re-running training
or evaluation on an unchanged project costs a few database reads per photo.
Photos that cannot be used (unreadable, too small) are skipped and listed with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import ClinLensError
from core.jobs import CancelToken, ProgressFn, check_cancel
from ml.severity.feature_cache import FeatureCache, feature_key
from ml.severity.features import FeatureExtractor
from ml.severity.patches import (
    PATCH_VERSION,
    PatchSet,
    crop_patch,
    extract_patches,
    to_rgb8,
    translated_boxes,
)

Loader = Callable[[], tuple[np.ndarray, int | None]]  # -> (pixels, bits_stored)


@dataclass(frozen=True)
class FaceSource:
    """One photo to turn into patch rows."""

    image_id: int | None
    image_ref: str  # path shown to the user
    key: str  # cache identity (feature_cache.image_key)
    load: Loader
    grade: float | None = None
    group: str | None = None  # source group given with the grades (core.store.source_groups)


@dataclass
class FaceDataset:
    """Patch rows of several faces. Row r belongs to face ``face[r]``; augmented rows are
    shifted copies used for training only, never for a face's prediction."""

    X: np.ndarray  # (rows, dim) float32
    face: np.ndarray  # (rows,) int
    augmented: np.ndarray  # (rows,) bool
    regions: list[str]
    grades: np.ndarray  # (faces,) float, NaN when unknown
    image_ids: np.ndarray  # (faces,) int, -1 when unknown
    image_refs: list[str]
    patch_sets: list[PatchSet]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image_ref, reason)
    given_groups: list[str | None] = field(default_factory=list)  # (faces,)
    hashes: list[tuple[int, int] | None] = field(default_factory=list)  # (faces,) dhash

    def groups(self, *, near_duplicates: bool = True) -> np.ndarray:
        """One source group per face (ml.severity.groups): given groups joined with
        near-duplicate content unless ``near_duplicates`` is False."""
        from ml.severity.groups import source_groups

        given = self.given_groups or [None] * self.n_faces
        hashes = self.hashes if near_duplicates and self.hashes else None
        return source_groups(given, hashes)

    @property
    def n_faces(self) -> int:
        return len(self.image_refs)

    def face_vectors(self) -> np.ndarray:
        """Mean of each face's original (not augmented) patch rows."""
        keep = ~self.augmented
        out = np.zeros((self.n_faces, self.X.shape[1]), np.float64)
        np.add.at(out, self.face[keep], self.X[keep])
        counts = np.bincount(self.face[keep], minlength=self.n_faces)
        return out / np.maximum(counts, 1)[:, None]


@dataclass(frozen=True)
class AugmentConfig:
    """Sliding-translation augmentation: ``copies`` shifted copies of each patch (4 = left,
    right, up, down by ``shift`` x the patch size; 8 adds the diagonals); 0 = off."""

    copies: int = 4
    shift: float = 0.15

    def boxes(
        self, box: tuple[float, float, float, float], size: tuple[int, int]
    ) -> list[tuple[float, float, float, float]]:
        if self.copies <= 0:
            return []
        grid = translated_boxes(box, size, shift=self.shift, steps=1)
        bw, bh = box[2] - box[0], box[3] - box[1]
        # Axis-aligned shifts first (they keep most of the original skin in view).
        grid.sort(key=lambda b: (abs(b[0] - box[0]) > 1e-6 * bw) + (abs(b[1] - box[1]) > 1e-6 * bh))
        return grid[: self.copies]


def _patch_key(img_key: str) -> str:
    return f"patches:v{PATCH_VERSION}:{img_key}"


def patches_for(
    source: FaceSource, cache: FeatureCache | None, rgb_holder: list[np.ndarray]
) -> PatchSet:
    """The photo's patch set, from the cache or computed (decoding the photo once)."""
    if cache is not None:
        cached = cache.get_json(_patch_key(source.key))
        if cached is not None:
            return PatchSet.from_dict(cached).with_ref(
                source.image_id if source.image_id is not None else source.image_ref
            )
    rgb = _decoded(source, rgb_holder)
    ref = source.image_id if source.image_id is not None else source.image_ref
    ps = extract_patches(rgb, ref, name=source.image_ref)
    if cache is not None:
        cache.put_json(_patch_key(source.key), ps.to_dict())
    return ps


def hash_for(
    source: FaceSource, cache: FeatureCache | None, rgb_holder: list[np.ndarray]
) -> tuple[int, int]:
    """The photo's difference hashes (for near-duplicate grouping), cached like patches."""
    from ml.severity.groups import HASH_VERSION, dhash

    key = f"dhash:v{HASH_VERSION}:{source.key}"
    if cache is not None:
        cached = cache.get_json(key)
        if cached is not None:
            return int(cached[0]), int(cached[1])
    value = dhash(_decoded(source, rgb_holder))
    if cache is not None:
        cache.put_json(key, [str(value[0]), str(value[1])])
    return value


def _decoded(source: FaceSource, holder: list[np.ndarray]) -> np.ndarray:
    if not holder:
        pixels, bits = source.load()
        holder.append(to_rgb8(pixels, bits)[0])
    return holder[0]


def features_for(
    source: FaceSource,
    boxes: Sequence[tuple[float, float, float, float]],
    extractor: FeatureExtractor,
    cache: FeatureCache | None,
    rgb_holder: list[np.ndarray],
) -> np.ndarray:
    """Feature rows of ``boxes`` on one photo; computes (and caches) only missing ones."""
    keys = [feature_key(source.key, b, extractor.cache_key) for b in boxes]
    found = cache.get_many(keys) if cache is not None else {}
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        rgb = _decoded(source, rgb_holder)
        crops = [crop_patch(rgb, boxes[i], extractor.input_size) for i in missing]
        new = extractor.extract(crops)
        fresh = {keys[i]: new[j] for j, i in enumerate(missing)}
        if cache is not None:
            cache.put_many(fresh)
        found = {**found, **fresh}
    return (
        np.stack([found[k] for k in keys]).astype(np.float32)
        if keys
        else np.zeros((0, extractor.dim), np.float32)
    )


def build_dataset(
    sources: Sequence[FaceSource],
    extractor: FeatureExtractor,
    cache: FeatureCache | None = None,
    *,
    augment: AugmentConfig | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> FaceDataset:
    """Patch rows for every usable photo of ``sources`` (augmented copies when asked)."""
    X: list[np.ndarray] = []
    face: list[int] = []
    augmented: list[bool] = []
    regions: list[str] = []
    grades: list[float] = []
    ids: list[int] = []
    refs: list[str] = []
    sets: list[PatchSet] = []
    skipped: list[tuple[str, str]] = []
    given: list[str | None] = []
    hashes: list[tuple[int, int] | None] = []
    for n, src in enumerate(sources):
        check_cancel(cancel)
        if progress is not None:
            progress(n, len(sources), f"patches and features: {src.image_ref}")
        holder: list[np.ndarray] = []
        try:
            ps = patches_for(src, cache, holder)
            boxes = [p.box for p in ps.patches]
            flags = [False] * len(boxes)
            names = [p.region for p in ps.patches]
            if augment is not None:
                for p in ps.patches:
                    extra = augment.boxes(p.box, ps.image_size)
                    boxes += extra
                    flags += [True] * len(extra)
                    names += [p.region] * len(extra)
            rows = features_for(src, boxes, extractor, cache, holder)
            digest = hash_for(src, cache, holder)
        except ClinLensError as exc:
            skipped.append((src.image_ref, str(exc)))
            continue
        index = len(refs)
        X.append(rows)
        face += [index] * len(rows)
        augmented += flags
        regions += names
        grades.append(np.nan if src.grade is None else float(src.grade))
        ids.append(-1 if src.image_id is None else int(src.image_id))
        refs.append(src.image_ref)
        sets.append(ps)
        given.append(src.group)
        hashes.append(digest)
    if progress is not None:
        progress(len(sources), len(sources), "features ready")
    dim = extractor.dim
    return FaceDataset(
        X=np.concatenate(X).astype(np.float32) if X else np.zeros((0, dim), np.float32),
        face=np.asarray(face, dtype=int),
        augmented=np.asarray(augmented, dtype=bool),
        regions=regions,
        grades=np.asarray(grades, dtype=np.float64),
        image_ids=np.asarray(ids, dtype=int),
        image_refs=refs,
        patch_sets=sets,
        skipped=skipped,
        given_groups=given,
        hashes=hashes,
    )

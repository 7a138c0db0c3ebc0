"""The agreement report of one project and scale (``project agreement DIR --scale S``).

The JSON document: ``scale``, ``readers``, ``images`` (units rated by at least two of the
readers), ``kind`` (ordinal | numeric), ``pairs`` (per pair of readers: ``n``,
``kappa_quadratic``, ``confusion`` over the scale's values; numeric scales also ``mad``
and ``bland_altman``), ``fleiss_kappa``, ``krippendorff_alpha`` (ordinal or interval),
``icc`` (numeric scales: ``icc2_1`` / ``icc3_1`` with ``value`` and ``ci95``, else
null), ``mad`` (numeric: the mean over pairs), ``model`` (the model against the readers,
or null without model grades), ``boxes`` (inter-reader F1 per pair and label, or null
without boxes) and ``disagreements`` (per image, largest spread first).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.agreement import stats
from core.agreement.boxes import box_agreement
from core.annotations import Box
from core.errors import ClinLensError
from core.store import Project
from core.store.readers import is_numeric

READER_BOX_STATUSES = ("accepted", "edited")  # a reader's own boxes (not suggestions)


def _scale(project: Project, name: str) -> Any:
    for s in project.definitions.scales():
        if s.name == name:
            return s
    names = ", ".join(s.name for s in project.definitions.scales()) or "none"
    raise ClinLensError(f"this project has no '{name}' grading scale (its scales: {names})")


def choose_readers(project: Project, scale: str, wanted: Sequence[str] | None) -> list[str]:
    """The readers to compare: the asked ones (each must have graded something on the
    scale), else every reader of the scale; at least two (ClinLensError saying so)."""
    known = project.readers.readers(scale)
    shown = ", ".join(r or "(no name)" for r in known) or "none"
    if wanted:
        readers = list(dict.fromkeys(w.strip() for w in wanted if w.strip()))
        idle = [r for r in readers if r not in known]
        if idle:
            raise ClinLensError(
                f"reader(s) {', '.join(idle)} graded nothing on '{scale}' "
                f"(readers of this scale: {shown})"
            )
    else:
        readers = known
    if len(readers) < 2:
        raise ClinLensError(
            f"agreement needs at least two readers; '{scale}' has {len(readers)} "
            f"({shown}). Each reader's grades come from their own edits or the author "
            "column of an imported grades CSV"
        )
    return readers


def agreement_report(
    project: Project, scale: str, readers: Sequence[str] | None = None
) -> dict[str, Any]:
    grading = _scale(project, scale)
    chosen = choose_readers(project, scale, readers)
    numeric = is_numeric([(v.value, v.label) for v in grading.values])
    categories = [float(v) for v in grading.allowed]
    by_image = project.readers.reader_grades(scale)
    units = sorted(i for i, g in by_image.items() if sum(r in g for r in chosen) >= 2)
    ratings = np.full((len(units), len(chosen)), np.nan)
    for row, image_id in enumerate(units):
        for col, reader in enumerate(chosen):
            ratings[row, col] = by_image[image_id].get(reader, np.nan)
    pairs = []
    for a, b in itertools.combinations(range(len(chosen)), 2):
        x, y = stats.pair_values(ratings, a, b)
        pair: dict[str, Any] = {
            "readers": [chosen[a], chosen[b]],
            "n": len(x),
            "kappa_quadratic": stats.weighted_kappa(x, y, categories),
            "confusion": _confusion(x, y, categories),
        }
        if numeric:
            pair["mad"] = stats.mean_absolute_difference(x, y)
            pair["bland_altman"] = stats.bland_altman(x, y)
        pairs.append(pair)
    mads = [p["mad"] for p in pairs if p.get("mad") is not None]
    return {
        "scale": scale,
        "kind": "numeric" if numeric else "ordinal",
        "readers": chosen,
        "images": len(units),
        "values": categories,
        "pairs": pairs,
        "fleiss_kappa": stats.fleiss_kappa(ratings, categories),
        "krippendorff_alpha": stats.krippendorff_alpha(
            ratings, "interval" if numeric else "ordinal", categories
        ),
        "icc": stats.icc(ratings) if numeric else None,
        "mad": float(np.mean(mads)) if numeric and mads else None,
        "model": _model(project, scale, by_image, chosen),
        "boxes": _boxes(project, scale, chosen, by_image),
        "disagreements": _disagreements(project, units, ratings, chosen),
    }


def _confusion(x: np.ndarray, y: np.ndarray, categories: list[float]) -> list[list[int]]:
    """Rows: the first reader's grade, columns: the second's, in the scale's order."""
    index = {c: i for i, c in enumerate(categories)}
    out = np.zeros((len(categories), len(categories)), dtype=int)
    for a, b in zip(x, y, strict=True):
        out[index[float(a)], index[float(b)]] += 1
    return out.tolist()


def _model(
    project: Project, scale: str, by_image: dict[int, dict[str, float]], readers: list[str]
) -> dict[str, Any] | None:
    model = project.readers.model_grades(scale)
    ids = sorted(i for i in model if any(r in by_image.get(i, {}) for r in readers))
    if not ids:
        return None
    ratings = np.array(
        [[by_image[i].get(r, np.nan) for r in readers] for i in ids], dtype=np.float64
    )
    return stats.model_vs_readers(ratings, readers, np.array([model[i] for i in ids]))


def _boxes(
    project: Project, scale: str, readers: list[str], by_image: dict[int, dict[str, float]]
) -> list[dict[str, Any]] | None:
    """Per pair of readers, F1 at IoU 0.5 over the images both read (graded on the scale
    or drew a box on)."""
    per_image: dict[int, dict[str, list[Box]]] = {}
    for image_id, boxes in project.boxes_by_image().items():
        for b in boxes:
            if b.status in READER_BOX_STATUSES and b.author in readers:
                per_image.setdefault(image_id, {}).setdefault(b.author, []).append(b)
    if not per_image:
        return None
    for image_id, grades in by_image.items():
        for reader in readers:
            if reader in grades:
                per_image.setdefault(image_id, {}).setdefault(reader, [])
    return box_agreement(per_image, readers)


def _disagreements(
    project: Project, units: list[int], ratings: np.ndarray, readers: list[str]
) -> list[dict[str, Any]]:
    if not units:
        return []
    paths = {r.id: r.path for r in project.images()}
    spreads = np.nanmax(ratings, axis=1) - np.nanmin(ratings, axis=1)
    order = np.lexsort((np.asarray(units), -spreads))  # largest spread first, then by id
    out: list[dict[str, Any]] = []
    for index in order:
        if spreads[index] <= 0:
            break
        row, image_id = ratings[index], units[index]
        out.append(
            {
                "image_id": image_id,
                "image": paths.get(image_id, ""),
                "grades": {r: float(v) for r, v in zip(readers, row, strict=True) if v == v},
                "spread": float(spreads[index]),
            }
        )
    return out

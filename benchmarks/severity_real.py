"""Severity grading on real acne photos: the ACNE04 development split (142 faces).

    .venv/bin/python benchmarks/severity_real.py [--data ../shared/data/acne04-dev]
        [--work /tmp/severity-real] [--threads 2] [--folds 5] [--out results.json]

The photos are never copied anywhere: a throw-away project under ``--work`` refers to
them, and features are cached there (a re-run only re-fits). What is measured, each
beside a baseline of the same run:

* import: the four ACNE04 box names against the acne label set - without a mapping
  (likely matches reported, nothing imported), with ``--map-labels FILE`` (all four to
  ``lesion``);
* Hayashi agreement of the ground-truth boxes with the file-name grade: counted as the
  old code did after ``--add-labels`` (unknown labels), as untyped lesions split at the
  landmark midline (full face), and counted whole ("photo shows: one side");
* patch methods per face (landmarks / eye cascade / whole image);
* feature time per face on the CPU (``--threads`` torch/BLAS threads): built-in
  descriptor vs EfficientNet-Lite0 (frozen), patches excluded;
* 5-fold cross-validation, folds grouped by source (near-duplicate content), for each
  backbone: ridge regression with the scale's fixed edges (``round``) and with edges
  fitted on the training folds (``edges``), with and without SMOTE, and a similarity
  grader (the distance-weighted grade of the 5 nearest training faces in the same
  standardised feature space, no metric learning), beside the majority-class baseline
  and the figures of the deep-oversampling study (quoted, not re-run);
* fine-tuning (``--fine-tune-epochs``, 0 = skip): the last 2 blocks of EfficientNet-Lite0
  plus its head conv and a linear grade head tuned per fold on the training faces, at
  ``--ft-size`` px, on the frozen front's maps cached once per patch; the tuned features
  then go to the ridge head (what ``severity train --fine-tune`` registers), and the tuned
  network's own head is scored beside it; original patches only (flips of the cached
  maps are the augmentation); wall time of the 5 folds on the CPU;
* the similarity grader (``--grader similarity``): a triplet-loss embedding trained per
  fold on the cached frozen features, grade = similarity-weighted mean of the 5 most
  similar training faces; same folds.

Do not tune to these 142 photos: the rest of ACNE04 is held back for checking.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
ACNE04_NAMES = ("whitehead and blackhead", "pustules", "papules", "nodules and cysts")
STUDY = {"accuracy": 0.85, "rmse": 0.397, "f1_macro": 0.85}  # ResNet-152 + SMOTE (quoted)
ISSUE_BEFORE = {"accuracy": 0.45, "rmse": 0.77, "f1_macro": 0.27}  # builtin, no SMOTE, 1,416


def _grade_of(name: str) -> int:
    m = re.match(r"levle(\d)_", name)
    if not m:
        raise SystemExit(f"{name}: no grade in the file name")
    return int(m.group(1))


def make_project(data: Path, work: Path, limit: int = 0) -> Path:
    """A fresh project referring to the dev photos, boxes mapped to ``lesion``."""
    import shutil

    from core.annotations import builtin_label_set, builtin_scale
    from core.errors import UnknownLabelError
    from core.project_io import import_images
    from core.store import Project

    folder = work / "project"
    if folder.exists():
        shutil.rmtree(folder)
    project = Project.create(
        folder,
        label_set=builtin_label_set("acne"),
        scales=[builtin_scale("acne4")],
        author="benchmark",
    )
    grades = work / "grades.csv"
    photos = sorted(data.glob("*.jpg"))
    if limit:  # evenly spaced photos (every grade), for a quick check of the script
        photos = photos[:: max(1, len(photos) // limit)][:limit]
    grades.write_text(
        "image,scale,value\n" + "".join(f"{p.name},acne4,{_grade_of(p.name)}\n" for p in photos)
    )
    mapping = work / "acne04-labels.yaml"
    mapping.write_text("".join(f"{n}: lesion\n" for n in ACNE04_NAMES))
    out: dict[str, Any] = {}
    try:
        import_images(project, [data], fmt="voc", grades_csv=grades)
    except UnknownLabelError as exc:
        out["without_mapping"] = str(exc)
    report = import_images(project, [data], fmt="voc", grades_csv=grades, map_labels=str(mapping))
    out["with_map_file"] = {"added": len(report.added), "boxes": report.boxes}
    project.definitions.set_photo_view("one_side")
    project.close()
    (work / "import.json").write_text(json.dumps(out, indent=2))
    return folder


def hayashi(project: Any, ds: Any) -> dict[str, Any]:
    import numpy as np

    from core.annotations import Box, Label, LabelSet
    from ml.severity.lesion_count import ONE_SIDE, counting_plan, lesion_count_grade

    plan = counting_plan(project.definitions.label_set())
    # What --add-labels made of it: the four names as labels without a category.
    added = LabelSet(
        "acne",
        tuple(project.definitions.label_set().labels)
        + tuple(Label(100 + i, n) for i, n in enumerate(ACNE04_NAMES)),
    )
    old_plan = counting_plan(added)
    rows = {"as_added_labels": [], "midline_split": [], "one_side_whole": []}
    not_counted = 0
    for face, image_id in enumerate(ds.image_ids):
        boxes = project.boxes(int(image_id))
        truth = int(ds.grades[face])
        line = ds.patch_sets[face].midline()
        # The same boxes under their dataset names (what --add-labels stored).
        raw = [Box(b.x1, b.y1, b.x2, b.y2, ACNE04_NAMES[truth], status=b.status) for b in boxes]
        old = lesion_count_grade(raw, line, labels=old_plan.counted, known=old_plan.known)
        not_counted += old.grade is None
        rows["as_added_labels"].append((truth, 0 if old.grade is None else old.grade))
        split = lesion_count_grade(boxes, line, labels=plan.counted, known=plan.known)
        whole = lesion_count_grade(boxes, line, labels=plan.counted, view=ONE_SIDE)
        rows["midline_split"].append((truth, split.grade))
        rows["one_side_whole"].append((truth, whole.grade))
    out: dict[str, Any] = {"faces": len(ds.image_ids), "not_counted_as_added": not_counted}
    for key, pairs in rows.items():
        t, p = np.array(pairs, dtype=float).T
        out[key] = float(np.mean(t == p))
    return out


def feature_times(ds_sources: list[Any], extractors: dict[str, Any]) -> dict[str, float]:
    """Seconds per face for the features of its original patches (no cache, no patches)."""
    from ml.severity.dataset import patches_for
    from ml.severity.patches import crop_patch, to_rgb8

    crops_per_face = []
    for src in ds_sources:
        holder: list[Any] = []
        ps = patches_for(src, None, holder)
        rgb = holder[0] if holder else to_rgb8(*src.load())[0]
        crops_per_face.append((rgb, [p.box for p in ps.patches]))
    out = {}
    for name, ex in extractors.items():
        crops = [
            [crop_patch(rgb, b, ex.input_size) for b in boxes] for rgb, boxes in crops_per_face
        ]
        ex.extract(crops[0])  # warm-up
        start = time.perf_counter()
        for face in crops:
            ex.extract(face)
        out[name] = (time.perf_counter() - start) / len(crops)
    return out


def similarity_cv(ds: Any, scale: Any, splits: list[Any], k: int = 5) -> Any:
    """Grade of each test face from its k nearest training faces (distance-weighted vote)."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    vectors = ds.face_vectors()
    pred = np.full(ds.n_faces, np.nan)
    for train, test in splits:
        scaler = StandardScaler().fit(vectors[train])
        a, b = scaler.transform(vectors[train]), scaler.transform(vectors[test])
        if a.shape[1] > 64:
            pca = PCA(min(64, len(a) - 1), random_state=0).fit(a)
            a, b = pca.transform(a), pca.transform(b)
        a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-9
        b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-9
        sims = b @ a.T
        for row, face in enumerate(test):
            near = np.argsort(-sims[row])[:k]
            weights = np.maximum(sims[row, near], 0) + 1e-6
            votes: dict[float, float] = {}
            for j, w in zip(near, weights, strict=True):
                g = float(ds.grades[train[j]])
                votes[g] = votes.get(g, 0.0) + float(w)
            pred[face] = max(votes, key=lambda g: votes[g])
    return pred


def metrics(truth: Any, pred: Any, scale: Any) -> dict[str, Any]:
    import numpy as np

    from ml.severity.evaluate import grade_metrics

    g = grade_metrics(truth, pred, scale)
    err = np.asarray(pred, float) - np.asarray(truth, float)
    return {
        "accuracy": g["accuracy"],
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "f1_macro": g["f1_macro"],
        "confusion_matrix": g["confusion_matrix"],
    }


def fine_tune_rows(args: Any, sources: list[Any], scale: Any, rows: dict[str, Any]) -> dict:
    """Fine-tuned rows (ridge on tuned features, tuned head) and their CPU times."""
    from ml.severity.cv_variants import cross_validate_finetuned, describe
    from ml.severity.dataset import build_dataset
    from ml.severity.feature_cache import FeatureCache
    from ml.severity.finetune import FineTuneConfig, Lite0Front

    config = FineTuneConfig(epochs=args.fine_tune_epochs, input_size=args.ft_size)
    front = Lite0Front(config)
    start = time.perf_counter()
    with FeatureCache(args.work / "features.sqlite") as cache:
        ds = build_dataset(sources, front, cache, augment=None)  # flips, not shifted copies
    maps_s = time.perf_counter() - start
    start = time.perf_counter()
    out = cross_validate_finetuned(ds, front, scale, folds=args.folds, config=config, smote=True)
    tune_s = time.perf_counter() - start
    label = f"EfficientNet-Lite0 fine-tuned (last 2 blocks, {args.ft_size} px, {config.epochs} ep)"
    rows[f"{label}, ridge, SMOTE on"] = describe(out["ridge"])
    rows[f"{label}, its own linear head"] = describe(out["head"])
    return {
        "config": config.to_dict(),
        "front_map_shape": list(front.shape),
        "patch_rows": int(ds.X.shape[0]),
        "front_maps_seconds_first_run": round(maps_s, 1),
        "tuning_seconds_5_folds": round(tune_s, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared/data/acne04-dev")
    ap.add_argument("--work", type=Path, default=Path("/tmp/severity-real"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--timing-faces", type=int, default=10)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--fine-tune-epochs", type=int, default=6, help="0: no fine-tuning rows")
    ap.add_argument("--limit", type=int, default=0, help="only N photos (a quick check)")
    ap.add_argument("--ft-size", type=int, default=128, help="fine-tuning patch size (px)")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    data = args.data if args.data.is_dir() else Path("/work/shared/data/acne04-dev")
    if not data.is_dir():
        raise SystemExit(f"no development data at {args.data}")
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from core.store import Project
    from ml.severity.cv_variants import cross_validate_similarity, describe
    from ml.severity.dataset import AugmentConfig, build_dataset
    from ml.severity.evaluate import cross_validate, fold_splits
    from ml.severity.feature_cache import FeatureCache
    from ml.severity.features import make_extractor
    from ml.severity.train import graded_sources, project_scale

    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folder = make_project(data, args.work, args.limit)
    results: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(torch/BLAS threads: {args.threads})",
        "import": json.loads((args.work / "import.json").read_text()),
    }
    extractors = {
        "builtin": make_extractor("builtin"),
        "efficientnet_lite0": make_extractor("auto"),
    }
    with Project.open(folder, read_only=True) as project:
        scale = project_scale(project, "acne4")
        sources = graded_sources(project, "acne4")
        cache = FeatureCache(args.work / "features.sqlite")
        datasets = {}
        for name, ex in extractors.items():
            start = time.perf_counter()
            datasets[name] = build_dataset(sources, ex, cache, augment=AugmentConfig())
            results.setdefault("dataset_seconds", {})[name] = round(time.perf_counter() - start, 1)
        ds0 = datasets["builtin"]
        methods: dict[str, int] = {}
        for ps in ds0.patch_sets:
            methods[ps.method] = methods.get(ps.method, 0) + 1
        results["patch_methods"] = methods
        results["skipped"] = ds0.skipped
        results["hayashi"] = hayashi(project, ds0)
        cache.close()
    results["feature_seconds_per_face"] = feature_times(sources[: args.timing_faces], extractors)
    truth = ds0.grades
    majority = float(np.bincount(truth.astype(int)).argmax())
    results["rows"] = {"majority class": metrics(truth, np.full(truth.size, majority), scale)}
    for name, ds in datasets.items():
        groups = ds.groups()
        results.setdefault("groups", {})[name] = int(np.unique(groups).size)
        splits = fold_splits(ds.grades, args.folds, 0, groups)
        for smote in (False, True):
            for head in ("round", "edges"):
                cv = cross_validate(ds, scale, folds=args.folds, smote=smote, head=head)
                label = f"{name}, ridge, {head} edges, SMOTE {'on' if smote else 'off'}"
                results["rows"][label] = metrics(cv.y_true, cv.y_grade, scale)
        sim = similarity_cv(ds, scale, splits)
        results["rows"][f"{name}, similarity (5 nearest, raw features)"] = metrics(
            ds.grades, sim, scale
        )
        start = time.perf_counter()
        trip = cross_validate_similarity(ds, scale, folds=args.folds)
        results.setdefault("similarity_seconds", {})[name] = round(time.perf_counter() - start, 1)
        results["rows"][f"{name}, similarity grader (triplet embedding)"] = describe(trip)
    if args.fine_tune_epochs > 0:
        results["fine_tune"] = fine_tune_rows(args, sources, scale, results["rows"])
    results["seconds"] = round(time.perf_counter() - t0, 1)
    print(format_results(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


def format_results(r: dict[str, Any]) -> str:
    lines = [f"machine: {r['machine']}", ""]
    w = 84
    lines.append(f"{'grader (5-fold, grouped)':<{w}}{'acc':>6}{'RMSE':>7}{'MAE':>7}{'F1':>7}")
    for name, m in r["rows"].items():
        lines.append(
            f"{name:<{w}}{m['accuracy']:6.2f}{m['rmse']:7.3f}{m['mae']:7.3f}{m['f1_macro']:7.2f}"
        )
    for name, m in (("study (ResNet-152 + SMOTE, quoted)", STUDY),):
        lines.append(f"{name:<{w}}{m['accuracy']:6.2f}{m['rmse']:7.3f}{'':>7}{m['f1_macro']:7.2f}")
    lines.append("")
    for name, m in r["rows"].items():
        lines.append(f"confusion ({name}): {m['confusion_matrix']}")
    lines.append("")
    lines.append(f"source groups: {r['groups']}; patch methods: {r['patch_methods']}")
    lines.append(f"hayashi agreement with the file-name grade: {r['hayashi']}")
    lines.append(
        "feature time per face (CPU, patches excluded): "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in r["feature_seconds_per_face"].items())
    )
    lines.append(f"dataset build (patches + features, first run): {r['dataset_seconds']} s")
    lines.append(f"import: {r['import']}")
    lines.append(f"similarity grader training (5 folds): {r.get('similarity_seconds')} s")
    if "fine_tune" in r:
        lines.append(f"fine-tuning: {r['fine_tune']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

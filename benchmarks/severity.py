"""Severity grading speed (and accuracy of the regressor choice), with baselines in the same run.

    .venv/bin/python benchmarks/severity.py [--runs 15] [--threads 2] [--faces 1000]
                                           [--cv-faces 240] [--svr-full] [--out FILE]

Rows:
  * patch extraction per 1024-px face photo (read from memory; dlib faces + 68 landmarks +
    4 patch boxes): ClinLens (faces searched on a 512-px copy, landmarks at full
    resolution) vs the baseline of searching the full 1024-px image; the eye-cascade and
    whole-image fallbacks (a crop around one eye, a blank photo). Target <= 150 ms, 2 cores;
  * feature extraction per patch: builtin descriptor, ResNet-50 and ResNet-152 on the CPU
    (random weights: the time does not depend on what they learnt; batches of 32), and the
    feature-cache hit that replaces them on a re-run;
  * training for 1,000 faces on synthetic feature rows (random numbers shaped like the real
    ones, 4 patches per face, imbalanced grades 45/30/17/8 %): ClinLens' regressors (ridge,
    the default, and rbf = Nystroem + ridge) with and without SMOTE and translation
    augmentation (x5 rows), for builtin (40-d) and ResNet (2048-d -> PCA 64) features, vs
    the exact RBF SVR that was the first choice;
  * regressor choice on real pixels: 5-fold face-level CV on synthetic graded faces (the
    astronaut with painted red papules), builtin features: MAE / accuracy / fit time for
    ridge, rbf, exact SVR and gradient boosting; then the effect of augmentation and SMOTE.
Times are wall-clock: median and minimum of the runs (the minimum shows the cost when the
shared machine is quiet); training times are the best of two fits (SMOTE included).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _set_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def timed(fn: Callable[[], Any], runs: int, warmup: int = 1) -> tuple[float, float]:
    """(median, min) wall-clock seconds over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def bench_patches(runs: int) -> list[tuple[str, float, float]]:
    import cv2
    import numpy as np

    from core.annotations import builtin_scale
    from ml.severity import landmarks as lm
    from ml.severity.patches import extract_patches, landmark_boxes
    from ml.severity.synthetic import make_faces

    faces = make_faces([0.0, 1.0, 2.0, 3.0], builtin_scale("acne4"), seed=1, size=1024)
    photos = [f.pixels for f in faces]
    lm.load_models()
    rows = []
    k = [0]

    def ours() -> None:
        ps = extract_patches(photos[k[0] % 4])
        k[0] += 1
        assert ps.method == "landmarks"

    def full_res() -> None:
        rgb = photos[k[0] % 4]
        k[0] += 1
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        face = lm.detect_faces(grey, detect_max_side=1024)[0]
        landmark_boxes(face.landmarks)

    med, mn = timed(ours, runs)
    rows.append(("ClinLens: search on 512-px copy, landmarks at full res", med, mn))
    med, mn = timed(full_res, runs)
    rows.append(("baseline: dlib search at full 1024 px", med, mn))
    eye = cv2.resize(photos[0][160:300, 340:480], (1024, 1024), interpolation=cv2.INTER_CUBIC)
    med, mn = timed(lambda: extract_patches(eye), max(3, runs // 3))
    rows.append(("fallback: crop around one eye -> eye cascade (1024 px)", med, mn))
    blank = np.full((1024, 1024, 3), 180, np.uint8)
    med, mn = timed(lambda: extract_patches(blank), max(3, runs // 3))
    rows.append(("fallback: blank photo -> whole image (1024 px)", med, mn))
    return rows


def bench_features(runs: int, tmp: Path) -> list[tuple[str, float, float, int]]:
    import numpy as np

    from ml.severity.feature_cache import FeatureCache, feature_key
    from ml.severity.features import make_extractor

    rng = np.random.default_rng(0)
    rows: list[tuple[str, float, float, int]] = []
    builtin = make_extractor("builtin")
    crops = [rng.integers(0, 255, (128, 128, 3), dtype=np.uint8) for _ in range(32)]
    med, mn = timed(lambda: builtin.extract(crops), runs)
    rows.append(("builtin descriptor (128 px patch)", med / 32, mn / 32, builtin.dim))
    big = [rng.integers(0, 255, (224, 224, 3), dtype=np.uint8) for _ in range(32)]
    for name in ("resnet50", "resnet152"):
        ex = make_extractor(name, None, device="cpu", allow_random=True)
        n = max(2, runs // 5)
        med, mn = timed(lambda ex=ex: ex.extract(big), n)
        rows.append((f"{name} CPU, batch 32 (224 px patch)", med / 32, mn / 32, ex.dim))
        del ex
    keys = [feature_key("sha:x", (i, 0, 10, 10), "resnet50-x") for i in range(32)]
    with FeatureCache(tmp / "bench-cache.sqlite") as cache:
        cache.put_many({k: rng.normal(size=2048).astype(np.float32) for k in keys})
        with FeatureCache(tmp / "bench-cache.sqlite") as cold:  # fresh reader: disk hits
            med, mn = timed(lambda: FeatureCache(cold.path).get_many(keys), runs, warmup=0)
    rows.append(("feature cache hit (SQLite, 2048 numbers)", med / 32, mn / 32, 2048))
    return rows


def _synthetic_rows(n_faces: int, dim: int, copies: int, seed: int = 0) -> tuple[Any, Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    grades = rng.choice([0.0, 1.0, 2.0, 3.0], size=n_faces, p=[0.45, 0.30, 0.17, 0.08])
    per_face = 4 * (1 + copies)
    face = np.repeat(np.arange(n_faces), per_face)
    X = rng.normal(size=(face.size, dim)).astype(np.float32)
    X[:, :8] += grades[face, None] * 0.6  # a weak, spread signal like real features
    return X, grades, face


def bench_training(n_faces: int, svr_full: bool) -> list[tuple[str, int, float, str]]:
    from core.annotations import builtin_scale
    from ml.severity.imbalance import smote_balance
    from ml.severity.regressor import PatchRegressor, RegressorConfig

    scale = builtin_scale("acne4")
    rows: list[tuple[str, int, float, str]] = []
    # Warm-up: imports (imbalanced-learn, PCA, kernel maps) and BLAS thread pools.
    for dim in (40, 2048):
        X, grades, face = _synthetic_rows(50, dim, 0)
        Xb, yb, _ = smote_balance(X, grades[face], scale)
        for kind in ("ridge", "rbf"):
            PatchRegressor(scale, RegressorConfig(kind=kind)).fit(Xb, yb)
    for kind in ("ridge", "rbf"):
        for dim, label in ((40, "builtin 40-d"), (2048, "ResNet 2048-d")):
            for copies in (0, 4):
                for smote in (False, True):
                    X, grades, face = _synthetic_rows(n_faces, dim, copies)
                    times = []
                    for _ in range(2):  # best of two: the machine is shared
                        t = time.perf_counter()
                        Xb, yb, _ = smote_balance(X, grades[face], scale, enabled=smote)
                        PatchRegressor(scale, RegressorConfig(kind=kind)).fit(Xb, yb)
                        times.append(time.perf_counter() - t)
                    dt = min(times)
                    name = (
                        f"ClinLens {kind}{' (default)' if kind == 'ridge' else ''}, {label}, "
                        f"{'aug x5' if copies else 'no aug'}, SMOTE {'on' if smote else 'off'}"
                    )
                    rows.append((name, int(Xb.shape[0]), dt, ""))
    # Baseline: the exact RBF SVR (libsvm) on the same standardised builtin rows.
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    for copies in (0, 4) if svr_full else (0,):
        X, grades, face = _synthetic_rows(n_faces, 40, copies)
        Xb, yb, _ = smote_balance(X, grades[face], scale, enabled=True)
        t = time.perf_counter()
        SVR(C=3.0, epsilon=0.083, cache_size=500).fit(StandardScaler().fit_transform(Xb), yb / 3)
        dt = time.perf_counter() - t
        rows.append(
            (
                f"baseline: exact RBF SVR, builtin 40-d, {'aug x5' if copies else 'no aug'}, SMOTE on",
                int(Xb.shape[0]),
                dt,
                "",
            )
        )
    if not svr_full:
        rows.append(
            (
                "baseline: exact RBF SVR, builtin 40-d, aug x5, SMOTE on",
                0,
                float("nan"),
                "skipped (--svr-full)",
            )
        )
    return rows


def bench_cv(
    n_faces: int,
) -> tuple[list[tuple[str, float, float, float]], list[tuple[str, float, float]], float]:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    from core.annotations import builtin_scale
    from ml.severity.dataset import AugmentConfig, FaceSource, build_dataset
    from ml.severity.evaluate import fold_splits
    from ml.severity.features import make_extractor
    from ml.severity.imbalance import smote_balance
    from ml.severity.regressor import PatchRegressor, RegressorConfig
    from ml.severity.synthetic import make_faces

    scale = builtin_scale("acne4")
    rng = np.random.default_rng(1)
    grades = rng.choice([0.0, 1.0, 2.0, 3.0], size=n_faces, p=[0.45, 0.30, 0.17, 0.08])
    faces = make_faces(list(grades), scale, seed=3)
    sources = [
        FaceSource(i, f"face{i}", f"bench:{i}", (lambda f=f: (f.pixels, 8)), float(f.grade))
        for i, f in enumerate(faces)
    ]
    t = time.perf_counter()
    ds = build_dataset(sources, make_extractor("builtin"), None, augment=AugmentConfig(copies=4))
    per_face = (time.perf_counter() - t) / n_faces

    class Sk:
        def __init__(self, est: Any) -> None:
            self.est = est

        def fit(self, X: Any, y: Any) -> Any:
            self.est.fit(X, y / 3)
            return self

        def predict_patches(self, X: Any) -> Any:
            return np.clip(self.est.predict(X) * 3, 0, 3)

    models: dict[str, Callable[[], Any]] = {
        "ClinLens ridge (default)": lambda: PatchRegressor(scale),
        "ClinLens rbf (Nystroem + ridge)": lambda: PatchRegressor(
            scale, RegressorConfig(kind="rbf")
        ),
        "exact RBF SVR (C=3)": lambda: Sk(
            make_pipeline(StandardScaler(), SVR(C=3.0, epsilon=0.083))
        ),
        "gradient boosting (hist)": lambda: Sk(
            HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, min_samples_leaf=10)
        ),
    }
    splits = fold_splits(ds.grades, 5)

    def cv(make: Callable[[], Any], aug: bool, smote: bool) -> tuple[float, float, float]:
        pred = np.zeros(ds.n_faces)
        fit_s = 0.0
        for train_i, test_i in splits:
            rows_tr = np.isin(ds.face, train_i) & (aug | ~ds.augmented)
            X, y = ds.X[rows_tr], ds.grades[ds.face[rows_tr]]
            t = time.perf_counter()
            X, y, _ = smote_balance(X, y, scale, enabled=smote)
            m = make().fit(X, y)
            fit_s += time.perf_counter() - t
            for j in test_i:
                pred[j] = float(np.mean(m.predict_patches(ds.X[(ds.face == j) & ~ds.augmented])))
        g = np.array([scale.to_grade(p) for p in pred])
        return (
            float(np.abs(pred - ds.grades).mean()),
            float((g == ds.grades).mean()),
            fit_s / len(splits),
        )

    rows = [(name, *cv(make, aug=False, smote=False)) for name, make in models.items()]
    effects = []
    for aug in (False, True):
        for smote in (False, True):
            mae, acc, _ = cv(models["ClinLens ridge (default)"], aug, smote)
            effects.append(
                (f"{'aug x5' if aug else 'no aug'}, SMOTE {'on' if smote else 'off'}", mae, acc)
            )
    return rows, effects, per_face


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--faces", type=int, default=1000)
    ap.add_argument("--cv-faces", type=int, default=240)
    ap.add_argument("--svr-full", action="store_true", help="also time SVR on the augmented rows")
    ap.add_argument("--out", type=Path, help="write the markdown report here")
    args = ap.parse_args()
    _set_threads(args.threads)
    import tempfile

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    lines = [
        "# Severity grading benchmark",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores "
        f"(shared with other jobs), {args.threads} threads, Python {platform.python_version()}, "
        f"torch {torch.__version__} on CPU, OpenCV {cv2.__version__}. No GPU lent to this run.",
        f"Command: `.venv/bin/python benchmarks/severity.py --runs {args.runs} --faces {args.faces} "
        f"--cv-faces {args.cv_faces}{' --svr-full' if args.svr_full else ''}`",
        "",
        "## Patch extraction per 1024-px face photo (target <= 150 ms)",
        "",
        "| path | median ms | min ms |",
        "| --- | ---: | ---: |",
    ]
    for name, med, mn in bench_patches(args.runs):
        lines.append(f"| {name} | {med * 1000:.1f} | {mn * 1000:.1f} |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "## Feature extraction per patch (CPU)",
        "",
        "| backbone | median ms/patch | min ms/patch | numbers |",
        "| --- | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, med, mn, dim in bench_features(args.runs, Path(tmp)):
            lines.append(f"| {name} | {med * 1000:.2f} | {mn * 1000:.2f} | {dim} |")
            print(lines[-1], flush=True)
    lines += [
        "",
        f"## Training time, {args.faces} faces (synthetic feature rows, 4 patches per face)",
        "",
        "| model | training rows | seconds | note |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, n, sec, note in bench_training(args.faces, args.svr_full):
        lines.append(f"| {name} | {n} | {sec:.2f} | {note} |")
        print(lines[-1], flush=True)
    cv_rows, effects, per_face = bench_cv(args.cv_faces)
    lines += [
        "",
        f"## Regressor choice: 5-fold CV on {args.cv_faces} synthetic graded faces (builtin features)",
        "",
        f"Photos -> patches -> builtin features took {per_face * 1000:.0f} ms per 512-px face "
        "(4 patches + 16 shifted copies). Regressors compared without augmentation or SMOTE.",
        "",
        "| regressor | MAE (grades) | accuracy | fit s per fold |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, mae, acc, fit in cv_rows:
        lines.append(f"| {name} | {mae:.3f} | {acc:.3f} | {fit:.2f} |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "Effect of translation augmentation and SMOTE (ClinLens ridge, same folds):",
        "",
        "| training data | MAE (grades) | accuracy |",
        "| --- | ---: | ---: |",
    ]
    for name, mae, acc in effects:
        lines.append(f"| {name} | {mae:.3f} | {acc:.3f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

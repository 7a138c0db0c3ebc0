"""Active learning (#12): labels the review queue saves against random and file order.

    .venv/bin/python benchmarks/active_learning.py [--part detection,severity,speed,next]
        [--seeds 3] [--tiny] [--out benchmarks/RESULTS-active.md]
        [--plot benchmarks/active_learning.png] [--speed-images 6]

A simulation with the real code paths: a labelled pool whose labels are hidden from the
loop, a start of ``N0`` labelled images drawn by the seed (the same start for every
strategy of that seed), then rounds of train -> score the rest -> "review" ``K`` images
(their labels revealed) until the budget is spent. Every strategy of a seed gets the
same start, the same rounds and the same budget; the random order is drawn from the seed.

* **Detection** (synthetic phantoms: ``tests.ml.conftest.make_phantom``, 64 x 64 16-bit
  (``--det-size``), 0-3 metal objects of two classes sized relative to the image (keys
  10-19 px, buckles 19-29 x 12 at 64 px), a third of them faint, 40 % empty; the file order
  comes in acquisition "sessions": the first third mostly empty images). The labels live
  in a real project: revealing an image stores its boxes as accepted and marks it done;
  each round builds the training folder with ``ml.training.dataset.build_dataset``, trains
  with ``ml.training.runner.train`` (what the training worker runs: from scratch in the
  first round, then fine-tuning *the previous version*, no warm-up), for a number of
  optimiser steps rather than epochs (``--det-steps0`` / ``--det-steps``; ultralytics'
  nominal batch set to the batch, one step a batch: with its default of 64 a pool this
  small got one step an epoch and never learned — every F1 was 0 before), measures the
  new version with ``ml.training.gate.evaluate_detector`` on a fixed test set (the
  benchmark's held-out images, never in the pool; F1 at the best-F1 threshold, which
  becomes the operating threshold the scores are judged against), and scores the
  unreviewed pool with ``ml.active.detection.score_rgb`` (image + mirror when the
  weighting uses it); the queue is ``core.active.queue.build_queue``. Model: the tiny
  YOLOv8 config of the tests (1/8 of yolov8n's widths): CPU time is the limit here.
  ``--det-strategies`` picks the weightings of ``ml.active.scores.STRATEGIES`` (the
  ablation); ``--merge`` pools the ``--json`` of several such runs into one report.
* **Severity** (ACNE04 development photos in ``/work/shared/data/acne04-dev`` when the
  folder exists, grade from the file name, and synthetic faces from
  ``ml.severity.synthetic``): patch features once (``ml.severity.dataset.build_dataset``,
  builtin descriptor), then per round a full retrain (``ml.severity.evaluate.fit_regressor``
  + the reference index), scores from ``ml.active.severity.SeverityScorer.score_features``
  and accuracy on a fixed, stratified test set.
* **Speed**: images per second scoring 1500 x 1216 phantoms (``core.demo``) with a
  YOLOv8n (``yolov8n.yaml``, briefly trained on phantoms) against plain suggestion
  (``Detector.predict_raw``) on the same images in the same run; and (``next``, also run
  with ``speed``) the time of "review next" from stored scores of 20,000 images, cold and
  warm, beside file-order next (``benchmarks/active_review_next.py``). The GUI stall
  while scoring runs: ``benchmarks/active_stall.py``.

Reported: labels needed to reach 90 % of the full-pool quality (the same model trained on
the whole pool, same recipe), per strategy: the mean over seeds, and how many seeds
reached it within the budget; learning curves in a PNG. ``--tiny`` runs a few-second
version (the test suite uses it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ACNE_DIR = Path("/work/shared/data/acne04-dev")
TARGET = 0.9  # of the full-pool quality


# --- the loop, task-independent -----------------------------------------------------------


@dataclass
class Task:
    """What the loop needs from a task: pool size and the three model steps."""

    name: str
    metric: str
    pool: int
    # train(labelled pool indices, previous model or None) -> model
    train: Callable[[list[int], Any], Any]
    # evaluate(model) -> quality on the fixed test set
    evaluate: Callable[[Any], float]
    # score(model, unlabelled indices) -> (scores, features (n, d) or None, extra)
    score: Callable[[Any, list[int], str], tuple[np.ndarray, np.ndarray | None]]
    strategies: dict[str, str]  # strategy -> score variant ("" for random / file)


@dataclass
class Run:
    strategy: str
    seed: int
    labels: list[int] = field(default_factory=list)  # labelled images at each measurement
    quality: list[float] = field(default_factory=list)
    picks: list[list[int]] = field(default_factory=list)


def start_set(pool: int, n0: int, seed: int) -> list[int]:
    """The first ``n0`` labelled images of a seed: the same for every strategy."""
    return sorted(int(i) for i in np.random.default_rng(seed).permutation(pool)[:n0])


def pick(
    task: Task,
    strategy: str,
    model: Any,
    unlabelled: list[int],
    k: int,
    rng: np.random.Generator,
) -> list[int]:
    if strategy == "random":
        return [int(i) for i in rng.permutation(unlabelled)[:k]]
    if strategy == "file order":
        return sorted(unlabelled)[:k]
    from core.active.queue import build_queue

    variant = task.strategies[strategy]
    diversity = variant.endswith("+diversity")
    scores, feats = task.score(model, unlabelled, variant.removesuffix("+diversity"))

    class _S:
        def __init__(self, s: float, f: Any) -> None:
            self.score, self.reasons, self.features = s, (), f

    stored = {
        i: _S(float(s), None if feats is None else feats[j])
        for j, (i, s) in enumerate(zip(unlabelled, scores, strict=True))
    }
    queue = build_queue(
        [(i, str(i)) for i in unlabelled], {}, stored, k, fraction=0.0, diversity=diversity
    )
    return [it.image_id for it in queue.items]


def simulate(
    task: Task, strategies: Sequence[str], seeds: Sequence[int], n0: int, k: int, rounds: int
) -> list[Run]:
    runs: list[Run] = []
    for seed in seeds:
        for strategy in strategies:
            run = Run(strategy, seed)
            labelled = start_set(task.pool, n0, seed)
            rng = np.random.default_rng(10_000 + seed)
            model = None
            for r in range(rounds + 1):
                model = task.train(labelled, model)
                run.labels.append(len(labelled))
                run.quality.append(float(task.evaluate(model)))
                _say(f"{task.name} seed {seed} {strategy:<24} labels {len(labelled):>4}: "
                     f"{task.metric} {run.quality[-1]:.3f}")  # fmt: skip
                if r == rounds:
                    break
                unlabelled = [i for i in range(task.pool) if i not in set(labelled)]
                chosen = pick(task, strategy, model, unlabelled, k, rng)
                run.picks.append(chosen)
                labelled = sorted(labelled + chosen)
            runs.append(run)
    return runs


def labels_to_reach(run: Run, target: float) -> int | None:
    for n, q in zip(run.labels, run.quality, strict=True):
        if q >= target:
            return n
    return None


def summarise(runs: list[Run], full: float, strategies: Sequence[str]) -> list[dict[str, Any]]:
    target = TARGET * full
    rows = []
    budget = max(max(r.labels) for r in runs)
    for s in strategies:
        mine = [r for r in runs if r.strategy == s]
        reached = [labels_to_reach(r, target) for r in mine]
        # A seed that never reached the target counts as the whole budget (a lower bound).
        counted = [n if n is not None else budget for n in reached]
        curves = np.array([r.quality for r in mine])
        rows.append(
            {
                "strategy": s,
                "labels": [int(n) for n in mine[0].labels],
                "mean_curve": [float(q) for q in curves.mean(axis=0)],
                "labels_to_target": float(np.mean(counted)),
                "reached": f"{sum(n is not None for n in reached)}/{len(mine)}",
                "final": float(curves[:, -1].mean()),
                "area": float(curves.mean()),
                "seeds": [r.seed for r in mine],
                "budget": [r.labels[-1] for r in mine],
            }
        )
    return rows


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- detection task --------------------------------------------------------------------


class _Split:
    def __init__(self, heldout: set[int]) -> None:
        self.heldout = heldout

    def role(self, image_id: int) -> str:
        return "heldout" if image_id in self.heldout else "train"


def _phantom_images(
    folder: Path, n: int, rng: np.random.Generator, size: int, kind: str, pool: int = 0
) -> tuple[list[Any], list[list[Any]]]:
    """Write ``n`` phantoms; ``kind`` "source" (keys only, high contrast: the pretraining
    domain) or "target" (keys and buckles, a third faint, the first third of the pool
    mostly empty: acquisition sessions)."""
    import tifffile

    from core.annotations import Box
    from core.store import NewImage
    from tests.ml.conftest import TINY_CLASSES, PhantomBox, make_phantom

    (folder / "images").mkdir(parents=True, exist_ok=True)
    items, truth = [], []
    for i in range(n):
        if kind == "source":
            empty_p, faint = 0.2, False
        else:
            empty_p = 0.8 if i < pool // 3 else (0.25 if i < pool else 0.4)
            faint = rng.random() < 0.33
        count = 0 if rng.random() < empty_p else int(rng.integers(1, 4))
        boxes = []
        for _ in range(count):
            cls = 0 if kind == "source" else int(rng.integers(0, 2))
            # Sizes relative to the image (at 64 px: keys 10-19 px, buckles 19-29 x 12).
            bw, bh = (
                (int(rng.integers(size * 0.16, size * 0.30)),) * 2
                if cls == 0
                else (int(rng.integers(size * 0.30, size * 0.45)), int(size * 0.19))
            )
            x, y = int(rng.integers(2, size - bw - 2)), int(rng.integers(2, size - bh - 2))
            boxes.append(PhantomBox(x, y, x + bw, y + bh, cls))
        img = make_phantom(rng, size, size, boxes)
        if faint and boxes:  # faint objects: pulled towards the body
            base = make_phantom(np.random.default_rng(i), size, size, [])
            img = (0.55 * img.astype(np.float32) + 0.45 * base).astype(np.uint16)
        path = folder / "images" / f"{kind[0]}{i:04d}.tif"
        tifffile.imwrite(path, img)
        items.append(NewImage(path=str(path), width=size, height=size, bit_depth=16))
        truth.append([Box(b.x1, b.y1, b.x2, b.y2, label=TINY_CLASSES[b.cls]) for b in boxes])
    return items, truth


# Training knobs of the simulation (``--det-lr``): ultralytics accumulates gradients up to
# a nominal batch of 64 (``nbs``), i.e. one optimiser step per 8 batches of 8: on a pool of
# 60-120 small images that is one step an epoch, and the tiny model never leaves its
# start in the epochs a CPU allows. ``nbs`` = the batch: a step per batch.
TRAIN_KNOBS: dict[str, Any] = {"lr0": 0.002, "nbs": 8}  # nbs: keep equal to BATCH


BATCH = 8
VAL_FRACTION = 0.15  # the recipe's default: that share of the labelled images validates


def epochs_for(labelled: int, steps: int) -> int:
    """Epochs giving about ``steps`` optimiser steps on ``labelled`` images (one step a
    batch: ``nbs`` = the batch)."""
    n_val = max(1, round(labelled * VAL_FRACTION)) if labelled > 1 else 0
    batches = max(1, -(-(labelled - n_val) // BATCH))
    return max(1, -(-steps // batches))


def _recipe(cfg: Path, size: int, epochs: int, scratch: bool) -> Any:
    from ml.training.recipe import preset

    knobs = dict(TRAIN_KNOBS)
    if not scratch:  # fine-tuning a trained model: no warm-up (its bias lr of 0.1 undoes it)
        knobs["warmup_epochs"] = 0
    return preset(
        "xray", epochs=epochs, imgsz=size, tile_size=size, tiles=0, batch=BATCH, device="cpu",
        arch=str(cfg), start="scratch" if scratch else "active", val_every=1000,
        augment_copies=0, min_images=1, min_boxes=1, seed=0, lr0=knobs.pop("lr0"),
        patience=1000, extra_args=knobs,
    )  # fmt: skip


def _train_once(project: Any, recipe: Any, split: Any, work: Path, start: Any) -> Any:
    from core.formats.remap import make_remap
    from ml.detector.checkpoint import load_detector_bytes
    from ml.detector.predict import Detector
    from ml.detector.tiling import TilingSpec
    from ml.training import runner
    from ml.training.dataset import build_dataset

    run_dir = Path(tempfile.mkdtemp(dir=work))
    try:
        remap = make_remap("none", project.label_set())
        data, _ = build_dataset(project, recipe, remap, run_dir / "data", split=split)
        with contextlib.redirect_stderr(io.StringIO()):
            result = runner.train(data, recipe, run_dir, start_module=start)
        loaded = load_detector_bytes(result.weights.read_bytes(), "round model")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return Detector(loaded, device="cpu", tiling=TilingSpec.from_dict(recipe.tiling()))


def pretrained_start(work: Path, cfg: Path, size: int, n: int, epochs: int) -> Any:
    """A model pretrained on another domain (keys only, high contrast), as a project
    starts from a generic detector: the loop's first round fine-tunes it."""
    from core.annotations import builtin_label_set
    from core.store import Project

    folder = work / "source-project"
    items, truth = _phantom_images(folder, n, np.random.default_rng(5), size, "source")
    project = Project.create(folder, label_set=builtin_label_set("xray"), scales=[])
    ids = project.add_images(items)
    for image_id, boxes in zip(ids, truth, strict=True):
        project.add_boxes(image_id, [_accepted(b) for b in boxes])
        project.set_review_status(image_id, "done")
    det = _train_once(project, _recipe(cfg, size, epochs, True), _Split(set(ids[-2:])), work, None)
    project.close()
    return det


def detection_task(
    work: Path,
    *,
    pool: int,
    test: int,
    steps0: int,
    steps: int,
    size: int = 64,
    pretrain: int = 0,
    pretrain_epochs: int = 30,
    full_steps: int | None = None,
) -> tuple[Task, Callable[[], float]]:
    """Rounds train for a number of optimiser *steps* (``steps0`` from scratch, ``steps``
    fine-tuning the previous round's model), turned into epochs for the labelled count:
    a fixed number of epochs gives 8 labelled images one step an epoch and 80 ten, so
    the early rounds would never learn. The full-pool model gets as many steps as the
    loop's rounds add up to (``full_steps``)."""
    from core.annotations import builtin_label_set
    from core.store import Project
    from tests.ml.conftest import TINY_CLASSES, TINY_YAML

    cfg = work / "tiny.yaml"
    cfg.write_text(TINY_YAML.format(nc=len(TINY_CLASSES)), encoding="utf-8")
    t = time.perf_counter()
    source = pretrained_start(work, cfg, size, pretrain, pretrain_epochs) if pretrain else None
    _say(f"pretrained start: {time.perf_counter() - t:.0f} s")
    folder = work / "det-project"
    items, truth = _phantom_images(
        folder, pool + test, np.random.default_rng(123), size, "target", pool
    )
    project = Project.create(folder, label_set=builtin_label_set("xray"), scales=[])
    ids = project.add_images(items)
    pool_ids, test_ids = ids[:pool], ids[pool:]
    for image_id, boxes in zip(test_ids, truth[pool:], strict=True):
        project.add_boxes(image_id, [_accepted(b) for b in boxes])
        project.set_review_status(image_id, "done")
    split = _Split(set(test_ids))
    from core.formats.remap import make_remap

    remap = make_remap("none", project.label_set())
    revealed: set[int] = set()

    def reveal(labelled: list[int]) -> None:
        # The store holds exactly the labelled images: a new run starts from a clean pool.
        want = {pool_ids[i] for i in labelled}
        with project.batch():
            for image_id in revealed - want:
                for b in project.boxes(image_id):
                    if b.id is not None:
                        project.delete_box(b.id)
                project.set_review_status(image_id, "new")
            for image_id in want - revealed:
                project.add_boxes(image_id, [_accepted(b) for b in truth[ids.index(image_id)]])
                project.set_review_status(image_id, "done")
        revealed.clear()
        revealed.update(want)

    def train(labelled: list[int], previous: Any) -> Any:
        reveal(labelled)
        first = previous is None
        start = source if first else previous
        n_epochs = epochs_for(len(labelled), steps0 if first else steps)
        recipe = _recipe(cfg, size, n_epochs, start is None)
        module = None if start is None else start.loaded.model.float()
        return _train_once(project, recipe, split, work, module)

    def evaluate(det: Any) -> float:
        from ml.training.gate import evaluate_detector

        got = evaluate_detector(project, det, test_ids, remap)
        det.conf = float(got.threshold or 0.25)  # the operating threshold it would carry
        return float(got.f1 or 0.0)

    def score(det: Any, unlabelled: list[int], variant: str) -> tuple[np.ndarray, np.ndarray]:
        from core.imaging import read
        from ml.active.detection import score_rgb, scoring_mode
        from ml.active.scores import STRATEGIES

        scores, feats = [], []
        with scoring_mode(det) as (threshold, tap):
            for i in unlabelled:
                rec = project.image(pool_ids[i])
                rgb = det.render(read(project.image_path(rec)), project.default_filter_settings())
                s, _, f, _ = score_rgb(
                    det,
                    rgb,
                    threshold,
                    tap,
                    flip="all" if STRATEGIES[variant][1] else "off",
                    strategy=variant,
                )
                scores.append(s)
                feats.append(f)
        return np.asarray(scores), np.stack([f for f in feats if f is not None])

    def full_pool() -> float:
        # The whole pool from the same start, with as many epochs as a loop's rounds add up to.
        reveal(list(range(pool)))
        recipe = _recipe(cfg, size, epochs_for(pool, full_steps or steps0), source is None)
        module = None if source is None else source.loaded.model.float()
        return evaluate(_train_once(project, recipe, split, work, module))

    task = Task(
        "detection",
        "F1",
        pool,
        train,
        evaluate,
        score,
        detection_strategies(),
    )
    return task, full_pool


def detection_strategies() -> dict[str, str]:
    """Display name -> score variant: every weighting of ``ml.active.scores.STRATEGIES``
    and the product's default with k-center batches."""
    from ml.active.scores import DEFAULT_DETECTION, STRATEGIES

    out = {f"queue: {v}" + (" (default)" if v == DEFAULT_DETECTION else ""): v for v in STRATEGIES}
    out[f"queue: {DEFAULT_DETECTION}, k-center"] = f"{DEFAULT_DETECTION}+diversity"
    return out


def _accepted(box: Any) -> Any:
    from dataclasses import replace

    return replace(box, source="human", status="accepted")


# --- severity task ----------------------------------------------------------------------


def severity_sources(n_synthetic: int, use_acne: bool) -> tuple[list[Any], list[str]]:
    from core.annotations import builtin_scale
    from ml.severity.dataset import FaceSource
    from ml.severity.synthetic import make_faces

    notes: list[str] = []
    sources: list[Any] = []
    if use_acne and ACNE_DIR.is_dir():
        import cv2

        photos = sorted(ACNE_DIR.glob("levle*.jpg"))
        for i, p in enumerate(photos):
            grade = float(p.name[5])

            def load(p: Path = p) -> tuple[np.ndarray, int]:
                bgr = cv2.imread(str(p))
                assert bgr is not None, p
                return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), 8

            sources.append(FaceSource(i, p.name, f"acne:{p.name}", load, grade))
        notes.append(f"ACNE04 development photos: {len(photos)} from {ACNE_DIR}")
    elif use_acne:
        notes.append(f"{ACNE_DIR} does not exist: severity on synthetic faces only")
    if n_synthetic:
        rng = np.random.default_rng(7)
        grades = rng.choice([0.0, 1.0, 2.0, 3.0], size=n_synthetic, p=[0.4, 0.3, 0.2, 0.1])
        faces = make_faces(list(grades), builtin_scale("acne4"), seed=7, size=256)
        base = len(sources)
        sources += [
            FaceSource(base + i, f"synthetic{i}", f"syn:{i}", (lambda f=f: (f.pixels, 8)), f.grade)  # type: ignore[misc]
            for i, f in enumerate(faces)
        ]
        notes.append(f"synthetic faces: {n_synthetic}")
    return sources, notes


def severity_task(
    name: str, sources: list[Any], test_fraction: float = 0.3
) -> tuple[Task, Callable[[], float]]:
    from types import SimpleNamespace

    from core.annotations import builtin_scale
    from ml.active.severity import SeverityScorer
    from ml.severity.dataset import build_dataset
    from ml.severity.evaluate import fit_regressor, fold_splits, predict_faces
    from ml.severity.features import make_extractor
    from ml.severity.reference import ReferenceIndex

    scale = builtin_scale("acne4")
    ds = build_dataset(sources, make_extractor("builtin"), None, augment=None)
    # A fixed stratified test set: one fold of a seeded split by grade.
    folds = max(2, round(1 / test_fraction))
    _, test_faces = fold_splits(ds.grades, folds, seed=99)[0]
    test_faces = np.sort(test_faces)
    pool_faces = np.array([f for f in range(ds.n_faces) if f not in set(test_faces)])
    vectors = ds.face_vectors()

    def train(labelled: list[int], previous: Any) -> Any:
        faces = pool_faces[labelled]
        reg = fit_regressor(ds, faces, scale, smote=False)
        refs = ReferenceIndex(
            vectors=reg.embed(vectors[faces]),
            image_ids=ds.image_ids[faces],
            image_refs=[ds.image_refs[f] for f in faces],
            grades=ds.grades[faces],
            labels=[scale.label_of(g) for g in ds.grades[faces]],
        )
        model = SimpleNamespace(regressor=reg, scale=scale, references=refs, ref="sim:1")
        return SeverityScorer(SimpleNamespace(model=model))

    def evaluate(scorer: Any) -> float:
        pred = predict_faces(scorer.grader.model.regressor, ds, test_faces)
        grades = np.array([scale.to_grade(p) for p in pred])
        return float((grades == ds.grades[test_faces]).mean())

    def score(scorer: Any, unlabelled: list[int], variant: str) -> tuple[np.ndarray, np.ndarray]:
        scores, feats = [], []
        for i in unlabelled:
            f = pool_faces[i]
            rows = (ds.face == f) & ~ds.augmented
            out = scorer.score_features(int(ds.image_ids[f]), ds.image_refs[f], ds.X[rows])
            s = (
                out.terms["edge"]
                if variant == "edge"
                else float(0.5 * out.terms["edge"] + 0.5 * out.terms["disagreement"])
            )
            scores.append(s)
            feats.append(out.features)
        return np.asarray(scores), np.stack(feats)

    def full_pool() -> float:
        return evaluate(train(list(range(len(pool_faces))), None))

    task = Task(
        name,
        "accuracy",
        len(pool_faces),
        train,
        evaluate,
        score,
        {
            "queue (edge)": "edge",
            "queue (edge, k-center)": "edge+diversity",
            "edge+neighbours": "combined",
            "edge+neighbours, k-center": "combined+diversity",
        },
    )
    return task, full_pool


# --- speed ------------------------------------------------------------------------------


def speed_rows(work: Path, n_images: int) -> list[tuple[str, float, float]]:
    """(row, images/s, ratio to plain suggestion)."""
    import tifffile

    from core.annotations import Box, builtin_label_set
    from core.demo.phantom import make_phantom
    from core.store import NewImage, Project
    from ml.active.detection import score_rgb, scoring_mode
    from ml.detector.checkpoint import load_detector_bytes
    from ml.detector.predict import Detector
    from ml.detector.tiling import TilingSpec
    from ml.training import runner
    from ml.training.dataset import build_dataset
    from ml.training.recipe import preset

    folder = work / "speed"
    (folder / "images").mkdir(parents=True)
    items, truth = [], []
    for i in range(n_images):
        px, boxes = make_phantom(seed=i)
        path = folder / "images" / f"x{i}.tif"
        tifffile.imwrite(path, px)
        items.append(NewImage(path=str(path), width=px.shape[1], height=px.shape[0], bit_depth=16))
        truth.append(boxes)
    project = Project.create(folder, label_set=builtin_label_set("xray"), scales=[])
    ids = project.add_images(items)
    for image_id, boxes in zip(ids, truth, strict=True):
        project.add_boxes(
            image_id, [_accepted(Box(b.x1, b.y1, b.x2, b.y2, b.label)) for b in boxes]
        )
        project.set_review_status(image_id, "done")
    from core.formats.remap import make_remap

    recipe = preset(
        "xray", epochs=1, imgsz=256, tile_size=256, tiles=2, batch=8, device="cpu",
        arch="yolov8n.yaml", start="scratch", augment_copies=0, min_images=1, min_boxes=1,
    )  # fmt: skip
    run_dir = work / "speed-run"
    split = _Split(set())
    split.role = lambda image_id: "heldout" if image_id == ids[-1] else "train"  # type: ignore[method-assign]
    data, _ = build_dataset(
        project, recipe, make_remap("none", project.label_set()), run_dir / "d", split=split
    )
    with contextlib.redirect_stderr(io.StringIO()):
        result = runner.train(data, recipe, run_dir)
    det = Detector(
        load_detector_bytes(result.weights.read_bytes(), "speed model"),
        device="cpu",
        tiling=TilingSpec(tile=256),
        conf=0.25,
    )
    from core.imaging import read

    def suggest() -> None:
        for i in ids:
            det.predict_raw(
                read(project.image_path(project.image(i))),
                fallback_settings=project.default_filter_settings(),
            )

    def scoring(flip: str) -> Callable[[], None]:
        def run() -> None:
            with scoring_mode(det) as (t, tap):
                for i in ids:
                    rgb = det.render(
                        read(project.image_path(project.image(i))),
                        project.default_filter_settings(),
                    )
                    score_rgb(det, rgb, t, tap, flip=flip)

        return run

    suggest()  # warm-up
    rows: list[tuple[str, float]] = []
    for name, fn in (
        ("plain suggestion (predict_raw, conf 0.25)", suggest),
        ("scoring, mirror pass on every image", scoring("all")),
        ("scoring, mirror pass when a box is uncertain", scoring("uncertain")),
        ("scoring, no mirror pass", scoring("off")),
    ):
        t = time.perf_counter()
        fn()
        rows.append((name, n_images / (time.perf_counter() - t)))
    base = rows[0][1]
    out = [(name, ips, ips / base) for name, ips in rows]
    return out


# --- report -----------------------------------------------------------------------------


def plot(curves: dict[str, tuple[list[Run], float, str]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.2), squeeze=False)
    for ax, (title, (runs, full, metric)) in zip(axes[0], curves.items(), strict=True):
        for s in dict.fromkeys(r.strategy for r in runs):
            mine = [r for r in runs if r.strategy == s]
            x = np.array(mine[0].labels)
            q = np.array([r.quality for r in mine])
            ax.plot(x, q.mean(axis=0), marker="o", label=s)
            ax.fill_between(x, q.min(axis=0), q.max(axis=0), alpha=0.15)
        ax.axhline(full, color="k", lw=0.8, ls="--", label="full pool")
        ax.axhline(TARGET * full, color="grey", lw=0.8, ls=":", label="90 % of full pool")
        ax.set_title(title)
        ax.set_xlabel("labelled images")
        ax.set_ylabel(metric)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(title: str, rows: list[dict[str, Any]], full: float, metric: str) -> str:
    random = next((r for r in rows if r["strategy"] == "random"), None)
    lines = [
        f"**{title}** - full pool {metric} {full:.3f}, target {TARGET * full:.3f}",
        "",
        f"| strategy | labels to 90 % (mean) | vs random | seeds reaching it | final {metric} | mean {metric} over the curve |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ratio = "-"
        if random and random["labels_to_target"] and r is not random:
            saved = 1 - r["labels_to_target"] / random["labels_to_target"]
            ratio = f"{saved:.0%} fewer" if saved >= 0 else f"{-saved:.0%} more"
        lines.append(
            f"| {r['strategy']} | {r['labels_to_target']:.1f} | {ratio} | {r['reached']} | "
            f"{r['final']:.3f} | {r['area']:.3f} |"
        )
    if random is not None and "mean_curve" in random:
        # Censoring-proof comparison: when random never reaches the target within the
        # budget its "labels to 90 %" is only the budget; the labels a strategy needs for
        # random's *final* quality (over the seeds' mean curves) bound the saving from below.
        goal, spent = random["mean_curve"][-1], random["labels"][-1]
        lines += [
            "",
            f"Labels to reach random's final mean {metric} ({goal:.3f} with {spent} labels):",
        ]
        for r in rows:
            if r is random:
                continue
            pairs = zip(r["labels"], r["mean_curve"], strict=True)
            n = next((n for n, q in pairs if q >= goal), None)
            if n is None:
                lines.append(f"- {r['strategy']}: not within {r['labels'][-1]}")
            else:
                lines.append(f"- {r['strategy']}: {n} ({1 - n / spent:.0%} fewer than random)")
    return "\n".join(lines)


def merge(files: Sequence[Path], out: Path | None, plot_to: Path | None) -> dict[str, Any]:
    """One report from the ``--json`` files of runs of the same parts (e.g. the main
    strategies and an ablation run side by side): the runs of a part are pooled, the
    full-pool quality is the one measured (a run made with ``--det-no-full`` has none)."""
    parts: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    for f in files:
        data = json.loads(Path(f).read_text(encoding="utf-8"))
        notes += [n for n in data.get("notes", []) if n not in notes]
        for name, part in data["parts"].items():
            into = parts.setdefault(name, {**part, "runs": []})
            into["runs"] += part["runs"]
            if not np.isfinite(into["full"]) and np.isfinite(part["full"]):
                into["full"] = part["full"]
    md, curves = [], {}
    for name, part in parts.items():
        runs = [Run(**r) for r in part["runs"]]
        strategies = list(dict.fromkeys(r.strategy for r in runs))
        # random and file order last, as in a single run
        strategies = [s for s in strategies if s not in ("random", "file order")] + [
            s for s in ("random", "file order") if s in strategies
        ]
        rows = summarise(runs, part["full"], strategies)
        part["rows"] = rows
        seeds = sorted({r.seed for r in runs})
        metric = "F1" if name == "detection" else "accuracy"
        curves[name] = (runs, part["full"], metric)
        md.append(table(f"{name}: pool {part['pool']}, N0 {part['n0']}, K {part['k']}, "
                        f"{part['rounds']} rounds, seeds {seeds}", rows, part["full"], metric))  # fmt: skip
    text = f"Notes: {'; '.join(notes) or '-'}\n\n" + "\n\n".join(md) + "\n"
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")
    if plot_to and curves:
        plot(curves, plot_to)
    return {"parts": parts}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="detection,severity,speed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first .. first + n - 1")
    ap.add_argument("--tiny", action="store_true", help="a few seconds: for the test suite")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--json", type=Path, help="also write the runs as JSON")
    ap.add_argument("--speed-images", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--det-pool", type=int, default=60)
    ap.add_argument("--det-test", type=int, default=30)
    ap.add_argument("--det-size", type=int, default=64, help="phantom side = imgsz (px)")
    ap.add_argument("--det-rounds", type=int, default=4)
    ap.add_argument("--det-n0", type=int, default=6)
    ap.add_argument("--det-k", type=int, default=6)
    ap.add_argument("--det-steps0", type=int, default=120, help="first round, from scratch")
    ap.add_argument("--det-steps", type=int, default=60, help="later rounds, from the previous")
    ap.add_argument("--det-pretrain", type=int, default=0, help="source-domain images (0: none)")
    ap.add_argument("--det-pretrain-epochs", type=int, default=30)
    ap.add_argument(
        "--det-strategies",
        default="default",
        help="comma-separated score variants (ml.active.scores.STRATEGIES, '+diversity' "
        "for k-center; 'default': the product's) besides random and file order "
        "('none': only those two)",
    )
    ap.add_argument("--det-baselines", default="random,file order")
    ap.add_argument("--det-lr", type=float, default=TRAIN_KNOBS["lr0"])
    ap.add_argument(
        "--det-no-full",
        action="store_true",
        help="skip the full-pool model (a second process running more strategies: --merge)",
    )
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="only report: tables and plot from the --json files of several runs",
    )
    args = ap.parse_args(argv)
    TRAIN_KNOBS["lr0"] = args.det_lr
    if args.merge:
        return merge(args.merge, args.out, args.plot)
    import torch

    torch.set_num_threads(args.threads)
    parts = set(args.part.split(","))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    work = Path(tempfile.mkdtemp(prefix="clinlens-al-"))
    os.environ.setdefault("CLINLENS_DATA_DIR", str(work / "appdata"))
    report: dict[str, Any] = {"seeds": seeds, "parts": {}, "notes": []}
    md: list[str] = []
    curves: dict[str, tuple[list[Run], float, str]] = {}
    base = ["random", "file order"]
    det_base = base
    try:
        tasks: list[tuple[Task, Callable[[], float], int, int, int]] = []
        if "severity" in parts:
            sources, notes = severity_sources(24 if args.tiny else 160, use_acne=not args.tiny)
            report["notes"] += notes
            if not args.tiny and ACNE_DIR.is_dir():
                acne = [s for s in sources if s.key.startswith("acne:")]
                syn = [s for s in sources if s.key.startswith("syn:")]
                tasks.append((*severity_task("severity (ACNE04 dev)", acne), 10, 5, 10))
                tasks.append((*severity_task("severity (synthetic faces)", syn), 10, 5, 10))
            else:
                n0, k, rounds = (4, 3, 2) if args.tiny else (10, 5, 10)
                tasks.append((*severity_task("severity (synthetic faces)", sources), n0, k, rounds))
        if "detection" in parts and not args.tiny:
            det, full = detection_task(
                work,
                pool=args.det_pool,
                test=args.det_test,
                size=args.det_size,
                steps0=args.det_steps0,
                steps=args.det_steps,
                pretrain=args.det_pretrain,
                pretrain_epochs=args.det_pretrain_epochs,
                full_steps=args.det_steps0 + args.det_rounds * args.det_steps,
            )
            from ml.active.scores import DEFAULT_DETECTION

            wanted = [
                DEFAULT_DETECTION if v == "default" else v
                for v in args.det_strategies.split(",")
                if v and v != "none"
            ]
            det.strategies = {n: v for n, v in det.strategies.items() if v in wanted}
            det_base = [b for b in args.det_baselines.split(",") if b]
            tasks.append((det, full, args.det_n0, args.det_k, args.det_rounds))
        for task, full_fn, n0, k, rounds in tasks:
            strategies = [*task.strategies, *(det_base if task.name == "detection" else base)]
            t = time.perf_counter()
            runs = simulate(task, strategies, seeds, n0, k, rounds)
            skip_full = task.name == "detection" and args.det_no_full
            full: float = float("nan") if skip_full else full_fn()
            rows = summarise(runs, full, strategies)
            report["parts"][task.name] = {
                "full": full,
                "pool": task.pool,
                "rows": rows,
                "n0": n0,
                "k": k,
                "rounds": rounds,
                "runs": [vars(r) for r in runs],
                "seconds": round(time.perf_counter() - t, 1),
            }
            curves[task.name] = (runs, full, task.metric)
            md.append(table(f"{task.name}: pool {task.pool}, N0 {n0}, K {k}, {rounds} rounds, "
                            f"seeds {seeds}", rows, full, task.metric))  # fmt: skip
        if "speed" in parts and not args.tiny:
            rows_s = speed_rows(work, args.speed_images)
            report["speed"] = rows_s
            lines = [
                "| scoring speed (1500 x 1216, YOLOv8n, 256-px tiles, CPU) | images/s (ms for the last row) | vs suggestion |",
                "| --- | ---: | ---: |",
            ]
            for name, v, ratio in rows_s:
                lines.append(f"| {name} | {v:.2f} | {ratio:.2f} |")
            md.append("\n".join(lines))
        if ("speed" in parts or "next" in parts) and not args.tiny:
            # Review next from stored scores: fresh processes, beside file-order next.
            import active_review_next

            rows_n = active_review_next.measure(work)
            report["review_next"] = rows_n
            md.append(active_review_next.table(rows_n, 20_000))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = (
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
        f"(torch threads {args.threads}), Python {platform.python_version()}. "
        f"Notes: {'; '.join(report['notes']) or '-'}"
    )
    text = header + "\n\n" + "\n\n".join(md) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.plot and curves:
        plot(curves, args.plot)
    if args.json:
        args.json.write_text(json.dumps(report, default=str, indent=1), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()

"""Training and evaluation speed (#11): ClinLens' trainer and held-out evaluation beside
plain ultralytics on the same data, same model, same settings, in the same run.

    .venv/bin/python benchmarks/training.py [--images 100] [--repeats 2] [--epochs 4]
                                           [--train-images 24] [--threads 2] [--out FILE]

1. Training throughput (tiles per second, CPU). A reviewed project of ``--train-images``
   16-bit 256 x 256 phantoms (``tests.ml.training_fixtures.make_reviewed_project``: two
   metal objects each, every image reviewed, the frozen held-out split of the store)
   is exported once by ClinLens (``ml.training.dataset.build_dataset``, the ``xray``
   preset: 2 random positive tiles of 128 px per image, one offline blur/contrast copy
   per training tile). The same exported YOLO folder then trains

   * ClinLens: ``ml.training.runner.train`` in-process (the function the training worker
     behind ``model train`` calls; in-process, so the worker's start-up and JSON lines are
     not counted: this isolates the trainer's own overhead), from scratch on the tiny
     config ``TINY_YAML`` of ``tests/ml/conftest.py`` (yolov8 at 1/8 of yolov8n's widths);
   * plain ultralytics: ``YOLO(cfg_yaml).train(...)`` from the same config file with the
     arguments the runner passes (imgsz 128, batch 8, Adam lr0 0.001, workers 0, cpu,
     seed 0, deterministic, fliplr 0.5, mosaic / hsv / translate / scale / erasing /
     mixup 0, same warm-up), so the online augmentation is the same in both and the
     offline copies are in the folder both read. The recipe's ``val_every`` is set to 1
     so both validate every epoch.

   Each repeat runs both, the order alternating (A B, B A, ...), after one untimed
   1-epoch warm-up of each. Two figures per run: the *training loop* (first batch of an
   epoch to its last batch, summed over epochs: forward, loss, backward, optimizer step
   and each side's per-batch callbacks) and the *whole call* (set-up, loop, validation,
   checkpoints: ultralytics writes last.pt/best.pt every epoch and re-validates best.pt at
   the end; ClinLens keeps the best EMA in memory and saves it once). tiles/s = training
   tiles x epochs / seconds. The export (render 16-bit -> 8-bit, tile, augment, write
   PNGs) is ClinLens-only work done once per run; its time is its own row.

2. Evaluation time. ``--images`` 1500 x 1216 16-bit phantoms (six objects each) in a
   second project, every image reviewed, scored by the model ClinLens trained in part 1:

   * ClinLens: ``ml.training.gate.evaluate_detector`` (reads each 16-bit TIFF, renders it
     with the project's filter settings, tiled detection at the recipe's 128-px tiles with
     32 px overlap, merge, matching, best-F1 threshold, P/R/F1/AP50), as the gate runs it;
   * ultralytics ``val()`` on the same images exported as 8-bit PNG (the very pixels
     ClinLens' detector sees, ``ml.detector.pixels.model_pixels``), the same weights
     (ClinLens' checkpoint loaded by ``ml.detector.checkpoint``, handed to a
     ``YOLO(cfg_yaml)`` as its module: never a file), whole image at imgsz 1504 (rect
     batches, 1504 x 1216: the same pixels as the tiles, without their overlap), batch 4,
     conf 0.001, NMS IoU 0.6 (ClinLens' NMS IoU).

   Alternating order, ``--repeats`` times each; seconds per run (median, min).

Times are wall-clock on a shared machine: compare the two columns of a row (same run),
not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

EVAL_W, EVAL_H = 1500, 1216
TRAIN_SIZE = 256
TILE = 128
WIDE_TILE = 512  # the xray preset's tile
TARGET_OVERHEAD = 10.0  # % of plain ultralytics' tiles/s


class LoopClock:
    """Seconds from each epoch's start to its last batch, summed (the training loop)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.batches = 0
        self._t0: float | None = None
        self._last: float | None = None

    def epoch_start(self) -> None:
        self._close()
        self._t0 = time.perf_counter()

    def batch_end(self) -> None:
        self._last = time.perf_counter()
        self.batches += 1

    def _close(self) -> None:
        if self._t0 is not None and self._last is not None and self._last > self._t0:
            self.seconds += self._last - self._t0
        self._t0 = self._last = None

    def total(self) -> float:
        self._close()
        return self.seconds


def _quiet() -> contextlib.AbstractContextManager[Any]:
    return contextlib.redirect_stdout(io.StringIO())


# --- part 1: training ---------------------------------------------------------------------


def make_training_data(root: Path, n_images: int, epochs: int) -> tuple[Path, Any, Any, float]:
    """The reviewed project and ClinLens' export of it: (data.yaml, recipe, remap, export s)."""
    from core.store import Project
    from ml.training.dataset import build_dataset
    from ml.training.recipe import preset, training_remap
    from tests.ml.training_fixtures import make_reviewed_project, tiny_config

    project_dir = root / "train-project"
    make_reviewed_project(project_dir, n_images=n_images, size=TRAIN_SIZE, seed=3)
    cfg = tiny_config(root)
    recipe = preset(
        "xray",
        epochs=epochs,
        imgsz=TILE,
        tile_size=TILE,
        tiles=2,
        batch=8,
        start="scratch",
        arch=str(cfg),
        device="cpu",
        seed=0,
        val_every=1,
    )
    with Project.open(project_dir, read_only=True) as project:
        remap = training_remap(recipe.remap, project.label_set())
        t = time.perf_counter()
        data, _summary = build_dataset(project, recipe, remap, root / "data")
        export_s = time.perf_counter() - t
    return data, recipe, remap, export_s


def plain_args(recipe: Any, cfg: str, data: Path, run_dir: Path) -> dict[str, Any]:
    """What ``ml.training.runner.train`` hands ultralytics, for ``YOLO(cfg).train`` (the
    runner's own builder, less the model, which ``YOLO(cfg)`` already holds)."""
    from ml.training.runner import ultralytics_args

    args = ultralytics_args(recipe, cfg, data, run_dir, device="cpu", amp=False)
    args.pop("model")
    return args


def run_clinlens(data: Path, recipe: Any, run_dir: Path) -> tuple[float, float, Any]:
    """(whole-call s, loop s, TrainResult) of ``ml.training.runner.train``."""
    from ml.training import runner

    run_dir.mkdir(parents=True, exist_ok=True)
    clock = LoopClock()

    def event(kind: str, **_: Any) -> None:
        if kind == "epoch_start":
            clock.epoch_start()
        elif kind == "batch":
            clock.batch_end()

    t = time.perf_counter()
    result = runner.train(data, recipe, run_dir, event=event)
    return time.perf_counter() - t, clock.total(), result


def run_plain(data: Path, recipe: Any, run_dir: Path) -> tuple[float, float]:
    """(whole-call s, loop s) of ``YOLO(cfg_yaml).train`` with the runner's arguments."""
    from ultralytics import YOLO

    run_dir.mkdir(parents=True, exist_ok=True)
    from ml.training.runner import scratch_config

    cfg = scratch_config(recipe.arch, run_dir)
    clock = LoopClock()
    t = time.perf_counter()
    model = YOLO(cfg, task="detect")
    model.add_callback("on_train_epoch_start", lambda _tr: clock.epoch_start())
    model.add_callback("on_train_batch_end", lambda _tr: clock.batch_end())
    with _quiet():
        model.train(**plain_args(recipe, cfg, data, run_dir))
    return time.perf_counter() - t, clock.total()


# --- part 2: evaluation -------------------------------------------------------------------


def make_eval_project(root: Path, n_images: int) -> Path:
    import tifffile

    from core.annotations import Box, builtin_label_set
    from core.store import NewImage, Project
    from tests.ml.conftest import TINY_CLASSES, make_phantom, random_boxes

    rng = np.random.default_rng(11)
    folder = root / "eval-project"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    items, boxes = [], []
    for i in range(n_images):
        bx = random_boxes(rng, EVAL_W, EVAL_H, 6)
        path = folder / "images" / f"e{i:04d}.tif"
        tifffile.imwrite(path, make_phantom(rng, EVAL_W, EVAL_H, bx))
        items.append(NewImage(path=str(path), width=EVAL_W, height=EVAL_H, bit_depth=16))
        boxes.append(bx)
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as project:
        ids = project.add_images(items)
        for image_id, bx in zip(ids, boxes, strict=True):
            project.add_boxes(
                image_id, [Box(b.x1, b.y1, b.x2, b.y2, label=TINY_CLASSES[b.cls]) for b in bx]
            )
            project.set_review_status(image_id, "done")
    return folder


def export_eval_8bit(project: Any, remap: Any, out: Path) -> Path:
    """The evaluation images as 8-bit PNGs (the pixels ClinLens' detector sees) + labels."""
    from core.formats.eightbit import write_png
    from core.formats.yolo import yolo_line
    from core.imaging import read
    from ml.detector.pixels import model_pixels
    from ml.training.dataset import TRUTH_STATUSES

    (out / "images" / "val").mkdir(parents=True, exist_ok=True)
    (out / "labels" / "val").mkdir(parents=True, exist_ok=True)
    boxes = project.boxes_by_image()
    for rec in project.images():
        arr = model_pixels(
            read(project.image_path(rec)),
            image_settings=project.filter_settings(rec.id),
            default_settings=project.default_filter_settings(),
        )
        stem = f"im{rec.id:06d}"
        write_png(arr, out / "images" / "val" / f"{stem}.png")
        lines = [
            yolo_line(cid, b.x1, b.y1, b.x2, b.y2, rec.width, rec.height)
            for b in boxes.get(rec.id, ())
            if b.status in TRUTH_STATUSES
            and (cid := remap.class_of(b.label, b.width, b.height)) is not None
        ]
        (out / "labels" / "val" / f"{stem}.txt").write_text(
            "".join(f"{ln}\n" for ln in lines), encoding="utf-8"
        )
    names = "\n".join(f'  {i}: "{n}"' for i, n in sorted(remap.names.items()))
    data = out / "data.yaml"
    data.write_text(
        f'path: "{out.as_posix()}"\ntrain: images/val\nval: images/val\nnames:\n{names}\n',
        encoding="utf-8",
    )
    return data


def timed_alternating(
    a: Callable[[], Any], b: Callable[[], Any], repeats: int, before: Callable[[], None]
) -> tuple[list[float], list[float], list[Any], list[Any]]:
    ta: list[float] = []
    tb: list[float] = []
    ra: list[Any] = []
    rb: list[Any] = []
    for r in range(repeats):
        order = ((a, ta, ra), (b, tb, rb)) if r % 2 == 0 else ((b, tb, rb), (a, ta, ra))
        for fn, times, results in order:
            before()
            t = time.perf_counter()
            results.append(fn())
            times.append(time.perf_counter() - t)
    return ta, tb, ra, rb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100, help="1500x1216 evaluation images")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each side, alternating")
    ap.add_argument("--epochs", type=int, default=4, help="training epochs per run")
    ap.add_argument("--train-images", type=int, default=24, help="reviewed training phantoms")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    ap.add_argument("--out", type=Path, help="also write the markdown here")
    args = ap.parse_args()
    os.environ["CLINLENS_TORCH_THREADS"] = str(args.threads)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ.setdefault("CLINLENS_DATA_DIR", str(tmp / "appdata"))
        from ml import offline

        offline.configure()
        import torch
        import ultralytics

        def threads() -> None:
            torch.set_num_threads(args.threads)  # ultralytics' predictor/validator resets it

        # --- part 1 ---
        data, recipe, remap, export_s = make_training_data(tmp, args.train_images, args.epochs)
        n_train = len(list((data.parent / "images" / "train").glob("*.png")))
        n_val = len(list((data.parent / "images" / "val").glob("*.png")))
        warm = replace(recipe, epochs=1)
        threads()
        run_clinlens(data, warm, tmp / "warm-a")
        threads()
        run_plain(data, warm, tmp / "warm-b")
        runs: dict[str, list[tuple[float, float]]] = {"clinlens": [], "plain": []}
        result = None
        for r in range(args.repeats):
            sides = ("clinlens", "plain") if r % 2 == 0 else ("plain", "clinlens")
            for side in sides:
                threads()
                run_dir = tmp / f"{side}-{r}"
                if side == "clinlens":
                    whole, loop, result = run_clinlens(data, recipe, run_dir)
                else:
                    whole, loop = run_plain(data, recipe, run_dir)
                runs[side].append((whole, loop))
        assert result is not None
        tiles = n_train * recipe.epochs

        # --- part 2 ---
        from core.store import Project
        from ml.detector.checkpoint import load_detector_bytes
        from ml.detector.predict import Detector
        from ml.detector.tiling import TilingSpec
        from ml.training import gate

        t = time.perf_counter()
        eval_dir = make_eval_project(tmp, args.images)
        make_s = time.perf_counter() - t
        weights = result.weights.read_bytes()
        with Project.open(eval_dir, read_only=True) as project:
            ids = [rec.id for rec in project.images()]
            t = time.perf_counter()
            val_data = export_eval_8bit(project, remap, tmp / "eval-8bit")
            export8_s = time.perf_counter() - t
            detector = Detector(
                load_detector_bytes(weights, "the benchmark model"),
                device="cpu",
                tiling=TilingSpec.from_dict(recipe.tiling()),
            )
            tiles_per_image = detector.predict_rgb8(np.zeros((EVAL_H, EVAL_W, 3), np.uint8)).tiles
            from ultralytics import YOLO

            from ml.training.runner import scratch_config

            yolo = YOLO(scratch_config(recipe.arch, tmp), task="detect")
            yolo.model = load_detector_bytes(weights, "the benchmark model").model.float()
            scores: list[Any] = []

            def ours() -> Any:
                score = gate.evaluate_detector(project, detector, ids, remap)
                scores.append(score)
                return score

            def theirs() -> Any:
                with _quiet():
                    return yolo.val(
                        data=str(val_data),
                        imgsz=1504,
                        batch=4,
                        conf=0.001,
                        iou=0.6,
                        device="cpu",
                        plots=False,
                        workers=0,
                        verbose=False,
                        project=str(tmp / "val-runs"),
                        name="val",
                        exist_ok=True,
                    )

            threads()
            theirs()  # warm-up: writes the labels cache, first-call costs
            t_ours, t_theirs, _, metrics = timed_alternating(ours, theirs, args.repeats, threads)
            # The same model fed 512-px crops at the same pixel scale (the xray preset's tile):
            # the per-tile cost, not the evaluation code, is what the 128-px tiles pay for.
            wide = Detector(
                load_detector_bytes(weights, "the benchmark model"),
                device="cpu",
                tiling=TilingSpec(tile=WIDE_TILE, mode="tiles"),
            )
            wide_tiles = wide.predict_rgb8(np.zeros((EVAL_H, EVAL_W, 3), np.uint8)).tiles
            t_wide: list[float] = []
            for _ in range(args.repeats):
                threads()
                t = time.perf_counter()
                gate.evaluate_detector(project, wide, ids, remap)
                t_wide.append(time.perf_counter() - t)
        map50 = float(metrics[-1].box.map50)
        ap50 = scores[-1].ap50

    # --- report ---
    def tiles_s(side: str, k: int) -> list[float]:
        return [tiles / run[k] for run in runs[side]]

    lines = [
        "### Training and evaluation (`benchmarks/training.py`)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
        f"CPUs, torch {torch.__version__} with {args.threads} threads, ultralytics "
        f"{ultralytics.__version__}, Python {platform.python_version()}, {platform.system()}. "
        f"Date {date.today().isoformat()}. Load average at the end: "
        f"{os.getloadavg()[0]:.1f}. Total {time.perf_counter() - started:.0f} s.",
        f"Command: `.venv/bin/python benchmarks/training.py --images {args.images} "
        f"--repeats {args.repeats} --epochs {args.epochs} --train-images {args.train_images}`",
        "",
        f"Training: {args.train_images} reviewed 16-bit {TRAIN_SIZE}-px phantoms -> "
        f"{n_train} training tiles of {TILE} px (with offline copies) + {n_val} validation "
        f"tiles; tiny YOLOv8 config (`TINY_YAML`), from scratch, {recipe.epochs} epochs, "
        f"imgsz {recipe.imgsz}, batch {recipe.batch}, workers 0, CPU, validation every "
        f"epoch. ClinLens = `ml.training.runner.train` in-process. {args.repeats} runs each, "
        "alternating order, after a 1-epoch warm-up of each.",
        "",
        "| what | ClinLens | plain ultralytics | overhead |",
        "|---|---:|---:|---:|",
    ]

    def row(name: str, ours_v: list[float], theirs_v: list[float], unit: str) -> str:
        a, b = statistics.median(ours_v), statistics.median(theirs_v)
        over = (b / a - 1) * 100 if unit == "tiles/s" else (a / b - 1) * 100
        spread = lambda v: f"{min(v):.1f}–{max(v):.1f}"  # noqa: E731
        return (
            f"| {name} | {a:.1f} {unit} ({spread(ours_v)}) | {b:.1f} {unit} "
            f"({spread(theirs_v)}) | {over:+.1f} % |"
        )

    loop_over = (
        statistics.median(tiles_s("plain", 1)) / statistics.median(tiles_s("clinlens", 1)) - 1
    ) * 100
    whole_over = (
        statistics.median(tiles_s("plain", 0)) / statistics.median(tiles_s("clinlens", 0)) - 1
    ) * 100
    lines += [
        row(
            "training loop (tiles/s, median, range)",
            tiles_s("clinlens", 1),
            tiles_s("plain", 1),
            "tiles/s",
        ),
        row(
            "whole train call incl. set-up, validation, checkpoints",
            tiles_s("clinlens", 0),
            tiles_s("plain", 0),
            "tiles/s",
        ),
        f"| ClinLens' export (render, tile, augment, write {n_train + n_val} PNGs), once "
        f"| {export_s:.2f} s | — | |",
        "",
        f"Overhead = plain tiles/s ÷ ClinLens tiles/s − 1 (target ≤ {TARGET_OVERHEAD:.0f} %): "
        f"training loop {loop_over:+.1f} %, whole call {whole_over:+.1f} %.",
        "",
        f"Evaluation: {args.images} reviewed 1500 × 1216 16-bit phantoms (6 objects each), "
        f"the model trained above; ClinLens tiles each image into {tiles_per_image} tiles "
        f"of {TILE} px. {args.repeats} runs each, alternating, after an untimed `val()`.",
        "",
        "| what | seconds (median) | min | per image |",
        "|---|---:|---:|---:|",
        f"| ClinLens `gate.evaluate_detector` (read 16-bit, render, tiled detect, merge, "
        f"metrics) | {statistics.median(t_ours):.1f} | {min(t_ours):.1f} | "
        f"{statistics.median(t_ours) / args.images * 1000:.0f} ms |",
        f"| the same, fed {wide_tiles} crops of {WIDE_TILE} px at the same scale | "
        f"{statistics.median(t_wide):.1f} | {min(t_wide):.1f} | "
        f"{statistics.median(t_wide) / args.images * 1000:.0f} ms |",
        f"| ultralytics `val()` on the 8-bit PNGs, imgsz 1504, batch 4 | "
        f"{statistics.median(t_theirs):.1f} | {min(t_theirs):.1f} | "
        f"{statistics.median(t_theirs) / args.images * 1000:.0f} ms |",
        f"| (set-up, not timed above: write the 16-bit project / export 8-bit PNGs) | "
        f"{make_s:.1f} / {export8_s:.1f} | | |",
        "",
        f"Ratio ClinLens / ultralytics: "
        f"{statistics.median(t_ours) / statistics.median(t_theirs):.2f} with the model's "
        f"{TILE}-px tiles, {statistics.median(t_wide) / statistics.median(t_theirs):.2f} "
        f"with {WIDE_TILE}-px crops ({tiles_per_image} vs {wide_tiles} forward inputs per "
        f"image; ultralytics feeds the whole image once). "
        f"AP50 (a barely trained model, for the record, not a comparison: different "
        f"inputs and interpolation): ClinLens {ap50 if ap50 is None else round(ap50, 3)}, "
        f"ultralytics mAP50 {map50:.3f}.",
    ]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

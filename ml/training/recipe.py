"""Training recipes: the ``xray`` and ``acne`` presets, and the class remap used at training.

A :class:`Recipe` is plain data (JSON round trip): it travels to the training worker in
the ``train`` request and is stored with the model version it made.

``xray`` (the X-ray study): random positive tiles (``tiles`` per image of ``tile_size``
px, each holding at least one box; a reviewed image without boxes gives one random tile
with no labels, a negative), Adam at lr0 0.001, batch 8, validation every other epoch,
the best epoch on validation kept, early stopping after ``patience`` epochs. Augmentation:
horizontal flip p=0.5 by ultralytics (``fliplr``); Gaussian blur and random brightness /
contrast, each p=0.5, applied offline (``augment_copies``: each training tile gets that
many extra, randomly augmented copies; see ``dataset.augment``); no Gaussian noise, no
mosaic, no colour, scale or translation jitter. Ultralytics validates every epoch unless
told not to: the runner switches its ``val`` flag off on odd epochs (``val_every``).

``acne``: whole photos letterboxed to 640 px, lesion classes as labelled (or merged with
``remap="agnostic"``), ultralytics' default augmentation minus mosaic.

Class remaps (``remap``): ``none``, ``agnostic``, ``sizes`` or a map file
(``core.formats.remap``, as exports use them), ``binary`` (X-ray: clothing vs anomaly,
see :data:`XRAY_CLOTHING`) and ``score`` (groups of labels by the per-class F1 of the
active version's last held-out evaluation: > 0.75, 0.5-0.75, 0.25-0.5, < 0.25).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from core.annotations import LabelSet
from core.errors import ClinLensError
from core.formats.remap import ClassRemap, make_remap

PRESETS = ("xray", "acne")
REMAPS = ("none", "agnostic", "sizes", "binary", "score")
# The X-ray study's labels that are clothing (anything else is an anomaly to report).
# resources/label_sets.yaml does not mark them; this is the study's grouping.
XRAY_CLOTHING = frozenset(
    {
        "zipper",
        "zipper head",
        "shoes",
        "holding shoes",
        "bra",
        "belt buckle",
        "shirt button",
        "pants button",
    }
)
BINARY_NAMES = ("clothing", "anomaly")
SCORE_GROUPS = ((0.75, "f1 above 0.75"), (0.5, "f1 0.5-0.75"), (0.25, "f1 0.25-0.5"))
SCORE_LOWEST = "f1 below 0.25"


@dataclass(frozen=True)
class Recipe:
    preset: str = "xray"
    epochs: int = 50
    hours: float = 0.0  # > 0: a wall-time budget (ultralytics' ``time``), epochs fit to it
    imgsz: int = 512
    batch: int = 8
    tiles: int = 4  # random positive tiles per image; 0 = whole images
    tile_size: int = 512
    remap: str = "none"
    start: str = "active"  # active | scratch | NAME:V
    arch: str = "yolov8n.yaml"  # model config for a start from scratch (name or YAML file)
    device: str = "auto"
    seed: int = 0
    optimizer: str = "Adam"
    lr0: float = 0.001
    patience: int = 10
    val_every: int = 2
    val_fraction: float = 0.15  # of the training images, for validation / early stopping
    augment_copies: int = 1  # offline augmented copies per training tile (blur, contrast)
    fliplr: float = 0.5
    blur_p: float = 0.5
    contrast_p: float = 0.5
    mosaic: float = 0.0
    workers: int = 0
    min_images: int = 4  # reviewed training images needed
    min_boxes: int = 4  # reviewed boxes needed (in the training images, after the remap)
    extra_args: dict[str, Any] = field(default_factory=dict)  # more ultralytics arguments

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def tiled(self) -> bool:
        return self.tiles > 0

    def tiling(self) -> dict[str, Any]:
        """The ``TilingSpec`` the detector must use for this model (stored with it)."""
        from ml.detector.tiling import TilingSpec

        if self.tiled:
            return TilingSpec(tile=self.tile_size, mode="tiles").to_dict()
        return TilingSpec(tile=self.imgsz, mode="whole").to_dict()

    def check(self) -> None:
        if self.preset not in PRESETS:
            raise ClinLensError(f"unknown preset '{self.preset}': use {' or '.join(PRESETS)}")
        if not 1 <= self.epochs <= 10000:
            raise ClinLensError(f"--epochs must be between 1 and 10000, not {self.epochs}")
        for name, value in (("--imgsz", self.imgsz), ("--tile-size", self.tile_size)):
            if value < 32 or value % 32:
                raise ClinLensError(f"{name} must be a multiple of 32 and at least 32")
        if not 1 <= self.batch <= 1024:
            raise ClinLensError(f"--batch must be between 1 and 1024, not {self.batch}")
        if not 0 <= self.tiles <= 1000:
            raise ClinLensError(f"--tiles must be between 0 and 1000, not {self.tiles}")
        if not 0 <= self.hours <= 1000:
            raise ClinLensError(f"--hours must be between 0 and 1000, not {self.hours}")
        if self.val_every < 1:
            raise ClinLensError("validation must run at least every epoch")


def preset(name: str, **overrides: Any) -> Recipe:
    """The preset's recipe with ``overrides`` (None values are ignored)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if name == "xray":
        base = Recipe(preset="xray")
    elif name == "acne":
        base = Recipe(
            preset="acne",
            imgsz=640,
            tiles=0,
            tile_size=640,
            optimizer="auto",
            lr0=0.01,
            val_every=1,
            augment_copies=0,
            blur_p=0.0,
            contrast_p=0.0,
            extra_args={"hsv_h": 0.015, "hsv_s": 0.4, "hsv_v": 0.3, "scale": 0.3},
        )
    else:
        raise ClinLensError(f"unknown preset '{name}': use {' or '.join(PRESETS)}")
    recipe = replace(base, **given)
    if "tile_size" in given and "imgsz" not in given and recipe.tiled:
        recipe = replace(recipe, imgsz=recipe.tile_size)
    recipe.check()
    return recipe


# --- class remaps ---------------------------------------------------------------------------


def remap_to_dict(remap: ClassRemap) -> dict[str, Any]:
    return {
        "mode": remap.mode,
        "names": {str(k): v for k, v in remap.names.items()},
        "by_label": dict(remap.by_label),
        "small_max_area": remap.small_max_area,
        "medium_max_area": remap.medium_max_area,
    }


def remap_from_dict(data: dict[str, Any]) -> ClassRemap:
    return ClassRemap(
        mode=str(data["mode"]),
        names={int(k): str(v) for k, v in dict(data["names"]).items()},
        by_label={
            str(k): (None if v is None else int(v)) for k, v in dict(data["by_label"]).items()
        },
        small_max_area=float(data.get("small_max_area", 32.0 * 32.0)),
        medium_max_area=float(data.get("medium_max_area", 96.0 * 96.0)),
    )


def training_remap(
    spec: str, label_set: LabelSet, *, per_class_f1: dict[str, float | None] | None = None
) -> ClassRemap:
    """The remap named by ``spec`` (see the module docstring) over the project's labels."""
    names = [lab.name for lab in sorted(label_set.labels, key=lambda lab: lab.id)]
    if spec == "binary":
        by_label: dict[str, int | None] = {n: 0 if n in XRAY_CLOTHING else 1 for n in names}
        return ClassRemap("map", dict(enumerate(BINARY_NAMES)), by_label)
    if spec == "score":
        if not per_class_f1:
            raise ClinLensError(
                "--remap score groups labels by the per-class F1 of the last evaluation, and "
                "the active model has none yet: train or evaluate one first"
            )
        return _score_remap(names, per_class_f1)
    if spec in ("none", "agnostic", "sizes") or Path(spec).suffix.lower() in (
        ".yaml",
        ".yml",
        ".json",
    ):
        return make_remap(spec, label_set)
    raise ClinLensError(
        f"--remap must be one of {', '.join(REMAPS)} or a map file (.yaml/.json), not '{spec}'"
    )


def _score_remap(names: list[str], f1: dict[str, float | None]) -> ClassRemap:
    def group(label: str) -> str:
        value = f1.get(label)
        if value is None or value < 0.25:
            return SCORE_LOWEST
        if value > 0.75:
            return SCORE_GROUPS[0][1]
        return SCORE_GROUPS[1][1] if value >= 0.5 else SCORE_GROUPS[2][1]

    order = [name for _, name in SCORE_GROUPS] + [SCORE_LOWEST]
    groups = {n: group(n) for n in names}
    used = [g for g in order if g in groups.values()]
    ids = {g: i for i, g in enumerate(used)}
    return ClassRemap("map", {i: g for g, i in ids.items()}, {n: ids[g] for n, g in groups.items()})


def recipe_json(recipe: Recipe) -> str:
    return json.dumps(recipe.to_dict(), sort_keys=True)

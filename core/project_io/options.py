"""What an export is asked to do: ``ExportOptions``, and the check that they make sense.

Kept apart from the exporter so the per-image writers can read the options they are given
without importing the module that drives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import ClinLensError
from core.formats.tiling import MIN_FRACTION

EXPORT_FORMATS = ("voc", "yolo", "coco")
# What an export holds unless asked otherwise: reviewed images only. An unreviewed image's
# missing boxes are not "no object here", and a trainer reads them so.
REVIEWED_STATUSES = ("done",)
MAX_TILES = 1000  # random tiles per image


@dataclass(frozen=True)
class ExportOptions:
    fmt: str  # "voc" | "yolo" | "coco"
    out: Path
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    remap: str = "none"  # none | agnostic | sizes | path of a map file
    tiles: int = 0  # random positive tiles per image (YOLO); 0 = whole images
    tile_grid: bool = False  # fixed grid instead of random tiles
    tile_size: int = 640
    tile_overlap: float = 0.2
    tile_min_fraction: float = MIN_FRACTION
    images: bool = True  # False: annotations only (--no-images)
    # Review statuses to export (None = all). Images not done are exported only when asked
    # for here, then listed in unreviewed.lst; YOLO leaves out those without boxes.
    statuses: tuple[str, ...] | None = REVIEWED_STATUSES
    include_suggested: bool = False  # also export unreviewed model suggestions
    # Name images by opaque ids (img-<hash>) instead of their file names, which can carry
    # a patient's name. None: yes when ``out`` lies outside the project folder.
    pseudonymise: bool | None = None
    # Whose boxes: "all" (every reader's, as before several readers), "consensus" (the
    # boxes a majority of the image's readers drew, averaged; core.agreement.boxes) or
    # one reader's name.
    boxes: str = "all"


def check_options(o: ExportOptions) -> None:
    """Refuse (ClinLensError) options no export can honour, before anything is written."""
    if o.fmt not in EXPORT_FORMATS:
        raise ClinLensError(f"export format must be voc, yolo or coco, not '{o.fmt}'")
    tiling = o.tiles > 0 or o.tile_grid
    if tiling and o.fmt != "yolo":
        raise ClinLensError("tiling is available for YOLO exports only")
    if tiling and not o.images:
        raise ClinLensError("tiles are cut from the images: drop --no-images to tile")
    if tiling and o.tile_size < 32:
        raise ClinLensError("--tile-size must be at least 32 pixels")
    if not 0 <= o.tiles <= MAX_TILES:
        # Each tile costs up to ten draws; a typo like 100000 would run for hours.
        raise ClinLensError(f"--tiles must be between 1 and {MAX_TILES} tiles per image")
    if not 0.0 <= o.tile_overlap < 0.95 or not 0.0 < o.tile_min_fraction <= 1.0:
        raise ClinLensError("tile overlap must be in [0, 0.95) and the kept fraction in (0, 1]")

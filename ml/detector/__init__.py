"""Box suggestions from an ultralytics YOLO detector: tiling, merging, class mapping.

Public API: ``Detector`` (``from_registry`` / ``from_file``), ``Detection``, ``Prediction``,
``TilingSpec``, ``map_classes``/``ClassMap``, ``merge_tile_detections``. Importing this
package does not import torch; loading a model does.
"""

from typing import Any

from ml.detector.classmap import ClassMap, map_classes
from ml.detector.merge import merge_tile_detections
from ml.detector.tiling import Tile, TilePlan, TilingSpec, plan_tiles

__all__ = [
    "ClassMap",
    "Detection",
    "Detector",
    "Prediction",
    "Tile",
    "TilePlan",
    "TilingSpec",
    "map_classes",
    "merge_tile_detections",
    "plan_tiles",
]


def __getattr__(name: str) -> Any:
    # Lazy so that `import ml.detector` stays light (no torch) for the GUI and CLI parsers.
    if name in ("Detector", "Detection", "Prediction"):
        from ml.detector import predict

        return getattr(predict, name)
    raise AttributeError(name)

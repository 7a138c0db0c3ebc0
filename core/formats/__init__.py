"""Annotation file formats: PASCAL VOC, YOLO (ultralytics), plain-text lists, grades CSV,
plus the export helpers (split, class remapping, tiling, file naming, 8-bit pixels).

Pure functions over files and dataclasses; no store access here (``core.project_io`` glues
formats to a ``Project``). Every reader raises ``FormatError`` naming the file and line.
"""

from core.formats.common import ParsedAnnotation, ParsedBox, validate_boxes
from core.formats.grades_csv import GRADES_FILE, GradeRow, grades_csv_text, read_grades_csv
from core.formats.remap import ClassRemap, make_remap
from core.formats.split import SPLITS, assign_splits, parse_split, stratum_key
from core.formats.tiling import Tile, TileBox, grid_tiles, random_positive_tiles
from core.formats.txtlist import read_list_file
from core.formats.voc import (
    VocObject,
    from_voc_pixels,
    read_voc,
    read_voc_bytes,
    to_voc_pixels,
    voc_xml,
)
from core.formats.yolo import (
    data_yaml_text,
    read_class_names,
    read_yolo_labels,
    rows_to_annotation,
    yolo_line,
)
from core.jobs import CancelToken, ProgressFn, check_cancel

__all__ = [
    "GRADES_FILE",
    "SPLITS",
    "CancelToken",
    "ClassRemap",
    "GradeRow",
    "ParsedAnnotation",
    "ParsedBox",
    "ProgressFn",
    "Tile",
    "TileBox",
    "VocObject",
    "assign_splits",
    "check_cancel",
    "data_yaml_text",
    "from_voc_pixels",
    "grades_csv_text",
    "grid_tiles",
    "make_remap",
    "parse_split",
    "random_positive_tiles",
    "read_class_names",
    "read_grades_csv",
    "read_list_file",
    "read_voc",
    "read_voc_bytes",
    "read_yolo_labels",
    "rows_to_annotation",
    "stratum_key",
    "to_voc_pixels",
    "validate_boxes",
    "voc_xml",
    "yolo_line",
]

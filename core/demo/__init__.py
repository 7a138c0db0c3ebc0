"""Demo data: synthetic 16-bit X-ray phantoms with ground truth, and a bundled face photo.

Public API:

- ``make_phantom(seed, width, height, anomalies=None) -> (pixels uint16, list[Box])``
- ``generate_phantom(...) -> Phantom`` (pixels, boxes, bits stored, spacing, window, view)
- ``anomaly_labels()``: the ``xray`` label names the phantom can draw; ``VIEWS``
- ``write_dicom(path, phantom, ...)``, ``write_tiff(path, phantom)``
- ``write_ground_truth(...)``, ``read_ground_truth(path) -> GroundTruth``
- ``make_demo_files(out_dir, n_xrays=6, seed=0) -> list[DemoItem]``
- ``ground_truth_boxes(image_path) -> list[Box]`` for a file written by ``make_demo_files``
- ``face_photo_path()``: the bundled public-domain face photo
"""

from core.demo.face import face_photo_path
from core.demo.files import DemoItem, ground_truth_boxes, ground_truth_path, make_demo_files
from core.demo.phantom import (
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    VIEWS,
    Phantom,
    anomaly_labels,
    generate_phantom,
    make_phantom,
)
from core.demo.writers import (
    GroundTruth,
    read_ground_truth,
    write_dicom,
    write_ground_truth,
    write_tiff,
)

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_WIDTH",
    "VIEWS",
    "DemoItem",
    "GroundTruth",
    "Phantom",
    "anomaly_labels",
    "face_photo_path",
    "generate_phantom",
    "ground_truth_boxes",
    "ground_truth_path",
    "make_demo_files",
    "make_phantom",
    "read_ground_truth",
    "write_dicom",
    "write_ground_truth",
    "write_tiff",
]

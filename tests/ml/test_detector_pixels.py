"""The detector sees, bit for bit, the 8-bit pixels a YOLO export writes for training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import tifffile

from core.annotations import builtin_label_set
from core.formats.eightbit import export_array
from core.imaging import read
from core.store import NewImage, Project
from ml.detector.classmap import map_classes
from ml.detector.tiling import to_rgb8
from tests.ml.conftest import make_blob_detector, make_phantom

SETTINGS = [
    (None, None),
    ({"gamma": 2.0}, None),  # the image's own display settings
    (None, {"invert": True}),  # the project's default only
    ({"gamma": 0.5}, {"invert": True}),  # the image's win over the project's
]


def _files(folder: Path) -> dict[str, Path]:
    from pydicom.data import get_testdata_file

    rng = np.random.default_rng(0)
    files = {
        "tiff16": folder / "xray.tif",
        "png8_grey": folder / "grey.png",
        "png8_rgb": folder / "photo.png",
        "dicom": Path(str(get_testdata_file("CT_small.dcm"))),
    }
    tifffile.imwrite(files["tiff16"], make_phantom(rng, 96, 64))
    cv2.imwrite(str(files["png8_grey"]), rng.integers(30, 200, (64, 96)).astype(np.uint8))
    cv2.imwrite(str(files["png8_rgb"]), rng.integers(30, 200, (64, 96, 3)).astype(np.uint8))
    return files


@pytest.mark.parametrize(("image_settings", "project_settings"), SETTINGS)
@pytest.mark.parametrize("kind", ["tiff16", "png8_grey", "png8_rgb", "dicom"])
def test_detector_pixels_equal_the_training_export(
    tmp_path: Path,
    kind: str,
    image_settings: dict[str, Any] | None,
    project_settings: dict[str, Any] | None,
) -> None:
    path = _files(tmp_path)[kind]
    exported = to_rgb8(export_array(path, image_settings, project_settings))
    seen = make_blob_detector().render(read(path), project_settings, image_settings=image_settings)
    assert seen.dtype == np.uint8 and seen.shape == exported.shape
    np.testing.assert_array_equal(seen, exported)


def test_model_recorded_settings_apply_to_rendered_images_only(tmp_path: Path) -> None:
    from core.filters import FilterSettings, render

    files = _files(tmp_path)
    det = make_blob_detector(filter_settings={"invert": True})
    raw16 = read(files["tiff16"])
    seen = det.render(raw16, {"gamma": 2.0}, image_settings={"gamma": 0.5})
    np.testing.assert_array_equal(seen[:, :, 0], render(raw16, FilterSettings(invert=True)))
    # An 8-bit photo is exported as it is, whatever the model recorded for 16-bit images.
    photo = read(files["png8_rgb"])
    np.testing.assert_array_equal(det.render(photo), photo.pixels)


def test_suggesting_renders_with_the_images_own_settings(tmp_path: Path) -> None:
    files = _files(tmp_path)
    folder = tmp_path / "proj"
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as project:
        (image_id,) = project.add_images(
            [NewImage(path=str(files["tiff16"]), width=96, height=64, bit_depth=16)]
        )
        project.set_default_filter_settings({"invert": True})
        project.set_filter_settings(image_id, {"gamma": 2.0})
        det = make_blob_detector(
            class_map=map_classes({0: "key"}, project.label_set()), model_ref="blob:1"
        )
        seen: list[np.ndarray] = []
        real = det.predict_rgb8

        def spy(image: np.ndarray, **kwargs: Any) -> Any:
            seen.append(image)
            return real(image, **kwargs)

        det.predict_rgb8 = spy  # type: ignore[method-assign]
        from ml.suggest import suggest_image

        suggest_image(project, image_id, det)
        expected = to_rgb8(export_array(files["tiff16"], {"gamma": 2.0}, {"invert": True}))
    (image,) = seen
    np.testing.assert_array_equal(image, expected)


@pytest.mark.parametrize("sampling", ["420", "444"])
def test_a_copied_jpeg_decodes_to_the_pixels_ultralytics_trains_on(
    tmp_path: Path, sampling: str
) -> None:
    # The export copies 8-bit JPEGs as they are; ultralytics decodes them with OpenCV,
    # ClinLens' reader with Pillow. Both must give the same pixels.
    rng = np.random.default_rng(5)
    img = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3)).astype(np.uint8), (0, 0), 2)
    factor = getattr(cv2, f"IMWRITE_JPEG_SAMPLING_FACTOR_{sampling}")
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor])
    training = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(make_blob_detector().render(read(path)), training)

"""The bundled real face photo of the demo (see resources/demo/ATTRIBUTION.md).

It is scikit-image's ``astronaut`` image (NASA, public domain), copied once from the installed
package into ``resources/demo/``: scikit-image is only a development dependency, so the app
always uses the bundled copy and never needs scikit-image, let alone the network.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ClinLensError
from resources import resource_path

FACE_PHOTO_NAME = "face_astronaut.jpg"
JPEG_QUALITY = 90


def face_photo_path() -> Path:
    """Path of the bundled face photo; a clear error when an installation lacks it."""
    path = resource_path("demo", FACE_PHOTO_NAME)
    if not path.is_file():
        raise ClinLensError(
            f"the demo face photo {FACE_PHOTO_NAME} is missing from this installation; "
            "reinstall ClinLens"
        )
    return path


def rebuild_face_photo(dest: str | Path | None = None) -> Path:
    """Re-create the bundled copy from scikit-image (a developer tool: needs scikit-image).

    ``python -c "from core.demo.face import rebuild_face_photo; rebuild_face_photo()"``
    """
    from PIL import Image
    from skimage import data  # development dependency only

    target = Path(dest) if dest is not None else resource_path("demo", FACE_PHOTO_NAME)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Baseline JPEG, no EXIF: the file holds nothing but the picture.
    Image.fromarray(data.astronaut()).save(target, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return target

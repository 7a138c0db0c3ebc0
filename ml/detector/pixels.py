"""The 8-bit pixels a detector sees: bit for bit those a YOLO export writes for training.

ARCHITECTURE "Pixels and coordinates": a model must see at suggestion time the pixels it
was trained on. Training data comes from ``core.formats.eightbit.export_array``, so this
follows the same rules with the same helpers (``needs_rendering``, ``settings_for``):

- an 8-bit photo or greyscale PNG/JPEG keeps its own pixels (EXIF orientation applied by
  the reader); no display setting changes it;
- a 16-bit or DICOM image is rendered with the image's recorded ``FilterSettings``, else
  the project's default, else the filters' default for that image;
- a model that recorded one dataset-wide ``FilterSettings`` at training renders every
  image that needs rendering with those instead.

``export_array`` reads the file itself; this takes the ``RawImage`` the caller already
has, so the suggestion path decodes each image once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Settings = Any  # a FilterSettings, its dict form, or None


def _as_dict(settings: Settings) -> dict[str, Any] | None:
    if settings is None or isinstance(settings, dict):
        return settings
    return dict(settings.to_dict())


def model_pixels(
    raw: Any,
    *,
    model_settings: Settings = None,
    image_settings: Settings = None,
    default_settings: Settings = None,
) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) pixels of ``raw`` as the training export writes them."""
    from core.filters import FilterSettings, render
    from core.formats.eightbit import needs_rendering, settings_for

    if (
        not needs_rendering(int(raw.bits_stored), raw.source_format)
        and raw.pixels.dtype == np.uint8
    ):
        return np.asarray(raw.pixels)
    model = _as_dict(model_settings)
    if model:
        return render(raw, FilterSettings.from_dict(model))
    return render(raw, settings_for(raw, _as_dict(image_settings), _as_dict(default_settings)))

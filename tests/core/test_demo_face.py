"""The bundled face photo is scikit-image's public-domain astronaut, and runs without it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.demo import face_photo_path, make_demo_files
from resources import resource_path


def test_bundled_face_photo_is_a_small_512px_rgb_jpeg() -> None:
    path = face_photo_path()
    assert path.stat().st_size < 300_000
    with Image.open(path) as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (512, 512))
        assert not im.getexif()  # nothing but the picture


def test_bundled_face_photo_matches_scikit_image_astronaut() -> None:
    """Its origin is verifiable: the copy is scikit-image's image, re-encoded (PSNR > 30 dB)."""
    data = pytest.importorskip("skimage.data")
    original = data.astronaut().astype(np.float64)
    with Image.open(face_photo_path()) as im:
        copy = np.asarray(im, dtype=np.float64)
    mse = float(np.mean((copy - original) ** 2))
    psnr = 10.0 * np.log10(255.0**2 / mse)
    assert psnr > 30.0
    # ...and not just any photo: a different picture scores far lower.
    other = data.chelsea()[:512, :451].astype(np.float64)
    assert 10.0 * np.log10(255.0**2 / np.mean((copy[:300, :451] - other[:300]) ** 2)) < 20.0


def test_attribution_names_source_and_public_domain_status() -> None:
    text = resource_path("demo", "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "face_astronaut.jpg" in text
    assert "scikit-image" in text and "public domain" in text and "NASA" in text


def test_demo_files_do_not_need_scikit_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "skimage", None)  # any import of it now fails
    items = make_demo_files(tmp_path, n_xrays=0)
    assert [it.kind for it in items] == ["photo"]
    assert items[0].path.read_bytes() == face_photo_path().read_bytes()

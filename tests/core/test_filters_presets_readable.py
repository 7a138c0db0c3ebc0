"""Issue 17 #2: every display preset gives a readable picture on every demo image.

"Readable": inside the body (the pixels above Otsu's threshold of the automatic view,
found with scikit-image, not with ClinLens's own mask) the picture keeps a spread of grey
levels and few saturated pixels. The soft-tissue preset on the thin full-body DX used to
window the air (W 114 / L 410) and turn the whole body white."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.filters import render
from core.filters.presets import PRESETS
from core.imaging import read

SIZE = (240, 300)  # small phantoms: the same anatomy, a fraction of the time


@pytest.fixture(scope="module")
def demo_images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from core.demo import make_demo_files

    out = tmp_path_factory.mktemp("demo")
    return [item.path for item in make_demo_files(out, n_xrays=6, size=SIZE)]


def _grey(img: np.ndarray) -> np.ndarray:
    return img if img.ndim == 2 else img.mean(axis=2)


_BODIES: dict[Path, np.ndarray] = {}


def _body(path: Path) -> np.ndarray:
    if path not in _BODIES:
        _BODIES[path] = _body_mask(path)
    return _BODIES[path]


def _body_mask(path: Path) -> np.ndarray:
    from skimage.filters import threshold_otsu

    raw = read(path)
    auto = _grey(render(raw, PRESETS["auto"], 256).astype(np.float64))
    if raw.is_color:
        return np.ones(auto.shape, bool)
    return auto > threshold_otsu(auto)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_readable_on_every_demo_image(demo_images: list[Path], name: str) -> None:
    for path in demo_images:
        raw = read(path)
        inside = _grey(render(raw, PRESETS[name], 256).astype(np.float64))[_body(path)]
        saturated = float(((inside <= 2) | (inside >= 253)).mean())
        where = f"{name} on {path.name}"
        assert saturated < 0.3, f"{where}: {saturated:.0%} of the body saturated"
        assert inside.std() > 20, f"{where}: body std {inside.std():.1f}"
        assert len(np.unique(np.round(inside))) >= 64, f"{where}: too few grey levels"
        assert 30 < inside.mean() < 225, f"{where}: body mean {inside.mean():.0f}"


def test_soft_tissue_on_the_full_body_dx_windows_the_body_not_the_air(
    demo_images: list[Path],
) -> None:
    from core.filters.voi import resolve_window, value_range

    raw = read(next(p for p in demo_images if "full_body" in p.name))
    _centre, width = resolve_window(raw, PRESETS["soft_tissue"])
    lo, hi = value_range(raw)
    assert width > 0.2 * (hi - lo)  # it was W 114 of a 286..10789 range


def test_otsu_threshold_matches_scikit_image() -> None:
    from skimage.filters import threshold_otsu

    from core.filters.voi import otsu_threshold

    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(400, 30, 5000), rng.normal(3000, 800, 2000)])
    ours, theirs = otsu_threshold(values), threshold_otsu(values, nbins=256)
    assert abs(ours - theirs) < (values.max() - values.min()) / 256 + 1e-9


def test_an_image_without_air_keeps_whole_image_percentiles(demo_images: list[Path]) -> None:
    import dataclasses

    from core.filters.voi import body_values

    raw = read(next(p for p in demo_images if "full_body" in p.name))
    assert body_values(raw) is not None
    h, w = raw.pixels.shape
    rng = np.random.default_rng(1)
    tissue = (rng.normal(3000, 600, (h, w))).clip(0, 16383).astype(np.uint16)
    crop = dataclasses.replace(raw, pixels=tissue)
    assert body_values(crop) is None

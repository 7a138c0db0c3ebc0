"""``default_settings(raw)``: what a radiologist expects to see first, made concrete."""

from __future__ import annotations

from core.filters.settings import FilterSettings
from core.filters.voi import Window, is_color, resolve_voi
from core.imaging.raw import RawImage


def default_settings(raw: RawImage) -> FilterSettings:
    """Settings that render exactly like ``FilterSettings()`` for this image, with the window
    filled in (file VOI window, else robust percentiles) so sliders can start from it.

    Photos: no windowing at all. A VOI LUT Sequence is not a window, so the window stays
    None there (the LUT keeps applying)."""
    base = FilterSettings(preset="auto")
    if is_color(raw):
        return base
    voi = resolve_voi(raw, base)
    if isinstance(voi, Window):
        return base.replace(window_center=voi.center, window_width=voi.width)
    return base

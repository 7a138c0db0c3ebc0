"""Display pipeline: full-bit-depth ``RawImage`` -> 8-bit view, as pure functions.

Public API (other packages import only these names):

- ``FilterSettings`` (frozen, JSON round trip), ``FilterSettingsError``
- ``render(raw, settings, out_size=None) -> np.ndarray`` uint8 (h, w) or (h, w, 3)
- ``PRESETS``, ``preset(name)``, ``default_settings(raw)``
- ``histogram(raw, bins=256)``, ``resolve_window(raw, settings)``, ``voi_options(raw)``,
  ``preview_shape(height, width, out_size)``
"""

from core.filters.defaults import default_settings
from core.filters.presets import PRESETS, preset
from core.filters.render import preview_shape, render
from core.filters.settings import FilterSettings, FilterSettingsError
from core.filters.voi import histogram, resolve_window, voi_options

__all__ = [
    "PRESETS",
    "FilterSettings",
    "FilterSettingsError",
    "default_settings",
    "histogram",
    "preset",
    "preview_shape",
    "render",
    "resolve_window",
    "voi_options",
]

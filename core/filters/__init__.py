"""Display pipeline: full-bit-depth ``RawImage`` -> 8-bit view, as pure functions.

Public API (other packages import only these names):

- ``FilterSettings`` (frozen, JSON round trip), ``FilterSettingsError``
- ``render(raw, settings, out_size=None) -> np.ndarray`` uint8 (h, w) or (h, w, 3)
- ``PRESETS``, ``preset(name)``, ``default_settings(raw)``
- ``histogram(raw, bins=256)``, ``resolve_window(raw, settings)``, ``voi_options(raw)``,
  ``preview_shape(height, width, out_size)``
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.filters.defaults import default_settings
    from core.filters.presets import PRESETS, preset
    from core.filters.render import preview_shape, render
    from core.filters.settings import FilterSettings, FilterSettingsError
    from core.filters.voi import histogram, resolve_window, voi_options

# Loaded on first use (PEP 562): the filter panel reads PRESETS while the window is built,
# and the renderer (OpenCV) is first needed by the loader thread, after the window shows.
_WHERE = {
    "default_settings": "defaults",
    "PRESETS": "presets",
    "preset": "presets",
    "preview_shape": "render",
    "render": "render",
    "FilterSettings": "settings",
    "FilterSettingsError": "settings",
    "histogram": "voi",
    "resolve_window": "voi",
    "voi_options": "voi",
}


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


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

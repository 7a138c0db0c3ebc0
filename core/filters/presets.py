"""Named starting points for the display (Auto, Bone, Soft tissue, Metal/implant, Face photo).

A preset is an ordinary ``FilterSettings``; ``preset`` records where it came from. Presets
must fit every image, so their windows are relative (percentiles counted in display order)
except on CT, where ``hu_window`` gives the classic Hounsfield windows. The X-ray presets
count their percentiles inside the body (``norm_region="body"``): on a thin full-body DX
most pixels are air, and percentiles over the whole image would window the air and turn
the body white. On a photo they leave the window alone (photos are not windowed).
"""

from __future__ import annotations

from types import MappingProxyType

from core.filters.settings import FilterSettings, FilterSettingsError

PRESETS: MappingProxyType[str, FilterSettings] = MappingProxyType(
    {
        # The file's own VOI window (else robust 0.5/99.5 % percentiles), nothing else.
        "auto": FilterSettings(preset="auto"),
        # Wide window over nearly all values, bright end spread out (gamma < 1 gives the
        # highlights more of the grey scale), mild CLAHE for trabecular detail. CT: W2000/L500.
        "bone": FilterSettings(
            normalise="percentile",
            norm_low_pct=0.2,
            norm_high_pct=99.8,
            hu_window=(500.0, 2000.0),
            gamma=0.8,
            clahe=True,
            clahe_clip=1.5,
            norm_region="body",
            preset="bone",
        ),
        # Narrower window on the lower/middle part of the display range, dropping the bright
        # bone tail so soft tissue gets the contrast. CT: the abdomen window W400/L40.
        "soft_tissue": FilterSettings(
            normalise="percentile",
            norm_low_pct=2.0,
            norm_high_pct=85.0,
            hu_window=(40.0, 400.0),
            gamma=1.1,
            norm_region="body",
            preset="soft_tissue",
        ),
        # From just above the body's darkest values up to the very top (the metal, often
        # saturated): bone and soft tissue sit in dim greys for context, metal alone is
        # white. Counted inside the body, so air does not decide the low end. CT: 3000/4000.
        "metal": FilterSettings(
            normalise="percentile",
            norm_low_pct=5.0,
            norm_high_pct=100.0,
            hu_window=(3000.0, 4000.0),
            norm_region="body",
            preset="metal",
        ),
        # Photos: no windowing, gentle CLAHE on L of Lab (hues untouched).
        "face_photo": FilterSettings(
            clahe=True, clahe_clip=1.2, clahe_tiles=8, preset="face_photo"
        ),
    }
)


def preset(name: str) -> FilterSettings:
    """The preset called ``name`` (case-insensitive; spaces or dashes as underscores)."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    aliases = {
        "implant": "metal",
        "metal_implant": "metal",
        "face": "face_photo",
        "soft": "soft_tissue",
    }
    key = aliases.get(key, key)
    try:
        return PRESETS[key]
    except KeyError:
        raise FilterSettingsError(
            f"Unknown display preset '{name}'. Choose one of: {', '.join(PRESETS)}."
        ) from None

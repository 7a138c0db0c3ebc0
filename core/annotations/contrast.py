"""Readable label text: WCAG 2 contrast between a label's text and the chip behind it.

A box's caption on the canvas is a chip in the theme's plate colour with the label's name
in the label's colour. Dark label colours ("zipper head" #800000) vanish on a dark chip,
light ones (#fffac8) on a light chip, so the text colour is the label's colour moved in
lightness (hue and saturation kept, so the label stays recognisable) just far enough to
reach the WCAG AA ratio of 4.5:1 for normal text.
"""

from __future__ import annotations

import colorsys

WCAG_AA = 4.5
# The caption chip (opaque, so the image underneath cannot lower the contrast) and the
# label list's background, per theme (app/theme.py's Base colours).
CHIP_BACKGROUND = {"dark": "#1e1e1e", "light": "#f7f7f7"}
LIST_BACKGROUND = {"dark": "#1f1f1f", "light": "#ffffff"}


def _rgb(colour: str) -> tuple[float, float, float]:
    c = colour.lstrip("#")
    if len(c) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(c[0:2], 16) / 255.0, int(c[2:4], 16) / 255.0, int(c[4:6], 16) / 255.0


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(max(v, 0.0), 1.0) * 255):02x}" for v in rgb)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (0 black .. 1 white)."""

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), lighter over darker: 1 .. 21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def readable_on(colour: str, background: str, minimum: float = WCAG_AA) -> str:
    """``colour``, lightened (on a dark background) or darkened (on a light one) just
    enough to reach ``minimum`` contrast against ``background``."""
    if contrast_ratio(colour, background) >= minimum:
        return colour.lower()
    h, lightness, s = colorsys.rgb_to_hls(*_rgb(colour))
    lighter = relative_luminance(background) < 0.18
    target = 1.0 if lighter else 0.0
    for step in range(1, 101):
        candidate = lightness + (target - lightness) * step / 100.0
        shifted = _hex(colorsys.hls_to_rgb(h, candidate, s))
        if contrast_ratio(shifted, background) >= minimum:
            return shifted
    return "#ffffff" if lighter else "#000000"


def chip_colours(colour: str, theme: str) -> tuple[str, str]:
    """(chip background, text colour) of a label caption in ``theme`` ("dark"/"light")."""
    background = CHIP_BACKGROUND.get(theme, CHIP_BACKGROUND["dark"])
    return background, readable_on(colour, background)


def list_text_colour(colour: str, theme: str) -> str:
    """A label's name in the label list, in its own colour, readable on the list."""
    return readable_on(colour, LIST_BACKGROUND.get(theme, LIST_BACKGROUND["dark"]))

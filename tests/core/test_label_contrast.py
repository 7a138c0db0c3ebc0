"""Issue 17 #7: every label of every built-in label set (and the colours the store hands
out to added labels) is readable on its caption chip and in the label list, in both
themes: WCAG contrast of at least 4.5:1 (the ratio itself is checked on WCAG's own
examples)."""

from __future__ import annotations

import pytest

from core.annotations import builtin_label_set, builtin_label_set_names
from core.annotations.contrast import (
    CHIP_BACKGROUND,
    WCAG_AA,
    chip_colours,
    contrast_ratio,
    list_text_colour,
    readable_on,
)
from core.store.definitions import _PALETTE

THEMES = ("dark", "light")


def _all_colours() -> list[tuple[str, str]]:
    pairs = [
        (lab.name, lab.color)
        for name in builtin_label_set_names()
        for lab in builtin_label_set(name).labels
    ]
    return pairs + [(f"palette {c}", c) for c in _PALETTE]


@pytest.mark.parametrize("theme", THEMES)
def test_every_label_caption_meets_wcag_aa_on_its_chip(theme: str) -> None:
    for name, colour in _all_colours():
        background, text = chip_colours(colour, theme)
        ratio = contrast_ratio(text, background)
        assert ratio >= WCAG_AA, f"{name} ({colour}) in the {theme} theme: {ratio:.2f}:1"
        listed = list_text_colour(colour, theme)
        base = "#ffffff" if theme == "light" else "#1f1f1f"
        assert contrast_ratio(listed, base) >= WCAG_AA, f"{name} in the {theme} list"


def test_zipper_head_was_unreadable_on_the_dark_chip_and_is_now() -> None:
    assert contrast_ratio("#800000", CHIP_BACKGROUND["dark"]) < 2.0  # as it was drawn
    _, text = chip_colours("#800000", "dark")
    assert contrast_ratio(text, CHIP_BACKGROUND["dark"]) >= WCAG_AA
    # Still a red: the hue survives the lightening.
    r, g, b = (int(text[i : i + 2], 16) for i in (1, 3, 5))
    assert r > g and r > b


def test_readable_colours_are_left_alone() -> None:
    assert readable_on("#ffe119", CHIP_BACKGROUND["dark"]) == "#ffe119"


def test_contrast_ratio_matches_the_wcag_examples() -> None:
    # WCAG 2 understanding docs: black on white is 21:1; #777777 on white about 4.48:1.
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)

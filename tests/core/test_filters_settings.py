"""FilterSettings: JSON round trip, validation, presets."""

from __future__ import annotations

import json

import pytest

from core.errors import ClinLensError
from core.filters import PRESETS, FilterSettings, FilterSettingsError, preset


def test_defaults_are_identity_tone_without_enhancement() -> None:
    s = FilterSettings()
    assert s.window_center is None and s.window_width is None
    assert s.is_identity_tone
    assert not s.clahe and not s.invert
    assert s.normalise == "none"


def test_json_round_trip_keeps_every_field() -> None:
    s = FilterSettings(
        window_center=40,
        window_width=400,
        hu_window=(50.0, 350.0),
        voi_index=1,
        brightness=-0.2,
        contrast=1.5,
        gamma=0.7,
        clahe=True,
        clahe_clip=3.0,
        clahe_tiles=4,
        normalise="percentile",
        norm_low_pct=1.0,
        norm_high_pct=98.0,
        invert=True,
        preset="bone",
    )
    again = FilterSettings.from_json(s.to_json())
    assert again == s
    assert hash(again) == hash(s)
    assert json.loads(s.to_json())["hu_window"] == [50.0, 350.0]
    assert FilterSettings.from_dict(s.to_dict()) == s


def test_ints_become_floats_so_equal_settings_compare_equal() -> None:
    assert FilterSettings(window_center=40, window_width=400) == FilterSettings(
        window_center=40.0, window_width=400.0
    )
    assert isinstance(FilterSettings(gamma=2).gamma, float)


def test_from_dict_fills_missing_keys_and_ignores_unknown_ones() -> None:
    s = FilterSettings.from_dict({"gamma": 1.5, "from_a_newer_version": 3})
    assert s == FilterSettings(gamma=1.5)


@pytest.mark.parametrize(
    "bad",
    [
        {"window_width": 0},
        {"window_width": -10},
        {"window_center": float("nan")},
        {"gamma": 0},
        {"gamma": "2"},
        {"gamma": True},
        {"contrast": -1},
        {"brightness": 1.5},
        {"clahe": "yes"},
        {"clahe_clip": 0},
        {"clahe_tiles": 0},
        {"clahe_tiles": 2.5},
        {"normalise": "zscore"},
        {"norm_low_pct": 60, "norm_high_pct": 40},
        {"norm_high_pct": 101},
        {"voi_index": -1},
        {"hu_window": [40]},
        {"hu_window": [40, -400]},
        {"invert": 1},
        {"preset": 3},
    ],
)
def test_bad_values_are_rejected_with_a_clinlens_error(bad: dict[str, object]) -> None:
    with pytest.raises(FilterSettingsError) as info:
        FilterSettings.from_dict(bad)
    assert isinstance(info.value, ClinLensError)
    assert "\n" not in str(info.value)


def test_bad_json_is_a_clinlens_error() -> None:
    with pytest.raises(ClinLensError):
        FilterSettings.from_json("{not json")
    with pytest.raises(ClinLensError):
        FilterSettings.from_json("[1, 2]")


def test_replace_validates_and_returns_a_new_object() -> None:
    s = FilterSettings()
    t = s.replace(gamma=2.0)
    assert t.gamma == 2.0 and s.gamma == 1.0
    with pytest.raises(FilterSettingsError):
        s.replace(gamma=-1.0)


def test_settings_are_frozen() -> None:
    s = FilterSettings()
    with pytest.raises(AttributeError):
        s.gamma = 2.0  # type: ignore[misc]


def test_required_presets_exist_and_record_their_name() -> None:
    for name in ("auto", "bone", "soft_tissue", "metal", "face_photo"):
        assert PRESETS[name].preset == name
        assert preset(name) == PRESETS[name]
    assert preset("Soft tissue") == PRESETS["soft_tissue"]
    assert preset("implant") == PRESETS["metal"]


def test_presets_survive_json() -> None:
    for s in PRESETS.values():
        assert FilterSettings.from_json(s.to_json()) == s


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ClinLensError, match="bone"):
        preset("lung-ish")

"""Unique, deterministic export stems."""

from __future__ import annotations

from core.formats.naming import safe_stem, unique_stems


def test_unique_stems_kept_and_collisions_get_hash_suffix() -> None:
    entries = [("a/IM1.dcm", "aaaa1111bbbb"), ("b/im1.png", "cccc2222dddd"), ("c/x.png", "eeee")]
    assert unique_stems(entries) == ["IM1_aaaa1111", "im1_cccc2222", "x"]
    assert unique_stems(list(reversed(entries))) == ["x", "im1_cccc2222", "IM1_aaaa1111"]


def test_safe_stem_removes_characters_windows_refuses() -> None:
    assert safe_stem("C:\\scans\\a:b*c?.dcm") == "a_b_c_"
    assert safe_stem("..png") == "image"
    assert safe_stem("scan 01.tiff") == "scan 01"

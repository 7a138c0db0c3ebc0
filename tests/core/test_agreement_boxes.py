"""Box agreement: F1 at IoU 0.5 per label between readers, and the majority consensus."""

from __future__ import annotations

import pytest

from core.agreement.boxes import box_agreement, consensus_boxes, pair_f1
from core.annotations import Box


def _b(x: float, label: str = "zipper", author: str = "a") -> Box:
    return Box(x, 0, x + 10, 10, label, author=author)


def test_pair_f1_per_label_and_overall() -> None:
    per_image = {
        1: {"a": [_b(0), _b(50), _b(0, "key")], "b": [_b(1), _b(0, "key"), _b(80, "key")]},
        2: {"a": [], "b": [_b(0)]},
        3: {"a": [_b(0)]},  # b did not read image 3: not counted
    }
    out = pair_f1(per_image, "a", "b")
    assert out["images"] == 2
    # zipper: 1 match, a 2 boxes, b 2 boxes -> 0.5; key: 1 match, 1 and 2 -> 2/3
    assert out["per_label"]["zipper"] == {"f1": 0.5, "matched": 1, "boxes": [2, 2]}
    assert out["per_label"]["key"]["f1"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 * 2 / (3 + 4))
    assert [p["readers"] for p in box_agreement(per_image, ["a", "b", "c"])] == [
        ["a", "b"],
        ["a", "c"],
        ["b", "c"],
    ]


def test_identical_boxes_agree_fully_and_disjoint_ones_not_at_all() -> None:
    same = pair_f1({1: {"a": [_b(0)], "b": [_b(0, author="b")]}}, "a", "b")
    apart = pair_f1({1: {"a": [_b(0)], "b": [_b(40, author="b")]}}, "a", "b")
    assert (same["f1"], apart["f1"]) == (1.0, 0.0)
    assert pair_f1({1: {"a": [], "b": []}}, "a", "b")["f1"] is None


def test_consensus_keeps_what_a_majority_drew_averaged() -> None:
    readers = {
        "a": [_b(0), _b(50)],
        "b": [_b(2, author="b"), _b(0, "key", author="b")],
        "c": [_b(1, author="c"), _b(52, author="c")],
    }
    out = consensus_boxes(readers)
    assert [(b.label, b.x1, b.author) for b in out] == [("zipper", 1.0, "consensus"),
                                                        ("zipper", 51.0, "consensus")]  # fmt: skip
    assert all(b.status == "accepted" and b.source == "human" for b in out)
    two = consensus_boxes({"a": [_b(0)], "b": []})  # one of two readers: no majority
    assert two == []

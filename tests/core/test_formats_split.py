"""Deterministic stratified splits."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from core.errors import ClinLensError
from core.formats.split import assign_splits, parse_split, stratum_key


def _data(n: int = 300) -> tuple[list[str], list[tuple[str, tuple[tuple[str, float], ...]]]]:
    rng = random.Random(1)
    keys = [f"sha{i:05d}" for i in range(n)]
    strata = [
        (rng.choice(["zipper", "watch", "watch", "key", ""]), (("acne4", float(rng.randrange(4))),))
        for _ in keys
    ]
    return keys, strata


def test_split_is_deterministic_and_independent_of_input_order() -> None:
    keys, strata = _data()
    a = assign_splits(keys, strata, (0.8, 0.1, 0.1), seed=3)
    order = list(range(len(keys)))
    random.Random(9).shuffle(order)
    b = assign_splits([keys[i] for i in order], [strata[i] for i in order], (0.8, 0.1, 0.1), seed=3)
    assert [b[order.index(i)] for i in range(len(keys))] == a
    assert assign_splits(keys, strata, (0.8, 0.1, 0.1), seed=4) != a


def test_split_hits_the_fractions_overall_and_per_stratum() -> None:
    keys, strata = _data()
    got = assign_splits(keys, strata, (0.8, 0.1, 0.1), seed=0)
    total = Counter(got)
    assert (
        abs(total["train"] - 240) <= 2
        and abs(total["val"] - 30) <= 2
        and abs(total["test"] - 30) <= 2
    )
    for s in set(strata):
        members = [g for g, st in zip(got, strata, strict=True) if st == s]
        c = Counter(members)
        assert abs(c["train"] - 0.8 * len(members)) <= 1.5
        assert abs(c["val"] - 0.1 * len(members)) <= 1.5


def test_many_singleton_strata_still_fill_val_and_test() -> None:
    keys = [f"k{i}" for i in range(100)]
    got = Counter(assign_splits(keys, keys, (0.8, 0.1, 0.1), seed=0))
    assert got == {"train": 80, "val": 10, "test": 10}


def test_zero_fraction_split_gets_nothing() -> None:
    keys = [f"k{i}" for i in range(20)]
    got = assign_splits(keys, ["a"] * 20, (0.5, 0.5, 0.0), seed=0)
    assert Counter(got) == {"train": 10, "val": 10}


def test_stratum_is_rarest_label_and_grades() -> None:
    counts = {"zipper": 100, "key": 3}
    assert stratum_key(["zipper", "key", "zipper"], [("iga5", 2.0)], counts) == (
        "key",
        (("iga5", 2.0),),
    )
    assert stratum_key([], [], counts) == ("", ())


def test_parse_split() -> None:
    assert parse_split("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    assert parse_split("0.9,0.1") == (0.9, 0.1, 0.0)
    for bad in ("0.8,0.3", "a,b", "1", "0,0.5,0.5", "0.5,-0.5,1", "nan,0.5,0.5", "0.5,nan"):
        with pytest.raises(ClinLensError, match="--split"):
            parse_split(bad)

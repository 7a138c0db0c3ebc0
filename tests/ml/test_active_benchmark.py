"""The active-learning benchmark's tiny mode: every strategy of a seed, the random baseline
included, starts from the same labelled images and spends the same budget in the same
rounds; the seeds are the ones asked for."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_the_random_baseline_gets_the_same_budget_and_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINLENS_DATA_DIR", str(tmp_path / "data"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import active_learning as al
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    report = al.main(
        ["--tiny", "--part", "severity", "--seeds", "2", "--out", str(tmp_path / "r.md")]
    )
    part = next(iter(report["parts"].values()))
    runs = part["runs"]
    assert report["seeds"] == [0, 1]
    strategies = {r["strategy"] for r in runs}
    assert {"random", "file order"} <= strategies and len(strategies) >= 3
    for seed in (0, 1):
        mine = [r for r in runs if r["seed"] == seed]
        assert len(mine) == len(strategies), "every strategy runs on every seed"
        budgets = {tuple(r["labels"]) for r in mine}
        assert len(budgets) == 1, f"same labels per round for all strategies: {budgets}"
        assert next(iter(budgets)) == (
            part["n0"],
            *(part["n0"] + part["k"] * (i + 1) for i in range(part["rounds"])),
        )
        start = al.start_set(part["pool"], part["n0"], seed)
        for r in mine:
            picked = [i for rnd in r["picks"] for i in rnd]
            assert len(picked) == len(set(picked)) == part["k"] * part["rounds"]
            assert not set(picked) & set(start), "the same N0 start, never picked again"
    random = [r for r in runs if r["strategy"] == "random"]
    assert random[0]["picks"] != random[1]["picks"], "the random order comes from the seed"
    # The same seed gives the same random order again (deterministic baseline).
    import numpy as np

    pool = 16
    assert al.start_set(pool, 4, 0) == al.start_set(pool, 4, 0)
    assert al.pick(None, "random", None, list(range(10)), 3, np.random.default_rng(5)) == al.pick(  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        "random",
        None,
        list(range(10)),
        3,
        np.random.default_rng(5),
    )
    assert (tmp_path / "r.md").read_text().count("| random |") == 1

"""GradingScale answers without numpy (#17: the store opens scales at the window's start),
exactly as the numpy expressions it replaced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.annotations import builtin_scale, builtin_scale_names
from core.annotations.scales import GradingScale, ScaleValue, scale_from_mapping

ROOT = Path(__file__).resolve().parents[2]


def _scales() -> list[GradingScale]:
    out = [builtin_scale(n) for n in builtin_scale_names()]
    out.append(scale_from_mapping("fine", {"range": {"min": -2.5, "max": 3.7, "step": 0.1}}))
    out.append(GradingScale("odd", "Odd", (ScaleValue(0.1, "a"), ScaleValue(0.30000001, "b"))))
    return out


@pytest.mark.parametrize("scale", _scales(), ids=lambda s: s.name)
def test_answers_match_the_numpy_expressions(scale: GradingScale) -> None:
    allowed = np.array([v.value for v in scale.values], dtype=np.float64)
    edges = (allowed[:-1] + allowed[1:]) / 2.0
    assert np.array_equal(scale.allowed, allowed) and scale.allowed.dtype == np.float64
    assert np.array_equal(scale.edges, edges) and scale.edges.dtype == np.float64
    rng = np.random.default_rng(17)
    lo, hi = float(allowed.min()) - 2, float(allowed.max()) + 2
    probes = list(rng.uniform(lo, hi, 300)) + list(allowed) + list(edges)
    probes += [v + d for v in allowed for d in (1e-9, -1e-9, 1e-6, 1e-4)]
    probes += [float("nan"), float("inf"), -float("inf"), 0.0, -0.0]
    for x in probes:
        x = float(x)
        idx = int(np.searchsorted(edges, x, side="right"))
        assert scale.to_grade(x) == float(allowed[idx]), x
        assert scale.is_valid(x) == bool(np.any(np.isclose(allowed, x))), x
        want = next((v.label for v in scale.values if np.isclose(v.value, x)), str(x))
        assert scale.label_of(x) == want, x
        if np.isfinite(x):
            assert scale.snap(x) == float(allowed[abs(allowed - x).argmin()]), x


def test_opening_the_core_annotations_imports_no_numpy() -> None:
    code = (
        "import sys; import core.annotations, core.annotations.model, core.store; "
        "s = core.annotations.builtin_scale('acne4'); "
        "assert s.to_grade(1.7) == 2.0 and s.is_valid(3) and s.snap(2.4) == 2.0; "
        "print('numpy' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"

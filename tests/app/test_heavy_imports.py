"""Heavy imports (torch) on a worker thread with short interpreter-lock holds."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.jobs import heavy_imports
from app.jobs.heavy_imports import import_quietly, preload_shared_libraries

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_torch_preload(request, monkeypatch):  # type: ignore[no-untyped-def]
    """Unit tests here do not map torch's 1 GB of libraries into the test process."""
    if "slow" not in request.keywords:
        monkeypatch.setattr(heavy_imports, "_torch_library_paths", lambda: [])


def test_preload_loads_existing_libraries_and_skips_missing_ones(tmp_path: Path) -> None:
    import ctypes.util

    libm = ctypes.util.find_library("m")
    if libm is None or not sys.platform.startswith("linux"):
        pytest.skip("needs a Linux C library")
    missing = str(tmp_path / "libnothing.so")
    assert preload_shared_libraries([missing, libm]) == [libm]


def test_steps_run_in_order_and_the_collector_comes_back_on(tmp_path, monkeypatch) -> None:
    (tmp_path / "clinlens_probe_mod.py").write_text("import gc\nGC_WAS_ENABLED = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    order: list[str] = []
    frozen = gc.get_freeze_count()
    try:
        import_quietly([lambda: order.append("prepare"), "clinlens_probe_mod"])
        module = sys.modules["clinlens_probe_mod"]
        assert order == ["prepare"]
        assert module.GC_WAS_ENABLED is False  # collected never during the import
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen
        assert import_quietly(["clinlens_probe_mod"]) == []  # already there: nothing to do
    finally:
        sys.modules.pop("clinlens_probe_mod", None)


def test_a_failed_import_is_reported_and_the_collector_stays_on() -> None:
    with pytest.raises(ImportError):
        import_quietly(["clinlens_no_such_module_anywhere"])
    assert gc.isenabled()


@pytest.mark.slow
def test_torch_libraries_are_preloaded_before_the_import() -> None:
    """In a fresh interpreter (torch not yet imported), from a worker thread."""
    code = textwrap.dedent(
        """
        import sys, threading
        from app.jobs.heavy_imports import import_quietly
        out = {}
        t = threading.Thread(target=lambda: out.update(libs=import_quietly(("torch",))))
        t.start(); t.join()
        import torch
        assert float(torch.ones(2).sum()) == 2.0
        print(len(out["libs"]), any(p.endswith("libtorch_cpu.so") for p in out["libs"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    count, has_cpu = done.stdout.split()
    if sys.platform.startswith("linux"):
        assert int(count) >= 3 and has_cpu == "True"

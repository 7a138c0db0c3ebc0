"""Layering contracts: ``core`` and ``ml`` import headless (PySide6 unavailable), and
``core`` never pulls in torch, ultralytics or Qt.

Each check runs in a fresh interpreter so modules already imported by other tests cannot
hide a violation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Imports every module of the given packages; prints a JSON report.
_IMPORT_ALL = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys, traceback

    BLOCKED = {blocked!r}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None

    if BLOCKED:
        sys.meta_path.insert(0, Block())

    failures, imported = {{}}, []
    for package_name in {packages!r}:
        package = importlib.import_module(package_name)
        names = [package_name] + [
            m.name for m in pkgutil.walk_packages(package.__path__, package_name + ".")
        ]
        for name in names:
            try:
                importlib.import_module(name)
                imported.append(name)
            except BaseException:
                failures[name] = traceback.format_exc(limit=3)
    print(json.dumps({{"imported": imported, "failures": failures,
                       "modules": sorted(sys.modules)}}))
    """
)


def import_all(
    packages: list[str], blocked: set[str], extra_path: Path | None = None
) -> dict[str, object]:
    code = _IMPORT_ALL.format(packages=packages, blocked=sorted(blocked))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**_env(extra_path), "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _env(extra_path: Path | None = None) -> dict[str, str]:
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    return env


def test_the_check_itself_catches_a_module_that_imports_qt(tmp_path: Path) -> None:
    package = tmp_path / "leaky"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "clean.py").write_text("import json\n")
    (package / "widget.py").write_text("from PySide6 import QtCore\n")
    report = import_all(["leaky"], blocked={"PySide6", "shiboken6"}, extra_path=tmp_path)
    assert set(report["failures"]) == {"leaky.widget"}  # type: ignore[arg-type]
    assert "leaky.clean" in report["imported"]  # type: ignore[operator]


def test_core_imports_without_qt_torch_or_ultralytics() -> None:
    report = import_all(["core"], blocked={"PySide6", "shiboken6"})
    assert not report["failures"], "\n".join(
        f"{name}:\n{tb}"
        for name, tb in report["failures"].items()  # type: ignore[union-attr]
    )
    assert "core.imaging" in report["imported"]  # type: ignore[operator]
    loaded = {name.split(".")[0] for name in report["modules"]}  # type: ignore[union-attr]
    forbidden = {"torch", "torchvision", "ultralytics", "PySide6", "shiboken6"} & loaded
    assert not forbidden, f"core pulled in {sorted(forbidden)}"


def test_ml_imports_with_pyside6_unavailable() -> None:
    report = import_all(["core", "ml"], blocked={"PySide6", "shiboken6"})
    assert not report["failures"], "\n".join(
        f"{name}:\n{tb}"
        for name, tb in report["failures"].items()  # type: ignore[union-attr]
    )
    loaded = {name.split(".")[0] for name in report["modules"]}  # type: ignore[union-attr]
    assert not {"PySide6", "shiboken6"} & loaded

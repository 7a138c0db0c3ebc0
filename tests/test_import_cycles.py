"""No import circle in product code: app/, core/ and ml/ form a directed acyclic graph.

Imports are read from the source with ``ast`` (not by importing), including those inside
functions and under ``TYPE_CHECKING``: a lazy import hides a circle from Python but not
from the reader, and the circle is what tells that a responsibility leaked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "core", "ml")


def _module_files(root: Path) -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    """The module a dotted name lands in (``core.store.Project`` -> ``core.store``)."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path) -> dict[str, set[str]]:
    mods = _module_files(root)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" for alias in node.names]
            for target in targets:
                found = _resolve(target, mods)
                if found and found != module:
                    graph[module].add(found)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_product_code_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph(ROOT))
    assert cycles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_only_launch_imports_the_main_window() -> None:
    graph = import_graph(ROOT)
    importers = sorted(m for m, deps in graph.items() if "app.main_window" in deps)
    assert importers == ["app.launch"]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (
            {"a": "import core.b\n", "b": "def f():\n    from core.a import x\n"},
            [["core.a", "core.b"]],
        ),
        ({"a": "import core.b\n", "b": "import core.c\n", "c": ""}, []),
        ({"a": "from . import b\n", "b": "from .a import x\n"}, [["core.a", "core.b"]]),
    ],
    ids=["lazy-import-circle", "chain", "relative-imports"],
)
def test_the_checker_sees_circles_through_lazy_and_relative_imports(
    tmp_path: Path, sources: dict[str, str], expected: list[list[str]]
) -> None:
    # The checker itself must be able to fail: a circle hidden in a function is found.
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in sources.items():
        (tmp_path / "core" / f"{name}.py").write_text(text)
    assert find_cycles(import_graph(tmp_path)) == expected

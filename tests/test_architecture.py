"""The architecture is checked, not hoped for: no import cycle, the composition root small.

The layer contracts themselves are import-linter's (pyproject.toml, run by make test).
"""

from __future__ import annotations

from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "flows", "content", "storage")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    modules = sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            if target.split(".")[0] not in PACKAGES:
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_in_product_code() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("bot", "bot.a", "bot.b", "bot.c"):
        graph.add_module(name)
    graph.add_import(importer="bot.a", imported="bot.b")
    graph.add_import(importer="bot.b", imported="bot.a")
    graph.add_import(importer="bot.b", imported="bot.c")
    assert _cycles(graph) == [["bot.a", "bot.b"]]


def test_composition_root_is_small_and_product_modules_stay_small() -> None:
    assert len((ROOT / "run_bot.py").read_text(encoding="utf-8").splitlines()) <= 60
    too_long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert too_long == {}

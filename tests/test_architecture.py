"""Imports flow one way, from the command line down the pipeline to the records; no module
grows past what a newcomer can read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sitegen"
MAX_LINES = 450
# Modules allowed over MAX_LINES, each with its reason: none.
ALLOWED_OVER: dict[str, str] = {}
# Imports that close a cycle, each with its reason: none, and none may be added.
KNOWN_CYCLE_EDGES: dict[tuple[str, str], str] = {}


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name below `sitegen` ("build", "search.join");
    a subpackage's `__init__.py` is the subpackage ("search")."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and "__pycache__" not in parts:
            names[".".join(parts)] = path
    return names


def _imported(name: str, path: Path, node: ast.ImportFrom, modules: set[str]) -> set[str]:
    """The package's modules a relative `from ... import ...` in module `name` reads: the
    module it names, and each imported name that is a module itself (`from . import compat`)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = package[:len(package) - (node.level - 1)]
    target = ".".join([*base, *([node.module] if node.module else [])])
    found = {f"{target}.{a.name}".lstrip(".") for a in node.names} & modules
    if target in modules and (node.module or len(found) < len(node.names)):
        found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                deps |= _imported(name, path, node, set(modules))
        graph[name] = deps - {name} - {b for a, b in KNOWN_CYCLE_EDGES if a == name}
    return graph


def test_the_graph_sees_the_subpackages():
    graph = import_graph()
    assert {"search", "search.join", "shortcodes", "importers.wxr"} <= graph.keys()
    assert "config" in graph["search"] and "search.join" in graph["search"]


def test_no_import_cycles():
    graph = import_graph()
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import cycle: {' -> '.join(path + (node,))}"
        if node in done:
            return
        for dep in graph[node]:
            visit(dep, path + (node,))
        done.add(node)

    for module in graph:
        visit(module, ())


def test_records_and_errors_depend_on_nothing_of_the_pipeline():
    graph = import_graph()
    assert graph["records"] == set() and graph["errors"] == set()
    assert "cli" not in set().union(*(deps for name, deps in graph.items() if name != "cli"))


def _sizes() -> dict[str, int]:
    return {path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines())
            for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts}


def test_no_module_is_over_the_line_limit():
    over = {rel: lines for rel, lines in _sizes().items()
            if lines > MAX_LINES and rel not in ALLOWED_OVER}
    assert not over, f"modules over {MAX_LINES} lines (split them along a real seam): {over}"

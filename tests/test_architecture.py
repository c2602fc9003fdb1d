"""Imports flow one way, from the command line down the pipeline to the records."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sitegen"


def import_graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.update([node.module.split(".")[0]] if node.module
                            else [a.name for a in node.names])
        graph[name] = deps & modules.keys()
    return graph


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

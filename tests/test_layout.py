"""The code's shape: no source file over 500 lines, and the nnviz package's imports form no loop."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("src", "demos", "static", "templates", "scripts", "benchmarks")
LIMIT = 500


def test_no_source_file_is_over_500_lines():
    long = {}
    for top in SOURCES:
        for p in (REPO / top).rglob("*"):
            if p.suffix in (".py", ".js", ".css", ".html", ".j2") and "__pycache__" not in p.parts:
                n = p.read_text(encoding="utf-8").count("\n")
                if n > LIMIT:
                    long[p.relative_to(REPO).as_posix()] = n
    assert not long, f"over {LIMIT} lines (split by job): {long}"


def package_imports(package=REPO / "src" / "nnviz"):
    """{module: {nnviz modules it imports, at any level of the file}}."""
    names = {p.stem for p in package.glob("*.py")}
    graph = {}
    for p in package.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnviz."):
                found.add(node.module.split(".")[1])
        graph[p.stem] = found & names - {p.stem}
    return graph


def loop(graph):
    """One import loop as [a, b, ..., a], or None."""
    state = {}

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                return path[path.index(n):] + [n]
            if n not in state and (found := visit(n, path + [n])):
                return found
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m, [m])):
            return found
    return None


def test_the_package_has_no_import_loop():
    graph = package_imports()
    assert {"cifar", "datafiles"} <= graph["data"] and "data" not in graph["cifar"]
    assert loop(graph) is None, " -> ".join(loop(graph))
    assert loop({**graph, "datafiles": {"data"}}) is not None       # the check sees a loop when there is one

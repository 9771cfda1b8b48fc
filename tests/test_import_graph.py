"""The import graph of the four packages, read with `ast`: no circles, and the architecture's
rules on who may import whom (ARCHITECTURE.md, "Components and who may import whom")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dgm", "archive", "sandbox", "evals")
MAY_IMPORT = {
    "dgm": {"dgm", "archive", "sandbox", "evals"},
    "archive": {"archive"},
    "sandbox": {"sandbox"},
    "evals": {"evals", "sandbox"},
}


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "seeds" in parts:  # seed agents are data (run in sandboxes), not part of the package
                continue
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> tuple[set[str], set[str]]:
    """(imports run when the code runs, at module level or inside functions; imports for type
    checking only) of one module, as names of our modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    runtime: set[str] = set()
    typing_only: set[str] = set()

    def resolve(module: str) -> str | None:
        while module and module not in modules:
            module = module.rpartition(".")[0]
        return module or None

    def visit(node: ast.AST, target: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                for inner in child.body:
                    visit_one(inner, typing_only)
                for inner in child.orelse:
                    visit_one(inner, target)
            else:
                visit_one(child, target)

    def visit_one(node: ast.AST, target: set[str]) -> None:
        if isinstance(node, ast.Import):
            target.update(filter(None, (resolve(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found = resolve(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else resolve(base)
                if found:
                    target.add(found)
        visit(node, target)

    visit(tree, runtime)
    runtime.discard(name)
    typing_only.discard(name)
    return runtime, typing_only - runtime


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = module_files()
    runtime, typing_only = {}, {}
    for name, path in modules.items():
        runtime[name], typing_only[name] = imports_of(name, path, modules)
    return runtime, typing_only


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                connect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_the_graph_is_read():
    runtime, _ = graph()
    assert "dgm.archive.verify" in runtime["dgm.archive.queries"], "lazy imports inside functions count"
    assert "dgm.loop.iteration" in runtime["dgm.loop.daemon"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    """Neither at import time nor through imports inside functions: a circle means modules
    that cannot be understood (or moved) one without the other."""
    runtime, _ = graph()
    assert cycles(runtime) == []


def test_packages_import_only_what_the_architecture_allows():
    runtime, typing_only = graph()
    broken = []
    for module in runtime:
        top = module.split(".")[0]
        for target in sorted(runtime[module] | typing_only[module]):
            if target.split(".")[0] not in MAY_IMPORT[top]:
                broken.append(f"{module} -> {target}")
    assert broken == []

"""The shape of the package: imports flow one way, modules stay small, layers stay unknown.

These read the source, not the running objects: an import made only for type checking
counts too, because it is still a dependency in the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mitbadak

SRC = Path(mitbadak.__file__).parent
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """Every mitbadak module ``name`` imports, at any depth of its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # `from pkg import module` imports the module; `from module import name` the module.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    # A package imports its own submodules to re-export them; that is not a cycle in
    # the design, so the edges from a package to what lies inside it are left out.
    graph = {
        name: {t for t in imports_of(name) if not t.startswith(name + ".")} for name in MODULES
    }
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_numerical_gradient_sits_at_the_bottom() -> None:
    assert imports_of("mitbadak.numerical") <= {"mitbadak._checks", "mitbadak._types"}
    assert "mitbadak.gradcheck" not in set().union(
        *(imports_of(name) for name in MODULES if name.startswith("mitbadak.models"))
    )


def test_sequential_knows_no_concrete_layer_but_its_default_loss() -> None:
    tree = ast.parse(MODULES["mitbadak.models.sequential"].read_text(encoding="utf-8"))
    from_layers = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "mitbadak.layers"
        for alias in node.names
    }
    assert from_layers == {"Layer", "LossLayer", "SoftmaxWithLoss"}
    assert imports_of("mitbadak.models.sequential").isdisjoint(
        {"mitbadak.dropout", "mitbadak.batchnorm", "mitbadak.conv"}
    )


def test_no_module_is_longer_than_the_budget() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_module_is_named_like_the_standard_library() -> None:
    import sys

    clashes = {name for name in MODULES if name.rpartition(".")[2] in sys.stdlib_module_names}
    assert not clashes, clashes

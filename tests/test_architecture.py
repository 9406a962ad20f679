"""The house plan, checked: what imports what, and how big a module may grow.

Read from the source with ``ast``, every import counted wherever it stands
(inside a function, under ``if TYPE_CHECKING:``): a cycle that only type
checkers follow still ties two modules into one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_prod_defaults"
NAME = PACKAGE.name
MAX_LINES = 450
PYTEST_SIDE = {f"{NAME}.plugin", f"{NAME}.items", f"{NAME}.protocol", f"{NAME}.reporting", f"{NAME}.heap"}
"""The modules that are the pytest side; everything else is reused by the CLI."""
KINDS = f"{NAME}.kinds"
MAY_IMPORT_KINDS = {f"{NAME}.registry", KINDS}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str) -> set[str]:
    """The package's modules ``name`` imports, anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in MODULES:
                    found.add(f"{module}.{alias.name}")
                elif module in MODULES:
                    found.add(module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module"):
            # importlib.import_module(f".{module}", __name__) and the like: the
            # lazy exports of the package are imports too.
            continue
    found.discard(name)
    found.discard(NAME)  # the package itself: lazy exports, no module state
    return found


GRAPH = {name: imported(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_import_walk_sees_imports_in_functions_and_type_checking_blocks() -> None:
    # checks.py imports manifest only for its annotations: it must still count.
    assert f"{NAME}.manifest" in GRAPH[f"{NAME}.checks"] or f"{NAME}.checks" not in GRAPH


def test_only_the_registry_imports_a_kind_module() -> None:
    importers = {
        name: sorted(module for module in modules if module.startswith(f"{KINDS}."))
        for name, modules in GRAPH.items()
        if not name.startswith(f"{KINDS}.") and name not in MAY_IMPORT_KINDS
    }
    assert {name: kinds for name, kinds in importers.items() if kinds} == {}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_the_line_budget(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by concern"


def test_only_the_pytest_side_imports_pytest() -> None:
    importers = []
    for name, path in MODULES.items():
        if name in PYTEST_SIDE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            if any(imported == "pytest" or imported.startswith(("pytest.", "_pytest")) for imported in names):
                importers.append(name)
    assert importers == []

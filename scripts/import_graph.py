#!/usr/bin/env python3
"""Print the import graph of a package (default ``analysis/``) and fail on any cycle.

Reads the source with :mod:`ast` (nothing is imported), so it sees every import of one
sibling module by another, wherever it is written:

* ``module``: at the top of the module (what runs when the module is imported);
* ``function``: inside a function or method (runs when it is called: the way a cycle hides);
* ``typing``: under ``if TYPE_CHECKING:`` (a dependency for the type checker only).

All three kinds count as edges when looking for cycles: a cycle kept alive by a
function-level or type-only import is still a cycle in the design. ``from pkg import name``
is an edge to ``pkg.name`` when that is a module, else to ``pkg``; importing a submodule
also initialises its parent packages, which is not counted as an edge (Python runs a
package's ``__init__`` first, so a package importing its own submodules cannot deadlock).

Usage::

    python scripts/import_graph.py [PACKAGE_DIR] [--quiet] [--no-function-imports]

Exits 1 if there is a cycle (each is printed), or, with ``--no-function-imports``, if any
sibling import sits inside a function; 0 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Edge:
    """One import of a sibling module by another."""

    source: str
    target: str
    kind: str  # "module" | "function" | "typing"
    line: int


def module_names(package: Path) -> dict[str, Path]:
    """Dotted name of every module of ``package`` (a folder with ``__init__.py``)."""
    base = package.parent
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with its kind."""

    def visit(node: ast.AST, kind: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, kind
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from visit(child, "function")
            elif isinstance(child, ast.If) and _is_type_checking(child.test) and kind == "module":
                for stmt in child.body:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), "typing")
                for stmt in child.orelse:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), "module")
            else:
                yield from visit(child, kind)

    yield from visit(tree, "module")


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` refers to, or its nearest enclosing module of the package."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def edges_of(module: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """The sibling imports of one module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    out = []
    for node, kind in _imports(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                anchor = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{node.module}" if node.module else anchor
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in dict.fromkeys(targets):
            resolved = _resolve(target, modules)
            if resolved is not None and resolved != module:
                out.append(Edge(module, resolved, kind, node.lineno))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def strong(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def layers(graph: dict[str, set[str]]) -> dict[str, int]:
    """Depth of each module in an acyclic graph: 0 imports no sibling; else 1 + its deepest import."""
    depth: dict[str, int] = {}

    def of(v: str) -> int:
        if v not in depth:
            depth[v] = -1
            depth[v] = 1 + max((of(w) for w in graph.get(v, ())), default=-1)
        return depth[v]

    for v in graph:
        of(v)
    return depth


def main(argv: list[str] | None = None) -> int:
    """Print the graph and the summary; the exit status says whether it is acyclic."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", nargs="?", default=str(ROOT / "analysis"), help="package folder (default analysis/)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument(
        "--no-function-imports", action="store_true", help="also fail when a sibling import sits inside a function"
    )
    args = parser.parse_args(argv)
    package = Path(args.package).resolve()
    modules = module_names(package)
    edges = [e for m, p in modules.items() for e in edges_of(m, p, modules)]
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        graph[e.source].add(e.target)
    found = cycles(graph)
    if not args.quiet:
        for m in modules:
            mine = sorted({(e.target, e.kind) for e in edges if e.source == m})
            shown = ", ".join(t + ("" if k == "module" else f" ({k})") for t, k in mine)
            print(f"{m}: {shown or '-'}")
        print()
    kinds = {k: sum(1 for e in edges if e.kind == k) for k in ("module", "function", "typing")}
    print(
        f"{len(modules)} modules, {len(edges)} sibling imports "
        f"({kinds['module']} module-level, {kinds['function']} in functions, {kinds['typing']} for typing only)"
    )
    status = 0
    if found:
        status = 1
        print(f"{len(found)} import cycle(s):")
        for comp in found:
            print(f"  {len(comp)} modules: {' <-> '.join(comp)}")
    else:
        depth = layers(graph)
        print(f"no import cycle; {max(depth.values(), default=-1) + 1} layers")
    inner = [e for e in edges if e.kind == "function"]
    if inner:
        print(f"sibling imports inside functions ({len(inner)}):")
        for e in inner:
            print(f"  {modules[e.source].relative_to(package.parent)}:{e.line}: {e.target}")
        if args.no_function_imports:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

"""The code keeps the shape of docs/architecture.md: short functions, no import cycles, a pure ``detect/``
(no DuckDB), and engines that leave the store's layout to the store (no ``tables/`` path strings).

All checks read the source with :mod:`ast`; nothing is imported, so a check cannot pass by accident of
import order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "supplyline"

MAX_LINES = 80
"""Longest function allowed, in lines from ``def`` to its last line (docstring included)."""

LONG_FUNCTIONS: dict[str, str] = {
    # module:qualified name -> why it may be longer than MAX_LINES (none today)
}
"""Every function allowed over MAX_LINES, with the reason. "pending shape refactor": files that another part
of the shape work (issue 13) is cutting up; each entry goes when its function is cut."""


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _functions(
    node: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + child.name, child
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")


def _long_functions() -> dict[str, int]:
    out = {}
    for module, _, tree in _modules():
        for qualname, fn in _functions(tree):
            n = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if n > MAX_LINES:
                out[f"{module}:{qualname}"] = n
    return out


def test_no_function_over_80_lines_outside_the_allowlist() -> None:
    long = _long_functions()
    unlisted = {name: n for name, n in long.items() if name not in LONG_FUNCTIONS}
    assert not unlisted, f"functions over {MAX_LINES} lines: {unlisted}; cut them into named stages"


def test_the_allowlist_names_only_functions_still_too_long() -> None:
    """An entry whose function was cut (or renamed) must leave the list, so the list only shrinks."""
    stale = sorted(set(LONG_FUNCTIONS) - set(_long_functions()))
    assert not stale, f"no longer over {MAX_LINES} lines (remove from LONG_FUNCTIONS): {stale}"


def test_the_allowlist_detects_a_long_function() -> None:
    """The measure itself: a 81-line function is found, an 80-line one is not."""
    body = "\n".join(["    x = 0"] * 79)
    tree = ast.parse(f"def ok():\n{body}\n\ndef too_long():\n{body}\n    return x\n")
    sizes = {name: (fn.end_lineno or 0) - fn.lineno + 1 for name, fn in _functions(tree)}
    assert sizes == {"ok": 80, "too_long": 81}


# --- imports -----------------------------------------------------------------------------------------------


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: top level, inside try/if/with, not under TYPE_CHECKING."""
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                todo += node.body
            todo += node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                todo += handler.body
        elif isinstance(node, ast.With):
            todo += node.body


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``import from`` names (relative imports resolved against ``module``)."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    parts = parts[: len(parts) - node.level + (1 if is_package else 0)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def import_graph() -> dict[str, set[str]]:
    """supplyline module -> the supplyline modules it imports at import time."""
    modules = {name for name, _, _ in _modules()}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path, tree in _modules():
        for node in _module_level_imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _resolve(name, path.name == "__init__.py", node)
                # `from pkg import sub` imports the submodule when there is one, else a name from pkg
                targets = [
                    f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names
                ]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_find_cycles_finds_a_cycle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_supplyline_modules() -> None:
    graph = import_graph()
    assert graph["supplyline.cli"] >= {
        "supplyline.cli._detect",
        "supplyline.cli._common",
    }  # the graph is real
    assert find_cycles(graph) == []


def _imported_names(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):  # function-level imports count too: they run as soon as the function does
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def _detect_imports_duckdb() -> list[str]:
    return sorted(
        str(path.relative_to(SRC))
        for name, path, tree in _modules()
        if name.startswith("supplyline.detect")
        and any(n == "duckdb" or n.startswith("duckdb.") for n in _imported_names(tree))
    )


def _engine_path_strings() -> list[str]:
    """``tables/`` in a string literal (not a docstring) of an engine module: the store owns those paths."""
    found = []
    for name, path, tree in _modules():
        if not name.startswith("supplyline.engine"):
            continue
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "tables/" in node.value
                and id(node) not in docstrings
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_detect_imports_no_duckdb() -> None:
    """detect/ is kernels and SQL text; running SQL is the engine's job."""
    assert _detect_imports_duckdb() == []


def test_engines_write_no_store_paths() -> None:
    """Engines hand tables to the store's table-part API; no engine spells ``tables/<name>/...`` itself."""
    assert _engine_path_strings() == []

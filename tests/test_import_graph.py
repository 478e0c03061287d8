"""The shape of the code: imports between our modules run one way, layers keep to themselves, no
library's private attributes are touched, and modules and functions stay small.

Everything is read from the sources with ``ast`` (no hand-kept list of modules): every ``.py``
under ``social_auth/`` and ``providers/`` (installed as ``social_auth_providers``), and every
import in them, at module level or inside a function, relative or absolute.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = "social_auth_providers"  # the installed name of the providers/ folder
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: The modules a request reaches through; ``state.py`` must not depend on any of them.
FLASK_FACING = {
    f"social_auth.{name}"
    for name in ("views", "session", "admin", "cli", "extension", "testing", "site")
}
#: Underscore names that are the documented, public API of the library that owns them.
DOCUMENTED_UNDERSCORE_NAMES = {
    # werkzeug's LocalProxy (Flask's current_app, request, g): Flask's docs ("Notes On Proxies")
    # name _get_current_object() as the way to reach the object behind the proxy (to hand the
    # app to a thread, or to key a cache on it); there is no other public way.
    "_get_current_object",
    # SQLAlchemy's Row._mapping is documented API (RowMapping of a row); the underscore only
    # keeps it from clashing with a column's name.
    "_mapping",
}
#: Functions whose length is SQL, not logic: the compiled statements of the store's hot path (the
#: issue's "compiled SQL text"; one SQLAlchemy expression per statement, read top to bottom).
SQL_BUILDERS = {"_build_hot_statements"}
SQL_STARTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "PRAGMA", "REPLACE")


@dataclass(frozen=True)
class Source:
    name: str
    path: Path
    tree: ast.Module
    is_package: bool

    @property
    def where(self) -> str:
        return str(self.path.relative_to(ROOT))


@dataclass(frozen=True)
class Import:
    source: str
    target: str  # one of our modules, or the dotted name of another library's module
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``, so never run

    @property
    def ours(self) -> bool:
        return self.target in sources()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "providers":
        parts[0] = ADAPTERS
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def sources() -> dict[str, Source]:
    found: dict[str, Source] = {}
    for folder in ("social_auth", "providers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            found[module_name(path)] = Source(
                module_name(path), path, tree, path.name == "__init__.py"
            )
    return found


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(
    node: ast.AST, type_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, type_only
        elif isinstance(child, ast.If) and is_type_checking(child.test):
            for part in child.body:
                yield from import_nodes(ast.Module(body=[part], type_ignores=[]), True)
            for part in child.orelse:
                yield from import_nodes(ast.Module(body=[part], type_ignores=[]), type_only)
        else:
            yield from import_nodes(child, type_only)


def import_base(source: Source, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source.name.split(".")
    if not source.is_package:
        package.pop()
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


@functools.cache
def imports() -> tuple[Import, ...]:
    ours = sources()
    found: list[Import] = []
    for source in ours.values():
        for node, type_only in import_nodes(source.tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = import_base(source, node)
                # ``from package import module`` imports the module; any other name, the package.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in ours else base
                    for alias in node.names
                ]
            found += [Import(source.name, t, node.lineno, type_only) for t in targets]
    return tuple(found)


def edges(*, runtime_only: bool) -> dict[str, list[Import]]:
    graph: dict[str, list[Import]] = {name: [] for name in sources()}
    for imp in imports():
        if imp.ours and imp.target != imp.source and not (runtime_only and imp.type_only):
            graph[imp.source].append(imp)
    return graph


def strongly_connected(graph: dict[str, list[Import]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that all reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for imp in graph[node]:
            if imp.target not in index:
                visit(imp.target)
                low[node] = min(low[node], low[imp.target])
            elif imp.target in on_stack:
                low[node] = min(low[node], index[imp.target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def path_between(
    graph: dict[str, list[Import]], start: str, goal: set[str], within: set[str] | None = None
) -> list[Import] | None:
    """The shortest chain of imports from ``start`` to a module in ``goal``."""
    came: dict[str, list[Import]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for imp in graph[node]:
            if within is not None and imp.target not in within:
                continue
            if imp.target in goal:
                return [*came[node], imp]
            if imp.target not in came:
                came[imp.target] = [*came[node], imp]
                queue.append(imp.target)
    return None


def describe(chain: list[Import]) -> str:
    steps = [f"{sources()[imp.source].where}:{imp.line} imports {imp.target}" for imp in chain]
    return " -> ".join(steps)


def report(violations: list[str]) -> str:
    return f"{len(violations)} found:\n  " + "\n  ".join(violations)


# -- imports -----------------------------------------------------------------------------------


def test_no_import_cycle_among_our_modules():
    # Function-local imports count (a cycle hidden inside a function is still a cycle); imports
    # under ``if TYPE_CHECKING:`` never run, so they make none.
    graph = edges(runtime_only=True)
    cycles = []
    for group in strongly_connected(graph):
        if len(group) > 1:
            loop = path_between(graph, group[0], {group[0]}, set(group)) or []
            cycles.append(f"{', '.join(group)}: {describe(loop)}")
    assert not cycles, report(cycles)


def reaches(start: str, forbidden: Callable[[str], bool]) -> str | None:
    """How ``start`` comes to import a forbidden module, itself or through our modules (type-only
    imports count: they name the dependency all the same)."""
    first_offence: dict[str, Import] = {}
    for imp in imports():
        if forbidden(imp.target):
            first_offence.setdefault(imp.source, imp)
    if start in first_offence:
        return describe([first_offence[start]])
    chain = path_between(edges(runtime_only=False), start, set(first_offence))
    return None if chain is None else describe([*chain, first_offence[chain[-1].target]])


def is_within(target: str, *packages: str) -> bool:
    return any(target == p or target.startswith(f"{p}.") for p in packages)


def test_the_store_imports_neither_flask_nor_the_provider_module():
    def forbidden(target: str) -> bool:
        return is_within(target, "flask", "social_auth.provider")

    store = [name for name in sources() if is_within(name, "social_auth.store")]
    found = [f"{name}: {how}" for name in store if (how := reaches(name, forbidden))]
    assert not found, report(found)


def test_the_state_module_imports_no_flask_facing_module():
    def forbidden(target: str) -> bool:
        return target in FLASK_FACING or is_within(target, "social_auth.web")

    how = reaches("social_auth.state", forbidden)
    assert how is None, report([how])


# -- other libraries' private attributes -------------------------------------------------------


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def constant_text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@functools.cache
def our_private_names() -> frozenset[str]:
    """Every underscore name our own code defines: functions, classes, names, attributes it
    assigns (on self, on a module, on Flask's ``g``), ``__slots__`` and ``setattr`` targets."""
    names: set[str] = set()
    for source in sources().values():
        for node in ast.walk(source.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "setattr"
                and len(node.args) > 1
            ):
                names.add(constant_text(node.args[1]) or "")
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
            ):
                names.update(
                    text for elt in ast.walk(node.value) if (text := constant_text(elt))  # type: ignore[arg-type]
                )
    return frozenset(n for n in names if is_private(n))


def private_uses(source: Source) -> Iterator[str]:
    ours = our_private_names() | DOCUMENTED_UNDERSCORE_NAMES
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in ours:
            receiver = node.value
            if not (isinstance(receiver, ast.Name) and receiver.id in ("self", "cls")):
                yield f"{source.where}:{node.lineno} .{node.attr}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) > 1
            and (text := constant_text(node.args[1]))
            and is_private(text)
            and text not in ours
        ):
            yield f"{source.where}:{node.lineno} {node.func.id}(…, {text!r})"
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] in ("social_auth", ADAPTERS):
                continue
            parts = [*node.module.split("."), *(alias.name for alias in node.names)]
            if any(is_private(part) for part in parts):
                yield f"{source.where}:{node.lineno} from {node.module} import …"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(is_private(part) for part in alias.name.split(".")):
                    yield f"{source.where}:{node.lineno} import {alias.name}"


def test_no_use_of_another_librarys_private_attributes():
    # ``x._name`` is ours when ``x`` is self/cls or ``_name`` is defined by our own code (one of
    # our functions, classes, module names, or an attribute we assign, as on Flask's ``g``);
    # anything else reaches into another library. Private imports and getattr count too.
    found = [use for source in sources().values() for use in private_uses(source)]
    assert not found, report(found)


# -- sizes -------------------------------------------------------------------------------------


def sql_text_lines(node: ast.AST) -> set[int]:
    """Lines inside multi-line string literals that hold SQL: they are data, not code."""
    lines: set[int] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.JoinedStr):
            first = child.values[0] if child.values else None
            text = constant_text(first) if isinstance(first, ast.expr) else None
        elif isinstance(child, ast.Constant):
            text = constant_text(child)
        else:
            continue
        end = child.end_lineno or child.lineno
        if text and end > child.lineno and text.lstrip().upper().startswith(SQL_STARTS):
            lines.update(range(child.lineno, end + 1))
    return lines


def sized_sources() -> list[Source]:
    return [s for s in sources().values() if not is_within(s.name, "social_auth.store.migrations")]


def test_no_module_over_400_lines():
    found = []
    for source in sized_sources():
        count = len(source.path.read_text().splitlines()) - len(sql_text_lines(source.tree))
        if count > MAX_MODULE_LINES:
            found.append(f"{source.where}: {count} lines")
    assert not found, report(found)


def test_no_function_over_60_lines():
    found = []
    for source in sized_sources():
        for node in ast.walk(source.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name in SQL_BUILDERS:
                    continue
                span = set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
                count = len(span - sql_text_lines(node))
                if count > MAX_FUNCTION_LINES:
                    found.append(f"{source.where}:{node.lineno} {node.name}: {count} lines")
    assert not found, report(found)


# -- the walk itself ---------------------------------------------------------------------------


def test_the_walk_sees_every_module_and_every_kind_of_import():
    # Guards the tests above against passing because they read nothing: an adapter's absolute
    # import, the store's relative ones, and every function-local import must be found.
    assert {"social_auth", "social_auth.store", f"{ADAPTERS}.github"} <= set(sources())
    found = {(i.source, i.target) for i in imports()}
    assert (f"{ADAPTERS}.github", "social_auth.provider") in found
    assert ("social_auth.store", "social_auth.store.models") in found
    local = {
        (source.name, node.lineno)
        for source in sources().values()
        for func in ast.walk(source.tree)
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(func)
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    assert local, "no function-local import found: the walk would miss them"
    assert local <= {(i.source, i.line) for i in imports()}

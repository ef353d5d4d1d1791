"""The import rule (docs/architecture.md): imports in scrm/ flow one way and never in a circle.

Every module under scrm/ is parsed with `ast` (nothing is imported) and its module-level
imports become edges of a graph: the imports a module runs when it is first imported. That graph
has no cycle at all. An import inside a function body runs later, when the function is called;
the rule allows one where a real cycle cannot be designed away, with a comment saying why, so
the graph that adds the uncommented ones has no cycle either. Imports under `if TYPE_CHECKING:`
never run and are left out. Importing `a.b.c` also runs the `__init__` of `a` and `a.b`, so
those packages count as imported too (unless the importer lives inside them: a package's own
submodules do not re-run its `__init__`).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = "scrm"
# Top-level packages the core never imports: adapters (they import the core), the job functions,
# and the development tools.
ADAPTERS = ("jobs", "callbacks", "sidebar", "console", "sandbox")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / CORE).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(nodes: list[ast.AST], deferred: bool = False):
    """(import statement, inside a function?) for every import that can run: those under
    `if TYPE_CHECKING:` never do."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, deferred
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse, deferred)
        else:
            inner = deferred or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from _imports(list(ast.iter_child_nodes(node)), inner)


def _explained(node: ast.stmt, lines: list[str]) -> bool:
    """A comment on the import's lines or the line above it."""
    return any("#" in line for line in lines[max(node.lineno - 2, 0):node.end_lineno])


def imported_names(name: str, path: Path, known: set[str], *, deferred: bool = False) -> set[str]:
    """The dotted names a module imports (resolved; `from a import b` gives `a.b` when that is a
    module, else `a`): at module level, and with `deferred` also inside functions unless the
    import carries a comment saying why."""
    source = path.read_text()
    lines = source.splitlines()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node, in_function in _imports(ast.parse(source, filename=str(path)).body):
        if in_function and (not deferred or _explained(node, lines)):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        if node.level:
            base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            found.add(candidate if candidate in known else base)
    return found


def with_packages(target: str, importer: str) -> set[str]:
    """`target` and the packages whose __init__ importing it runs (not the importer's own)."""
    parts = target.split(".")
    names = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    own = importer.split(".")
    return {n for n in names if not (own[: len(n.split("."))] == n.split(".") and n != importer)}


def import_graph(*, deferred: bool = False) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """({module: core modules it imports}, {module: every dotted name it imports})."""
    modules = core_modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    raw: dict[str, set[str]] = {}
    for name, path in modules.items():
        raw[name] = imported_names(name, path, known, deferred=deferred)
        edges: set[str] = set()
        for target in raw[name]:
            edges |= {n for n in with_packages(target, name) if n in known and n != name}
        graph[name] = edges
    return graph, raw


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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


def test_no_import_cycle_in_the_core():
    graph, _ = import_graph()
    assert cycles(graph) == []


def test_no_cycle_through_deferred_imports_unless_explained():
    """An import inside a function that closes a circle is allowed only where the circle cannot
    be designed away, with a comment saying why (on the import or the line above)."""
    graph, _ = import_graph(deferred=True)
    assert cycles(graph) == []


def test_the_core_never_imports_adapters_jobs_or_dev_tools():
    _, raw = import_graph()
    leaks = sorted((module, target) for module, targets in raw.items() for target in targets
                   if target.split(".")[0] in ADAPTERS)
    assert leaks == []


def test_the_core_never_imports_jobs_even_inside_functions():
    """Deferred imports count here too: the core names a job by its dotted path (scrm.queueing,
    scrm.schedule), it never imports one. (create_app() does import the blueprints inside the
    factory: it is where the adapters are plugged in.)"""
    leaks = []
    for name, path in core_modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            leaks += [(name, t) for t in targets if t.split(".")[0] == "jobs"]
    assert sorted(leaks) == []


def test_services_never_import_the_core_adapters():
    """Open API blueprints, CLI, worker and app factory call services, never the other way."""
    adapters = ("scrm.api", "scrm.cli", "scrm.worker", "scrm.app")
    _, raw = import_graph()
    leaks = sorted((module, target) for module, targets in raw.items() if module.startswith("scrm.services")
                   for target in targets if target.startswith(adapters))
    assert leaks == []


def test_schemas_import_models_never_services():
    _, raw = import_graph()
    leaks = sorted((module, target) for module, targets in raw.items() if module.startswith("scrm.schemas")
                   for target in targets if target.startswith("scrm.services"))
    assert leaks == []


def test_the_checker_sees_a_cycle():
    """The guard itself can fail: a two-module circle and a three-module one are reported."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert with_packages("scrm.services.events.common", "scrm.services.sync.engine") == {
        "scrm.services.events", "scrm.services.events.common"}


def test_every_sweep_names_a_job_function():
    """The sweep table names its jobs by dotted path (the core never imports jobs/): each path
    resolves to a function of jobs/, and the scheduler's job finds each sweep by name."""
    import importlib

    from scrm.queueing import SWEEP_JOB, SWEEPS, sweep_named

    for sweep in SWEEPS:
        module, _, name = sweep.job.rpartition(".")
        assert module.split(".")[0] == "jobs" and callable(getattr(importlib.import_module(module), name))
        assert sweep_named(sweep.name) is sweep
    module, _, name = SWEEP_JOB.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))
    assert len({sweep.name for sweep in SWEEPS}) == len(SWEEPS)

#!/usr/bin/env python3
"""Check extender/'s imports: no cycles, no import against the layer order, nothing unshipped.

The layers keep each part testable without the ones above it (the engine without
Kubernetes or HTTP), and the wheel ships extender/ alone, so an import of devtools, tests or
bench works in the repository but breaks an installed copy. `make lint` runs this script;
tests/unit/test_layers.py imports it (check() and report()). `--report` also prints the
package's size and import depth, to compare layouts.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Module prefix -> (rank, layer name), bottom to top. A module may import its own layer or a
# lower rank; layers of equal rank (engine, cache) are siblings and must not import each
# other. A prefix covers that module and all below it, except a dotless prefix (the package
# itself), which stands for its __init__ alone. The longest matching prefix wins.
LAYERS: dict[str, tuple[int, str]] = {
    "extender": (0, "ground"),
    "extender.errors": (0, "ground"),
    "extender.contract": (0, "ground"),
    "extender.logs": (0, "ground"),
    "extender.telemetry": (0, "ground"),
    "extender.kube": (1, "kube"),
    "extender.model": (2, "model"),
    "extender.engine": (3, "engine"),
    "extender.cache": (3, "cache"),
    "extender.service": (4, "service"),
    "extender.http": (5, "http"),
    "extender.cli": (6, "cli"),
}

# Top-level packages of the repository that the wheel does not ship.
UNSHIPPED = ("devtools", "tests", "bench")

# Beyond this many steps the search for the longest path inside one import cycle stops, so
# a tangle of cycles cannot hang lint; the report then says the depth is a lower bound.
PATH_SEARCH_BUDGET = 200_000


@dataclass(frozen=True)
class Module:
    name: str
    path: str  # as printed: relative to the directory holding the package
    lines: int


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Graph:
    modules: dict[str, Module]
    edges: list[Edge]  # one per import statement and target, in file order
    problems: list[tuple[str, int, str]]  # (path, line, message) found while reading

    def successors(self) -> dict[str, dict[str, Edge]]:
        """Target -> first edge, per module: the graph the cycle and depth searches walk."""
        out: dict[str, dict[str, Edge]] = {name: {} for name in self.modules}
        for edge in self.edges:
            out[edge.source].setdefault(edge.target, edge)
        return out


@dataclass(frozen=True)
class Report:
    modules: int
    lines: int
    depth: int  # edges on the longest import path
    path: tuple[str, ...]  # that path's modules, importer first
    exact: bool  # False when the search budget ran out inside a cycle
    largest: tuple[Module, ...]


def layer_of(module: str) -> tuple[int, str] | None:
    """The module's (rank, layer), or None when no prefix of LAYERS covers it."""
    best: str | None = None
    for prefix in LAYERS:
        covers = module == prefix or ("." in prefix and module.startswith(prefix + "."))
        if covers and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else LAYERS[best]


def _module_name(file: Path, root: Path) -> str:
    parts = list(file.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_names(tree: ast.Module) -> Iterator[tuple[ast.AST, int, str, list[str]]]:
    """(node, level, base, names) for each import anywhere in the file.

    ast.walk reaches imports in functions and under `if TYPE_CHECKING:` too. `import a.b`
    gives base "a.b" and no names; importlib.import_module("a.b") and __import__("a.b") with
    a literal name count as `import a.b`, so a lazy import is no way around the check.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, 0, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            yield node, node.level, node.module or "", [a.name for a in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                called in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and not first.value.startswith(".")
            ):
                yield node, 0, first.value, []


def build_graph(root: Path) -> Graph:
    """Read every .py file under root (the package directory) and resolve its imports."""
    package = root.name
    files = sorted(root.rglob("*.py"))
    modules: dict[str, Module] = {}
    trees: dict[str, ast.Module] = {}
    problems: list[tuple[str, int, str]] = []
    for file in files:
        name = _module_name(file, root)
        shown = file.relative_to(root.parent).as_posix()
        source = file.read_text(encoding="utf-8")
        modules[name] = Module(name, shown, len(source.splitlines()))
        try:
            trees[name] = ast.parse(source, filename=shown)
        except SyntaxError as exc:
            problems.append((shown, exc.lineno or 1, f"syntax error: {exc.msg}"))

    edges: list[Edge] = []
    seen: set[tuple[str, str, int]] = set()
    for name, tree in trees.items():
        module = modules[name]
        is_package = module.path.endswith("/__init__.py")
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node, level, base, names in _imported_names(tree):
            line = getattr(node, "lineno", 1)
            if level:
                if level > len(here):
                    problems.append((module.path, line, "relative import beyond the package"))
                    continue
                base = ".".join(here[: len(here) - level + 1] + ([base] if base else []))
            top = base.split(".")[0]
            if top in UNSHIPPED:
                problems.append(
                    (module.path, line, f"imports {base}, which the wheel does not ship")
                )
                continue
            if top != package:
                continue  # the standard library or a dependency
            targets: list[str] = []
            if not names:
                targets.append(base)
            for imported in names:
                submodule = f"{base}.{imported}"
                targets.append(submodule if submodule in modules else base)
            for target in targets:
                if target not in modules:
                    problems.append((module.path, line, f"imports {target}: no such module"))
                elif target != name and (name, target, line) not in seen:  # not itself
                    seen.add((name, target, line))
                    edges.append(Edge(name, target, module.path, line))
    return Graph(modules, edges, problems)


def _components(successors: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """Strongly connected components (Tarjan), each sorted; dependencies come first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            out.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 2 * len(successors) + 100))
    try:
        for node in sorted(successors):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return out


def _cycle_through(
    start: str, members: set[str], successors: dict[str, dict[str, Edge]]
) -> list[Edge]:
    """The shortest cycle from start back to itself inside one component (BFS)."""
    came: dict[str, Edge] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt, edge in sorted(successors[node].items()):
            if nxt == start:
                path = [edge]
                while path[0].source != start:
                    path.insert(0, came[path[0].source])
                return path
            if nxt in members and nxt not in came:
                came[nxt] = edge
                queue.append(nxt)
    raise AssertionError(f"{start} is on no cycle")


def check(root: Path) -> list[str]:
    """Every violation under root (the package directory) as "path:line: message", sorted."""
    graph = build_graph(root)
    found = list(graph.problems)
    successors = graph.successors()

    for component in _components(successors):
        first = component[0]
        if len(component) == 1 and first not in successors[first]:
            continue
        cycle = _cycle_through(first, set(component), successors)
        steps = " -> ".join(f"{e.source} ({e.where})" for e in cycle) + f" -> {first}"
        message = f"import cycle between {', '.join(component)}: {steps}"
        found.append((cycle[0].path, cycle[0].line, message))

    for module in graph.modules.values():
        if layer_of(module.name) is None:
            found.append((module.path, 1, f"{module.name} is not in any layer"))

    for edge in graph.edges:
        source, target = layer_of(edge.source), layer_of(edge.target)
        if source is None or target is None or source == target:
            continue
        what = f"{edge.source} ({source[1]}) imports {edge.target} ({target[1]})"
        if target[0] > source[0]:
            found.append((edge.path, edge.line, f"{what}: a higher layer"))
        elif target[0] == source[0]:
            found.append(
                (edge.path, edge.line, f"{what}: sibling layers, neither may import the other")
            )

    return [f"{path}:{line}: {message}" for path, line, message in sorted(set(found))]


def _longest_inside(
    start: str, members: set[str], successors: dict[str, dict[str, Edge]], budget: list[int]
) -> dict[str, list[str]]:
    """For each module of start's component, the longest simple path to it from start."""
    best: dict[str, list[str]] = {start: [start]}
    path = [start]
    on_path = {start}

    def walk(node: str) -> None:
        for nxt in sorted(successors[node]):
            if nxt not in members or nxt in on_path or budget[0] <= 0:
                continue
            budget[0] -= 1
            path.append(nxt)
            on_path.add(nxt)
            if len(path) > len(best.get(nxt, [])):
                best[nxt] = list(path)
            walk(nxt)
            path.pop()
            on_path.discard(nxt)

    walk(start)
    return best


def report(root: Path) -> Report:
    """Size and depth figures of the package under root (its directory), cycles or not.

    The depth is the longest simple import path, in edges. A simple path passes through
    each import cycle in one stretch, so the search is a longest path over the cycles'
    condensation, with an exhaustive (budgeted) search only inside each cycle.
    """
    graph = build_graph(root)
    successors = graph.successors()
    budget = [PATH_SEARCH_BUDGET]
    longest: dict[str, list[str]] = {}  # module -> longest path starting there
    for component in _components(successors):  # dependencies first
        members = set(component)
        for start in component:
            candidates: list[list[str]] = []
            for end, inside in _longest_inside(start, members, successors, budget).items():
                candidates.append(inside)
                candidates.extend(
                    inside + longest[nxt] for nxt in successors[end] if nxt not in members
                )
            longest[start] = max(candidates, key=len)  # the first of equals: stable
    deepest = max(longest.values(), key=len, default=[])
    largest = sorted(graph.modules.values(), key=lambda m: (-m.lines, m.name))[:8]
    return Report(
        modules=len(graph.modules),
        lines=sum(m.lines for m in graph.modules.values()),
        depth=max(len(deepest) - 1, 0),
        path=tuple(deepest),
        exact=budget[0] > 0,
        largest=tuple(largest),
    )


def format_report(figures: Report) -> str:
    bound = "" if figures.exact else " at least (search budget spent inside a cycle)"
    lines = [
        f"modules: {figures.modules}",
        f"lines: {figures.lines}",
        f"import depth: {figures.depth} edge{'' if figures.depth == 1 else 's'}{bound}, along",
        *(f"  {'-> ' if i else '   '}{name}" for i, name in enumerate(figures.path)),
        f"largest {len(figures.largest)} modules (lines):",
        *(f"  {m.lines:6d}  {m.path}" for m in figures.largest),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "extender",
        help="the package directory (default: extender/ of this repository)",
    )
    parser.add_argument("--report", action="store_true", help="also print size and depth")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    if not (root / "__init__.py").is_file():
        parser.error(f"{root} is not a package directory")
    violations = check(root)
    for violation in violations:
        print(violation)
    if args.report:
        if violations:
            print()
        print(format_report(report(root)))
    sys.stdout.flush()  # the summary below comes last when both go to one file
    if violations:
        print(f"check-layers: {len(violations)} violation(s)", file=sys.stderr)
        return 1
    if not args.report:
        print("check-layers: no cycles, layers respected, nothing unshipped imported")
    return 0


if __name__ == "__main__":
    sys.exit(main())

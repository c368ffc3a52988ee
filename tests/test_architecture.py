"""Layering rules that keep services reusable by handlers, the scheduler and the demo."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("slack_sdk", "slack_bolt")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_services_and_storage_do_not_talk_to_slack() -> None:
    offenders = []
    for folder in ("bot/services", "bot/calendar", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in imported_modules(path):
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_nothing_but_the_clock_reads_the_time() -> None:
    offenders = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "clock.py" or "emulator" in path.parts or "bench" in path.parts:
                continue
            source = path.read_text()
            for needle in ("datetime.now(", "datetime.utcnow(", "date.today("):
                if needle in source:
                    offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


PACKAGES = ("bot", "handlers", "storage")

# Cycles that are known and accepted, each as the sorted tuple of its modules, with the reason.
KNOWN_CYCLES: dict[tuple[str, ...], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of bot/, handlers/ and storage/ and the project modules it imports anywhere."""
    paths = {
        module_name(path): path for folder in PACKAGES for path in (ROOT / folder).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in paths
                    else node.module
                    for alias in node.names
                ]
            else:
                continue
            for target in targets:
                # `import bot.a.b` names bot.a.b; fall back to the nearest module that exists.
                while target and target not in paths:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A concrete loop through the component, to show in the failure message."""
    members = set(component)
    start = component[0]
    path = [start]
    seen = {start}
    while True:
        step = next(m for m in sorted(graph[path[-1]]) if m in members)
        if step in seen:
            return path[path.index(step) :] + [step]
        path.append(step)
        seen.add(step)


def test_modules_do_not_import_each_other_in_a_circle() -> None:
    graph = import_graph()
    cycles = [c for c in strongly_connected(graph) if tuple(c) not in KNOWN_CYCLES]
    report = [" -> ".join(one_cycle(graph, c)) + f"  ({len(c)} modules)" for c in cycles]
    assert report == [], "import cycles:\n" + "\n".join(report)

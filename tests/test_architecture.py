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

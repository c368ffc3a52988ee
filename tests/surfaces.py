"""The house rules for what people see in Slack, checked on every message and view a test produced.

Slack's own rules (lengths, required fields, scopes) are the emulator's: it refuses a call that
breaks them. These are ours, from Slack's design guidelines: a notification's ``text`` stands alone,
at most one primary button per actions block, and the rest in ``RULES``. ``tests/conftest.py``
applies them when a test that used the emulator ends (a test that breaks one on purpose says so
with ``@pytest.mark.expects_design_exception``), and ``tests/test_surfaces.py`` applies them to the
demo's whole run in both languages.

A rule is a function of one ``Surface`` that returns its problems as sentences; add it to
``RULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.emulator.server import SlackEmulator

MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage")
VIEW_METHODS = ("views.open", "views.push", "views.update", "views.publish")


@dataclass(frozen=True)
class Surface:
    """One message or view as the app sent it."""

    method: str  # a Web API method, or "response_url"
    payload: dict[str, Any]  # the call's arguments (a view's are under "view")

    @property
    def is_view(self) -> bool:
        return self.method in VIEW_METHODS

    @property
    def is_home(self) -> bool:
        return self.method == "views.publish"

    @property
    def blocks(self) -> list[dict[str, Any]]:
        source = self.payload.get("view") if self.is_view else self.payload
        blocks = (source or {}).get("blocks") or []
        return blocks if isinstance(blocks, list) else []

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or "")

    def elements(self) -> Iterator[dict[str, Any]]:
        """Every interactive element, wherever it sits (actions, accessories, inputs)."""
        for block in self.blocks:
            if block.get("type") == "actions":
                yield from block.get("elements") or []
            elif block.get("accessory"):
                yield block["accessory"]
            elif block.get("type") == "input" and block.get("element"):
                yield block["element"]


def surfaces(emulator: SlackEmulator) -> list[Surface]:
    """What the app sent through the Web API and to response URLs, in order."""
    found = [
        Surface(call.method, call.args)
        for call in emulator.calls
        if call.method in MESSAGE_METHODS + VIEW_METHODS and call.status == 200
    ]
    found += [Surface("response_url", response) for response in emulator.responses]
    return found


def at_most_one_primary(surface: Surface) -> list[str]:
    problems = []
    for block in surface.blocks:
        if block.get("type") != "actions":
            continue
        primaries = [e for e in block.get("elements") or [] if e.get("style") == "primary"]
        if len(primaries) > 1:
            labels = ", ".join(str((e.get("text") or {}).get("text")) for e in primaries)
            problems.append(f"{len(primaries)} primary buttons in one actions block ({labels})")
    return problems


def message_has_text(surface: Surface) -> list[str]:
    """Push notifications and screen readers read ``text``, never the blocks."""
    if surface.is_view or surface.method == "response_url":
        return []
    if surface.payload.get("blocks") and not surface.text.strip():
        return ["a message with blocks and no text"]
    return []


RULES: list[Callable[[Surface], list[str]]] = [
    message_has_text,
]


def problems_in(found: list[Surface]) -> list[str]:
    return [
        f"{surface.method}: {problem}"
        for surface in found
        for rule in RULES
        for problem in rule(surface)
    ]

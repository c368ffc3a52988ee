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
from bot.views.common import INFO_BLOCK

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


def _label(block: dict[str, Any]) -> str:
    text = (block.get("text") or {}).get("text") or ""
    return str(text).split("\n")[0][:60]


def home_items_have_actions(surface: Surface) -> list[str]:
    """Every item on the Home tab has its action next to it: a section either carries an
    accessory (a button, a menu) or is followed, in the same part (up to the next header or
    divider), by an actions block; a section of figures or facts says so with a block id that
    starts with ``ui.INFO_BLOCK`` (``ui.info``)."""
    if not surface.is_home:
        return []
    problems: list[str] = []
    waiting: list[dict[str, Any]] = []  # sections of this part with no action yet

    def close_part() -> None:
        problems.extend(f"a Home item without an action: {_label(b)!r}" for b in waiting)
        waiting.clear()

    for block in surface.blocks:
        kind = block.get("type")
        if kind in ("header", "divider"):
            close_part()
        elif kind == "actions":
            waiting.clear()
        elif kind == "section" and not block.get("accessory"):
            if not str(block.get("block_id") or "").startswith(INFO_BLOCK):
                waiting.append(block)
    close_part()
    return problems


# An ephemeral answer ("only visible to you") vanishes on reload: it is for short answers. A list,
# a matrix or a card people come back to opens in a modal (``ui.tool_modal``).
EPHEMERAL_BLOCKS = 10


def ephemeral_answers_stay_short(surface: Surface) -> list[str]:
    ephemeral = surface.method == "chat.postEphemeral" or (
        surface.method == "response_url" and surface.payload.get("response_type") == "ephemeral"
    )
    if ephemeral and len(surface.blocks) > EPHEMERAL_BLOCKS:
        return [
            f"an ephemeral answer of {len(surface.blocks)} blocks (at most {EPHEMERAL_BLOCKS}: "
            f"open a tool in a modal): {surface.text[:60]!r}"
        ]
    return []


RULES: list[Callable[[Surface], list[str]]] = [
    message_has_text,
    home_items_have_actions,
    ephemeral_answers_stay_short,
]


def problems_in(found: list[Surface]) -> list[str]:
    return [
        f"{surface.method}: {problem}"
        for surface in found
        for rule in RULES
        for problem in rule(surface)
    ]

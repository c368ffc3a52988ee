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

import json
import re
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


# Messages that notify someone (an ephemeral answer or a response_url reply does not).
NOTIFYING = ("chat.postMessage", "chat.update", "chat.scheduleMessage")
# A time or date as people read it: a Slack date token, an ISO date or an ISO week.
A_TIME = re.compile(r"<!date\^|\b\d{4}-\d{2}-\d{2}\b|\b\d{4}-W\d{2}\b")


def time_in_text(surface: Surface) -> list[str]:
    """A notification shows ``text`` only: when the blocks say when, so does the text."""
    if surface.method not in NOTIFYING or not surface.blocks:
        return []
    if "<!date^" in json.dumps(surface.blocks) and not A_TIME.search(surface.text):
        return [f"the blocks show a time and the text does not: {surface.text[:80]!r}"]
    return []


# What stays of a label or a line once emoji are taken off: ``:name:`` codes and pictographs.
EMOJI = re.compile(
    r":[a-z0-9_+'-]+:|[\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u297f"
    r"\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f\u200d]"
)
WORDS = re.compile(r"\w")


def buttons_say_themselves(surface: Surface) -> list[str]:
    """A button is read by its words or number, never by stars or emoji alone; a bare number
    (a scale's value) tells a screen reader what it means with an ``accessibility_label``."""
    problems = []
    for element in surface.elements():
        if element.get("type") != "button":
            continue
        label = str((element.get("text") or {}).get("text") or "")
        bare = EMOJI.sub("", label).strip()
        if not WORDS.search(bare):
            problems.append(f"a button labelled by symbols alone: {label!r}")
        elif bare.isdigit() and not element.get("accessibility_label"):
            problems.append(f"a button labelled {label!r} with no accessibility_label")
    return problems


def _texts(surface: Surface) -> Iterator[str]:
    for block in surface.blocks:
        for part in [
            block.get("text"),
            *(block.get("fields") or []),
            *(block.get("elements") or []),
        ]:
            if isinstance(part, dict) and part.get("type") in ("mrkdwn", "plain_text"):
                yield str(part.get("text") or "")


# What a line says once its emoji, mentions, dates, links and figures are taken off.
NOT_WORDS = re.compile(r"<[^>]*>|\d+(?:[.,]\d+)?")


def status_in_words(surface: Surface) -> list[str]:
    """Two lines that say the same words and differ by their emoji only tell their states by
    emoji alone ("✅ quiz 100%" / "⏳ quiz 50%"): the state is said in words too."""
    seen: dict[str, set[str]] = {}
    for text in _texts(surface):
        for line in text.splitlines():
            emoji = "".join(EMOJI.findall(line))
            words = " ".join(NOT_WORDS.sub("", EMOJI.sub("", line)).split())
            if emoji and WORDS.search(words):
                seen.setdefault(words, set()).add(emoji)
    return [
        f"lines that differ by their emoji only ({' / '.join(sorted(marks))}): {words[:60]!r}"
        for words, marks in seen.items()
        if len(marks) > 1
    ]


RULES: list[Callable[[Surface], list[str]]] = [
    message_has_text,
    time_in_text,
    buttons_say_themselves,
    status_in_words,
]


def problems_in(found: list[Surface]) -> list[str]:
    return [
        f"{surface.method}: {problem}"
        for surface in found
        for rule in RULES
        for problem in rule(surface)
    ]

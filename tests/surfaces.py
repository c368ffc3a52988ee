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
from bot.ids import CONFIRMED
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


# What a one-line text input is for, read from its block id and action id (their words, split at
# "_"), its label, hint and placeholder, and the value it starts with. A form that asks for a time
# of day, a number or a date in words is one Slack's own pickers answer better: typed "9am" or
# "1,5" is refused where a picker cannot go wrong.
TIME_WORDS = frozenset(("time", "clock", "oclock", "hhmm"))
NUMBER_WORDS = frozenset(
    (
        "count", "seats", "capacity", "hours", "duration", "mark", "score", "threshold", "max",
        "min", "sessions", "days", "minutes", "percent", "margin", "cadence", "limit", "amount",
        "quantity", "size",
    )
)  # fmt: skip
DATE_WORDS = frozenset(("date", "day", "due", "deadline", "until", "on", "from", "birthday"))
TIME_TEXT = re.compile(r"\bhh\s*[:：]\s*mm\b|24-hour|24 小时", re.IGNORECASE)
DATE_TEXT = re.compile(r"yyyy-mm-dd|\b\d{4}-\d{2}-\d{2}\b", re.IGNORECASE)
TIME_VALUE = re.compile(r"^\s*\d{1,2}[:：.]\d{2}\s*$")
NUMBER_VALUE = re.compile(r"^\s*-?\d+([.,]\d+)?\s*$")
DATE_VALUE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$")


@dataclass(frozen=True)
class TextInput:
    """A one-line plain-text input of a view, and what it says about itself."""

    block: dict[str, Any]
    element: dict[str, Any]

    @property
    def words(self) -> set[str]:
        ids = f"{self.block.get('block_id') or ''}_{self.element.get('action_id') or ''}"
        return {word for word in re.split(r"[^a-z0-9]+", ids.lower()) if word}

    def said(self) -> str:
        parts = [self.block.get("label"), self.block.get("hint"), self.element.get("placeholder")]
        return " ".join(str((part or {}).get("text") or "") for part in parts)

    @property
    def initial(self) -> str:
        return str(self.element.get("initial_value") or "")

    @property
    def name(self) -> str:
        label = (self.block.get("label") or {}).get("text")
        return f"{self.block.get('block_id')!r} ({label})"


def text_inputs(surface: Surface) -> Iterator[TextInput]:
    if not surface.is_view:
        return
    for block in surface.blocks:
        element = block.get("element") if block.get("type") == "input" else None
        if isinstance(element, dict) and element.get("type") == "plain_text_input":
            if not element.get("multiline"):
                yield TextInput(block, element)


def times_use_the_time_picker(surface: Surface) -> list[str]:
    """A time of day is picked (``timepicker``, its value HH:mm), never typed."""
    return [
        f"a time typed as text in {found.name}: use a timepicker"
        for found in text_inputs(surface)
        if found.words & TIME_WORDS
        or TIME_TEXT.search(found.said())
        or TIME_VALUE.match(found.initial)
    ]


def numbers_use_the_number_input(surface: Surface) -> list[str]:
    """Counts, hours, marks and thresholds are ``number_input``s (Slack's client takes only a
    number, in range)."""
    return [
        f"a number typed as text in {found.name}: use a number_input"
        for found in text_inputs(surface)
        if found.words & NUMBER_WORDS or NUMBER_VALUE.match(found.initial)
    ]


def dates_use_the_date_picker(surface: Surface) -> list[str]:
    """A date is picked (``datepicker``), never typed."""
    return [
        f"a date typed as text in {found.name}: use a datepicker"
        for found in text_inputs(surface)
        if found.words & DATE_WORDS
        or DATE_TEXT.search(found.said())
        or DATE_VALUE.match(found.initial)
    ]


def _label(element: dict[str, Any]) -> str:
    return str((element.get("text") or {}).get("text") or element.get("action_id"))


def danger_is_confirmed(surface: Surface) -> list[str]:
    """A red button destroys something: Slack's confirm dialog asks first."""
    return [
        f"a danger button without a confirm ({_label(e)})"
        for e in surface.elements()
        if e.get("style") == "danger" and not e.get("confirm")
    ]


def confirmed_actions_confirm(surface: Surface) -> list[str]:
    """What cannot be undone or messages other people (``bot.ids.CONFIRMED``) asks first."""
    return [
        f"{e.get('action_id')} without a confirm ({_label(e)})"
        for e in surface.elements()
        if e.get("type") in ("button", "overflow")
        and e.get("action_id") in CONFIRMED
        and not e.get("confirm")
    ]


CHANNEL_CARD_BUTTONS = 5


def few_buttons_on_channel_cards(surface: Surface) -> list[str]:
    """A message in a channel is read by everyone: a few buttons, the rest in an overflow menu."""
    if surface.method not in ("chat.postMessage", "chat.update"):
        return []
    if not str(surface.payload.get("channel") or "").startswith(("C", "G")):
        return []
    buttons = [e for e in surface.elements() if e.get("type") == "button"]
    if len(buttons) > CHANNEL_CARD_BUTTONS:
        return [f"{len(buttons)} buttons on a channel card ({', '.join(map(_label, buttons))})"]
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


def _first_line(block: dict[str, Any]) -> str:
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
        problems.extend(f"a Home item without an action: {_first_line(b)!r}" for b in waiting)
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
    time_in_text,
    buttons_say_themselves,
    status_in_words,
    times_use_the_time_picker,
    numbers_use_the_number_input,
    dates_use_the_date_picker,
    at_most_one_primary,
    danger_is_confirmed,
    confirmed_actions_confirm,
    few_buttons_on_channel_cards,
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

"""Block Kit limit checks for the Slack emulator.

This module owns the rules Slack enforces on the JSON an app sends: block and element
shapes, character limits, counts and unique ids (the table in SLACK.md). The functions are
pure: they take plain dicts and return a list of violation messages (empty when the payload
would be accepted). Messages imitate Slack's own form,
``[json-pointer:/blocks/3/text/text] must be at most 3000 characters (got 3012)``,
so that a failing test points at the offending field.

Slack's per-element limits live in the tables below; the functions only walk the JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40_000
ID_MAX = 255
PRIVATE_METADATA_MAX = 3_000
MODAL_TEXT_MAX = 24  # title, submit and close
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTION_DESCRIPTION_MAX = 75
OPTION_GROUP_LABEL_MAX = 75
PLACEHOLDER_MAX = 150
URL_MAX = 3_000
TEXT_INPUT_LENGTH_MAX = 3_000

PLAIN = ("plain_text",)
ANY_TEXT = ("plain_text", "mrkdwn")

SELECTS = (
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
)
MULTI_SELECTS = tuple(f"multi_{name}" for name in SELECTS)
_INTERACTIVE_COMMON = (
    "button",
    "checkboxes",
    "datepicker",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
    *SELECTS,
    *MULTI_SELECTS,
)
ACTIONS_ELEMENTS = frozenset((*_INTERACTIVE_COMMON, "datetimepicker", "rich_text_input"))
ACCESSORY_ELEMENTS = frozenset((*_INTERACTIVE_COMMON, "image"))
INPUT_ELEMENTS = frozenset(
    (
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "email_text_input",
        "file_input",
        "number_input",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "timepicker",
        "url_text_input",
        *SELECTS,
        *MULTI_SELECTS,
    )
)


@dataclass(frozen=True)
class TextRule:
    """A text object field: allowed text types and maximum length of its ``text``."""

    max_len: int
    types: tuple[str, ...] = PLAIN
    required: bool = False


@dataclass(frozen=True)
class ElementRule:
    """Limits of one interactive (or image) element type."""

    texts: dict[str, TextRule] = field(default_factory=dict)
    strings: dict[str, int] = field(default_factory=dict)  # plain string fields -> max length
    required: tuple[str, ...] = ()
    options: tuple[int, int] | None = None  # (min, max) number of options, when it has any
    option_groups: bool = False
    option_text_types: tuple[str, ...] = PLAIN
    int_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)


_CONFIRM_TEXTS = {  # a confirmation dialog, allowed on most interactive elements
    "title": TextRule(100, PLAIN, True),
    "text": TextRule(300, ANY_TEXT, True),
    "confirm": TextRule(30, PLAIN, True),
    "deny": TextRule(30, PLAIN, True),
}
_PLACEHOLDER = {"placeholder": TextRule(PLACEHOLDER_MAX)}
_SELECT_RULE = ElementRule(texts=_PLACEHOLDER)
_MULTI_SELECT_RULE = ElementRule(texts=_PLACEHOLDER, int_ranges={"max_selected_items": (1, 100)})
_STATIC_RULE = ElementRule(texts=_PLACEHOLDER, options=(1, 100), option_groups=True)
_MULTI_STATIC_RULE = ElementRule(
    texts=_PLACEHOLDER,
    options=(1, 100),
    option_groups=True,
    int_ranges={"max_selected_items": (1, 100)},
)

ELEMENT_RULES: dict[str, ElementRule] = {
    "button": ElementRule(
        texts={"text": TextRule(75, PLAIN, True)},
        strings={"value": 2000, "url": URL_MAX, "accessibility_label": 75},
    ),
    "workflow_button": ElementRule(
        texts={"text": TextRule(75, PLAIN, True)},
        required=("workflow",),
        strings={"accessibility_label": 75},
    ),
    "checkboxes": ElementRule(options=(1, 10), option_text_types=ANY_TEXT),
    "radio_buttons": ElementRule(options=(1, 10), option_text_types=ANY_TEXT),
    "overflow": ElementRule(options=(2, 5)),
    "datepicker": ElementRule(texts=_PLACEHOLDER),
    "timepicker": ElementRule(texts=_PLACEHOLDER),
    "datetimepicker": ElementRule(),
    "plain_text_input": ElementRule(
        texts=_PLACEHOLDER,
        int_ranges={
            "max_length": (1, TEXT_INPUT_LENGTH_MAX),
            "min_length": (0, TEXT_INPUT_LENGTH_MAX),
        },
    ),
    "email_text_input": ElementRule(texts=_PLACEHOLDER),
    "url_text_input": ElementRule(texts=_PLACEHOLDER),
    "number_input": ElementRule(texts=_PLACEHOLDER, required=("is_decimal_allowed",)),
    "file_input": ElementRule(int_ranges={"max_files": (1, 10)}),
    "rich_text_input": ElementRule(texts=_PLACEHOLDER),
    "image": ElementRule(strings={"alt_text": 2000, "image_url": URL_MAX}, required=("alt_text",)),
    "static_select": _STATIC_RULE,
    "multi_static_select": _MULTI_STATIC_RULE,
    **{name: _SELECT_RULE for name in SELECTS if name != "static_select"},
    **{name: _MULTI_SELECT_RULE for name in MULTI_SELECTS if name != "multi_static_select"},
}


@dataclass(frozen=True)
class BlockRule:
    """Limits of one block type.

    ``element_lists`` maps a field holding a list of elements to (min, max, allowed types);
    ``element_slots`` maps a field holding a single element to its allowed types.
    """

    texts: dict[str, TextRule] = field(default_factory=dict)
    strings: dict[str, int] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    element_lists: dict[str, tuple[int, int, frozenset[str]]] = field(default_factory=dict)
    element_slots: dict[str, frozenset[str]] = field(default_factory=dict)


_CONTEXT_ELEMENTS = frozenset(("image", "plain_text", "mrkdwn"))

BLOCK_RULES: dict[str, BlockRule] = {
    "section": BlockRule(
        texts={"text": TextRule(3000, ANY_TEXT)},
        element_slots={"accessory": ACCESSORY_ELEMENTS},
    ),
    "header": BlockRule(texts={"text": TextRule(150, PLAIN, True)}),
    "divider": BlockRule(),
    "context": BlockRule(element_lists={"elements": (1, 10, _CONTEXT_ELEMENTS)}),
    "actions": BlockRule(element_lists={"elements": (1, 25, ACTIONS_ELEMENTS)}),
    "input": BlockRule(
        texts={"label": TextRule(2000, PLAIN, True), "hint": TextRule(2000)},
        required=("label", "element"),
        element_slots={"element": INPUT_ELEMENTS},
    ),
    "image": BlockRule(
        texts={"title": TextRule(2000)},
        strings={"alt_text": 2000, "image_url": URL_MAX},
        required=("alt_text",),
    ),
    "rich_text": BlockRule(required=("elements",)),
    "markdown": BlockRule(strings={"text": 12_000}, required=("text",)),
    "file": BlockRule(required=("external_id", "source")),
    "video": BlockRule(
        texts={"title": TextRule(200, PLAIN, True), "description": TextRule(200)},
        strings={"alt_text": 2000, "video_url": URL_MAX, "thumbnail_url": URL_MAX},
        required=("alt_text", "title", "video_url", "thumbnail_url"),
    ),
    "table": BlockRule(required=("rows",)),
}

Violations = list[str]


def _at(pointer: str, message: str) -> str:
    return f"[json-pointer:{pointer}] {message}"


def _too_long(pointer: str, value: str, max_len: int) -> str | None:
    if len(value) > max_len:
        return _at(pointer, f"must be at most {max_len} characters (got {len(value)})")
    return None


def _check_text_object(obj: Any, pointer: str, rule: TextRule) -> Violations:
    if not isinstance(obj, dict):
        return [_at(pointer, "must be a text object")]
    errors: Violations = []
    if obj.get("type") not in rule.types:
        errors.append(_at(f"{pointer}/type", f"must be one of {', '.join(rule.types)}"))
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(_at(f"{pointer}/text", "must be a non-empty string"))
    elif problem := _too_long(f"{pointer}/text", text, rule.max_len):
        errors.append(problem)
    return errors


def _check_fields(
    obj: dict[str, Any],
    pointer: str,
    texts: dict[str, TextRule],
    strings: dict[str, int],
    required: Iterable[str],
) -> Violations:
    """Check the text objects, plain strings and required keys shared by blocks and elements."""
    errors: Violations = []
    for name in required:
        if obj.get(name) in (None, "", [], {}):
            errors.append(_at(f"{pointer}/{name}", "is required"))
    for name, rule in texts.items():
        if obj.get(name) is not None:
            errors += _check_text_object(obj[name], f"{pointer}/{name}", rule)
        elif rule.required and name not in required:
            errors.append(_at(f"{pointer}/{name}", "is required"))
    for name, max_len in strings.items():
        value = obj.get(name)
        if isinstance(value, str) and (problem := _too_long(f"{pointer}/{name}", value, max_len)):
            errors.append(problem)
    return errors


def _check_id(
    obj: dict[str, Any], key: str, pointer: str, *, allow_empty: bool = False
) -> Violations:
    value = obj.get(key)
    if value is None or (allow_empty and value == ""):
        return []
    if not isinstance(value, str) or not value:
        return [_at(f"{pointer}/{key}", "must be a non-empty string")]
    problem = _too_long(f"{pointer}/{key}", value, ID_MAX)
    return [problem] if problem else []


def _check_count(items: Any, pointer: str, low: int, high: int, what: str) -> Violations:
    if not isinstance(items, list):
        return [_at(pointer, f"must be a list of {what}")]
    if len(items) < low:
        return [_at(pointer, f"must contain at least {low} {what} (got {len(items)})")]
    if len(items) > high:
        return [_at(pointer, f"must contain at most {high} {what} (got {len(items)})")]
    return []


def _check_option(option: Any, pointer: str, text_types: tuple[str, ...]) -> Violations:
    if not isinstance(option, dict):
        return [_at(pointer, "must be an option object")]
    errors = _check_text_object(
        option.get("text"), f"{pointer}/text", TextRule(OPTION_TEXT_MAX, text_types)
    )
    value = option.get("value")
    if not isinstance(value, str) or not value:
        errors.append(_at(f"{pointer}/value", "must be a non-empty string"))
    elif problem := _too_long(f"{pointer}/value", value, OPTION_VALUE_MAX):
        errors.append(problem)
    if "description" in option:
        rule = TextRule(OPTION_DESCRIPTION_MAX, text_types)
        errors += _check_text_object(option["description"], f"{pointer}/description", rule)
    if isinstance(option.get("url"), str) and (
        problem := _too_long(f"{pointer}/url", option["url"], URL_MAX)
    ):
        errors.append(problem)
    return errors


def _option_values(element: dict[str, Any]) -> set[str]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options += group.get("options") or []
    return {opt.get("value") for opt in options if isinstance(opt, dict)}


def _check_options(element: dict[str, Any], pointer: str, rule: ElementRule) -> Violations:
    assert rule.options is not None
    low, high = rule.options
    has_groups = rule.option_groups and "option_groups" in element
    if has_groups and "options" in element:
        return [_at(pointer, "must have either options or option_groups, not both")]
    errors: Violations = []
    if has_groups:
        groups = element["option_groups"]
        errors += _check_count(groups, f"{pointer}/option_groups", 1, 100, "option groups")
        for g, group in enumerate(groups if isinstance(groups, list) else []):
            gp = f"{pointer}/option_groups/{g}"
            label_rule = TextRule(OPTION_GROUP_LABEL_MAX, PLAIN, True)
            errors += _check_text_object(
                group.get("label") if isinstance(group, dict) else None, f"{gp}/label", label_rule
            )
            opts = group.get("options") if isinstance(group, dict) else None
            errors += _check_count(opts, f"{gp}/options", 1, 100, "options")
            for o, option in enumerate(opts if isinstance(opts, list) else []):
                errors += _check_option(option, f"{gp}/options/{o}", rule.option_text_types)
    else:
        options = element.get("options")
        errors += _check_count(options, f"{pointer}/options", low, high, "options")
        for o, option in enumerate(options if isinstance(options, list) else []):
            errors += _check_option(option, f"{pointer}/options/{o}", rule.option_text_types)
    errors += _check_initial_options(element, pointer)
    return errors


def _check_initial_options(element: dict[str, Any], pointer: str) -> Violations:
    """Slack refuses an initial option that is not one of the element's options."""
    known = _option_values(element)
    initial = element.get("initial_options") or []
    if isinstance(element.get("initial_option"), dict):
        initial = [element["initial_option"]]
    errors: Violations = []
    for option in initial:
        if isinstance(option, dict) and option.get("value") not in known:
            errors.append(_at(f"{pointer}/initial_option", "must match one of the options"))
    return errors


def _check_int_ranges(element: dict[str, Any], pointer: str, rule: ElementRule) -> Violations:
    errors: Violations = []
    for name, (low, high) in rule.int_ranges.items():
        value = element.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors.append(_at(f"{pointer}/{name}", f"must be an integer from {low} to {high}"))
    return errors


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_initial_values(element: dict[str, Any], pointer: str) -> Violations:
    errors: Violations = []
    date = element.get("initial_date")
    if date is not None and not (isinstance(date, str) and _DATE_RE.match(date)):
        errors.append(_at(f"{pointer}/initial_date", "must be YYYY-MM-DD"))
    time_ = element.get("initial_time")
    if time_ is not None and not (isinstance(time_, str) and TIME_RE.match(time_)):
        errors.append(_at(f"{pointer}/initial_time", "must be HH:mm"))
    value = element.get("initial_value")
    max_len = element.get("max_length")
    if isinstance(value, str) and isinstance(max_len, int) and len(value) > max_len:
        errors.append(_at(f"{pointer}/initial_value", f"is longer than max_length {max_len}"))
    return errors


def number_of(raw: Any, *, decimal: bool) -> float | None:
    """A number input's number as Slack reads it (a string of digits, a point only when decimals
    are allowed), else None."""
    if not isinstance(raw, str):
        return None
    pattern = _DECIMAL_RE if decimal else _WHOLE_RE
    return float(raw) if pattern.match(raw.strip()) else None


_WHOLE_RE = re.compile(r"^-?\d+$")
_DECIMAL_RE = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")


def _check_number_input(element: dict[str, Any], pointer: str) -> Violations:
    """``is_decimal_allowed`` a boolean; ``min_value``, ``max_value`` and ``initial_value`` numbers
    written as strings (whole ones unless decimals are allowed), min ≤ initial ≤ max."""
    decimal = element.get("is_decimal_allowed")
    if not isinstance(decimal, bool):
        return [_at(f"{pointer}/is_decimal_allowed", "must be a boolean")]
    errors: Violations = []
    found: dict[str, float] = {}
    for name in ("min_value", "max_value", "initial_value"):
        if name not in element:
            continue
        number = number_of(element[name], decimal=decimal)
        if number is None:
            kind = "a number" if decimal else "a whole number (is_decimal_allowed is false)"
            errors.append(_at(f"{pointer}/{name}", f"must be {kind} written as a string"))
        else:
            found[name] = number
    low, high = found.get("min_value"), found.get("max_value")
    if low is not None and high is not None and low > high:
        errors.append(_at(f"{pointer}/min_value", "must not be greater than max_value"))
    initial = found.get("initial_value")
    if initial is not None and (
        (low is not None and initial < low) or (high is not None and initial > high)
    ):
        errors.append(_at(f"{pointer}/initial_value", "must be within min_value and max_value"))
    return errors


def _check_timezone(element: dict[str, Any], pointer: str) -> Violations:
    zone = element.get("timezone")
    if zone is None:
        return []
    try:
        ZoneInfo(zone) if isinstance(zone, str) and zone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return [] if zone else [_at(f"{pointer}/timezone", "must be an IANA timezone name")]


def check_element(element: Any, pointer: str, allowed: frozenset[str]) -> Violations:
    """Check one block element (button, select, input, image, text in a context block, ...)."""
    if not isinstance(element, dict):
        return [_at(pointer, "must be an object")]
    kind = element.get("type")
    if kind not in allowed:
        return [_at(f"{pointer}/type", f"element type {kind!r} is not allowed here")]
    if kind in ("plain_text", "mrkdwn"):  # text objects in context blocks
        return _check_text_object(element, pointer, TextRule(3000, ANY_TEXT))
    rule = ELEMENT_RULES[kind]
    errors = _check_id(element, "action_id", pointer)
    errors += _check_fields(element, pointer, rule.texts, rule.strings, rule.required)
    if rule.options is not None:
        errors += _check_options(element, pointer, rule)
    errors += _check_int_ranges(element, pointer, rule)
    errors += _check_initial_values(element, pointer)
    if kind == "number_input":
        errors += _check_number_input(element, pointer)
    if kind == "timepicker":
        errors += _check_timezone(element, pointer)
    if "confirm" in element:
        confirm = element["confirm"]
        if isinstance(confirm, dict):
            errors += _check_fields(confirm, f"{pointer}/confirm", _CONFIRM_TEXTS, {}, ())
        else:
            errors.append(_at(f"{pointer}/confirm", "must be a confirmation dialog object"))
    return errors


def _duplicate_action_ids(elements: list[Any], pointer: str) -> Violations:
    seen: set[str] = set()
    errors: Violations = []
    for i, element in enumerate(elements):
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is None:
            continue
        if action_id in seen:
            errors.append(_at(f"{pointer}/{i}/action_id", f"duplicate action_id {action_id!r}"))
        seen.add(action_id)
    return errors


def _check_section(block: dict[str, Any], pointer: str) -> Violations:
    if "text" not in block and "fields" not in block:
        return [_at(pointer, "a section needs text or fields")]
    if "fields" not in block:
        return []
    fields_ = block["fields"]
    errors = _check_count(fields_, f"{pointer}/fields", 1, 10, "fields")
    for i, item in enumerate(fields_ if isinstance(fields_, list) else []):
        errors += _check_text_object(item, f"{pointer}/fields/{i}", TextRule(2000, ANY_TEXT))
    return errors


def _check_image_source(block: dict[str, Any], pointer: str) -> Violations:
    if block.get("image_url") or block.get("slack_file"):
        return []
    return [_at(pointer, "an image needs image_url or slack_file")]


# Checks beyond the table, per block type.
_EXTRA_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], Violations]] = {
    "section": _check_section,
    "image": _check_image_source,
}


def check_block(block: Any, pointer: str) -> Violations:
    """Check one block against the rules of its type (unknown types are a violation)."""
    if not isinstance(block, dict):
        return [_at(pointer, "must be a block object")]
    kind = block.get("type")
    rule = BLOCK_RULES.get(kind) if isinstance(kind, str) else None
    if rule is None:
        return [_at(f"{pointer}/type", f"unknown block type {kind!r}")]
    errors = _check_id(block, "block_id", pointer)
    errors += _check_fields(block, pointer, rule.texts, rule.strings, rule.required)
    for name, allowed in rule.element_slots.items():
        if name in block:
            errors += check_element(block[name], f"{pointer}/{name}", allowed)
    for name, (low, high, allowed) in rule.element_lists.items():
        items = block.get(name)
        errors += _check_count(items, f"{pointer}/{name}", low, high, "elements")
        if isinstance(items, list):
            for i, element in enumerate(items):
                errors += check_element(element, f"{pointer}/{name}/{i}", allowed)
            errors += _duplicate_action_ids(items, f"{pointer}/{name}")
    if "dispatch_action" in block and not isinstance(block["dispatch_action"], bool):
        errors.append(_at(f"{pointer}/dispatch_action", "must be a boolean"))
    if extra := _EXTRA_BLOCK_CHECKS.get(kind):
        errors += extra(block, pointer)
    return errors


def check_blocks(blocks: Any, pointer: str, max_blocks: int) -> Violations:
    """Check a list of blocks: count, each block, and block_id uniqueness."""
    if not isinstance(blocks, list):
        return [_at(pointer, "must be a list of blocks")]
    errors: Violations = []
    if len(blocks) > max_blocks:
        errors.append(_at(pointer, f"must contain at most {max_blocks} blocks (got {len(blocks)})"))
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        errors += check_block(block, f"{pointer}/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in seen:
                errors.append(_at(f"{pointer}/{i}/block_id", f"duplicate block_id {block_id!r}"))
            seen.add(block_id)
    return errors


def check_text(text: Any) -> Violations:
    """Check a message's top-level ``text`` (the notification fallback when blocks are sent)."""
    if text is None:
        return []
    if not isinstance(text, str):
        return [_at("/text", "must be a string")]
    problem = _too_long("/text", text, MESSAGE_TEXT_MAX)
    return [problem] if problem else []


def check_message(text: Any, blocks: Any) -> Violations:
    """Check a message (chat.postMessage, chat.update, response_url, ...)."""
    errors = check_text(text)
    if blocks is not None:
        errors += check_blocks(blocks, "/blocks", MESSAGE_MAX_BLOCKS)
    return errors


def _check_view_header(view: dict[str, Any]) -> Violations:
    """Title, submit and close buttons of a modal (shown in the modal's chrome)."""
    errors: Violations = []
    if view.get("title") is None:
        errors.append(_at("/title", "is required for a modal"))
    for name in ("title", "submit", "close"):
        if view.get(name) is not None:
            errors += _check_text_object(view[name], f"/{name}", TextRule(MODAL_TEXT_MAX))
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and view.get("submit") is None:
        errors.append(_at("/submit", "is required when a modal contains input blocks"))
    return errors


def check_view(view: Any) -> Violations:
    """Check a modal or Home tab view (views.open / push / update / publish, ack bodies)."""
    if not isinstance(view, dict):
        return [_at("", "view must be an object")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [_at("/type", f"must be modal or home (got {kind!r})")]
    errors = _check_view_header(view) if kind == "modal" else []
    if "blocks" not in view:
        errors.append(_at("/blocks", "is required"))
    else:
        errors += check_blocks(view["blocks"], "/blocks", VIEW_MAX_BLOCKS)
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and (
        problem := _too_long("/private_metadata", metadata, PRIVATE_METADATA_MAX)
    ):
        errors.append(problem)
    for key in ("callback_id", "external_id"):  # Slack itself echoes these as ""
        errors += _check_id(view, key, "", allow_empty=True)
    return errors

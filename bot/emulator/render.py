"""Plain-text rendering of Block Kit for the terminal demo.

This module owns turning messages, modals and Home tabs into readable text about 78 columns
wide: mrkdwn mentions and links become ``@name``, ``#channel`` and ``label (url)``, buttons
become ``[ Label ]``, inputs show their label and ``[ placeholder ]`` or initial value, and a
modal is drawn in a box with its submit/close buttons. No colour codes.

Widths are display widths: a Chinese character takes two columns, so boxes stay aligned, and
Chinese text, which has no spaces, wraps between characters (never before a closing mark such
as ，。：）). The renderer's own words ("optional", "options") come from the ``emulator``
catalog in the demo's language.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import date_format, plain
from bot.widths import cut, display_width, wrap

WIDTH = 78
_MAX_LISTED_OPTIONS = 6
_LINK = re.compile(r"<([^<>\n]+)>")

Names = dict[str, str] | None


def _special(body: str, label: str | None, tz: str | None = None) -> str:
    """``<!…>`` commands: dates show in the reader's timezone ``tz`` as Slack shows them (else
    their fallback), broadcasts their name."""
    if body.startswith("date^"):
        stamp = body.split("^")[1]
        if tz and stamp.isdigit():
            moment = datetime.fromtimestamp(int(stamp), ZoneInfo(tz))
            return moment.strftime(date_format(body.split("^")[2] if body.count("^") > 1 else ""))
        return label or body
    if body.startswith("subteam^"):
        return label or "@group"
    if body in ("here", "channel", "everyone"):
        return f"@{body}"
    return label or body


def mrkdwn_to_text(
    text: str, users: Names = None, channels: Names = None, tz: str | None = None
) -> str:
    """Convert Slack mrkdwn to terminal text (mentions, links, dates, HTML escapes)."""
    users, channels = users or {}, channels or {}

    def replace(match: re.Match[str]) -> str:
        body, _, label = match.group(1).partition("|")
        label_or_none = label or None
        if body.startswith("@"):
            return "@" + (label or users.get(body[1:], body[1:]))
        if body.startswith("#"):
            return "#" + (label or channels.get(body[1:], body[1:]))
        if body.startswith("!"):
            return _special(body[1:], label_or_none, tz)
        if body.startswith("mailto:"):
            return label or body.removeprefix("mailto:")
        if label and label != body:
            return f"{label} ({body})"
        return body

    return html.unescape(_LINK.sub(replace, text or "")) if text else ""


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` columns."""
    return text + " " * max(0, width - display_width(text))


def rjust(text: str, width: int) -> str:
    return " " * max(0, width - display_width(text)) + text


class _Renderer:
    """Renders blocks for one surface width, resolving user and channel names."""

    def __init__(
        self,
        users: Names,
        width: int,
        channels: Names = None,
        locale: str = "en",
        tz: str | None = None,
    ) -> None:
        self.users = users or {}
        self.channels = channels or {}
        self.width = width
        self.locale = locale
        self.tz = tz
        self.separator = plain(locale, "units.separator")  # "a, b" or "a、b"

    def label(self, key: str, **params: Any) -> str:
        return plain(self.locale, f"emulator.{key}", **params)

    def text(self, obj: Any) -> str:
        if isinstance(obj, str):
            return mrkdwn_to_text(obj, self.users, self.channels, self.tz)
        if not isinstance(obj, dict):
            return ""
        raw = obj.get("text", "")
        if obj.get("type") == "plain_text":
            return html.unescape(raw)
        return mrkdwn_to_text(raw, self.users, self.channels, self.tz)

    # ------------------------------------------------------------------------- elements

    def _options_summary(self, element: dict[str, Any]) -> str:
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options += group.get("options") or []
        labels = [self.text(o.get("text")) for o in options]
        if not labels:
            return ""
        shown = " · ".join(labels[:_MAX_LISTED_OPTIONS])
        more = len(labels) - _MAX_LISTED_OPTIONS
        return self.label("options", options=shown, more=max(more, 0))

    def _initial(self, element: dict[str, Any]) -> str | None:
        for key in ("initial_value", "initial_date", "initial_time"):
            if element.get(key):
                return str(element[key])
        if isinstance(element.get("initial_option"), dict):
            return self.text(element["initial_option"].get("text"))
        if element.get("initial_options"):
            return self.separator.join(self.text(o.get("text")) for o in element["initial_options"])
        for key, prefix, names in (
            ("initial_user", "@", self.users),
            ("initial_conversation", "#", self.channels),
            ("initial_channel", "#", self.channels),
        ):
            if element.get(key):
                return prefix + names.get(element[key], element[key])
        for key, prefix, names in (
            ("initial_users", "@", self.users),
            ("initial_conversations", "#", self.channels),
            ("initial_channels", "#", self.channels),
        ):
            if element.get(key):
                return self.separator.join(prefix + names.get(i, i) for i in element[key])
        return None

    def _field(self, element: dict[str, Any], suffix: str = "") -> str:
        shown = self._initial(element) or self.text(element.get("placeholder")) or " " * 12
        return f"[ {shown}{suffix} ]"

    def _field_lines(self, element: dict[str, Any], suffix: str = "") -> list[str]:
        """A field as Slack draws it: a long or multi-line value wraps inside the field."""
        lines = self._field(element, suffix).split("\n")
        wrapped = wrap(lines[0], self.width)
        for line in lines[1:]:
            wrapped += wrap(line, self.width, "  ")
        return wrapped

    def _choices(self, element: dict[str, Any], multi: bool) -> list[str]:
        chosen = {o.get("value") for o in element.get("initial_options") or []}
        if isinstance(element.get("initial_option"), dict):
            chosen.add(element["initial_option"].get("value"))
        lines = []
        for option in element.get("options") or []:
            marked = option.get("value") in chosen
            box = ("[x]" if marked else "[ ]") if multi else ("(o)" if marked else "( )")
            lines.append(f"{box} {self.text(option.get('text'))}")
        return lines

    def element(self, element: dict[str, Any]) -> list[str]:
        """An element as one or more lines."""
        kind = element.get("type", "")
        if kind == "button":
            label = f"[ {self.text(element.get('text'))} ]"
            return [label + (f" ({element['url']})" if element.get("url") else "")]
        if kind in ("checkboxes", "radio_buttons"):
            return self._choices(element, multi=kind == "checkboxes")
        if kind == "overflow":
            return ["[ ⋯ ]"]
        if kind.endswith("select"):
            lines = self._field_lines(element, " ▾")
            summary = self._options_summary(element)
            return lines + wrap(summary, self.width, "  ") if summary else lines
        if kind == "image":
            return [f"[image: {element.get('alt_text', '')}]"]
        if kind in ("plain_text", "mrkdwn"):
            return [self.text(element)]
        if kind in ("datepicker", "timepicker", "datetimepicker"):
            return self._field_lines(element, "")
        if kind == "file_input":
            return [f"[ {self.label('upload')} ]"]
        lines = self._field_lines(element)
        if element.get("multiline"):
            lines += wrap(self.label("multiline"), self.width, "  ")
        return lines

    # --------------------------------------------------------------------------- blocks

    def section(self, block: dict[str, Any]) -> list[str]:
        lines = wrap(self.text(block.get("text")), self.width) if block.get("text") else []
        fields = [self.text(f) for f in block.get("fields") or []]
        lines += self._two_columns(fields)
        if isinstance(block.get("accessory"), dict):
            accessory = self.element(block["accessory"])
            lines += [rjust(line, self.width) for line in accessory[:1]] + accessory[1:]
        return lines

    def _two_columns(self, fields: list[str]) -> list[str]:
        """Section fields side by side, as Slack shows them."""
        half = (self.width - 2) // 2
        lines: list[str] = []
        for left, right in zip(fields[::2], fields[1::2] + [""], strict=False):
            left_lines, right_lines = wrap(left, half), wrap(right, half) if right else []
            for i in range(max(len(left_lines), len(right_lines))):
                cell = left_lines[i] if i < len(left_lines) else ""
                other = right_lines[i] if i < len(right_lines) else ""
                lines.append(f"{pad(cell, half)}  {other}".rstrip())
        return lines

    def header(self, block: dict[str, Any]) -> list[str]:
        title = self.text(block.get("text"))
        return [title, "═" * min(display_width(title), self.width)]

    def context(self, block: dict[str, Any]) -> list[str]:
        parts = [" ".join(self.element(e)) for e in block.get("elements") or []]
        return wrap("  ·  ".join(parts), self.width)

    def actions(self, block: dict[str, Any]) -> list[str]:
        rendered = [self.element(e) for e in block.get("elements") or []]
        inline = [r[0] for r in rendered if len(r) == 1]
        lines = wrap("  ".join(inline), self.width) if inline else []
        for multi in (r for r in rendered if len(r) > 1):
            lines += multi
        return lines

    def input(self, block: dict[str, Any]) -> list[str]:
        label = self.text(block.get("label"))
        lines = [label + (f"  {self.label('optional')}" if block.get("optional") else "")]
        element = block.get("element")
        lines += self.element(element) if isinstance(element, dict) else []
        if block.get("hint"):
            lines += wrap(self.text(block["hint"]), self.width, "  ")
        return lines

    def image(self, block: dict[str, Any]) -> list[str]:
        title = f" {self.text(block['title'])}" if block.get("title") else ""
        return [f"[image:{title} {block.get('alt_text', '')}]"]

    def rich_text(self, block: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        for part in block.get("elements") or []:
            kind = part.get("type")
            if kind == "rich_text_list":
                for item in part.get("elements") or []:
                    lines += wrap(self._rich_inline(item), self.width - 2, "  • ")
            elif kind == "rich_text_quote":
                lines += wrap(self._rich_inline(part), self.width - 2, "> ")
            elif kind == "rich_text_preformatted":
                lines += ["    " + line for line in self._rich_inline(part).split("\n")]
            else:
                lines += wrap(self._rich_inline(part), self.width)
        return lines

    def _rich_inline(self, part: dict[str, Any]) -> str:
        pieces = []
        for item in part.get("elements") or []:
            kind = item.get("type")
            if kind == "user":
                pieces.append(
                    "@" + self.users.get(item.get("user_id", ""), item.get("user_id", ""))
                )
            elif kind == "channel":
                channel_id = item.get("channel_id", "")
                pieces.append("#" + self.channels.get(channel_id, channel_id))
            elif kind == "link":
                url, label = item.get("url", ""), item.get("text")
                pieces.append(f"{label} ({url})" if label else url)
            elif kind == "emoji":
                pieces.append(f":{item.get('name', '')}:")
            else:
                pieces.append(item.get("text", ""))
        return "".join(pieces)

    def markdown(self, block: dict[str, Any]) -> list[str]:
        return wrap(block.get("text", ""), self.width)

    def block(self, block: dict[str, Any]) -> list[str]:
        kind = block.get("type", "")
        if kind == "divider":
            return ["─" * self.width]
        handler: Callable[[dict[str, Any]], list[str]] | None = getattr(self, kind, None)
        if kind not in _BLOCK_RENDERERS or handler is None:
            return [f"[{kind} block]"]
        return handler(block)

    def blocks(self, blocks: list[dict[str, Any]] | None) -> list[str]:
        lines: list[str] = []
        for block in blocks or []:
            if lines and block.get("type") not in ("divider", "context", "actions"):
                lines.append("")
            lines += self.block(block)
        return lines


_BLOCK_RENDERERS = frozenset(
    ("section", "header", "context", "actions", "input", "image", "rich_text", "markdown")
)


def render_blocks(
    blocks: list[dict[str, Any]] | None,
    users: Names = None,
    channels: Names = None,
    locale: str = "en",
    tz: str | None = None,
) -> str:
    """Blocks as plain text, ~78 columns wide."""
    return "\n".join(_Renderer(users, WIDTH, channels, locale, tz).blocks(blocks))


def _boxed(title: str, body: list[str], footer: str | None, width: int) -> str:
    inner = width - 4
    top = f"┌{'─' * (width - 2)}┐"
    rule = f"├{'─' * (width - 2)}┤"
    bottom = f"└{'─' * (width - 2)}┘"

    def row(text: str) -> str:
        return f"│ {pad(text, inner)} │"

    lines = [top, row(cut(title, inner)), rule]
    lines += [row(line) for line in body] or [row("")]
    if footer is not None:
        lines += [rule, row(rjust(footer, inner))]
    lines.append(bottom)
    return "\n".join(lines)


def render_view(
    view: dict[str, Any],
    users: Names = None,
    channels: Names = None,
    locale: str = "en",
    tz: str | None = None,
) -> str:
    """A modal drawn as a box: title, blocks (inputs with their fields), close/submit buttons.
    The app's Home tab (a view of type home) is boxed under its label."""
    renderer = _Renderer(users, WIDTH - 4, channels, locale, tz)
    if view.get("type") == "home":
        return _boxed(renderer.label("home"), renderer.blocks(view.get("blocks")), None, WIDTH)
    title = renderer.text(view.get("title")) or renderer.label("modal")
    close = renderer.text(view.get("close")) or renderer.label("cancel")
    buttons = [f"[ {close} ]"]
    if view.get("submit"):
        buttons.append(f"[ {renderer.text(view['submit'])} ]")
    body = renderer.blocks(view.get("blocks"))
    heading = f"{title}{rjust('✕', WIDTH - 4 - display_width(title))}"
    return _boxed(heading, body, "  ".join(buttons), WIDTH)


def render_message(
    where: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    users: Names = None,
    channels: Names = None,
    locale: str = "en",
    tz: str | None = None,
) -> str:
    """A message with a header line naming where it appears (``#erp-rollout``, ``DM to @anna``);
    dates show in ``tz``, the reader's timezone, as Slack would show them."""
    header = f"── {where} " + "─" * max(0, WIDTH - display_width(where) - 4)
    renderer = _Renderer(users, WIDTH, channels, locale, tz)
    body = renderer.blocks(blocks) if blocks else wrap(renderer.text(text), WIDTH)
    return "\n".join([header, *body])

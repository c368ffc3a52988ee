"""Text: one Jinja2 environment for the whole app, and the en / zh-CN message catalogs.

Catalogs are TOML files under ``bot/templates/locales/<locale>/``, one per domain: dotted keys to
Jinja template strings.
Longer texts are ``.j2`` files under ``bot/templates/<locale>/``. The project's locale picks the
language; a key missing from zh-CN falls back to English.

Every ``{{ value }}`` is escaped for Slack mrkdwn (``&``, ``<``, ``>`` only, never HTML entities)
unless it is ``Markup`` (mentions, links and dates built by the filters below), so a key user's
text cannot ping ``<!channel>`` or forge a link. ``plain()`` renders for ``plain_text`` objects,
which need no escaping.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

DEFAULT_LOCALE = "en"
LOCALES = ("en", "zh-CN")


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What mrkdwn marks up and plain text would show as typed: a leading emoji code, *bold*,
# _italic_, ~struck~ and `code` spans, and links with a label.
_LEADING_EMOJI = re.compile(r"^:[a-z0-9_+-]+:\s*")
_SPANS = re.compile(r"(?<![\w*_~`])([*_~`])(?=\S)([^\n]*?\S)\1(?![\w*_~`])")
_LABELLED_LINK = re.compile(r"<(?:https?|mailto):[^|>\s]+\|([^>]*)>")


def mrkdwn_to_plain(text: str) -> str:
    """Mrkdwn for a place Slack shows as plain text (a modal's inline errors): markers and
    escapes would show as typed there, so they are taken off."""
    text = _LEADING_EMOJI.sub("", text)
    text = _LABELLED_LINK.sub(r"\1", text)
    text = _SPANS.sub(r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _finalize_mrkdwn(value: Any) -> Any:
    if isinstance(value, Markup) or value is None:
        return "" if value is None else value
    return escape_mrkdwn(str(value))


def mention(user_id: str | None) -> Markup:
    return Markup(f"<@{user_id}>") if user_id else Markup("—")


def channel_link(channel_id: str | None) -> Markup:
    return Markup(f"<#{channel_id}>") if channel_id else Markup("—")


def link(url: str, label: str) -> Markup:
    return Markup(f"<{url}|{escape_mrkdwn(label).replace('|', '¦')}>")


def date_format(pattern: str) -> str:
    """The ``strftime`` format of what a ``<!date>`` pattern shows: its date, its time or both."""
    parts = [f for token, f in (("{date", "%Y-%m-%d"), ("{time", "%H:%M")) if token in pattern]
    return " ".join(parts) or "%Y-%m-%d %H:%M"


def slack_date(
    moment: datetime, tz: str = "UTC", pattern: str = "{date_short_pretty} {time}"
) -> Markup:
    """A time each reader sees in their own timezone, with the project's time as the fallback."""
    fallback = moment.astimezone(ZoneInfo(tz)).strftime(date_format(pattern))
    return Markup(f"<!date^{int(moment.timestamp())}^{pattern}|{fallback} {tz}>")


def percent(value: Any) -> str:
    """One percent style in both languages: a whole number against its sign (``67%``), half up,
    and a dash where there is no figure."""
    if value is None or value == "—":
        return "—"
    whole = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole}%"


def hours_figure(hours: float) -> str:
    """Hours as a figure: 8, 1.5, 0.75 (at most two decimals, no trailing zeros)."""
    return f"{round(float(hours), 2):.2f}".rstrip("0").rstrip(".")


def duration(locale: str | None, minutes: int) -> str:
    """The one way a length is written, in hours as forms ask it: "8 h", "1.5 h", "0.75 h"
    (小时 in Chinese)."""
    return plain(locale, "units.hours", hours=hours_figure(int(minutes) / 60))


def joined(locale: str | None, items: Iterable[Any]) -> Markup:
    """A list in the reader's language: "a, b, c" or "a、b、c" (text escaped, mentions kept)."""
    separator = Markup(plain(locale, "units.separator"))
    return separator.join(
        item if isinstance(item, Markup) else Markup(escape_mrkdwn(str(item))) for item in items
    )


def _templates_root() -> Any:
    return resources.files("bot") / "templates"


@cache
def _environment(mrkdwn: bool, files: bool = False) -> Environment:
    """Files (``.j2``) trim the newline after a block tag; one-line catalog messages keep theirs."""
    root = str(_templates_root())
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(root)]),
        undefined=StrictUndefined,
        trim_blocks=files,
        lstrip_blocks=files,
        autoescape=False,
        finalize=_finalize_mrkdwn if mrkdwn else None,
        keep_trailing_newline=False,
    )
    env.filters["mention"] = mention
    env.filters["channel"] = channel_link
    env.filters["slack_date"] = slack_date
    env.filters["percent"] = percent
    return env


def read_catalog_files(locale: str) -> dict[str, str]:
    """Every ``locales/<locale>/*.toml`` flattened to dotted keys; a key defined twice is an error.

    One file per domain (``issues.toml``, ``polls.toml``, …) so that a new capability adds its
    own file next to the others.
    """
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any], source: str) -> None:
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value, source)
            elif name in flat:
                raise ValueError(f"message {name!r} is defined twice ({source})")
            else:
                flat[name] = value

    folder = _templates_root() / "locales" / locale
    for path in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if path.name.endswith(".toml"):
            with path.open("rb") as handle:
                walk("", tomllib.load(handle), f"{locale}/{path.name}")
    return flat


@cache
def _catalog(locale: str) -> dict[str, str]:
    return {key: str(value) for key, value in read_catalog_files(locale).items()}


def normalize_locale(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def has_key(key: str) -> bool:
    return key in _catalog(DEFAULT_LOCALE)


def _source(locale: str, key: str) -> str:
    locale = normalize_locale(locale)
    catalog = _catalog(locale)
    if key in catalog:
        return catalog[key]
    english = _catalog(DEFAULT_LOCALE)
    if key in english:
        return english[key]
    raise KeyError(f"no message {key!r} in the catalogs")


@cache
def _compiled(locale: str, key: str, mrkdwn: bool) -> Template:
    """Each message is compiled once per process (compiling is a hundred times rendering)."""
    return _environment(mrkdwn).from_string(_source(locale, key))


def t(locale: str | None, key: str, **params: Any) -> str:
    """A catalog message rendered as mrkdwn (parameters escaped)."""
    return _compiled(normalize_locale(locale), key, True).render(**params)


def plain(locale: str | None, key: str, **params: Any) -> str:
    """A catalog message rendered for a plain_text object (no escaping)."""
    return _compiled(normalize_locale(locale), key, False).render(**params)


def render(locale: str | None, template: str, **params: Any) -> str:
    """A ``.j2`` template from ``bot/templates/<locale>/`` as mrkdwn, English as fallback."""
    env = _environment(True, files=True)
    locale = normalize_locale(locale)
    names = [f"{locale}/{template}", f"{DEFAULT_LOCALE}/{template}"]
    return env.select_template(names).render(locale=locale, **params).strip()


def say(locale: str | None, message: object) -> str:
    """A domain message (``Msg``) in the reader's language; a plain string is shown as it is."""
    key = getattr(message, "key", None)
    if key is not None:
        params = {
            name: Markup(plain(locale, value.key, **value.params))
            if getattr(value, "key", None) is not None and hasattr(value, "params")
            else value
            for name, value in getattr(message, "params", {}).items()
        }  # a parameter that is itself a message (a status, a verb) is said in the same language
        return t(locale, key, **params)
    return str(message)


@cache
def _compiled_plain_text(locale: str, key: str) -> Template:
    return _environment(False).from_string(mrkdwn_to_plain(_source(locale, key)))


def say_plain(locale: str | None, message: object) -> str:
    """``say`` for a place Slack shows as plain text (a modal's inline errors): the message
    without its mrkdwn markup, and what people typed exactly as they typed it."""
    key = getattr(message, "key", None)
    if key is None:
        return str(message)
    params = {
        name: say_plain(locale, value) if getattr(value, "key", None) is not None else value
        for name, value in getattr(message, "params", {}).items()
    }
    return _compiled_plain_text(normalize_locale(locale), key).render(**params)


def catalog_keys(locale: str) -> set[str]:
    return set(_catalog(locale))

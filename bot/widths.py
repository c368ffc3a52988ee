"""Display widths and line wrapping of text that mixes Latin and Chinese: a Chinese character
takes two columns, and Chinese text, which has no spaces, wraps between characters (never before a
closing mark such as ，。：）). The terminal demo's boxes and the charts' titles wrap with it."""

from __future__ import annotations

import re
import unicodedata


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (East Asian wide and full-width characters take 2)."""
    return sum(char_width(char) for char in text)


def cut(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns."""
    kept, used = [], 0
    for char in text:
        used += char_width(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept)


# A token is a run of spaces, one wide character, or a run of other characters (a word).
_WIDE = (
    "\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
)
_TOKENS = re.compile(rf"\s+|[{_WIDE}]|[^\s{_WIDE}]+")
# Marks that must not begin a line: they stay with the character before them.
_NO_LINE_START = set("，。、；：？！）》」』】〉〕…—·,.;:?!)]}%")
# Marks that must not end a line: they go down with the character after them.
_NO_LINE_END = set("（《「『【〈〔“‘([{")


def _wrap_paragraph(paragraph: str, width: int, indent: str) -> list[str]:
    lines: list[str] = []
    tokens: list[str] = []  # the current line's tokens, after the indent
    used = display_width(indent)
    limit = max(width, 10)
    for token in _TOKENS.findall(paragraph):
        size = display_width(token)
        if token.isspace():
            if tokens:
                tokens.append(token)
                used += size
            continue
        if tokens and used + size > limit:
            carried: list[str] = []
            if token[0] in _NO_LINE_START and not tokens[-1].isspace():
                carried = [tokens.pop()]  # the mark goes down with the character before it
            while tokens and tokens[-1] in _NO_LINE_END:
                carried.insert(0, tokens.pop())  # an opening mark goes down with what it opens
            while tokens and tokens[-1].isspace():
                tokens.pop()
            if tokens:
                lines.append(indent + "".join(tokens))
                tokens = carried
            else:
                tokens = carried
            used = display_width(indent) + sum(display_width(t) for t in tokens)
        tokens.append(token)
        used += size
    while tokens and tokens[-1].isspace():
        tokens.pop()
    if tokens:
        lines.append(indent + "".join(tokens))
    return lines


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += _wrap_paragraph(paragraph, width, indent) or [indent.rstrip()]
    return lines

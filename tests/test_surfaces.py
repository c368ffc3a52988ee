"""The house rules of ``tests/surfaces.py`` on everything the demo sends, in both languages (the
flow tests are checked as they end, by ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from tests import surfaces


def test_a_primary_button_per_block_is_the_most() -> None:
    button = {"type": "button", "style": "primary"}
    block = {
        "type": "actions",
        "elements": [
            {**button, "text": {"type": "plain_text", "text": "A"}},
            {**button, "text": {"type": "plain_text", "text": "B"}},
        ],
    }
    sent = surfaces.Surface("chat.postMessage", {"text": "x", "blocks": [block]})
    assert surfaces.at_most_one_primary(sent) == ["2 primary buttons in one actions block (A, B)"]


def test_a_message_with_blocks_says_itself_in_text() -> None:
    sent = surfaces.Surface("chat.postMessage", {"text": " ", "blocks": [{"type": "divider"}]})
    assert surfaces.problems_in([sent]) == ["chat.postMessage: a message with blocks and no text"]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_demo_keeps_the_house_rules(played_demo, locale: str) -> None:  # type: ignore[no-untyped-def]
    found = played_demo(locale).surfaces
    assert found, "the demo sent nothing"
    assert surfaces.problems_in(found) == []

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


def button(action_id: str, **more: object) -> dict[str, object]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": action_id},
        **more,
    }


def posted(channel: str, *elements: dict[str, object]) -> surfaces.Surface:
    block = {"type": "actions", "elements": list(elements)}
    return surfaces.Surface(
        "chat.postMessage", {"channel": channel, "text": "x", "blocks": [block]}
    )


def test_a_danger_button_and_what_cannot_be_undone_ask_first() -> None:
    confirm = {"title": {}, "text": {}, "confirm": {}, "deny": {}}
    sent = posted(
        "D1",
        button("delete_it", style="danger"),
        button("plan_remove"),
        {"type": "overflow", "action_id": "digest_remind_owners", "options": []},
        button("plan_remove", style="danger", confirm=confirm),
        button("issue_do_ack"),
    )
    assert surfaces.problems_in([sent]) == [
        "chat.postMessage: a danger button without a confirm (delete_it)",
        "chat.postMessage: plan_remove without a confirm (plan_remove)",
        "chat.postMessage: digest_remind_owners without a confirm (digest_remind_owners)",
    ]


def test_a_channel_card_shows_five_buttons_at_most() -> None:
    six = [button(f"b{n}") for n in range(6)]
    assert surfaces.problems_in([posted("D1", *six)]) == []  # a DM is one person's
    assert surfaces.problems_in([posted("C1", *six[:5])]) == []
    assert surfaces.problems_in([posted("C1", *six)]) == [
        "chat.postMessage: 6 buttons on a channel card (b0, b1, b2, b3, b4, b5)"
    ]


def test_a_message_with_blocks_says_itself_in_text() -> None:
    sent = surfaces.Surface("chat.postMessage", {"text": " ", "blocks": [{"type": "divider"}]})
    assert surfaces.problems_in([sent]) == ["chat.postMessage: a message with blocks and no text"]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_demo_keeps_the_house_rules(played_demo, locale: str) -> None:  # type: ignore[no-untyped-def]
    found = played_demo(locale).surfaces
    assert found, "the demo sent nothing"
    assert surfaces.problems_in(found) == []

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


def test_every_home_item_has_its_action_or_says_it_only_informs() -> None:
    def section(text: str, **more: object) -> dict[str, object]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **more}

    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "Go"}}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Polls"}},
        section("Pulse: closes Friday", accessory=button),  # its action beside it
        section("Figures", block_id="info:figures"),  # only informs
        section("Ada — last contact 3 May"),
        {"type": "actions", "elements": [button]},  # the part's actions follow it
        {"type": "divider"},
        section("Your quiz: closes Monday"),  # nothing to act with
        {"type": "header", "text": {"type": "plain_text", "text": "Next"}},
        {"type": "actions", "elements": [button]},  # another part's actions do not count
    ]
    home = surfaces.Surface("views.publish", {"view": {"type": "home", "blocks": blocks}})
    assert surfaces.home_items_have_actions(home) == [
        "a Home item without an action: 'Your quiz: closes Monday'"
    ]
    modal = surfaces.Surface("views.open", {"view": {"type": "modal", "blocks": blocks}})
    assert surfaces.home_items_have_actions(modal) == []  # a rule of the Home tab only


def test_ephemeral_answers_stay_short() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 11
    long = {"text": "Readiness of ERP", "blocks": blocks, "response_type": "ephemeral"}
    assert surfaces.ephemeral_answers_stay_short(surfaces.Surface("response_url", long)) == [
        "an ephemeral answer of 11 blocks (at most 10: open a tool in a modal): 'Readiness of ERP'"
    ]
    short = {**long, "blocks": blocks[:10]}
    assert surfaces.ephemeral_answers_stay_short(surfaces.Surface("response_url", short)) == []
    in_place = {**long, "response_type": "in_channel"}  # not "only visible to you"
    assert surfaces.ephemeral_answers_stay_short(surfaces.Surface("response_url", in_place)) == []


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_demo_keeps_the_house_rules(played_demo, locale: str) -> None:  # type: ignore[no-untyped-def]
    found = played_demo(locale).surfaces
    assert found, "the demo sent nothing"
    assert surfaces.problems_in(found) == []

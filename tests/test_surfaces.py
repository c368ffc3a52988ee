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


def test_the_same_act_is_submitted_with_the_same_word() -> None:
    """A form's submit button says its act with the common catalog's word (Create, Add, Save,
    Send, Import, Reschedule, Next) in every domain; only acts no other form has keep their own."""
    import importlib
    import pkgutil

    import bot.views
    from bot.views.common import Modal

    submits: dict[str, str] = {}
    for info in pkgutil.iter_modules(bot.views.__path__):
        module = importlib.import_module(f"bot.views.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Modal) and value.submit:
                submits[f"{info.name}:{value.title}"] = value.submit
    assert len(submits) > 40
    own = {form: key for form, key in submits.items() if not key.startswith("common.")}
    assert set(own.values()) <= {
        "plan.done_modal.submit",
        "meeting.cancel_submit",
        "risk.verb.close",
    }


def test_times_numbers_and_dates_typed_as_text_are_caught() -> None:
    def form(block_id: str, label: str, **element: object) -> surfaces.Surface:
        block = {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": label},
            "element": {"type": "plain_text_input", "action_id": "value", **element},
        }
        return surfaces.Surface("views.open", {"view": {"type": "modal", "blocks": [block]}})

    assert surfaces.times_use_the_time_picker(form("digest_time", "When"))
    assert surfaces.times_use_the_time_picker(form("at", "Start (HH:MM)"))
    assert surfaces.times_use_the_time_picker(form("at", "Start", initial_value="09:00"))
    assert surfaces.numbers_use_the_number_input(form("capacity", "Seats"))
    assert surfaces.numbers_use_the_number_input(form("x", "How many", initial_value="4"))
    assert surfaces.dates_use_the_date_picker(form("due_on", "Due"))
    assert surfaces.dates_use_the_date_picker(form("x", "Last day (YYYY-MM-DD)"))
    plain_text = form("title", "Title", initial_value="Kick-off")
    assert surfaces.problems_in([plain_text]) == []
    picked = surfaces.Surface(
        "views.open",
        {
            "view": {
                "type": "modal",
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "digest_time",
                        "label": {"type": "plain_text", "text": "Time"},
                        "element": {"type": "timepicker", "action_id": "value"},
                    }
                ],
            }
        },
    )
    assert surfaces.problems_in([picked]) == []

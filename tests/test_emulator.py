"""Tests of the Slack emulator itself: the fake Web API, Block Kit limits, the driver, render."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.emulator import limits
from bot.emulator.driver import SlackDriver, TrackingExecutor
from bot.emulator.render import mrkdwn_to_text, render_blocks, render_message, render_view
from bot.emulator.server import SlackEmulator

SECRET = "test-signing-secret"


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def modal(*blocks: dict[str, Any], submit: bool = True, **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": plain("Liaison"), "blocks": list(blocks)}
    if submit:
        view["submit"] = plain("Save")
    return {**view, **extra}


def text_input(block_id: str, action_id: str, label: str = "Title") -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"type": "plain_text_input", "action_id": action_id},
    }


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("U1", "anna", "Anna Example", email="anna@example.com")
        emulator.add_user("U2", "bert", deleted=True)
        emulator.add_channel("C1", "erp-rollout", members=["U1"])
        emulator.add_channel("C2", "finance", members=["U1"], bot_is_member=False)
        emulator.add_channel("G1", "steering", bot_is_member=False, is_private=True)
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(base_url=emu.url, token="xoxb-test")


def api_error(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.data


# --------------------------------------------------------------------------- Web API basics


def test_auth_test_answers_like_slack(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["ok"] and answer["user_id"] == "UBOT" and answer["team_id"] == "T0001"
    assert answer["url"] == "https://acme.slack.com/" and answer["bot_id"]


def test_unknown_method_is_refused(client: WebClient, emu: SlackEmulator) -> None:
    data = api_error(lambda: client.api_call("chat.sendCarrierPigeon", json={"x": 1}))
    assert data["error"] == "unknown_method"
    assert emu.calls_to("chat.sendCarrierPigeon")[0].token == "xoxb-test"


def test_missing_required_argument_is_refused(client: WebClient) -> None:
    data = api_error(lambda: client.api_call("chat.postMessage", json={"text": "hi"}))
    assert data["error"] == "invalid_arguments"
    assert data["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]


def test_missing_token_is_not_authed(emu: SlackEmulator) -> None:
    data = api_error(lambda: WebClient(base_url=emu.url).auth_test())
    assert data["error"] == "not_authed"


def test_post_to_user_id_lands_in_dm(client: WebClient, emu: SlackEmulator) -> None:
    answer = client.chat_postMessage(channel="U1", text="Hello <@U1>")
    assert answer["channel"] == emu.dm_channel_id("U1") == "D1"
    assert answer["message"]["text"] == "Hello <@U1>"
    assert [m["text"] for m in emu.dm_messages("U1")] == ["Hello <@U1>"]
    opened = client.conversations_open(users="U1")
    assert opened["channel"]["id"] == "D1"


def test_message_ts_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_channel_errors(client: WebClient) -> None:
    assert api_error(lambda: client.chat_postMessage(channel="C404", text="x"))["error"] == (
        "channel_not_found"
    )
    assert api_error(lambda: client.chat_postMessage(channel="C2", text="x"))["error"] == (
        "not_in_channel"
    )
    # A private channel the bot is not in is invisible.
    assert api_error(lambda: client.chat_postMessage(channel="G1", text="x"))["error"] == (
        "channel_not_found"
    )
    client.conversations_join(channel="C2")
    assert client.chat_postMessage(channel="C2", text="x")["ok"]


def test_dm_to_deactivated_or_unknown_user(client: WebClient) -> None:
    assert api_error(lambda: client.chat_postMessage(channel="U2", text="x"))["error"] == (
        "user_disabled"
    )
    assert api_error(lambda: client.conversations_open(users="U2"))["error"] == "user_disabled"
    assert api_error(lambda: client.users_info(user="U404"))["error"] == "user_not_found"


def test_users_info_and_lookup(client: WebClient) -> None:
    user = client.users_info(user="U1", include_locale=True)["user"]
    assert user["real_name"] == "Anna Example" and user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] in (3600, 7200) and user["locale"] == "en-US"
    assert user["profile"]["email"] == "anna@example.com"
    assert client.users_lookupByEmail(email="anna@example.com")["user"]["id"] == "U1"
    names = {m["id"] for m in client.users_list()["members"]}
    assert {"U1", "U2", "UBOT"} <= names


def test_chat_update_delete_and_permalink(client: WebClient, emu: SlackEmulator) -> None:
    ts = client.chat_postMessage(channel="C1", text="draft")["ts"]
    updated = client.chat_update(channel="C1", ts=ts, text="final", blocks=[section("final")])
    assert updated["ts"] == ts and updated["message"]["text"] == "final"
    assert emu.messages("C1")[0]["text"] == "final"
    data = api_error(lambda: client.chat_update(channel="C1", ts="1.000001", text="x"))
    assert data["error"] == "message_not_found"
    link = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]
    assert link == f"https://acme.slack.com/archives/C1/p{ts.replace('.', '')}"
    client.chat_delete(channel="C1", ts=ts)
    assert emu.messages("C1") == []


def test_threads_and_history(client: WebClient, emu: SlackEmulator) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    client.chat_postMessage(channel="C1", text="reply", thread_ts=parent)
    assert [m["text"] for m in emu.thread("C1", parent)] == ["parent", "reply"]
    history = client.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in history] == ["parent"] and history[0]["reply_count"] == 1
    replies = client.conversations_replies(channel="C1", ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["parent", "reply"]


def test_ephemeral_needs_a_channel_member(client: WebClient, emu: SlackEmulator) -> None:
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert emu.ephemerals[0]["user"] == "U1" and emu.ephemerals[0]["text"] == "psst"
    data = api_error(lambda: client.chat_postEphemeral(channel="C1", user="U2", text="x"))
    assert data["error"] == "user_not_in_channel"


def test_form_encoded_json_arguments_are_decoded(client: WebClient, emu: SlackEmulator) -> None:
    blocks = [section("from a form")]
    client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "f", "blocks": json.dumps(blocks)}
    )
    stored = emu.messages("C1")[0]["blocks"]
    assert stored[0]["text"]["text"] == "from a form"


# ----------------------------------------------------------------------------------- views


def test_views_open_trigger_is_single_use(client: WebClient, emu: SlackEmulator) -> None:
    trigger = emu.issue_trigger_id("U1")
    view = client.views_open(trigger_id=trigger, view=modal(text_input("b", "a")))["view"]
    assert view["id"].startswith("V") and view["hash"] and view["state"] == {"values": {}}
    assert emu.open_views("U1")[-1]["id"] == view["id"]
    again = api_error(lambda: client.views_open(trigger_id=trigger, view=modal(section("x"))))
    assert again["error"] == "exchanged_trigger_id"
    unknown = api_error(lambda: client.views_open(trigger_id="1.2.3", view=modal(section("x"))))
    assert unknown["error"] == "invalid_trigger_id"


def test_trigger_expires_after_three_seconds(client: WebClient, emu: SlackEmulator) -> None:
    emu.trigger_ttl = 0.05
    trigger = emu.issue_trigger_id("U1")
    time.sleep(0.1)
    data = api_error(lambda: client.views_open(trigger_id=trigger, view=modal(section("x"))))
    assert data["error"] == "expired_trigger_id"


def test_views_push_stack_and_update(client: WebClient, emu: SlackEmulator) -> None:
    first = client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=modal(section("1")))
    for n in (2, 3):
        client.views_push(trigger_id=emu.issue_trigger_id("U1"), view=modal(section(str(n))))
    assert len(emu.open_views("U1")) == 3
    data = api_error(
        lambda: client.views_push(trigger_id=emu.issue_trigger_id("U1"), view=modal(section("4")))
    )
    assert data["error"] == "push_limit_reached"
    view_id = first["view"]["id"]
    updated = client.views_update(view_id=view_id, view=modal(section("1b")))["view"]
    assert updated["id"] == view_id and updated["hash"] != first["view"]["hash"]
    stale = api_error(
        lambda: client.views_update(
            view_id=view_id, hash=first["view"]["hash"], view=modal(section("1c"))
        )
    )
    assert stale["error"] == "hash_conflict"


def test_views_publish_stores_home(client: WebClient, emu: SlackEmulator) -> None:
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("Welcome")]})
    home = emu.home("U1")
    assert home is not None and home["blocks"][0]["text"]["text"] == "Welcome"


def test_invalid_view_is_refused_and_recorded(client: WebClient, emu: SlackEmulator) -> None:
    bad = modal(text_input("b", "a"), submit=False, title=plain("A title that is far too long"))
    data = api_error(lambda: client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=bad))
    assert data["error"] == "invalid_arguments"
    assert any("/title/text" in v for v in emu.violations)
    assert any("/submit" in v for v in emu.violations)


# ----------------------------------------------------------------------------------- files


def test_files_upload_v2_round_trip(client: WebClient, emu: SlackEmulator) -> None:
    answer = client.files_upload_v2(
        channel="C1",
        content=b"name;status\nanna;ok\n",
        filename="status.csv",
        title="Status",
        initial_comment="Weekly status",
    )
    assert answer["file"]["title"] == "Status"
    stored = emu.files[0]
    assert stored["content"] == b"name;status\nanna;ok\n"
    assert stored["channel_id"] == "C1" and stored["initial_comment"] == "Weekly status"
    assert client.files_info(file=stored["id"])["file"]["name"] == "status.csv"
    assert emu.messages("C1")[-1]["text"] == "Weekly status"


# ------------------------------------------------------------------- faults and rate limits


def test_429_with_retry_after_is_honoured_by_retry_handler(emu: SlackEmulator) -> None:
    emu.rate_limit("chat.postMessage", retry_after=1)
    retrying = WebClient(
        base_url=emu.url,
        token="xoxb-test",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    started = time.monotonic()
    assert retrying.chat_postMessage(channel="C1", text="eventually")["ok"]
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [429, 200]


def test_429_without_retry_handler(client: WebClient, emu: SlackEmulator) -> None:
    emu.rate_limit("users.info", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U1")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert client.users_info(user="U1")["ok"]


def test_fail_next_and_http_error(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail_next("chat.postMessage", error="fatal_error", times=2)
    for _ in range(2):
        assert api_error(lambda: client.chat_postMessage(channel="C1", text="x"))["error"] == (
            "fatal_error"
        )
    emu.http_error("auth.test", status=503)
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.status_code == 503
    assert client.chat_postMessage(channel="C1", text="x")["ok"] and client.auth_test()["ok"]


def test_rate_ceiling_in_sliding_window(client: WebClient, emu: SlackEmulator) -> None:
    moment = [0.0]  # the emulator's clock, moved by the test instead of waiting
    emu.use_rate_limits(emu.rate_limits, monotonic=lambda: moment[0])
    emu.set_rate_ceiling("chat.postMessage", per_second=3)
    statuses = []
    for _ in range(5):
        try:
            client.chat_postMessage(channel="C1", text="x")
            statuses.append(200)
        except SlackApiError as error:
            statuses.append(error.response.status_code)
    assert statuses == [200, 200, 200, 429, 429]
    moment[0] += 1.05
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


# ------------------------------------------------------------------------------ Block Kit


def test_51_blocks_are_refused_and_recorded(client: WebClient, emu: SlackEmulator) -> None:
    blocks = [section(f"line {i}") for i in range(51)]
    data = api_error(lambda: client.chat_postMessage(channel="C1", text="x", blocks=blocks))
    assert data["error"] == "invalid_blocks"
    assert "at most 50 blocks" in data["errors"][0]
    assert emu.violations and emu.violations[0].startswith("chat.postMessage:")
    assert emu.messages("C1") == []


def button(action_id: str, text: str = "Go", value: str = "v") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain(text), "value": value}


def options(n: int) -> list[dict[str, Any]]:
    return [{"text": plain(f"Option {i}"), "value": f"v{i}"} for i in range(n)]


VALID_MESSAGE_BLOCKS = [
    {"type": "header", "text": plain("Go-live checklist")},
    section("*Due* <!date^1700000000^{date_short}|Nov 14>", accessory=button("open")),
    {"type": "section", "fields": [{"type": "mrkdwn", "text": "a"}] * 10},
    {"type": "divider"},
    {"type": "actions", "elements": [button("a1"), button("a2")]},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U1>"}]},
]


@pytest.mark.parametrize(
    ("blocks", "fragment"),
    [
        ([section("x" * 3001)], "at most 3000 characters"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "a"}] * 11}], "at most 10"),
        ([{"type": "header", "text": plain("h" * 151)}], "at most 150"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "plain_text"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "a"}] * 11}], "at most 10"),
        ([{"type": "actions", "elements": [button(f"b{i}") for i in range(26)]}], "at most 25"),
        ([{"type": "actions", "elements": [button("b", text="t" * 76)]}], "at most 75"),
        ([{"type": "actions", "elements": [button("b", value="v" * 2001)]}], "at most 2000"),
        ([{"type": "actions", "elements": [button("b"), button("b")]}], "duplicate action_id"),
        ([section("a", block_id="x"), section("b", block_id="x")], "duplicate block_id"),
        ([section("a", block_id="x" * 256)], "at most 255"),
        (
            [{"type": "actions", "elements": [{"type": "overflow", "options": options(1)}]}],
            "at least 2",
        ),
        (
            [{"type": "actions", "elements": [{"type": "overflow", "options": options(6)}]}],
            "at most 5",
        ),
        (
            [{"type": "actions", "elements": [{"type": "static_select", "options": options(101)}]}],
            "at most 100",
        ),
        (
            [{"type": "actions", "elements": [{"type": "checkboxes", "options": options(11)}]}],
            "at most 10",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "options": [{"text": plain("o" * 76), "value": "v" * 151}],
                        }
                    ],
                }
            ],
            "at most 75",
        ),
        ([{"type": "fancy_new_block"}], "unknown block type"),
        ([{"type": "section"}], "needs text or fields"),
        ([{"type": "input", "label": plain("L")}], "/element] is required"),
    ],
)
def test_message_limits(blocks: list[dict[str, Any]], fragment: str) -> None:
    problems = limits.check_message("fallback", blocks)
    assert any(fragment in p for p in problems), problems


def test_valid_message_passes_and_text_limit() -> None:
    assert limits.check_message("fallback", VALID_MESSAGE_BLOCKS) == []
    assert limits.check_message("x" * 40_000, None) == []
    assert "at most 40000" in limits.check_message("x" * 40_001, None)[0]


@pytest.mark.parametrize(
    ("view", "fragment"),
    [
        ({"type": "dialog", "blocks": []}, "must be modal or home"),
        ({"type": "modal", "blocks": []}, "/title] is required"),
        (modal(text_input("b", "a"), submit=False), "/submit] is required"),
        (modal(section("x"), title=plain("t" * 25)), "at most 24"),
        (modal(section("x"), close=plain("c" * 25)), "at most 24"),
        (modal(section("x"), private_metadata="m" * 3001), "at most 3000"),
        (modal(section("x"), callback_id="c" * 256), "at most 255"),
        (modal(*[section(str(i)) for i in range(101)]), "at most 100 blocks"),
        (
            modal(
                {
                    "type": "input",
                    "label": plain("L"),
                    "element": {"type": "plain_text_input", "max_length": 3001},
                }
            ),
            "max_length",
        ),
        (modal(text_input("b", "a", label="l" * 2001)), "at most 2000"),
        (modal({"type": "input", "element": {"type": "plain_text_input"}}), "/label] is required"),
        (
            modal(
                {
                    "type": "input",
                    "label": plain("L"),
                    "element": {"type": "radio_buttons", "options": options(11)},
                }
            ),
            "at most 10",
        ),
    ],
)
def test_view_limits(view: dict[str, Any], fragment: str) -> None:
    problems = limits.check_view(view)
    assert any(fragment in p for p in problems), problems


def test_valid_views_pass() -> None:
    assert (
        limits.check_view(modal(text_input("b", "a"), *[section(str(i)) for i in range(99)])) == []
    )
    assert limits.check_view({"type": "home", "blocks": VALID_MESSAGE_BLOCKS}) == []


# ---------------------------------------------------------------------------------- driver


TOPIC_MODAL = modal(text_input("title_block", "title"), callback_id="new_topic")


def build_app(emu: SlackEmulator, executor: TrackingExecutor, secret: str = SECRET) -> App:
    app = App(
        signing_secret=secret,
        client=WebClient(base_url=emu.url, token="xoxb-test"),
        listener_executor=executor,
    )

    @app.command("/liaison")
    def open_topic_modal(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=TOPIC_MODAL)

    @app.view("new_topic")
    def save_topic(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        title = view["state"]["values"]["title_block"]["title"]["value"]
        if len(title) < 3:
            ack(response_action="errors", errors={"title_block": "Use at least 3 characters"})
            return
        ack()
        client.chat_postMessage(
            channel=body["user"]["id"],
            text=f"Topic {title} created",
            blocks=[
                section(f"Topic *{title}* created"),
                {
                    "type": "actions",
                    "block_id": "topic",
                    "elements": [button("approve", "OK", title)],
                },
            ],
        )

    @app.action("approve")
    def approve(ack: Any, action: dict[str, Any], respond: Any) -> None:
        ack()
        respond(replace_original=True, text=f"Approved {action['value']}")

    @app.event("app_home_opened")
    def publish_home(event: dict[str, Any], client: WebClient, request: Any) -> None:
        retry = request.headers.get("x-slack-retry-num", ["0"])[0]
        home = {"type": "home", "blocks": [section(f"Hello <@{event['user']}> (retry {retry})")]}
        client.views_publish(user_id=event["user"], view=home)

    return app


@pytest.fixture
def executor() -> Iterator[TrackingExecutor]:
    pool = TrackingExecutor(max_workers=4)
    yield pool
    pool.shutdown()


@pytest.fixture
def driver(emu: SlackEmulator, executor: TrackingExecutor) -> SlackDriver:
    return SlackDriver(build_app(emu, executor), SECRET, emu, executor=executor)


def test_slash_command_modal_errors_then_success(driver: SlackDriver, emu: SlackEmulator) -> None:
    response = driver.slash_command("U1", "/liaison", channel_id="C1")
    assert response.status == 200
    assert emu.calls_to("auth.test")  # Bolt checks the token first
    [opened] = emu.open_views("U1")
    assert opened["callback_id"] == "new_topic"

    refused = driver.submit_view("U1", {"title_block": "ab"})
    assert refused.json == {
        "response_action": "errors",
        "errors": {"title_block": "Use at least 3 characters"},
    }
    assert len(emu.open_views("U1")) == 1  # still open, showing the error

    accepted = driver.submit_view("U1", {"title_block": "Cutover"})
    assert accepted.status == 200 and accepted.body == ""
    assert emu.open_views("U1") == []
    [dm] = emu.dm_messages("U1")
    assert dm["text"] == "Topic Cutover created"
    assert emu.violations == []


def test_required_input_cannot_be_submitted_empty(driver: SlackDriver, emu: SlackEmulator) -> None:
    driver.slash_command("U1", "/liaison")
    with pytest.raises(ValueError, match="required input"):
        driver.submit_view("U1", {})
    with pytest.raises(ValueError, match="no stateful block"):
        driver.submit_view("U1", {"typo_block": "x"})


def test_click_button_and_respond_replaces_message(driver: SlackDriver, emu: SlackEmulator) -> None:
    driver.slash_command("U1", "/liaison")
    driver.submit_view("U1", {"title_block": "Cutover"})
    [message] = emu.dm_messages("U1")
    response = driver.click("U1", "approve", message=message)
    assert response.status == 200
    assert emu.responses == [{"replace_original": True, "text": "Approved Cutover"}]
    assert emu.dm_messages("U1")[0]["text"] == "Approved Cutover"


def test_events_and_home_tab_with_retry_headers(driver: SlackDriver, emu: SlackEmulator) -> None:
    assert driver.open_home("U1").status == 200
    home = emu.home("U1")
    assert home is not None and "retry 0" in home["blocks"][0]["text"]["text"]
    event = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    assert driver.event(event, event_id="Ev1", retry_num=1).status == 200
    home = emu.home("U1")
    assert home is not None and "retry 1" in home["blocks"][0]["text"]["text"]


def test_bad_signature_is_rejected(emu: SlackEmulator, executor: TrackingExecutor) -> None:
    wrong = SlackDriver(build_app(emu, executor), "not-the-secret", emu, executor=executor)
    assert wrong.slash_command("U1", "/liaison").status == 401
    assert emu.open_views("U1") == []


# ---------------------------------------------------------------------------------- render


def test_render_mrkdwn_and_blocks() -> None:
    users = {"U1": "anna"}
    text = "Hi <@U1> in <#C1|erp> see <https://x.io|plan> by <!date^1^{date}|Nov 14> &amp; &lt;"
    assert mrkdwn_to_text(text, users) == "Hi @anna in #erp see plan (https://x.io) by Nov 14 & <"
    rendered = render_blocks(VALID_MESSAGE_BLOCKS, users)
    assert "[ Go ]" in rendered and "Go-live checklist" in rendered and "by @anna" in rendered
    assert render_message("#erp-rollout", "plain <@U1>", users=users).splitlines()[1] == (
        "plain @anna"
    )
    box = render_view(TOPIC_MODAL)
    assert "Liaison" in box and "[ Save ]" in box and "Title" in box
    assert all(len(line) <= 78 for line in box.splitlines())

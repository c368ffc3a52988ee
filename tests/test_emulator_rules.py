"""The emulator fails where Slack would: scopes, the 3-second acknowledgement (over HTTP-style
dispatch and in Socket Mode), message metadata only when asked for, the history page cap, upload
lengths and rate limits; and every emulator test ends with Slack's rules checked."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.emulator.driver import OverSocketMode, SlackDriver, TrackingExecutor
from bot.emulator.policy import manifest_bot_scopes
from bot.emulator.server import SlackEmulator
from bot.i18n import t
from tests.conftest import PM, PROJECT_CHANNEL, SIGNING_SECRET, TEAM
from tests.flows import last_response_text

pytest_plugins = ["pytester"]


def client_for(emulator: SlackEmulator, token: str = "xoxb-test") -> WebClient:
    return WebClient(base_url=emulator.url, token=token, retry_handlers=[])


# ------------------------------------------------------------------------------------ scopes


def test_the_emulators_scopes_are_the_manifests_bot_scopes(emulator: SlackEmulator) -> None:
    assert emulator.scopes == set(manifest_bot_scopes())
    assert "chat:write" in emulator.scopes


@pytest.mark.expects_violations
def test_a_method_without_its_scope_is_refused_with_missing_scope(
    emulator: SlackEmulator,
) -> None:
    client = client_for(emulator)
    assert "reactions:write" not in emulator.scopes
    with pytest.raises(SlackApiError) as refused:
        client.reactions_add(channel=PROJECT_CHANNEL, name="tada", timestamp="1.000100")
    assert refused.value.response["error"] == "missing_scope"
    assert refused.value.response["needed"] == "reactions:write"
    assert "chat:write" in refused.value.response["provided"].split(",")
    assert emulator.violations == ["reactions.add: missing_scope (needed: reactions:write)"]


@pytest.mark.expects_violations
def test_history_needs_the_scope_of_the_channels_type(emulator: SlackEmulator) -> None:
    emulator.add_channel("GPRIVATE1", "steering", members=[PM], is_private=True)
    emulator.scopes = {"chat:write", "im:history", "channels:history"}
    client = client_for(emulator)
    client.conversations_history(channel=PROJECT_CHANNEL)  # public: channels:history
    client.conversations_history(channel=emulator.dm_channel_id(PM))  # DM: im:history
    with pytest.raises(SlackApiError) as refused:
        client.conversations_history(channel="GPRIVATE1")
    assert refused.value.response["needed"] == "groups:history"
    emulator.scopes = {"chat:write", "im:history"}
    with pytest.raises(SlackApiError) as refused:
        client.conversations_replies(channel=PROJECT_CHANNEL, ts="1.000100")
    assert refused.value.response["needed"] == "channels:history"


@pytest.mark.expects_violations
def test_an_app_token_opens_socket_connections_and_nothing_else(emulator: SlackEmulator) -> None:
    answer = client_for(emulator, "xapp-1-test").apps_connections_open(app_token="xapp-1-test")
    assert answer["url"].startswith("ws://127.0.0.1:")
    with pytest.raises(SlackApiError) as refused:
        client_for(emulator, "xapp-1-test").chat_postMessage(channel=PM, text="hi")
    assert refused.value.response["error"] == "not_allowed_token_type"


# ------------------------------------------------------------------- history and uploads


def test_history_returns_metadata_only_when_asked_for(emulator: SlackEmulator) -> None:
    client = client_for(emulator)
    metadata = {"event_type": "liaison_outbox", "event_payload": {"key": "k1"}}
    posted = client.chat_postMessage(channel=PROJECT_CHANNEL, text="hello", metadata=metadata)
    plain = client.conversations_history(channel=PROJECT_CHANNEL)["messages"]
    assert [m["text"] for m in plain] == ["hello"] and "metadata" not in plain[0]
    asked = client.conversations_history(channel=PROJECT_CHANNEL, include_all_metadata=True)
    assert asked["messages"][0]["metadata"] == metadata
    client.chat_postMessage(channel=PROJECT_CHANNEL, thread_ts=posted["ts"], text="reply")
    replies = client.conversations_replies(channel=PROJECT_CHANNEL, ts=posted["ts"])
    assert [("metadata" in m) for m in replies["messages"]] == [False, False]


def test_a_history_page_holds_at_most_999_messages(emulator: SlackEmulator) -> None:
    for number in range(1005):
        emulator.add_message(PROJECT_CHANNEL, PM, f"m{number}")
    page = client_for(emulator).conversations_history(channel=PROJECT_CHANNEL, limit=1000)
    assert len(page["messages"]) == 999 and page["has_more"] is True


@pytest.mark.expects_violations
def test_an_upload_whose_bytes_differ_from_its_declared_length_is_refused(
    emulator: SlackEmulator,
) -> None:
    client = client_for(emulator)
    upload = client.files_getUploadURLExternal(filename="register.csv", length=10)
    answer = requests.post(upload["upload_url"], data=b"only seven", timeout=5)
    assert answer.status_code == 200  # ten bytes, as declared
    upload = client.files_getUploadURLExternal(filename="register.csv", length=10)
    answer = requests.post(upload["upload_url"], data=b"twelve bytes", timeout=5)
    assert answer.status_code == 400
    with pytest.raises(SlackApiError) as refused:
        client.files_completeUploadExternal(files=[{"id": upload["file_id"]}])
    assert refused.value.response["error"] == "file_not_found"
    assert len(emulator.violations) == 1 and "declared length=10" in emulator.violations[0]


# ----------------------------------------------------------------------------- rate limits


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def virtual(emulator: SlackEmulator) -> VirtualTime:
    moment = VirtualTime()
    emulator.use_rate_limits(monotonic=moment)
    return moment


def test_sixty_rapid_posts_to_one_channel_meet_slacks_limit(
    emulator: SlackEmulator, virtual: VirtualTime
) -> None:
    client = client_for(emulator)
    answers = []
    for number in range(60):
        try:
            client.chat_postMessage(channel=PROJECT_CHANNEL, text=f"n{number}")
            answers.append(200)
        except SlackApiError as error:
            assert error.response.headers["Retry-After"] == "1"
            answers.append(error.response.status_code)
    assert answers == [200] * 5 + [429] * 55  # a short burst, then one a second
    client.chat_postMessage(channel="C0GENERAL", text="another channel is not held up")
    virtual.now += 1.0
    client.chat_postMessage(channel=PROJECT_CHANNEL, text="a second later")
    assert len(emulator.messages(PROJECT_CHANNEL)) == 6


def test_each_method_is_limited_at_its_tier_per_workspace(
    emulator: SlackEmulator, virtual: VirtualTime
) -> None:
    client = client_for(emulator)
    for _ in range(20):  # users.list is Tier 2: about 20 a minute
        client.users_list()
    with pytest.raises(SlackApiError) as limited:
        client.users_list()
    assert limited.value.response.status_code == 429
    assert int(limited.value.response.headers["Retry-After"]) == 3  # one call every 3 s
    for _ in range(100):  # users.info is Tier 4 and counted on its own
        client.users_info(user=PM)
    virtual.now += 3.0
    client.users_list()


def test_rate_limits_can_be_switched_off_for_unit_tests(emulator: SlackEmulator) -> None:
    emulator.use_rate_limits(False)
    client = client_for(emulator)
    for number in range(30):
        client.chat_postMessage(channel=PROJECT_CHANNEL, text=f"n{number}")
    assert len(emulator.messages(PROJECT_CHANNEL)) == 30


# ------------------------------------------------------------------ the 3 s acknowledgement


def slow_app(emulator: SlackEmulator, executor: TrackingExecutor, delay: float) -> App:
    app = App(
        signing_secret=SIGNING_SECRET,
        client=WebClient(base_url=emulator.url, token="xoxb-test"),
        token_verification_enabled=False,
        listener_executor=executor,
    )

    @app.command("/slow")
    def answer_late(ack, respond) -> None:  # type: ignore[no-untyped-def]
        time.sleep(delay)  # work done before ack(), as a listener must not
        ack()
        respond("done")

    return app


@pytest.fixture
def socket_app(emulator: SlackEmulator, executor: TrackingExecutor) -> Iterator[App]:
    app = slow_app(emulator, executor, 0.3)
    handler = SocketModeHandler(app, "xapp-1-test")
    handler.connect()
    emulator.socket_mode().wait_connected()
    yield app
    handler.close()


@pytest.mark.expects_violations
def test_an_ack_later_than_the_deadline_is_a_violation(
    emulator: SlackEmulator, executor: TrackingExecutor
) -> None:
    emulator.ack_deadline = 0.2  # Slack's 3 s, scaled down so the test stays fast
    driver = SlackDriver(slow_app(emulator, executor, 0.3), SIGNING_SECRET, emulator, TEAM)
    driver.slash_command(PM, "/slow")
    assert len(emulator.violations) == 1
    assert emulator.violations[0].startswith("ack: /slow was acknowledged after 0.3")


@pytest.mark.expects_violations
def test_a_late_ack_in_socket_mode_is_a_violation(
    emulator: SlackEmulator, executor: TrackingExecutor, socket_app: App
) -> None:
    emulator.ack_deadline = 0.2
    driver = SlackDriver(
        socket_app, SIGNING_SECRET, emulator, executor=executor, transport=OverSocketMode(emulator)
    )
    driver.slash_command(PM, "/slow")
    assert [v.split(" was ")[0] for v in emulator.violations] == ["ack: /slow"]


def test_an_ack_within_the_deadline_is_fine(
    emulator: SlackEmulator, executor: TrackingExecutor
) -> None:
    driver = SlackDriver(slow_app(emulator, executor, 0.0), SIGNING_SECRET, emulator, TEAM)
    driver.slash_command(PM, "/slow")
    assert emulator.violations == []
    assert driver.new_responses[-1]["text"] == "done"


def test_the_real_deadline_is_slacks_three_seconds(emulator: SlackEmulator) -> None:
    assert emulator.ack_deadline == 3.0


# -------------------------------------------------------------- the check after every test

INNER_TESTS = """
import pytest
from slack_sdk import WebClient
from bot.i18n import t


def test_breaks_a_rule(emulator):
    emulator.note_violation("views.open: something Slack refuses")


@pytest.mark.expects_violations
def test_breaks_a_rule_on_purpose(emulator):
    emulator.note_violation("views.open: something Slack refuses")


def test_tells_someone_that_something_went_wrong(emulator):
    client = WebClient(base_url=emulator.url, token="xoxb-test")
    client.chat_postMessage(channel="UPM00001", text=t("zh-CN", "errors.unexpected"))


@pytest.mark.expects_error_reply
def test_provokes_the_error_reply_on_purpose(emulator):
    client = WebClient(base_url=emulator.url, token="xoxb-test")
    client.chat_postMessage(channel="UPM00001", text=t("en", "errors.unexpected"))


def test_keeps_the_rules(emulator):
    client = WebClient(base_url=emulator.url, token="xoxb-test")
    client.chat_postMessage(channel="UPM00001", text="hi")
"""


def test_every_emulator_test_ends_with_no_violation_and_no_error_reply(
    pytester: pytest.Pytester,
) -> None:
    # The project's fixtures and its end-of-test check, as the inner run's conftest.
    pytester.makeconftest("from tests.conftest import *  # noqa: F401,F403")
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["*test_breaks_a_rule - AssertionError*"])
    result.stdout.fnmatch_lines(["*test_tells_someone_that_something_went_wrong - Assert*"])
    assert t("en", "errors.unexpected").startswith("Something went wrong")


# ------------------------------------------------------------------------- the test helpers


def test_the_last_response_must_come_from_the_last_request(slack: SlackDriver) -> None:
    slack.slash_command(PM, "/project", "help")
    assert "/project new" in last_response_text(slack)
    slack.open_home(PM)  # answers nothing through a response_url
    with pytest.raises(AssertionError, match="answered nothing"):
        last_response_text(slack)  # the help text from before must not pass for an answer


# ------------------------------------------------------------------ pickers and number inputs


def _input(block_id: str, element: dict) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id},
        "element": {"action_id": "value", **element},
    }


def test_a_number_input_is_checked_as_slack_checks_it() -> None:
    from bot.emulator import limits

    def problems(**element: object) -> list[str]:
        block = _input("n", {"type": "number_input", **element})
        return limits.check_blocks([block], "/blocks", 100)

    assert (
        problems(is_decimal_allowed=False, min_value="1", max_value="12", initial_value="4") == []
    )
    assert problems(is_decimal_allowed=True, min_value="0.25", initial_value="1.5") == []
    assert problems(min_value="1")  # is_decimal_allowed is required
    assert "must be a boolean" in problems(is_decimal_allowed="no")[0]
    assert "as a string" in problems(is_decimal_allowed=False, min_value=1)[0]
    assert "whole number" in problems(is_decimal_allowed=False, initial_value="1.5")[0]
    assert "not be greater" in problems(is_decimal_allowed=False, min_value="5", max_value="2")[0]
    assert "within" in problems(is_decimal_allowed=False, max_value="3", initial_value="4")[0]


def test_a_time_picker_takes_hh_mm_and_an_iana_timezone() -> None:
    from bot.emulator import limits

    def problems(**element: object) -> list[str]:
        return limits.check_blocks([_input("t", {"type": "timepicker", **element})], "/b", 100)

    assert problems(initial_time="09:05", timezone="Europe/Berlin") == []
    assert "HH:mm" in problems(initial_time="9:05")[0]
    assert "IANA" in problems(timezone="Mars/Olympus")[0]
    dispatching = {**_input("t", {"type": "timepicker"}), "dispatch_action": "yes"}
    assert "boolean" in limits.check_blocks([dispatching], "/b", 100)[0]


def test_the_driver_fills_pickers_and_numbers_only_as_slacks_client_can() -> None:
    from bot.emulator.driver import build_state

    view = {
        "blocks": [
            _input("at", {"type": "timepicker"}),
            _input("on", {"type": "datepicker"}),
            _input(
                "seats", {"type": "number_input", "is_decimal_allowed": False, "min_value": "1"}
            ),
            _input("hours", {"type": "number_input", "is_decimal_allowed": True}),
        ]
    }
    state = build_state(
        view, {"at": "16:30", "on": "2027-03-01", "seats": "12", "hours": "1.5"}, submitting=True
    )
    assert state["at"]["value"] == {"type": "timepicker", "selected_time": "16:30"}
    assert state["on"]["value"] == {"type": "datepicker", "selected_date": "2027-03-01"}
    assert state["seats"]["value"] == {"type": "number_input", "value": "12"}
    assert state["hours"]["value"]["value"] == "1.5"
    good = {"at": "16:30", "on": "2027-03-01", "seats": "12", "hours": "1.5"}
    for bad, words in (
        ({"at": "4:30pm"}, "HH:mm"),
        ({"on": "1.3.2027"}, "YYYY-MM-DD"),
        ({"on": "2027-02-30"}, "YYYY-MM-DD"),
        ({"seats": "1.5"}, "whole number"),
        ({"seats": "0"}, "out of range"),
        ({"hours": "lots"}, "takes a number"),
    ):
        with pytest.raises(ValueError, match=words):
            build_state(view, {**good, **bad}, submitting=True)
        forged = build_state(view, {**good, **bad}, submitting=True, forged=True)
        assert forged  # a hand-made request carries anything

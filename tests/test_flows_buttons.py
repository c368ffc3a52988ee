"""Buttons for who may use them, and Slack's confirm dialog before what cannot be undone or
messages other people: the issue card in the channel (a few buttons, the rest in a menu) against
the issue shown to one person (their own verbs), menu choices refused server-side whatever the
click says, and a confirm on each button of ``bot.ids.CONFIRMED``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import CONFIRMED, DigestId, IssueId, MeetingId
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from tests.conftest import PM, PROJECT_CHANNEL, TEAM
from tests.flows import (
    add_key_user,
    create_project,
    last_response,
    last_response_text,
    say_yes,
    texts,
)
from tests.test_flows_issues import ANNA, BEN, TOM, current, issue_message, issues_in, log_issue


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> SlackDriver:
    """Project ERP with its channel, two key users (Anna, Ben) and Tom in the project team."""
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack)
    add_key_user(slack, ANNA, module="FI")
    add_key_user(slack, BEN, module="MM")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    emulator.reset_calls()
    return slack


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for e in elements(message) if e["type"] == "button"]


def menu_actions(message: dict[str, Any]) -> list[str]:
    return [
        option["value"].partition("|")[0]
        for element in elements(message)
        if element["type"] == "overflow"
        for option in element["options"]
    ]


def verb(name: str) -> str:
    return f"{IssueId.DO_PREFIX}{name}"


def test_the_channel_card_shows_the_next_step_and_common_verbs_and_the_rest_in_a_menu(
    erp: SlackDriver, database: Database
) -> None:
    log_issue(erp)
    [issue] = issues_in(database)
    card = issue_message(erp.emulator, issue)
    assert action_ids(card) == [verb("ack"), verb("assign"), verb("update")]
    assert [e.get("style") for e in elements(card) if e["type"] == "button"] == [
        "primary",
        None,
        None,
    ]
    assert menu_actions(card) == [
        verb("start"),
        verb("priority"),
        verb("due"),
        verb("resolve"),
        IssueId.HOME_OPEN,  # the details, with the reader's own actions
    ]
    erp.slash_command(TOM, "/issue", "ERP-1 start", channel_id=PROJECT_CHANNEL)
    card = issue_message(erp.emulator, issue)
    assert action_ids(card) == [verb("assign"), verb("update"), verb("resolve")]
    assert menu_actions(card) == [verb("priority"), verb("due"), verb("close"), IssueId.HOME_OPEN]
    erp.slash_command(
        PM, "/issue", "ERP-1 resolve Fixed the posting key", channel_id=PROJECT_CHANNEL
    )
    card = issue_message(erp.emulator, issue)
    assert action_ids(card) == [verb("update"), verb("reopen")]  # nothing red, nothing primary
    assert all(not e.get("style") for e in elements(card))
    assert menu_actions(card) == [verb("close"), IssueId.HOME_OPEN]


def test_the_issue_shown_to_one_person_carries_only_their_verbs(
    erp: SlackDriver, database: Database
) -> None:
    log_issue(erp)  # Anna, a key user, reports it
    erp.slash_command(ANNA, "/issue", "ERP-1", channel_id=PROJECT_CHANNEL)
    assert action_ids(last_response(erp)) == [verb("update")]
    erp.slash_command(BEN, "/issue", "ERP-1", channel_id=PROJECT_CHANNEL)
    assert action_ids(last_response(erp)) == []  # another key user: nothing to do on it
    erp.slash_command(PM, "/issue", "ERP-1", channel_id=PROJECT_CHANNEL)
    shown = last_response(erp)
    assert action_ids(shown) == [
        verb(v) for v in ("ack", "start", "assign", "priority", "due", "update", "resolve", "close")
    ]
    assert [e["action_id"] for e in elements(shown) if e.get("style") == "primary"] == [verb("ack")]
    [close] = [e for e in elements(shown) if e["action_id"] == verb("close")]
    dialog = close["confirm"]
    assert "ERP-1" in dialog["text"]["text"] and "reporter is told" in dialog["text"]["text"]
    assert dialog["confirm"]["text"] == "Close ERP-1" and "style" not in dialog  # not destroyed


def test_close_from_the_card_menu_asks_first_and_is_refused_to_a_key_user(
    erp: SlackDriver, database: Database
) -> None:
    log_issue(erp)
    [issue] = issues_in(database)
    erp.slash_command(TOM, "/issue", "ERP-1 start", channel_id=PROJECT_CHANNEL)
    card = issue_message(erp.emulator, issue)
    erp.click(ANNA, verb("close"), message=card)  # the card's menu
    assert "Closing ERP-1 is for its project managers" in last_response_text(erp)
    assert erp.emulator.top_view(ANNA) is None
    erp.click(PM, verb("close"), message=card)
    form = erp.emulator.top_view(PM)
    assert form is not None and "reporter is told" in texts([form])
    assert form["submit"]["text"] == "Close ERP-1"
    assert current(database, issue.id or 0).status == "in_progress"  # nothing yet
    erp.submit_view(PM, {})
    assert current(database, issue.id or 0).status == "closed"


def test_a_forged_menu_choice_is_refused_server_side(erp: SlackDriver, database: Database) -> None:
    log_issue(erp)
    [issue] = issues_in(database)
    card = issue_message(erp.emulator, issue)

    def forged(user: str, value: str) -> None:
        option = {"text": {"type": "plain_text", "text": "Close"}, "value": value}
        erp.block_action(user, IssueId.MORE, message=card, selected_option=option)

    ref = f"{issue.id}:{issue.version}"
    forged(BEN, f"{verb('close')}|{ref}")  # not offered to him, nor his to use
    assert "Closing ERP-1 is for its project managers" in last_response_text(erp)
    forged(BEN, f"{verb('ack')}|{ref}")
    assert current(database, issue.id or 0).status == "new"
    forged(PM, f"{verb('delete')}|{ref}")  # a PM's forged delete still asks first
    form = erp.emulator.top_view(PM)
    assert form is not None and form["submit"]["text"] == "Delete ERP-1"
    assert current(database, issue.id or 0).deleted_at is None
    erp.close_view(PM)
    forged(PM, "plan_remove|1")  # an action the menu does not offer
    assert "could not be read; nothing was changed" in last_response_text(erp)
    forged(BEN, f"{IssueId.HOME_OPEN}|{issue.id}")  # the details are not his to read
    assert "details and history of ERP-1 are for its project team" in last_response_text(erp)
    assert erp.emulator.top_view(BEN) is None
    forged(PM, f"{IssueId.HOME_OPEN}|{issue.id}")  # the details: the PM's own verbs
    detail = erp.emulator.top_view(PM)
    assert detail is not None and verb("close") in action_ids(detail)
    assert all(e.get("confirm") for e in elements(detail) if e.get("action_id") in CONFIRMED)
    assert current(database, issue.id or 0).status == "new"


def test_the_rating_dms_reopen_is_not_red(erp: SlackDriver, database: Database) -> None:
    log_issue(erp)
    erp.slash_command(PM, "/issue", "ERP-1 resolve Fixed", channel_id=PROJECT_CHANNEL)
    [ask] = [m for m in erp.emulator.dm_messages(ANNA) if "How well" in texts([m])]
    [reopen] = [e for e in elements(ask) if e["action_id"] == IssueId.RATE_REOPEN]
    assert "style" not in reopen


def test_cancelling_a_meeting_asks_first_naming_it_and_whom_it_tells(
    slack: SlackDriver, emulator: SlackEmulator, clock: MovableClock
) -> None:
    from tests import test_flows_meetings as meetings

    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    create_project(slack)
    add_key_user(slack, meetings.MARIA, role="decision_maker")
    add_key_user(slack, meetings.ANNA, role="business_representative")
    meetings.plan_series(slack, count="2")
    slack.slash_command(PM, "/meeting", "1", channel_id=PROJECT_CHANNEL)
    shown = last_response(slack)
    [cancel] = [e for e in elements(shown) if e["action_id"] == MeetingId.CANCEL]
    assert cancel["style"] == "danger" and cancel["confirm"]["style"] == "danger"
    said = cancel["confirm"]["text"]["text"]
    assert "*MM working meeting*" in said and "everyone invited is then told" in said
    slack.slash_command(meetings.ANNA, "/meeting", "1", channel_id=PROJECT_CHANNEL)
    seen = last_response(slack)
    assert "MM working meeting" in texts([seen])
    assert MeetingId.CANCEL not in action_ids(seen)  # hers to attend, not to run


def test_the_channel_digest_keeps_the_pms_actions_in_a_menu_and_its_reminder_form_is_theirs(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    from datetime import timedelta

    from tests.conftest import KEY_USERS, OUTSIDER
    from tests.digest_helpers import add_issue

    create_project(slack)
    owner = KEY_USERS[5]
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        ago = clock.now() - timedelta(days=9)
        add_issue(ctx, project, 1, created=ago, owner=owner, due=clock.now() - timedelta(days=2))
    slack.slash_command(PM, "/digest", "send ERP")
    [digest] = [m for m in slack.emulator.messages(PROJECT_CHANNEL) if "Weekly digest" in m["text"]]
    assert action_ids(digest) == []  # no button a key user reading it would be refused
    assert menu_actions(digest) == [DigestId.OPEN_DASHBOARD, DigestId.REMIND_OWNERS]
    slack.click(PM, DigestId.REMIND_OWNERS, message=digest)
    asking = slack.emulator.top_view(PM)
    assert asking is not None and asking["submit"]["text"] == "Send"
    # Someone else sending the PM's form (forged) is refused on it; nothing is sent.
    refused = slack.submit_view(OUTSIDER, {}, view=asking)
    assert refused.json["response_action"] == "errors"
    assert slack.emulator.dm_messages(owner) == []
    slack.submit_view(PM, {})
    assert "1 overdue" in texts(slack.emulator.dm_messages(owner))
    # The PMs' own copy (a DM) keeps its buttons, reminding behind Slack's confirm dialog.
    [copy] = [m for m in slack.emulator.dm_messages(PM) if "Weekly digest" in m["text"]]
    [remind] = [e for e in elements(copy) if e["action_id"] == DigestId.REMIND_OWNERS]
    assert "The owners of the 1 overdue issue of *ERP*" in remind["confirm"]["text"]["text"]


def test_a_command_that_cannot_be_undone_asks_first_and_its_yes_is_checked_again(
    slack: SlackDriver, database: Database
) -> None:
    from tests.conftest import OUTSIDER
    from tests.polls_helpers import create_poll, polls_in, project_with_key_users

    project_with_key_users(slack)
    create_poll(slack)
    slack.slash_command(PM, "/poll", "close 1", channel_id=PROJECT_CHANNEL)
    asked = last_response(slack)
    assert "Close poll 1 of *ERP* now?" in asked["text"]
    assert action_ids(asked) == ["poll_asked", "poll_asked_no"]
    assert [poll.status for poll in polls_in(database)] == ["open"]
    # Forged answers: someone the subcommand refuses, a subcommand that does not ask.
    slack.block_action(OUTSIDER, "poll_asked", "close 1", channel_id=PROJECT_CHANNEL)
    assert "project managers" in last_response_text(slack)
    slack.block_action(PM, "poll_asked", "export 1", channel_id=PROJECT_CHANNEL)
    assert "could not be read" in last_response_text(slack)
    slack.block_action(PM, "poll_asked_no", "", channel_id=PROJECT_CHANNEL)
    assert last_response_text(slack) == "Nothing was done."
    assert [poll.status for poll in polls_in(database)] == ["open"]
    slack.slash_command(PM, "/poll", "close 1", channel_id=PROJECT_CHANNEL)
    say_yes(slack, PM)
    assert "is closed" in last_response_text(slack)
    assert [poll.status for poll in polls_in(database)] == ["closed"]

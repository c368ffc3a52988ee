"""Forged values in buttons and forms are refused in a few words or inline, never with "something
went wrong", and nothing is stored: ids that are no ids, texts longer than their column, numbers
that are not finite or too large.

Slack's client keeps a form's ``max_length``; an attacker's request does not, so these tests
submit forms whose limits were stripped, as a forged request would arrive.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import (
    Action,
    CalendarId,
    CardId,
    DecisionId,
    DigestId,
    EngagementId,
    IssueId,
    MeetingId,
    PlanId,
    PollId,
    TrainingId,
)
from storage.db import Database
from storage.models import CalendarEvent, KeyUser, PlanEntry, Poll, Project, TrainingModule
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL
from tests.flows import create_project
from tests.test_flows_trainings import (
    ANNA,
    SESSION_START,
    epoch,
    module_id,
    project_with_curriculum,
    schedule,
    training,
)

UNREADABLE = "This button or form could not be read. Nothing was changed."
HUGE = "99999999999999999999"
FORGED_LENGTH = 10_000  # what a request that did not come from Slack's client may carry


def without_limits(view: dict[str, Any]) -> dict[str, Any]:
    """The modal as a forged request can submit it: any length in any text input."""
    forged = copy.deepcopy(view)
    for block in forged.get("blocks") or []:
        element = block.get("element") or {}
        if element.get("type") == "plain_text_input":
            element["max_length"] = FORGED_LENGTH
    return forged


def top_view(emulator: SlackEmulator, user_id: str = PM) -> dict[str, Any]:
    view = emulator.top_view(user_id)
    assert view is not None
    return view


def events(database: Database) -> list[CalendarEvent]:
    with database.session() as session:
        return list(session.exec(select(CalendarEvent)).all())


# ------------------------------------------------------------------- ids in buttons


FORGED_BUTTONS = [
    (EngagementId.LOG_CONTACT, "abc:U1"),
    (EngagementId.SCHEDULE, "abc:U1"),
    (EngagementId.HOME_PLAN, "abc"),
    (Action.HOME_ADD_KEYUSER, "abc"),
    (Action.HOME_SHOW_REGISTER, "abc"),
    (Action.HOME_EDIT_PROJECT, "abc"),
    (IssueId.RATE_COMMENT, "abc"),
    (IssueId.HOME_OPEN, "abc"),
    (f"{IssueId.RATE}_4", "abc:4"),
    (f"{IssueId.DO_PREFIX}resolve", "abc:1"),
    (TrainingId.USE_STANDARD, "abc"),
    (TrainingId.ADD_MODULE, "abc"),
    (TrainingId.EXPORT_CURRICULUM, "abc"),
    (TrainingId.READINESS_PAGE, "abc:xyz"),
    (PlanId.ADD, "abc"),
    (PlanId.EDIT, "abc"),
    (PlanId.DUE_DONE, "abc"),
    (PlanId.DUE_SNOOZE, "abc"),
    (PlanId.DUE_SCHEDULE, "abc"),
    (DigestId.OPEN_DASHBOARD, "abc"),
    (DigestId.HOME_PAGE, "risk:abc:xyz"),
    (f"{PollId.RATE_PREFIX}abc:xyz", '{"p": "abc"}'),
    (DecisionId.ADD, "abc"),
    (f"{DecisionId.LIST_PAGE}_next", "abc|2"),
    (CardId.OPEN, "abc:U1"),
    (f"{CardId.PAGE}_next", "abc:U1:1"),
]


@pytest.mark.parametrize("value_kind", ["not a number", "too large"])
@pytest.mark.parametrize(("action_id", "value"), FORGED_BUTTONS)
def test_a_forged_id_in_a_button_is_refused_quietly_and_changes_nothing(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    action_id: str,
    value: str,
    value_kind: str,
) -> None:
    create_project(slack)
    if value_kind == "too large":
        value = value.replace("abc", HUGE)
        action_id = action_id.replace("abc", HUGE)
    response = slack.block_action(PM, action_id, value=value, channel_id=PROJECT_CHANNEL)
    assert response.status == 200
    slack.wait_for_listeners()
    # No "something went wrong" (the fixture fails the test on one): a short refusal, or for a
    # page of the Home tab, the first page.
    if action_id != DigestId.HOME_PAGE:
        assert emulator.find_text(UNREADABLE)
    with database.session() as session:
        assert [p.code for p in session.exec(select(Project)).all()] == ["ERP"]
        assert session.exec(select(TrainingModule)).all() == []


def test_a_forged_project_in_a_form_is_refused_in_the_form(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    training(slack, "new")
    forged = top_view(emulator)
    for project_id in ("abc", HUGE):
        forged["private_metadata"] = f'{{"p": "{project_id}"}}'
        values = {"module": "1", "trainer_id": PM, "starts_at": epoch(SESSION_START)}
        response = slack.submit_view(PM, values, view=forged, forged=True)
        assert response.json == {"response_action": "errors", "errors": {"module": UNREADABLE}}
    assert events(database) == []


# --------------------------------------------------------- limits of the session form


def session_form(slack: SlackDriver, database: Database, emulator: SlackEmulator) -> dict:
    project_with_curriculum(slack)
    training(slack, "new")
    slack.block_action(PM, "value", "people", "audience_kind", view=top_view(emulator))
    return without_limits(top_view(emulator))  # the form as named people are picked


def session_values(database: Database, **overrides: Any) -> dict[str, Any]:
    return {
        "module": str(module_id(database, "System overview")),
        "trainer_id": PM,
        "starts_at": epoch(SESSION_START),
        "duration": "2",
        "audience_kind": "people",
        "audience_people": [ANNA],
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("location", "R" * 201, "Keep it under 200 characters."),
        ("video_url", "https://meet.example/" + "x" * 480, "Keep it under 500 characters."),
        ("capacity", "99999999999999", "Give a number of seats from 1 to 9999"),
        ("capacity", "1e3", "Give a number of seats from 1 to 9999"),
        ("duration", "inf", "Give the duration in hours"),
        ("duration", "1e999", "Give the duration in hours"),
        ("duration", "nan", "Give the duration in hours"),
        ("duration", "1e300", "An event can last at most 24 hours."),
        ("sessions", "1e999", "Give a number from 1 to 12."),
    ],
)
def test_a_session_form_beyond_its_limits_stays_open_with_the_error_under_the_field(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    field: str,
    typed: str,
    error: str,
) -> None:
    form = session_form(slack, database, emulator)
    values = session_values(database, **{field: typed})
    response = slack.submit_view(PM, values, view=form, forged=True)
    assert response.json is not None and response.json["response_action"] == "errors"
    assert list(response.json["errors"]) == [field]
    assert response.json["errors"][field].startswith(error)
    assert events(database) == []


def test_a_session_at_the_limits_is_stored_whole(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    form = session_form(slack, database, emulator)
    values = session_values(
        database,
        location="R" * 200,
        video_url="https://meet.example/" + "x" * 479,
        capacity="9999",
        duration="1.5",
    )
    response = slack.submit_view(PM, values, view=form, forged=True)
    assert response.json is None or "errors" not in response.json, response.json
    [event] = events(database)
    assert (len(event.location or ""), len(event.video_url or "")) == (200, 500)
    assert event.capacity == 9999 and event.ends_at - event.starts_at == timedelta(minutes=90)


def test_a_reschedule_to_an_endless_duration_is_refused_in_the_form(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    event_id = schedule(slack, database)
    training(slack, f"reschedule #{event_id}")
    form = without_limits(top_view(emulator))
    for typed in ("inf", "1e999"):
        response = slack.submit_view(
            PM, {"starts_at": epoch(SESSION_START), "duration": typed}, view=form, forged=True
        )
        assert response.json is not None
        assert response.json["errors"]["duration"].startswith("Give the duration in hours")
    [event] = events(database)
    assert event.ends_at - event.starts_at == timedelta(hours=2)


# --------------------------------------------------------- limits of the meeting form


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("location", "R" * 201, "Keep it under 200 characters."),
        ("video_url", "https://meet.example/" + "x" * 480, "Keep it under 500 characters."),
        ("duration", "1e999", "This is required."),
        ("starts_at", HUGE, "This is required."),
    ],
)
def test_a_meeting_form_beyond_its_limits_stays_open_with_the_error_under_the_field(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    field: str,
    typed: str,
    error: str,
) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "add ERP", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"user_id": KEY_USERS[0]})
    slack.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    form = without_limits(top_view(emulator))
    for block in form["blocks"]:  # a forged request may carry a value no option offers
        element = block.get("element") or {}
        if block.get("block_id") == field and "options" in element:
            element["options"].append({"text": {"type": "plain_text", "text": "?"}, "value": typed})
    values = {
        "title": "Steering committee",
        "kind": "working_meeting",
        "starts_at": epoch(SESSION_START),
        "duration": "60",
        "people": [KEY_USERS[0]],
        "repeat": "none",
        field: typed,
    }
    response = slack.submit_view(PM, values, view=form, forged=True)
    assert response.json is not None and response.json["response_action"] == "errors"
    assert response.json["errors"] == {field: error}
    assert events(database) == []
    assert MeetingId.NEW_MODAL == form["callback_id"]


# ------------------------------------------------------ counts and rules of other forms

THOUSANDS_OF_DIGITS = "9" * 5000  # more digits than Python turns into an int by default


def test_a_meeting_count_of_thousands_of_digits_is_refused_in_the_form(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "add ERP", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"user_id": KEY_USERS[0]})
    slack.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    values = {
        "title": "Steering committee",
        "kind": "working_meeting",
        "starts_at": epoch(SESSION_START),
        "duration": "60",
        "people": [KEY_USERS[0]],
        "repeat": "weekly",
        "count": THOUSANDS_OF_DIGITS,
    }
    response = slack.submit_view(PM, values, view=without_limits(top_view(emulator)), forged=True)
    assert response.json is not None
    assert response.json["errors"] == {
        "count": "A series needs at least 2 meetings: write how many (2–100)."
    }
    assert events(database) == []


def test_a_key_user_cadence_of_thousands_of_digits_is_refused_in_the_form(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "add ERP", channel_id=PROJECT_CHANNEL)
    form = without_limits(top_view(emulator))
    response = slack.submit_view(
        PM, {"user_id": KEY_USERS[0], "cadence_days": THOUSANDS_OF_DIGITS}, view=form, forged=True
    )
    assert response.json is not None
    assert list(response.json["errors"]) == ["cadence_days"]
    with database.session() as session:
        assert session.exec(select(KeyUser)).all() == []


def test_a_plan_rule_longer_than_its_column_is_refused_in_the_form(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    create_project(slack)
    slack.slash_command(PM, "/keyuser", "add ERP", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"user_id": ANNA})
    slack.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    slack.click(PM, PlanId.ADD, view=top_view(emulator))
    days = ",".join(str(day) for day in range(1, 29))
    rule = f"FREQ=MONTHLY;BYMONTHDAY={days};BYMONTH={','.join(map(str, range(1, 13)))}"
    rule += f";BYSETPOS={days}"
    assert len(rule) > 200
    values = {
        "audience_kind": "person",
        "person": ANNA,
        "kind": "one_to_one",
        "cadence": "custom",
        "custom_rule": rule,
        "channel": "phone",
        "first_date": "2026-12-03",
    }
    response = slack.submit_view(PM, values, view=without_limits(top_view(emulator)), forged=True)
    assert response.json is not None
    assert response.json["errors"] == {"custom_rule": "Keep it under 200 characters."}
    with database.session() as session:
        assert session.exec(select(PlanEntry)).all() == []


def test_a_forged_timezone_longer_than_any_is_refused_in_the_project_form(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    slack.slash_command(PM, "/project", "new", channel_id=PROJECT_CHANNEL)
    form = copy.deepcopy(top_view(emulator))
    forged_zone = "Europe/" + "x" * 300  # longer than a file name may be
    for block in form["blocks"]:
        if block.get("block_id") == "timezone":
            option = {"text": {"type": "plain_text", "text": "?"}, "value": forged_zone}
            block["element"]["options"].append(option)
    values = {
        "name": "S/4HANA finance rollout",
        "code": "ERP",
        "channel_id": PROJECT_CHANNEL,
        "pm_ids": [PM],
        "timezone": forged_zone,
        "digest_weekday": "0",
        "digest_time": "09:00",
    }
    response = slack.submit_view(PM, values, view=form, forged=True)
    assert response.json is not None
    assert list(response.json["errors"]) == ["timezone"]
    assert "is not a timezone Liaison knows" in response.json["errors"]["timezone"]
    with database.session() as session:
        assert session.exec(select(Project)).all() == []


def with_forged_option(view: dict[str, Any], block_id: str, value: str) -> dict[str, Any]:
    """The modal with a select offering ``value``, as a forged request may send any value."""
    forged = copy.deepcopy(view)
    for block in forged["blocks"]:
        if block.get("block_id") == block_id:
            option = {"text": {"type": "plain_text", "text": "?"}, "value": value}
            block["element"]["options"].append(option)
    return forged


@pytest.mark.parametrize(("title", "template"), [("", "abc"), ("Pulse", "x" * 41)])
def test_a_forged_poll_template_is_refused_under_its_field(
    slack: SlackDriver, database: Database, emulator: SlackEmulator, title: str, template: str
) -> None:
    create_project(slack)
    slack.slash_command(PM, "/poll", "new", channel_id=PROJECT_CHANNEL)
    form = with_forged_option(top_view(emulator), "template", template)
    response = slack.submit_view(PM, {"title": title, "template": template}, view=form, forged=True)
    assert response.json is not None and response.json["response_action"] == "errors"
    assert "template" in response.json["errors"]
    assert top_view(emulator)["callback_id"] == PollId.NEW_MODAL  # still the first step
    with database.session() as session:
        assert session.exec(select(Poll)).all() == []


def test_a_poll_draft_of_another_shape_is_refused_as_unreadable(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    create_project(slack)
    slack.slash_command(PM, "/poll", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"title": "Pulse"})
    questions = top_view(emulator)
    assert questions["callback_id"] == PollId.QUESTIONS_MODAL
    draft = json.loads(questions["private_metadata"])
    for forged in (
        {"p": draft["p"]},
        {**draft, "q": "abc"},
        {**draft, "q": [{"k": "rating"}]},
        {**draft, "s": {**draft["s"], "roles": 5}},
        {**draft, "s": []},
    ):
        form = {**questions, "private_metadata": json.dumps(forged)}
        response = slack.submit_view(PM, {"then": "create"}, view=form, forged=True)
        assert response.json is not None and response.json["response_action"] == "errors"
        assert "This form could not be read" in json.dumps(response.json["errors"])
    with database.session() as session:
        assert session.exec(select(Poll)).all() == []


@pytest.mark.parametrize("action_id", [CalendarId.CHECK_IN, f"{CalendarId.RSVP_PREFIX}accepted"])
def test_a_click_on_an_event_that_is_not_there_does_not_repeat_its_id(
    slack: SlackDriver, emulator: SlackEmulator, action_id: str
) -> None:
    """A well-formed id of no event of this workspace: the answer says so without echoing the
    database id the button carried."""
    create_project(slack)
    slack.block_action(
        KEY_USERS[0], action_id, value=json.dumps({"e": 987654}), channel_id=PROJECT_CHANNEL
    )
    slack.wait_for_listeners()
    assert emulator.find_text("There is no such event in this workspace.")
    assert emulator.find_text("987654") == []

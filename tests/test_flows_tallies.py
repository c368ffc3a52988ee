"""Every tally a person reads adds up to the people invited, recounted here from the invitation
rows; every list shows what is coming and says "none" only when nothing is; a declined meeting
does not speak of seats."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.ids import CalendarId
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from storage.models import CalendarEvent, Invitation
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, START, TEAM
from tests.digest_helpers import add_event
from tests.flows import add_key_user, create_project, last_response, texts
from tests.test_flows_trainings import invitation_dm, project_with_curriculum, schedule, training

MARIA, ANNA, BEN, CARL = KEY_USERS[:4]
NOW = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def erp(slack: SlackDriver, clock: Any) -> SlackDriver:
    clock.set(NOW)
    create_project(slack)
    for user in (MARIA, ANNA, BEN, CARL):
        add_key_user(slack, user, role="business_representative")
    return slack


def plan_meeting(slack: SlackDriver, starts: datetime, **overrides: Any) -> None:
    slack.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    values = {
        "title": "Open points",
        "kind": "working_meeting",
        "starts_at": int(starts.timestamp()),
        "duration": "60",
        "location": "Room 1",
        "people": [MARIA, ANNA, BEN, CARL],
        "repeat": "none",
        "options": ["maybe"],
    }
    values.update(overrides)
    response = slack.submit_view(PM, values)
    assert response.json is None or "errors" not in response.json, response.json


def answer(slack: SlackDriver, user: str, response: str, title: str = "Open points") -> None:
    slack.click(
        user,
        f"{CalendarId.RSVP_PREFIX}{response}",
        message=invitation_dm(slack.emulator, user, title),
    )


def recount(database: Database) -> tuple[int, Counter[str]]:
    """The only event's invitations counted here, not through the service: (invited, by answer)."""
    with database.session() as session:
        [event_id] = session.exec(select(CalendarEvent.id)).all()
        answers = Counter(
            row.response
            for row in session.exec(select(Invitation).where(Invitation.event_id == event_id))
            if row.response != "removed"
        )
    return event_id or 0, answers


def last_answer(slack: SlackDriver) -> str:
    """The last request's answer: an ephemeral one, or the tool's modal it opened."""
    return texts([last_response(slack)])


def test_a_meeting_tally_counts_every_answer_and_adds_up_to_everyone_invited(
    erp: SlackDriver, database: Database
) -> None:
    plan_meeting(erp, NOW + timedelta(days=2))
    answer(erp, MARIA, "accepted")
    answer(erp, ANNA, "maybe")
    answer(erp, BEN, "declined")
    event_id, answers = recount(database)
    assert answers == Counter(accepted=1, maybe=1, declined=1, pending=1)
    expected = (
        f"{answers.total()} invited: {answers['accepted']} accepted · {answers['maybe']} maybe"
        f" · {answers['declined']} declined · {answers['pending']} not answered"
    )
    erp.slash_command(PM, "/meeting", "list ERP")
    assert expected in last_answer(erp)
    erp.slash_command(PM, "/meeting", str(event_id))
    detail = last_answer(erp)
    assert expected in detail and f"<@{ANNA}> (maybe)" in detail  # the roster below agrees


def test_a_training_list_counts_the_declined_and_the_waitlist_up_to_everyone_invited(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database, capacity="1")
    first, second, third = KEY_USERS[:3]  # the three invited
    answer(slack, first, "accepted", "System overview")
    answer(slack, second, "declined", "System overview")
    answer(slack, third, "accepted", "System overview")  # the seat is taken: waitlisted
    _event_id, answers = recount(database)
    assert answers == Counter(accepted=1, declined=1, waitlisted=1)
    training(slack, "list")
    assert (
        f"1/1 seats taken · {answers.total()} invited: {answers['accepted']} accepted"
        f" · {answers['waitlisted']} on the waitlist · {answers['declined']} declined"
        f" · {answers['pending']} not answered"
    ) in last_answer(slack)


def test_the_digests_and_dashboards_coming_week_counts_a_maybe(
    slack: SlackDriver, runtime: Runtime, clock: Any
) -> None:
    clock.set(NOW)
    create_project(slack)
    answers = {MARIA: "accepted", ANNA: "maybe", BEN: "declined", CARL: "pending"}
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        add_event(
            ctx,
            project,
            kind="meeting",
            title="Steering",
            starts=NOW + timedelta(days=1),
            answers=answers,
        )
    slack.slash_command(PM, "/digest", "preview ERP")
    counted = Counter(answers.values())
    tally = (
        f"{len(answers)} invited: {counted['accepted']} accepted, {counted['maybe']} maybe,"
        f" {counted['declined']} declined, {counted['pending']} not answered"
    )
    assert tally in last_answer(slack)
    slack.open_home(PM)  # the PM's dashboard shows the same week
    assert tally in texts([slack.emulator.home(PM)])


def test_a_meeting_nine_days_ahead_is_listed_and_none_is_said_only_when_none_is_planned(
    erp: SlackDriver,
) -> None:
    erp.slash_command(PM, "/meeting", "list ERP")
    assert "None planned" in last_answer(erp)
    plan_meeting(erp, NOW + timedelta(days=9))
    erp.slash_command(PM, "/meeting", "list ERP")
    shown = last_answer(erp)
    assert "Open points" in shown and "None" not in shown
    erp.slash_command(PM, "/meeting", "list ERP week")
    shown = last_answer(erp)
    assert "None in the coming week; 1 planned after it" in shown and "None planned" not in shown


def test_a_meeting_list_shows_the_next_ten_and_counts_the_rest(erp: SlackDriver) -> None:
    plan_meeting(erp, NOW + timedelta(days=1), repeat="weekly", count="12")
    erp.slash_command(PM, "/meeting", "list ERP")
    shown = last_answer(erp)
    assert "Upcoming meetings of ERP* (12)" in shown and shown.count("Open points") == 10
    assert "…and 2 more: `/meeting list ERP all`." in shown
    erp.slash_command(PM, "/meeting", "list ERP all")
    assert last_answer(erp).count("Open points") == 12


def test_a_training_session_nine_days_ahead_is_listed_and_the_week_says_it_is_coming(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    training(slack, "list")
    assert "No training sessions to show" in last_answer(slack)
    schedule(slack, database, starts_at=int((START + timedelta(days=9)).timestamp()))
    training(slack, "list")
    assert "System overview" in last_answer(slack)
    training(slack, "list week")
    shown = last_answer(slack)
    assert "No training sessions in the coming week in *ERP*; 1 scheduled after it" in shown
    assert "No training sessions to show" not in shown


def test_a_declined_meeting_invitation_speaks_of_the_meeting_not_of_seats(
    erp: SlackDriver,
) -> None:
    plan_meeting(erp, NOW + timedelta(days=2))
    answer(erp, BEN, "declined")
    shown = texts([invitation_dm(erp.emulator, BEN, "Open points")])
    assert "You declined. You can still accept until the meeting starts." in shown
    assert "seat" not in shown


def test_a_declined_training_invitation_still_speaks_of_free_seats(
    slack: SlackDriver, database: Database
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database)  # two seats
    first = KEY_USERS[0]
    answer(slack, first, "declined", "System overview")
    shown = texts([invitation_dm(slack.emulator, first, "System overview")])
    assert "You declined. You can still accept while seats are free." in shown

"""Meetings through the emulator, with the clock moved over weeks: `/meeting new` for a weekly
series across the daylight-saving change, invitations with RSVP and a calendar file, reminders at
24 h and 15 min to those who accepted or said maybe, the organizer's tally, list and detail,
reschedule and cancel (one or the series), the outcome and an action item turned into an issue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import CalendarId, EngagementId, MeetingId
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from storage.models import CalendarEvent, EventStatus, Invitation, Issue, Meeting
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts

BERLIN = ZoneInfo("Europe/Berlin")
MARIA, ANNA, BEN = KEY_USERS[:3]
MONDAY_0900 = datetime(2027, 3, 15, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, clock: Any) -> SlackDriver:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    create_project(slack)
    add_key_user(slack, MARIA, role="decision_maker")
    add_key_user(slack, ANNA, role="business_representative")
    add_key_user(slack, BEN, role="business_representative")
    emulator.reset_calls()
    return slack


def events_in(database: Database) -> list[CalendarEvent]:
    with database.session() as session:
        return list(session.exec(select(CalendarEvent).order_by(CalendarEvent.starts_at)).all())


def plan_series(slack: SlackDriver, *, forged: bool = False, **overrides: Any) -> Any:
    slack.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    values = {
        "title": "MM working meeting",
        "kind": "working_meeting",
        "starts_at": int(MONDAY_0900.timestamp()),
        "duration": "60",
        "video_url": "https://meet.example/mm",
        "audience_kind": "role",
        "audience_roles": ["business_representative"],
        "people": [MARIA],
        "agenda": "Open points <b>purchasing</b>",
        "repeat": "weekly",
        "count": "4",
        "options": ["maybe", "announce"],
    }
    values.update(overrides)
    if values["audience_kind"] != "role":  # the form asks roles only for key users by role
        del values["audience_roles"]
    if values["repeat"] == "none":  # and how a series ends only for a series
        values.pop("count", None)
        values.pop("until", None)
    return slack.submit_view(PM, values, forged=forged)


def count_with(messages: list[dict[str, Any]], phrase: str) -> int:
    """How many messages show ``phrase`` (each message's fallback text and blocks once)."""
    return len([m for m in messages if phrase in texts([m])])


def latest_with(messages: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for message in reversed(messages):
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    return message
    raise AssertionError(f"no message with {action_id}")


def test_weekly_series_invites_reminds_and_keeps_local_time(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    emulator = erp.emulator
    plan_series(erp)
    events = events_in(database)
    assert [e.starts_at.astimezone(BERLIN).strftime("%a %H:%M") for e in events] == [
        "Mon 09:00"
    ] * 4
    confirmation = texts(emulator.dm_messages(PM))
    assert "is planned as a series of 4" in confirmation and "3 people are invited" in confirmation
    announcement = texts(emulator.messages(PROJECT_CHANNEL))
    assert "(a series of 4)" in announcement and "&lt;b&gt;purchasing" in announcement

    invitation = latest_with(emulator.dm_messages(ANNA), f"{CalendarId.RSVP_PREFIX}accepted")
    assert "&lt;b&gt;purchasing&lt;/b&gt;" in texts([invitation])
    assert emulator.calls_to("files.completeUploadExternal")  # the calendar file
    erp.click(ANNA, f"{CalendarId.RSVP_PREFIX}accepted", message=invitation)
    maria_invite = latest_with(emulator.dm_messages(MARIA), f"{CalendarId.RSVP_PREFIX}maybe")
    erp.click(MARIA, f"{CalendarId.RSVP_PREFIX}maybe", message=maria_invite)
    ben_invite = latest_with(emulator.dm_messages(BEN), f"{CalendarId.RSVP_PREFIX}declined")
    erp.click(BEN, f"{CalendarId.RSVP_PREFIX}declined", message=ben_invite)

    # 24 hours before: reminders to Anna and Maria, the tally to the organizer.
    clock.set(events[0].starts_at - timedelta(hours=24))
    run_due(runtime)
    run_due(runtime)
    assert "starts in 24 hours" in texts(emulator.dm_messages(ANNA))
    assert "starts in 24 hours" in texts(emulator.dm_messages(MARIA))
    assert "starts in" not in texts(emulator.dm_messages(BEN))
    assert "Roster: MM working meeting" in texts(emulator.dm_messages(PM))
    clock.set(events[0].starts_at - timedelta(minutes=15))
    run_due(runtime)
    anna = [texts([m]) for m in emulator.dm_messages(ANNA)]
    assert len([m for m in anna if "starts in 15 minutes" in m]) == 1
    assert len([m for m in anna if "starts in 24 hours" in m]) == 1
    assert "&lt;!date" not in "".join(anna)

    # After the meeting the organizer is asked for the outcome, once.
    clock.set(events[0].ends_at + timedelta(minutes=5))
    run_due(runtime)
    run_due(runtime)
    prompts = [m for m in emulator.dm_messages(PM) if "is over" in texts([m])]
    assert len(prompts) == 1
    erp.click(PM, MeetingId.OUTCOME, message=prompts[0])
    erp.submit_view(
        PM,
        {
            "attended": [ANNA],
            "minutes": "Release strategy discussed.",
            "decisions": "Two release levels",
            "action_1_text": "Map release codes for plant 1000",
            "action_1_owner": PM,
            "action_1_due": "2027-03-26",
        },
    )
    summary = latest_with(emulator.dm_messages(PM), MeetingId.ACTION_TO_ISSUE)
    erp.click(PM, MeetingId.ACTION_TO_ISSUE, message=summary)
    erp.click(PM, MeetingId.ACTION_TO_ISSUE, message=summary)  # a double click: one issue
    with database.session() as session:
        issues = session.exec(select(Issue)).all()
        attendance = {
            i.user_id: i.attendance
            for i in session.exec(
                select(Invitation).where(Invitation.event_id == events[0].id)
            ).all()
        }
    assert [(i.title, i.owner_id) for i in issues] == [("Map release codes for plant 1000", PM)]
    assert attendance == {ANNA: "present", MARIA: "absent", BEN: None}
    updated = emulator.message(summary["channel"], summary["ts"])
    assert "ERP-1" in texts([updated])
    assert "Map release codes" in texts(emulator.messages(PROJECT_CHANNEL))  # the issue's message

    # The third meeting, after the change to summer time, is still at 09:00 in Berlin; its
    # invitation goes out a week ahead.
    clock.set(events[2].starts_at - timedelta(days=6))
    run_due(runtime)
    with database.session() as session:
        invited = session.exec(select(Invitation).where(Invitation.event_id == events[2].id)).all()
    assert len(invited) == 3
    assert events[2].starts_at.astimezone(BERLIN).hour == 9 and events[2].starts_at.hour == 7
    assert emulator.violations == []


def test_list_detail_reschedule_and_cancel(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    emulator = erp.emulator
    plan_series(erp, options=["maybe"])
    events = events_in(database)
    erp.slash_command(PM, "/meeting", "list ERP week")
    listing = last_response_text(erp)
    assert "Meetings of ERP in the coming week" in listing
    erp.slash_command(PM, "/meeting", "list ERP all")
    assert "1 of 4 in the series" in texts([last_response(erp)])
    erp.slash_command(PM, "/meeting", str(events[0].id))
    detail = emulator.responses[-1]
    assert "Open points" in texts([detail]) and f"<@{ANNA}> (no answer)" in texts([detail])
    erp.slash_command(OUTSIDER, "/meeting", "show ERP 1")
    refusal = last_response_text(erp)
    assert "There is no such meeting in this workspace." in refusal
    assert "There is no event" not in refusal  # which would show the event's database id

    # Reschedule the first meeting: everyone invited is told once, with a calendar file.
    before_files = len(emulator.calls_to("files.completeUploadExternal"))
    erp.slash_command(PM, "/meeting", f"reschedule {events[0].id}")
    new_start = int((MONDAY_0900 + timedelta(hours=2)).timestamp())
    erp.submit_view(PM, {"starts_at": new_start})
    assert count_with(emulator.dm_messages(ANNA), "has moved") == 1
    assert count_with(emulator.dm_messages(ANNA), "moves to") == 0  # told once, by the core
    assert len(emulator.calls_to("files.completeUploadExternal")) == before_files + 3
    with database.session() as session:
        assert session.get(CalendarEvent, events[0].id).starts_at.astimezone(BERLIN).hour == 11

    # A key user cannot cancel; the organizer cancels one, then the rest of the series.
    erp.slash_command(ANNA, "/meeting", f"cancel ERP {events[1].id}")
    assert "Only the PMs and the project team of ERP can plan" in last_response_text(erp)
    erp.slash_command(PM, "/meeting", f"cancel {events[1].id}")
    erp.submit_view(PM, {"scope": "one"})
    assert "the rest of the series stands" in texts(emulator.dm_messages(ANNA))
    erp.slash_command(PM, "/meeting", f"cancel {events[2].id}")
    erp.submit_view(PM, {"scope": "series"})
    with database.session() as session:
        statuses = [session.get(CalendarEvent, e.id).status for e in events]
    assert statuses == [
        EventStatus.SCHEDULED,
        EventStatus.CANCELLED,
        EventStatus.CANCELLED,
        EventStatus.CANCELLED,
    ]
    # An RSVP after a cancellation gets a clear message.
    invitation = latest_with(emulator.dm_messages(ANNA), f"{CalendarId.RSVP_PREFIX}accepted")
    erp.slash_command(PM, "/meeting", f"cancel {events[0].id}")
    erp.submit_view(PM, {"scope": "one"})
    erp.click(ANNA, f"{CalendarId.RSVP_PREFIX}accepted", message=invitation)
    assert "cancelled" in last_response_text(erp)
    assert emulator.violations == []


def test_bad_input_is_shown_inline_and_nothing_is_stored(
    erp: SlackDriver, database: Database
) -> None:
    response = plan_series(
        erp, count="", starts_at=int(datetime(2027, 3, 1, tzinfo=UTC).timestamp())
    )
    errors = response.json["errors"]
    assert "starts_at" in errors
    response = plan_series(erp, count="", audience_kind="none", people=[])
    errors = response.json["errors"]
    assert set(errors) >= {"count", "people"}
    response = plan_series(erp, count="101", forged=True)  # the number input stops at 100
    assert "at most 100" in response.json["errors"]["repeat"]
    assert events_in(database) == []
    erp.slash_command(OUTSIDER, "/meeting", "new ERP")
    assert "Only the PMs and the project team of ERP can plan" in last_response_text(erp)
    erp.slash_command(PM, "/meeting", "help")
    assert "Usage of `/meeting`" in last_response_text(erp)


def test_schedule_meeting_from_the_engagement_nudge_is_prefilled(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    clock.advance(timedelta(days=31))
    run_due(runtime)
    nudge = latest_with(erp.emulator.dm_messages(PM), EngagementId.SCHEDULE)
    erp.click(PM, EngagementId.SCHEDULE, message=nudge)
    form = erp.emulator.top_view(PM)
    people = [b for b in form["blocks"] if b.get("block_id") == "people"][0]
    assert people["element"]["initial_users"] == [MARIA]
    erp.submit_view(
        PM,
        {
            "title": "Catch-up",
            "starts_at": int((clock.now() + timedelta(days=2)).timestamp()),
            "repeat": "none",
        },
    )
    with database.session() as session:
        [meeting] = session.exec(select(Meeting)).all()
    assert meeting.attendees == [MARIA]


def test_home_tab_lists_a_key_users_next_meetings(erp: SlackDriver) -> None:
    plan_series(erp, options=[])
    erp.open_home(ANNA)
    home = texts([erp.emulator.home(ANNA)])
    assert "Your next meetings" in home and "MM working meeting" in home and "no answer" in home


@pytest.mark.parametrize("count", ["²", "٣٣٣", "-5", "1"])
def test_a_series_count_that_is_no_number_of_meetings_is_refused_inline(
    erp: SlackDriver, database: Database, count: str
) -> None:
    with pytest.raises(ValueError, match="Slack would not submit"):
        plan_series(erp, count=count)  # Slack's number input takes 2-100 only
    response = plan_series(erp, count=count, forged=True)
    assert response.json["errors"] == {
        "count": "A series needs at least 2 meetings: write how many (2–100)."
    }
    assert events_in(database) == []
    assert erp.emulator.violations == []


def test_meetings_go_by_their_number_in_the_project_never_the_database_id(
    slack: SlackDriver, emulator: SlackEmulator, database: Database, clock: Any
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    emulator.add_channel("CCRM00001", "crm-rollout", members=[PM, *KEY_USERS])
    create_project(slack, code="CRM", name="CRM rollout", channel_id="CCRM00001")
    add_key_user(slack, MARIA, code="CRM", role="decision_maker")
    slack.slash_command(PM, "/meeting", "new CRM", channel_id="CCRM00001")
    response = slack.submit_view(
        PM,
        {
            "title": "CRM check-in",
            "kind": "working_meeting",
            "starts_at": int((MONDAY_0900 + timedelta(hours=4)).timestamp()),
            "duration": "60",
            "people": [MARIA],
            "repeat": "weekly",
            "count": "2",
        },
    )
    assert response.json is None or "errors" not in response.json, response.json
    create_project(slack)
    add_key_user(slack, MARIA, role="decision_maker")
    response = plan_series(slack, audience_kind="none", count="2")
    assert response.json is None or "errors" not in response.json, response.json
    erp_events = [e for e in events_in(database) if e.title == "MM working meeting"]
    assert [e.id for e in erp_events] == [3, 4]
    assert "*MM working meeting* (#1, ERP) is planned" in texts(emulator.dm_messages(PM))
    slack.slash_command(PM, "/meeting", "list ERP all")
    listed = texts([last_response(slack)])
    assert "*#1 MM working meeting*" in listed and "*#2 MM working meeting*" in listed
    assert "#3" not in listed and "#4" not in listed
    slack.slash_command(PM, "/meeting", "2", channel_id=PROJECT_CHANNEL)
    assert "Meeting #2 of ERP" in texts([emulator.responses[-1]])
    slack.slash_command(PM, "/meeting", "show ERP 1")
    assert "Meeting #1 of ERP" in texts([emulator.responses[-1]])
    slack.slash_command(PM, "/meeting", "show CRM 1")
    assert "CRM check-in" in texts([emulator.responses[-1]])
    slack.open_home(MARIA)
    home = texts([emulator.home(MARIA)])
    assert "MM working meeting" in home and not re.search(r"#\d", home)


def blocks_of(view: dict[str, Any]) -> list[str]:
    return [b.get("block_id") for b in view["blocks"] if b.get("type") == "input"]


def test_the_meeting_form_shows_only_what_applies_and_keeps_what_was_typed(
    erp: SlackDriver, emulator: SlackEmulator
) -> None:
    erp.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    form = emulator.top_view(PM)
    assert form is not None
    shown = blocks_of(form)
    assert {"count", "until", "audience_roles", "audience_quadrants"}.isdisjoint(shown)
    assert len(shown) <= 13  # was 17 inputs, every option shown whatever was chosen
    typed = {"title": "Order-to-cash walkthrough", "agenda": "Open points"}
    erp.block_action(PM, "value", "weekly", "repeat", view=form, typed=typed)
    weekly = emulator.top_view(PM)
    assert weekly is not None and weekly["id"] == form["id"]
    assert {"count", "until"} <= set(blocks_of(weekly))
    by_id = {b["block_id"]: b for b in weekly["blocks"] if b.get("block_id")}
    assert by_id["title"]["element"]["initial_value"] == "Order-to-cash walkthrough"
    assert by_id["agenda"]["element"]["initial_value"] == "Open points"
    assert by_id["count"]["element"]["type"] == "number_input"
    assert by_id["until"]["element"]["type"] == "datepicker"
    erp.block_action(PM, "value", "role", "audience_kind", view=weekly)
    by_role = emulator.top_view(PM)
    assert by_role is not None
    assert "audience_roles" in blocks_of(by_role) and "audience_quadrants" not in blocks_of(by_role)
    erp.block_action(PM, "value", "none", "repeat", view=by_role)
    once = emulator.top_view(PM)
    assert once is not None and {"count", "until"}.isdisjoint(blocks_of(once))
    assert emulator.violations == []


@pytest.mark.parametrize(
    "metadata", ['{"project_id": 999999}', '{"project_id": "1 OR 1=1"}', "not json", "[1]"]
)
def test_a_forged_form_is_not_redrawn(
    erp: SlackDriver, emulator: SlackEmulator, metadata: str
) -> None:
    """The redraw reads the project from the database, with the planner's right checked: a
    forged private_metadata draws nothing."""
    erp.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    form = emulator.top_view(PM)
    assert form is not None
    forged = {**form, "private_metadata": metadata}
    erp.block_action(PM, "value", "weekly", "repeat", view=forged)
    after = emulator.top_view(PM)
    assert after is not None and {"count", "until"}.isdisjoint(blocks_of(after))


def test_someone_who_may_not_plan_gets_no_redrawn_form(
    erp: SlackDriver, emulator: SlackEmulator
) -> None:
    erp.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    form = emulator.top_view(PM)
    assert form is not None
    erp.block_action(OUTSIDER, "value", "weekly", "repeat", view=form)  # not their form's project
    after = emulator.top_view(PM)
    assert after is not None and {"count", "until"}.isdisjoint(blocks_of(after))

"""Meetings at the service level: series across daylight-saving time, the calendar file parsed
back, invitations a week ahead, cancel one or the series, outcome and action items to issues."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.errors import Msg, PermissionDenied, ValidationError
from bot.services import keyusers, meeting_outcomes, meetings, projects
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.meeting_outcomes import ActionInput
from bot.services.meetings import MeetingInput
from bot.services.projects import ProjectInput
from bot.views.meetings import MESSAGES
from storage.models import (
    CalendarEvent,
    EventStatus,
    Interaction,
    Invitation,
    Issue,
    Meeting,
    OutboxMessage,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM

BERLIN = ZoneInfo("Europe/Berlin")
MARIA, ANNA, BEN = KEY_USERS[:3]


@pytest.fixture
def project(ctx: Ctx) -> object:
    project = projects.create_project(
        ctx=ctx,
        data=ProjectInput(name="Rollout", code="ERP", pm_ids=[PM], timezone="Europe/Berlin"),
    )
    for user_id, role in ((MARIA, "decision_maker"), (ANNA, "business_representative")):
        keyusers.add_key_user(
            ctx=ctx, project=project, data=KeyUserInput(user_id=user_id, role=role)
        )
    keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=BEN))
    return project


def weekly(**overrides: object) -> MeetingInput:
    data = MeetingInput(
        title="MM working meeting",
        starts_at=datetime(2027, 3, 15, 9, 0, tzinfo=BERLIN).astimezone(UTC),
        duration_minutes=60,
        roles=["business_representative"],
        people=[MARIA],
        repeat="weekly",
        count="4",
        agenda="Open points of purchasing",
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return data


def outbox(ctx: Ctx, prefix: str) -> list[OutboxMessage]:
    return [
        row
        for row in ctx.session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        if row.key.startswith(prefix)
    ]


def test_weekly_series_keeps_0900_berlin_across_the_change_and_the_file_carries_the_rule(
    ctx: Ctx,
    clock,
    project,  # type: ignore[no-untyped-def]
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    created, keys = meetings.create_meeting(
        ctx=ctx, project=project, data=weekly(), messages=MESSAGES
    )
    events = [ctx.get(CalendarEvent, m.event_id) for m in created]
    local = [e.starts_at.astimezone(BERLIN).strftime("%d %b %H:%M") for e in events]
    assert local == ["15 Mar 09:00", "22 Mar 09:00", "29 Mar 09:00", "05 Apr 09:00"]
    assert [e.starts_at.hour for e in events] == [8, 8, 7, 7]  # UTC moves on 28 March
    assert len({e.series_uid for e in events}) == 1 and events[0].rrule == "FREQ=WEEKLY;COUNT=4"
    # Invitations of the first occurrence only (the next is more than a week away), one file each.
    invited = ctx.session.exec(select(Invitation)).all()
    assert sorted({i.user_id for i in invited}) == sorted([MARIA, ANNA])
    assert {i.event_id for i in invited} == {events[0].id}
    [maria_file] = [r for r in outbox(ctx, f"calendar:{events[0].id}:ics:{MARIA}")]
    calendar = Calendar.from_ical(base64.b64decode(maria_file.payload["content_base64"]))
    assert calendar["METHOD"] == "REQUEST"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == events[0].series_uid
    assert vevent["RRULE"]["FREQ"] == ["WEEKLY"] and vevent["RRULE"]["COUNT"] == [4]
    assert vevent["DTSTART"].dt.tzinfo.key == "Europe/Berlin"
    assert vevent["DTSTART"].dt.hour == 9
    # A week later the second occurrence is invited (without a second calendar file).
    clock.set(datetime(2027, 3, 16, 8, 0, tzinfo=UTC))
    meetings.invite_due(ctx=ctx, messages=MESSAGES)
    assert {i.event_id for i in ctx.session.exec(select(Invitation)).all()} == {
        events[0].id,
        events[1].id,
    }
    assert outbox(ctx, f"calendar:{events[1].id}:ics:") == []
    assert meetings.invite_due(ctx=ctx, messages=MESSAGES) == []


def test_bad_meetings_are_refused_whole_and_store_nothing(ctx: Ctx, project) -> None:  # type: ignore[no-untyped-def]
    keyusers.remove_key_user(ctx=ctx, key_user=keyusers.get_key_user(ctx, project, BEN))
    cases = [
        (weekly(starts_at=ctx.now() - timedelta(hours=1), repeat="none"), "starts_at"),
        (weekly(count=""), "count"),
        (weekly(count="150"), "repeat"),
        (weekly(people=[], roles=[]), "people"),
        (weekly(people=[BEN], repeat="none"), "people"),
        (weekly(people=[OUTSIDER], repeat="none"), "people"),
        (weekly(video_url="ftp://x", repeat="none"), "video_url"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as caught:
            meetings.create_meeting(ctx=ctx, project=project, data=data, messages=MESSAGES)
        assert field in caught.value.errors, (field, caught.value.errors)
    assert ctx.session.exec(select(CalendarEvent)).all() == []
    assert ctx.session.exec(select(Meeting)).all() == []
    ctx.actor_id = MARIA  # a key user does not plan meetings
    with pytest.raises(PermissionDenied):
        meetings.create_meeting(ctx=ctx, project=project, data=weekly(), messages=MESSAGES)


def test_cancel_one_occurrence_excludes_it_and_cancel_series_removes_the_entry(
    ctx: Ctx,
    clock,
    project,  # type: ignore[no-untyped-def]
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    created, _ = meetings.create_meeting(ctx=ctx, project=project, data=weekly(), messages=MESSAGES)
    first, second = created[0].event_id, created[1].event_id
    meetings.cancel_meeting(ctx=ctx, event_id=second, whole_series=False, messages=MESSAGES)
    assert ctx.get(CalendarEvent, second).status == EventStatus.CANCELLED
    assert ctx.get(CalendarEvent, first).status == EventStatus.SCHEDULED
    files = [r for r in outbox(ctx, "meeting:") if ":ics:" + ANNA in r.key]
    calendar = Calendar.from_ical(base64.b64decode(files[-1].payload["content_base64"]))
    assert calendar["METHOD"] == "REQUEST"
    [vevent] = calendar.walk("VEVENT")
    excluded = [d.dt for d in vevent["EXDATE"].dts]
    assert excluded == [datetime(2027, 3, 22, 9, 0, tzinfo=BERLIN)]
    assert vevent["SEQUENCE"] == 1 and vevent["STATUS"] == "CONFIRMED"
    # Anna was not yet invited to the 22nd: she is told once, by the series notice.
    notices = [r for r in outbox(ctx, "meeting:") if ":notice:" + ANNA in r.key]
    assert len(notices) == 1
    meetings.cancel_meeting(ctx=ctx, event_id=first, whole_series=True, messages=MESSAGES)
    assert all(ctx.get(CalendarEvent, m.event_id).status == EventStatus.CANCELLED for m in created)
    files = [r for r in outbox(ctx, "meeting:") if ":ics:" + ANNA in r.key]
    calendar = Calendar.from_ical(base64.b64decode(files[-1].payload["content_base64"]))
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.walk("VEVENT")[0]["SEQUENCE"] > 1


def test_outcome_records_attendance_and_an_action_item_becomes_an_issue_once(
    ctx: Ctx,
    clock,
    project,  # type: ignore[no-untyped-def]
) -> None:
    data = weekly(repeat="none", starts_at=ctx.now() + timedelta(days=1))
    [meeting], _ = meetings.create_meeting(ctx=ctx, project=project, data=data, messages=MESSAGES)
    with pytest.raises(ValidationError):
        meeting_outcomes.record_outcome(
            ctx=ctx, event_id=meeting.event_id, attended=[], minutes="", decisions="", actions=[]
        )
    clock.advance(timedelta(days=1, hours=2))
    with pytest.raises(ValidationError) as caught:
        meeting_outcomes.record_outcome(
            ctx=ctx,
            event_id=meeting.event_id,
            attended=[OUTSIDER],
            minutes="",
            decisions="",
            actions=[ActionInput(text="", owner_id=ANNA)],
        )
    assert set(caught.value.errors) == {"attended", "action_1_text"}
    outcome, items = meeting_outcomes.record_outcome(
        ctx=ctx,
        event_id=meeting.event_id,
        attended=[ANNA],
        minutes="Walked through the purchase requisition flow.",
        decisions="- Release strategy with two levels\n\n- Go-live in plant 1000 first",
        actions=[ActionInput(text="Map release codes", owner_id=PM, due_date="2026-12-20")],
    )
    assert outcome.decisions == ["Release strategy with two levels", "Go-live in plant 1000 first"]
    attendance = {i.user_id: i.attendance for i in ctx.session.exec(select(Invitation)).all()}
    assert attendance == {ANNA: "present", MARIA: "absent"}
    touch = ctx.session.exec(
        select(Interaction).where(Interaction.kind == "meeting_attended")
    ).all()
    assert len(touch) == 1 and touch[0].touchpoint
    missed = meetings.missed_meetings(ctx, project.id, ctx.now() - timedelta(days=7), ctx.now())
    assert [(m.user_id, m.missed) for m in missed] == [(MARIA, 1)]
    [item] = items
    _, change = meeting_outcomes.action_to_issue(ctx=ctx, item_id=item.id)
    issue = ctx.get(Issue, change.issue.id)
    assert (issue.title, issue.owner_id, issue.due_date.isoformat()) == (
        "Map release codes",
        PM,
        "2026-12-20",
    )
    with pytest.raises(ValidationError) as caught:
        meeting_outcomes.action_to_issue(ctx=ctx, item_id=item.id)
    assert caught.value.errors["action"].params["ref"] == "ERP-1"
    ctx.actor_id = ANNA
    with pytest.raises(PermissionDenied):
        meeting_outcomes.record_outcome(
            ctx=ctx, event_id=meeting.event_id, attended=[], minutes="", decisions="", actions=[]
        )


def test_upcoming_meetings_for_the_digest(ctx: Ctx, clock, project) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    meetings.create_meeting(ctx=ctx, project=project, data=weekly(), messages=MESSAGES)
    week = meetings.upcoming_meetings(ctx, project.id, ctx.now(), ctx.now() + timedelta(days=7))
    [only] = week
    assert (only.title, only.pending, only.accepted) == ("MM working meeting", 2, 0)
    assert (
        len(meetings.upcoming_meetings(ctx, project.id, ctx.now(), ctx.now() + timedelta(days=60)))
        == 4
    )


def test_a_series_clashing_with_the_organizers_later_meeting_is_refused_whole(
    ctx: Ctx,
    clock,
    project,  # type: ignore[no-untyped-def]
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    third = datetime(2027, 3, 29, 9, 30, tzinfo=BERLIN).astimezone(UTC)
    meetings.create_meeting(
        ctx=ctx,
        project=project,
        data=weekly(title="Steering", repeat="none", starts_at=third),
        messages=MESSAGES,
    )
    before = len(ctx.session.exec(select(CalendarEvent)).all())
    with pytest.raises(ValidationError) as caught:
        meetings.create_meeting(ctx=ctx, project=project, data=weekly(), messages=MESSAGES)
    # Said under the time and without the other meeting's title.
    assert caught.value.errors == {"starts_at": Msg("calendar.errors.double_booked")}
    assert len(ctx.session.exec(select(CalendarEvent)).all()) == before


def test_moving_a_later_occurrence_updates_the_series_file_for_everyone(
    ctx: Ctx,
    clock,
    project,  # type: ignore[no-untyped-def]
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    created, _ = meetings.create_meeting(ctx=ctx, project=project, data=weekly(), messages=MESSAGES)
    fourth = ctx.get(CalendarEvent, created[3].event_id)
    new_start = fourth.starts_at + timedelta(days=1)
    meetings.reschedule_meeting(
        ctx=ctx,
        event_id=fourth.id,
        starts_at=new_start,
        duration_minutes=60,
        messages=MESSAGES,
    )
    files = [r for r in outbox(ctx, "meeting:") if ":ics:" + MARIA in r.key]
    calendar = Calendar.from_ical(base64.b64decode(files[-1].payload["content_base64"]))
    series, moved = calendar.walk("VEVENT")
    assert [d.dt for d in series["EXDATE"].dts] == [datetime(2027, 4, 5, 9, 0, tzinfo=BERLIN)]
    assert moved["DTSTART"].dt == datetime(2027, 4, 6, 9, 0, tzinfo=BERLIN)
    assert str(moved["UID"]) == fourth.uid and "RRULE" not in moved
    notices = [r for r in outbox(ctx, "meeting:") if ":notice:" + MARIA in r.key]
    assert len(notices) == 1


def test_cancelling_a_moved_occurrence_removes_its_own_entry(
    ctx: Ctx,
    clock,
    project,  # type: ignore[no-untyped-def]
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    created, _ = meetings.create_meeting(ctx=ctx, project=project, data=weekly(), messages=MESSAGES)
    fourth = ctx.get(CalendarEvent, created[3].event_id)
    meetings.reschedule_meeting(
        ctx=ctx,
        event_id=fourth.id,
        starts_at=fourth.starts_at + timedelta(days=1),
        duration_minutes=60,
        messages=MESSAGES,
    )
    meetings.cancel_meeting(ctx=ctx, event_id=fourth.id, whole_series=False, messages=MESSAGES)
    cancels = [r for r in outbox(ctx, "meeting:") if r.key.endswith(":cancel") and MARIA in r.key]
    [cancel] = cancels
    calendar = Calendar.from_ical(base64.b64decode(cancel.payload["content_base64"]))
    [vevent] = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "CANCEL" and str(vevent["UID"]) == fourth.uid

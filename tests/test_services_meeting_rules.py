"""Meetings in detail: who the form invites and the words of each refusal, how a series ends,
what a meeting stores and logs, invitations falling due a week ahead, the lists for the digest
and the dashboard, who missed meetings, cancelling and moving occurrences of a series (who gets a
notice, where the series file goes), the outcome and its action items, and the plan's defaults."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.calendar import attendance as calendar_attendance
from bot.calendar import service as calendar
from bot.calendar.service import EventInput
from bot.clock import MovableClock
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import commplan, keyusers, meeting_outcomes, meetings
from bot.services.commplan import PlanEntryInput
from bot.services.context import Ctx
from bot.services.keyusers import ROLES, Quadrant
from bot.services.meeting_outcomes import ActionInput
from bot.services.meetings import MeetingInput
from bot.views.meetings import MESSAGES
from storage.models import (
    Attendance,
    CalendarEvent,
    EventStatus,
    Interaction,
    Invitation,
    Issue,
    Meeting,
    MeetingActionItem,
    MeetingOutcome,
    OutboxMessage,
    OutboxStatus,
    PlanOccurrence,
    Project,
    Rsvp,
)
from storage.models.core import ProjectMember
from tests.conftest import OUTSIDER, PM, PM2, PROJECT_CHANNEL

# The communication plan's rules build projects and key users the same way.
from tests.test_services_commplan_rules import (
    ANNA,
    BEN,
    BERLIN,
    CARL,
    MARIA,
    add,
    local,
    make_project,
)


@pytest.fixture
def project(ctx: Ctx) -> Project:
    project = make_project(ctx, team_ids=[PM2])
    add(ctx, project, MARIA, role="decision_maker", influence="high", interest="high")
    add(ctx, project, ANNA, role="business_representative")
    add(ctx, project, BEN)
    return project


def meeting_input(**overrides: Any) -> MeetingInput:
    data = MeetingInput(
        title="MM working meeting",
        starts_at=local(2026, 12, 7),
        duration_minutes=60,
        people=[MARIA, ANNA],
        agenda="Open points",
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return data


def plan(ctx: Ctx, project: Project, **overrides: Any) -> list[Meeting]:
    created, _ = meetings.create_meeting(
        ctx=ctx, project=project, data=meeting_input(**overrides), messages=MESSAGES
    )
    return created


def refusal(ctx: Ctx, project: Project, **overrides: Any) -> dict[str, Msg]:
    with pytest.raises(ValidationError) as caught:
        meetings.create_meeting(
            ctx=ctx, project=project, data=meeting_input(**overrides), messages=MESSAGES
        )
    return caught.value.errors  # type: ignore[return-value]


def keys_with(ctx: Ctx, part: str) -> list[str]:
    rows = ctx.session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
    return [row.key for row in rows if part in row.key]


def outbox_row(ctx: Ctx, key: str) -> OutboxMessage:
    return ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def logged(ctx: Ctx, kind: str) -> list[Interaction]:
    return list(ctx.session.exec(select(Interaction).where(Interaction.kind == kind)).all())


def as_user(ctx: Ctx, user_id: str) -> Ctx:
    ctx.actor_id = user_id
    ctx._admin = None
    return ctx


class Recording:
    """The meeting messages, noting each series notice asked for."""

    def __init__(self) -> None:
        self.notices: list[tuple[str, int | None, str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(MESSAGES, name)

    def series_notice(
        self, locale: str, event: CalendarEvent, what: str, **params: Any
    ) -> dict[str, Any]:
        self.notices.append((locale, event.id, what, params))
        return MESSAGES.series_notice(locale, event, what, **params)


def deliver(ctx: Ctx, key: str, channel: str, ts: str) -> None:
    """Mark an outbox row as sent, as the sender does once Slack answered."""
    row = outbox_row(ctx, key)
    row.status, row.channel, row.ts = OutboxStatus.SENT, channel, ts
    ctx.session.add(row)
    ctx.session.flush()


def invitation_key(ctx: Ctx, event_id: int, user_id: str) -> str:
    [key] = keys_with(ctx, f"calendar:{event_id}:invite:{user_id}:")
    return key


# ------------------------------------------------------------------------------- attendees


def test_each_refused_attendee_is_named_with_the_project(ctx: Ctx, project: Project) -> None:
    keyusers.remove_key_user(ctx=ctx, key_user=keyusers.get_key_user(ctx, project, BEN))
    other = make_project(ctx, "MES", team_ids=[OUTSIDER])

    def errors(**values: Any) -> dict[str, Msg]:
        return meetings.resolve_attendees(ctx, project, MeetingInput(**values))[1]

    assert errors(people=[BEN]) == {
        "people": Msg("meeting.errors.left_register", user=BEN, code="ERP")
    }
    assert errors(people=[OUTSIDER]) == {
        "people": Msg("meeting.errors.not_in_project", user=OUTSIDER, code="ERP")
    }
    # A member of another project's team is no member of this one.
    assert other.code == "MES"
    assert errors(team=[OUTSIDER]) == {
        "team": Msg("meeting.errors.not_team_member", user=OUTSIDER, code="ERP")
    }
    # keyed by the audience picker's inputs, where the form shows them
    assert errors(roles=["boss"]) == {
        "audience_roles": Msg("errors.choice", choices=", ".join(ROLES))
    }
    assert errors(quadrants=["loud"]) == {
        "audience_quadrants": Msg("errors.choice", choices=", ".join(tuple(Quadrant)))
    }
    assert errors() == {"people": Msg("meeting.errors.no_attendees")}
    assert errors(quadrants=["keep_informed"], roles=["sponsor"]) == {
        "people": Msg("meeting.errors.no_attendees")
    }


def test_attendees_come_from_people_roles_quadrants_everyone_and_the_team_once_each(
    ctx: Ctx, project: Project
) -> None:
    chosen, errors = meetings.resolve_attendees(
        ctx, project, MeetingInput(people=[ANNA, PM2], team=[PM2], roles=["key_user"])
    )
    assert errors == {}
    assert chosen == [ANNA, PM2, BEN]
    # Maria is high in influence and in interest: "manage closely", and only that quadrant.
    for wanted, expected in (
        ("manage_closely", [MARIA]),
        ("keep_informed", []),
        ("keep_satisfied", []),
        ("monitor", [ANNA, BEN]),
    ):
        found, _ = meetings.resolve_attendees(ctx, project, MeetingInput(quadrants=[wanted]))
        assert sorted(found) == expected, wanted
    everyone, _ = meetings.resolve_attendees(ctx, project, MeetingInput(all_key_users=True))
    assert sorted(everyone) == [MARIA, ANNA, BEN]


def test_the_attendee_limit_is_inclusive(
    ctx: Ctx, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meetings, "MAX_ATTENDEES", 3)
    _, errors = meetings.resolve_attendees(ctx, project, MeetingInput(all_key_users=True))
    assert errors == {}
    _, errors = meetings.resolve_attendees(
        ctx, project, MeetingInput(all_key_users=True, team=[PM2])
    )
    assert errors == {"people": Msg("meeting.errors.too_many", limit=3)}


# ---------------------------------------------------------------------------------- series


def test_a_series_ends_by_a_count_of_two_or_more_or_by_a_last_date(
    ctx: Ctx, project: Project
) -> None:
    assert refusal(ctx, project, repeat="weekly", count="1") == {
        "count": Msg("meeting.errors.count")
    }
    assert refusal(ctx, project, repeat="weekly", count="two") == {
        "count": Msg("meeting.errors.count")
    }
    assert refusal(ctx, project, repeat="weekly") == {"count": Msg("meeting.errors.series_endless")}
    assert refusal(ctx, project, repeat="daily", count="3") == {
        "repeat": Msg("errors.choice", choices=", ".join(meetings.REPEATS))
    }
    assert refusal(ctx, project, repeat="weekly", until="7.12.2026") == {
        "until": Msg("plan.errors.date_format")
    }
    assert refusal(ctx, project, repeat="weekly", until="2026-12-06") == {
        "until": Msg("meeting.errors.until_before_start")
    }
    # A last date on the first day leaves one meeting: no series.
    assert refusal(ctx, project, repeat="weekly", until="2026-12-07") == {
        "count": Msg("meeting.errors.count")
    }
    two = plan(ctx, project, repeat="weekly", count="2")
    assert [m.position for m in two] == [1, 2]


def test_a_last_date_becomes_a_count_in_the_stored_rule(ctx: Ctx, project: Project) -> None:
    created = plan(ctx, project, repeat="weekly", until="2026-12-21")
    events = [ctx.get(CalendarEvent, m.event_id) for m in created]
    assert [e.starts_at for e in events] == [
        local(2026, 12, 7),
        local(2026, 12, 14),
        local(2026, 12, 21),
    ]
    assert {e.rrule for e in events} == {"FREQ=WEEKLY;COUNT=3"}
    assert [m.position for m in created] == [1, 2, 3]


def test_a_monthly_series_counts_the_weekday_of_the_local_day(ctx: Ctx, project: Project) -> None:
    # Monday 4 January 2027 at 00:30 in Berlin is still Sunday 3 January in UTC.
    created = plan(ctx, project, starts_at=local(2027, 1, 4, 0, 30), repeat="monthly", count="3")
    starts = [ctx.get(CalendarEvent, m.event_id).starts_at.astimezone(BERLIN) for m in created]
    assert [s.strftime("%a %d %b %H:%M") for s in starts] == [
        "Mon 04 Jan 00:30",
        "Mon 01 Feb 00:30",
        "Mon 01 Mar 00:30",
    ]


# ----------------------------------------------------------------------------------- creating


def test_a_meeting_stores_the_forms_values_and_logs_them(ctx: Ctx, project: Project) -> None:
    created, keys = meetings.create_meeting(
        ctx=ctx,
        project=project,
        data=meeting_input(
            title="  Release   strategy ",
            kind="decision_review",
            location="Room 4",
            allow_maybe=False,
            reminders=[60],
            roles=["decision_maker"],
            quadrants=["monitor"],
            team=[PM2],
            people=[ANNA],
            repeat="weekly",
            count="3",
            agenda="a" * 3000,
        ),
        messages=MESSAGES,
    )
    first = ctx.get(CalendarEvent, created[0].event_id)
    assert (first.title, first.location, first.allow_maybe, first.reminder_minutes) == (
        "Release strategy",
        "Room 4",
        False,
        [60],
    )
    assert first.description == "a" * 3000
    audience = {
        "people": [ANNA],
        "roles": ["decision_maker"],
        "quadrants": ["monitor"],
        "all": False,
        "team": [PM2],
    }
    assert [(m.position, m.kind, m.audience, m.announce) for m in created] == [
        (1, "decision_review", audience, False),
        (2, "decision_review", audience, False),
        (3, "decision_review", audience, False),
    ]
    # Named people first; then the key users the roles and quadrants pick; then the team.
    assert created[0].attendees[0] == ANNA and created[0].attendees[-1] == PM2
    assert sorted(created[0].attendees) == sorted([ANNA, PM2, MARIA, BEN])
    assert created[0].invited_at == ctx.now() and created[1].invited_at is None
    [entry] = logged(ctx, "meeting.planned")
    assert entry.project_id == project.id
    assert entry.detail == {
        "event_id": first.id,
        "occurrences": 3,
        "attendees": 4,
        "rule": "FREQ=WEEKLY;COUNT=3",
    }
    invited = [k for k in keys if ":invite:" in k]
    assert len(invited) == 4 and all(k.startswith(f"calendar:{first.id}:") for k in invited)
    # A one-off keeps the default reminders, sorted, and belongs to no series.
    [alone] = plan(ctx, project, starts_at=local(2026, 12, 8), reminders=None)
    assert alone.series_uid is None and alone.position == 1
    assert sorted(ctx.get(CalendarEvent, alone.event_id).reminder_minutes) == [15, 1440]


def test_an_agenda_of_3001_characters_an_unknown_kind_and_no_title_are_refused(
    ctx: Ctx, project: Project
) -> None:
    assert refusal(ctx, project, agenda="a" * 3001) == {
        "agenda": Msg("errors.too_long", limit=3000)
    }
    assert refusal(ctx, project, kind="party") == {
        "kind": Msg("errors.choice", choices=", ".join(meetings.MEETING_KINDS))
    }
    for title in ("", "   "):
        assert refusal(ctx, project, title=title) == {"title": Msg("errors.required")}
    assert ctx.session.exec(select(Meeting)).all() == []


def test_an_announcement_goes_to_the_project_channel_only_when_asked(ctx: Ctx) -> None:
    project = make_project(ctx, channel_id=PROJECT_CHANNEL)
    add(ctx, project, MARIA)
    add(ctx, project, ANNA)
    [quiet] = plan(ctx, project, announce=False)
    assert keys_with(ctx, ":announce") == []
    created, keys = meetings.create_meeting(
        ctx=ctx,
        project=project,
        data=meeting_input(starts_at=local(2026, 12, 8), announce=True),
        messages=MESSAGES,
    )
    key = f"meeting:{created[0].event_id}:announce"
    assert keys[-1] == key and created[0].announce is True and quiet.announce is False
    row = outbox_row(ctx, key)
    assert row.payload["channel"] == PROJECT_CHANNEL
    assert row.subject == f"calendar:{created[0].event_id}"


def test_planning_a_meeting_invites_the_projects_due_occurrences_only(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    other = make_project(ctx, "MES")
    add(ctx, other, CARL)
    series = plan(
        ctx, project, starts_at=ctx.now() + timedelta(hours=1), repeat="weekly", count="2"
    )
    [elsewhere, _] = plan(
        ctx,
        other,
        people=[CARL],
        starts_at=ctx.now() + timedelta(hours=3),
        repeat="weekly",
        count="2",
    )
    clock.advance(timedelta(hours=4))
    created, keys = meetings.create_meeting(
        ctx=ctx,
        project=project,
        data=meeting_input(starts_at=ctx.now() + timedelta(days=2)),
        messages=MESSAGES,
    )
    second = series[1].event_id
    assert [k for k in keys if k.startswith(f"calendar:{second}:invite:")] != []
    assert [k for k in keys if k.startswith(f"calendar:{created[0].event_id}:invite:")] != []
    assert ctx.get(Meeting, series[1].id).invited_at == ctx.now()
    not_here = ctx.session.exec(
        select(Meeting).where(Meeting.series_uid == elsewhere.series_uid, Meeting.position == 2)
    ).one()
    assert not_here.invited_at is None


def test_a_due_plan_item_prefills_the_meeting_and_is_done_by_it(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entries = {}
    for kind, audience in (
        ("progress_report", {"audience_kind": "role", "role": "decision_maker"}),
        ("workshop", {"audience_kind": "quadrant", "quadrant": "monitor"}),
        ("one_to_one", {"audience_kind": "person", "person": ANNA}),
    ):
        note = "" if kind == "one_to_one" else f"About {kind}"
        entry = commplan.add_entry(
            ctx=ctx,
            project=project,
            data=PlanEntryInput(kind=kind, owner_id=PM, note=note, **audience),
        )
        entries[kind] = entry
    clock.set(max(e.next_due_at for e in entries.values()) + timedelta(minutes=1))  # type: ignore[type-var]
    due = {item.entry.kind: item for item in commplan.fall_due(ctx)[PM]}
    prefilled = {
        kind: meetings.planner_default_meeting(ctx, item.occurrence.id or 0)
        for kind, item in due.items()
    }
    expected = {
        "progress_report": ("progress_review", [], [], ["decision_maker"]),
        "workshop": ("workshop", [], ["monitor"], []),
        "one_to_one": ("working_meeting", [ANNA], [], []),
    }
    for kind, (meeting_kind, people, quadrants, roles) in expected.items():
        found_project, data = prefilled[kind]
        assert found_project.id == project.id
        assert (data.kind, data.people, data.quadrants, data.roles) == (
            meeting_kind,
            people,
            quadrants,
            roles,
        )
        assert data.agenda == ("" if kind == "one_to_one" else f"About {kind}")
        assert data.plan_occurrence_id == due[kind].occurrence.id
    _, data = prefilled["progress_report"]
    data.title, data.starts_at = "Status", ctx.now() + timedelta(days=1)
    [meeting], _ = meetings.create_meeting(ctx=ctx, project=project, data=data, messages=MESSAGES)
    occurrence = ctx.get(PlanOccurrence, data.plan_occurrence_id)
    assert meeting.plan_occurrence_id == occurrence.id
    assert (occurrence.outcome, occurrence.meeting_event_id) == ("meeting", meeting.event_id)


# ----------------------------------------------------------------------- invitations due


def test_later_occurrences_are_invited_from_exactly_a_week_before_until_they_start(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    created = plan(ctx, project, repeat="weekly", count="4")
    starts = [ctx.get(CalendarEvent, m.event_id).starts_at for m in created]
    clock.set(starts[1] - timedelta(days=7, seconds=1))
    assert meetings.invite_due(ctx=ctx, messages=MESSAGES) == []
    clock.set(starts[1] - timedelta(days=7))
    keys = meetings.invite_due(ctx=ctx, messages=MESSAGES)
    assert sorted(k.split(":")[3] for k in keys) == sorted([MARIA, ANNA])
    assert ctx.get(Meeting, created[1].id).invited_at == ctx.now()
    # An occurrence that starts now, or has started, is not invited any more.
    clock.set(starts[3])
    assert meetings.invite_due(ctx=ctx, messages=MESSAGES) == []
    assert keys_with(ctx, f"calendar:{created[2].event_id}:invite:") == []
    assert keys_with(ctx, f"calendar:{created[3].event_id}:invite:") == []


def test_invitations_due_come_in_start_order_for_every_occurrence(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    late = plan(ctx, project, starts_at=local(2026, 12, 2, 15), repeat="weekly", count="2")
    early = plan(
        ctx, project, people=[BEN], starts_at=local(2026, 12, 2, 11), repeat="weekly", count="2"
    )
    clock.set(local(2026, 12, 3))
    keys = meetings.invite_due(ctx=ctx, messages=MESSAGES)
    assert [k.split(":")[1] for k in keys if ":invite:" in k] == [
        str(early[1].event_id),
        str(late[1].event_id),
        str(late[1].event_id),
    ]


def test_no_invitation_for_a_cancelled_occurrence_or_to_someone_taken_off(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    created = plan(ctx, project, repeat="weekly", count="3")
    meetings.cancel_meeting(
        ctx=ctx, event_id=created[1].event_id, whole_series=False, messages=MESSAGES
    )
    calendar.remove_invitee(ctx=ctx, event_id=created[0].event_id, user_id=ANNA, messages=MESSAGES)
    assert meetings.invite_due(ctx=ctx, messages=MESSAGES) == []  # Anna stays off the first
    clock.set(ctx.get(CalendarEvent, created[1].event_id).starts_at - timedelta(days=1))
    assert meetings.invite_due(ctx=ctx, messages=MESSAGES) == []
    first = ctx.get(CalendarEvent, created[0].event_id)
    assert calendar.invitation_of(ctx, first, ANNA).response == Rsvp.REMOVED


def test_invitations_due_stay_in_their_workspace(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    created = plan(ctx, project, repeat="weekly", count="2")
    clock.set(ctx.get(CalendarEvent, created[1].event_id).starts_at - timedelta(days=1))
    home = ctx.team_id
    ctx.team_id = "T0002"
    try:
        assert meetings.invite_due(ctx=ctx, messages=MESSAGES) == []
    finally:
        ctx.team_id = home
    assert meetings.invite_due(ctx=ctx, messages=MESSAGES) != []


# ----------------------------------------------------------------------------------- reading


def test_a_meeting_is_shown_to_its_team_its_organizer_and_its_attendees_only(
    ctx: Ctx, project: Project
) -> None:
    as_user(ctx, PM2)
    [meeting] = plan(ctx, project)
    ctx.session.delete(
        ctx.session.exec(select(ProjectMember).where(ProjectMember.user_id == PM2)).one()
    )
    ctx.session.flush()
    assert meetings.get_meeting(ctx, meeting.event_id)[0].id == meeting.id  # organizer
    as_user(ctx, ANNA)
    assert meetings.get_meeting(ctx, meeting.event_id)[0].id == meeting.id  # attendee
    as_user(ctx, BEN)
    with pytest.raises(NotFound):
        meetings.get_meeting(ctx, meeting.event_id)
    as_user(ctx, PM2)  # the organizer still cancels their own meeting
    [cancelled], _ = meetings.cancel_meeting(
        ctx=ctx, event_id=meeting.event_id, whole_series=False, messages=MESSAGES
    )
    assert cancelled.status == EventStatus.CANCELLED
    # A meeting event without its meeting row is no meeting.
    as_user(ctx, PM)
    bare = calendar.create_event(
        ctx=ctx,
        project=project,
        data=EventInput(
            kind="meeting",
            title="Bare",
            starts_at=local(2026, 12, 20),
            duration_minutes=30,
            organizer_id=PM,
        ),
    )
    with pytest.raises(NotFound) as caught:
        meetings.get_meeting(ctx, bare.id)
    assert caught.value.message == Msg("calendar.errors.no_such_meeting")  # no id repeated


def test_lists_take_the_next_ten_this_weeks_or_forty_meetings_in_start_order_and_count_the_rest(
    ctx: Ctx, project: Project
) -> None:
    plan(ctx, project, starts_at=local(2026, 12, 3, 15), repeat="weekly", count="45")
    plan(ctx, project, starts_at=local(2026, 12, 3, 11), people=[BEN])
    plan(ctx, project, starts_at=local(2026, 12, 4, 11), people=[BEN], repeat="weekly", count="2")
    plan(ctx, project, starts_at=ctx.now() + timedelta(days=7), people=[BEN])  # next week's
    week = meetings.list_meetings(ctx, project, scope="week")
    assert [v.event.starts_at for v in week.views] == [
        local(2026, 12, 3, 11),
        local(2026, 12, 3, 15),
        local(2026, 12, 4, 11),
    ]
    assert [v.series_size for v in week.views] == [1, 45, 2]
    assert (week.total, week.later) == (3, 46)
    following = meetings.list_meetings(ctx, project)
    assert len(following.views) == 10 and (following.total, following.later) == (49, 0)
    everything = meetings.list_meetings(ctx, project, scope="all")
    assert len(everything.views) == 40 and everything.total == 49
    everything = everything.views
    later = ctx.now() + timedelta(days=3660)
    assert len(meetings.upcoming_meetings(ctx, project.id or 0, ctx.now(), later)) == 49
    assert [v.event.starts_at for v in everything] == sorted(v.event.starts_at for v in everything)


def test_upcoming_meetings_hold_every_answer_and_keep_to_their_window_and_project(
    ctx: Ctx, project: Project
) -> None:
    add(ctx, project, CARL)
    other = make_project(ctx, "MES")
    add(ctx, other, MARIA)
    start, end = local(2026, 12, 7), local(2026, 12, 14)
    [meeting] = plan(
        ctx, project, people=[MARIA, ANNA, BEN, CARL], kind="workshop", starts_at=start
    )
    for user, answer in ((MARIA, Rsvp.ACCEPTED), (ANNA, Rsvp.MAYBE), (BEN, Rsvp.DECLINED)):
        calendar.respond(
            ctx=as_user(ctx, user),
            event_id=meeting.event_id,
            user_id=user,
            response=answer,
            messages=MESSAGES,
        )
    as_user(ctx, PM)
    pair = plan(ctx, project, starts_at=local(2026, 12, 8), repeat="weekly", count="2")
    for user in (MARIA, ANNA):  # everyone answered: nobody pending
        calendar.respond(
            ctx=as_user(ctx, user),
            event_id=pair[0].event_id,
            user_id=user,
            response=Rsvp.ACCEPTED,
            messages=MESSAGES,
        )
    as_user(ctx, PM)
    plan(ctx, project, starts_at=end)  # the window's end is not in it
    plan(ctx, project, starts_at=start - timedelta(hours=2))
    plan(ctx, other, people=[MARIA], starts_at=local(2026, 12, 9))
    [cancelled] = plan(ctx, project, starts_at=local(2026, 12, 10))
    meetings.cancel_meeting(
        ctx=ctx, event_id=cancelled.event_id, whole_series=False, messages=MESSAGES
    )
    found = meetings.upcoming_meetings(ctx, project.id or 0, start, end)
    assert found[0] == meetings.UpcomingMeeting(
        event_id=meeting.event_id,
        title="MM working meeting",
        kind="workshop",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        organizer_id=PM,
        accepted=1,
        maybe=1,
        declined=1,
        pending=1,
    )
    assert [m.event_id for m in found] == [meeting.event_id, pair[0].event_id]
    assert (found[1].accepted, found[1].maybe, found[1].declined, found[1].pending) == (2, 0, 0, 0)
    views = meetings.upcoming_views(ctx, project.id or 0, start, end)
    assert [v.series_size for v in views] == [1, 2]
    assert views[0].tally == {"accepted": 1, "maybe": 1, "declined": 1, "pending": 1}


# ------------------------------------------------------------------------ missed meetings


def test_missed_meetings_count_absences_of_key_users_per_window_most_first(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    other = make_project(ctx, "MES")
    add(ctx, other, MARIA)
    start = local(2026, 12, 7)
    end = start + timedelta(days=7)
    held: list[tuple[Meeting, list[str]]] = []

    def meeting(target: Project, at: datetime, people: list[str], came: list[str]) -> Meeting:
        [planned] = plan(ctx, target, people=people, starts_at=at)
        held.append((planned, came))
        return planned

    meeting(project, start - timedelta(hours=2), [MARIA, BEN], [])  # before the window
    meeting(project, start, [MARIA, ANNA, BEN], [ANNA])
    last = meeting(project, start + timedelta(days=2), [BEN, PM2], [])
    dropped = meeting(project, start + timedelta(days=3), [MARIA], [])  # cancelled later
    meeting(project, end, [MARIA], [])  # the window's end is not in it
    meeting(other, start + timedelta(days=1), [MARIA], [])  # another project
    # A training of the same project does not count.
    training = calendar.create_event(
        ctx=ctx,
        project=project,
        data=EventInput(
            kind="training",
            title="Overview",
            starts_at=start + timedelta(days=4),
            duration_minutes=60,
            organizer_id=PM,
        ),
    )
    calendar.invite(ctx=ctx, project=project, event=training, user_ids=[ANNA], messages=MESSAGES)
    clock.set(end + timedelta(days=1))
    for planned, came in held:
        record(ctx, planned, attended=came)
    calendar_attendance.record_attendance(
        ctx=ctx, event_id=training.id, statuses={ANNA: Attendance.ABSENT}
    )
    meetings.cancel_meeting(
        ctx=ctx, event_id=dropped.event_id, whole_series=False, messages=MESSAGES
    )
    missed = meetings.missed_meetings(ctx, project.id or 0, start, end)
    ben = keyusers.get_key_user(ctx, project, BEN)
    maria = keyusers.get_key_user(ctx, project, MARIA)
    assert missed == [
        meetings.MissedMeetings(BEN, ben.id, 2, ctx.get(CalendarEvent, last.event_id).starts_at),
        meetings.MissedMeetings(MARIA, maria.id, 1, start),
    ]


# ---------------------------------------------------------------------- cancel and move


def test_cancelling_an_invited_occurrence_gives_no_notice_to_those_the_core_told(
    ctx: Ctx, project: Project
) -> None:
    created = plan(ctx, project, repeat="weekly", count="3")
    first = created[0].event_id
    deliver(ctx, invitation_key(ctx, first, MARIA), "D0MARIA", "1700000000.000100")
    calendar.remove_invitee(ctx=ctx, event_id=first, user_id=ANNA, messages=MESSAGES)
    recording = Recording()
    cancelled, keys = meetings.cancel_meeting(
        ctx=ctx,
        event_id=first,
        whole_series=False,
        messages=recording,  # type: ignore[arg-type]
    )
    assert [e.id for e in cancelled] == [first]
    # Maria was told by the core; Anna, taken off before, was not.
    uid = created[0].series_uid
    assert [k for k in keys if k.startswith("meeting:") and ":notice:" in k] == [
        f"meeting:{uid}:notice:{ANNA}:1"
    ]
    assert [n[2] for n in recording.notices] == ["occurrence_cancelled"]
    assert recording.notices[0][3] == {"when": local(2026, 12, 7)}
    # The series file keeps the rule from the first date, confirmed, an hour long.
    for user in (MARIA, ANNA):
        key = f"meeting:{uid}:ics:{user}:1:request"
        assert key in keys
        row = outbox_row(ctx, key)
        assert (row.method, row.subject) == ("files.upload_v2", f"calendar:{first}")
        assert row.payload["filename"] == f"liaison-meeting-{first}.ics"
        assert row.payload["title"] == "MM working meeting"
        [vevent] = Calendar.from_ical(base64.b64decode(row.payload["content_base64"])).walk(
            "VEVENT"
        )
        assert vevent["DTSTART"].dt == datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)
        assert vevent["DTEND"].dt == datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)
        assert vevent["STATUS"] == "CONFIRMED"
    # The core told Maria, but sent no calendar file of its own for an occurrence of a series.
    assert f"calendar:{first}:notice:{MARIA}:1" in keys
    assert not any(k.startswith(f"calendar:{first}:ics:") for k in keys)
    [entry] = [e for e in logged(ctx, "meeting.cancelled") if "series" in e.detail]
    assert entry.project_id == project.id
    assert entry.detail == {"event_id": first, "series": False, "occurrences": 1}
    with pytest.raises(ValidationError) as caught:
        meetings.cancel_meeting(ctx=ctx, event_id=first, whole_series=False, messages=MESSAGES)
    assert caught.value.errors == {"scope": Msg("meeting.errors.already_cancelled")}


def test_the_series_file_and_notice_go_in_the_thread_of_the_delivered_invitation(
    ctx: Ctx, project: Project
) -> None:
    project.locale = "zh-CN"
    ctx.session.add(project)
    created = plan(ctx, project, repeat="weekly", count="3")
    first = created[0].event_id
    deliver(ctx, invitation_key(ctx, first, MARIA), "D0MARIA", "1700000000.000100")
    recording = Recording()
    _, keys = meetings.cancel_meeting(
        ctx=ctx,
        event_id=created[1].event_id,
        whole_series=False,
        messages=recording,  # type: ignore[arg-type]
    )
    uid = created[0].series_uid
    notice = outbox_row(ctx, f"meeting:{uid}:notice:{MARIA}:1")
    assert (notice.payload["channel"], notice.payload["thread_ts"]) == (
        "D0MARIA",
        "1700000000.000100",
    )
    assert (
        notice.payload["text"]
        == MESSAGES.series_notice(
            "zh-CN",
            ctx.get(CalendarEvent, first),
            "occurrence_cancelled",
            when=local(2026, 12, 14),
        )["text"]
    )
    assert {n[0] for n in recording.notices} == {"zh-CN"}
    upload = outbox_row(ctx, f"meeting:{uid}:ics:{MARIA}:1:request")
    assert (upload.payload["channel"], upload.payload["thread_ts"]) == (
        "D0MARIA",
        "1700000000.000100",
    )
    # Anna's invitation is still waiting: hers go to her DM, outside any thread.
    anna = outbox_row(ctx, f"meeting:{uid}:notice:{ANNA}:1")
    assert anna.payload["channel"] == ANNA and "thread_ts" not in anna.payload
    assert f"meeting:{uid}:notice:{MARIA}:1" in keys


def test_cancelling_the_rest_of_a_series_leaves_what_started_or_came_before(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    created = plan(ctx, project, repeat="weekly", count="5")
    ids = [m.event_id for m in created]
    # From the second on: the first stays.
    recording = Recording()
    meetings.cancel_meeting(ctx=ctx, event_id=ids[3], whole_series=False, messages=MESSAGES)
    clock.set(ctx.get(CalendarEvent, ids[1]).starts_at)  # the second starts now
    cancelled, keys = meetings.cancel_meeting(
        ctx=ctx,
        event_id=ids[0],
        whole_series=True,
        messages=recording,  # type: ignore[arg-type]
    )
    assert [e.id for e in cancelled] == [ids[2], ids[4]]
    statuses = [ctx.get(CalendarEvent, i).status for i in ids]
    assert statuses == [
        EventStatus.SCHEDULED,
        EventStatus.SCHEDULED,
        EventStatus.CANCELLED,
        EventStatus.CANCELLED,
        EventStatus.CANCELLED,
    ]
    assert [n[2] for n in recording.notices] == ["series_cancelled"] * 2
    assert any(k.endswith(":cancel") and k.startswith("meeting:") for k in keys)
    [entry] = [e for e in logged(ctx, "meeting.cancelled") if e.detail.get("series")]
    assert entry.detail == {"event_id": ids[0], "series": True, "occurrences": 2}
    with pytest.raises(ValidationError) as caught:
        meetings.cancel_meeting(ctx=ctx, event_id=ids[4], whole_series=True, messages=MESSAGES)
    assert caught.value.errors == {"scope": Msg("meeting.errors.nothing_to_cancel")}


def test_cancelling_a_whole_series_returns_what_the_core_sent_for_each_occurrence(
    ctx: Ctx, project: Project
) -> None:
    created = plan(ctx, project, repeat="weekly", count="3")
    first = created[0].event_id
    deliver(ctx, invitation_key(ctx, first, MARIA), "D0MARIA", "1700000000.000100")
    _, keys = meetings.cancel_meeting(ctx=ctx, event_id=first, whole_series=True, messages=MESSAGES)
    assert f"calendar:{first}:notice:{MARIA}:1" in keys
    uid = created[0].series_uid
    assert f"meeting:{uid}:ics:{MARIA}:3:cancel" in keys


def test_cancelling_from_the_second_keeps_the_first_and_other_series(
    ctx: Ctx, project: Project
) -> None:
    other = plan(ctx, project, starts_at=local(2026, 12, 8), repeat="weekly", count="2")
    created = plan(ctx, project, repeat="weekly", count="3")
    cancelled, _ = meetings.cancel_meeting(
        ctx=ctx, event_id=created[1].event_id, whole_series=True, messages=MESSAGES
    )
    assert [e.id for e in cancelled] == [created[1].event_id, created[2].event_id]
    assert ctx.get(CalendarEvent, created[0].event_id).status == EventStatus.SCHEDULED
    assert {ctx.get(CalendarEvent, m.event_id).status for m in other} == {EventStatus.SCHEDULED}


def test_a_one_off_is_cancelled_and_moved_with_its_own_calendar_file(
    ctx: Ctx, project: Project
) -> None:
    as_user(ctx, PM2)
    [meeting] = plan(ctx, project)
    event_id = meeting.event_id
    as_user(ctx, PM)  # a PM changes the meeting PM2 organizes
    deliver(ctx, invitation_key(ctx, event_id, MARIA), "D0MARIA", "1700000000.000100")
    moved, keys = meetings.reschedule_meeting(
        ctx=ctx,
        event_id=event_id,
        starts_at=local(2026, 12, 8),
        duration_minutes=60,
        messages=MESSAGES,
    )
    assert moved.starts_at == local(2026, 12, 8)
    assert keys != [] and not any(k.startswith("meeting:") for k in keys)
    assert any(k.startswith(f"calendar:{event_id}:ics:{MARIA}:") for k in keys)
    [entry] = logged(ctx, "meeting.rescheduled")
    assert (entry.project_id, entry.detail) == (project.id, {"event_id": event_id})
    cancelled, keys = meetings.cancel_meeting(
        ctx=ctx, event_id=event_id, whole_series=False, messages=MESSAGES
    )
    assert [e.id for e in cancelled] == [event_id]
    assert any(k.startswith(f"calendar:{event_id}:ics:{MARIA}:") for k in keys)
    assert not any(k.startswith("meeting:") for k in keys)
    as_user(ctx, ANNA)  # an attendee sees the meeting but does not cancel it
    with pytest.raises(PermissionDenied):
        meetings.cancel_meeting(ctx=ctx, event_id=event_id, whole_series=False, messages=MESSAGES)


def test_moving_an_invited_occurrence_tells_those_invited_once(ctx: Ctx, project: Project) -> None:
    created = plan(ctx, project, repeat="weekly", count="3")
    first = created[0].event_id
    deliver(ctx, invitation_key(ctx, first, MARIA), "D0MARIA", "1700000000.000100")
    recording = Recording()
    same, keys = meetings.reschedule_meeting(
        ctx=ctx,
        event_id=first,
        starts_at=local(2026, 12, 7),
        duration_minutes=60,
        messages=recording,  # type: ignore[arg-type]
    )
    assert keys == [] and recording.notices == []
    assert logged(ctx, "meeting.rescheduled") == []  # nothing moved, nothing logged
    moved, keys = meetings.reschedule_meeting(
        ctx=ctx,
        event_id=first,
        starts_at=local(2026, 12, 7, 11),
        duration_minutes=60,
        messages=recording,  # type: ignore[arg-type]
    )
    uid = created[0].series_uid
    # The core tells Maria (a notice in her thread); the series file goes to both.
    assert f"calendar:{first}:notice:{MARIA}:1" in keys
    assert not any(":notice:" in k and k.startswith("meeting:") for k in keys)
    assert f"meeting:{uid}:ics:{MARIA}:1:request" in keys
    assert f"meeting:{uid}:ics:{ANNA}:1:request" in keys
    assert not any(k.startswith(f"calendar:{first}:ics:") for k in keys)
    assert len(logged(ctx, "meeting.rescheduled")) == 1


# ---------------------------------------------------------------------------------- outcome


def started(ctx: Ctx, clock: MovableClock, project: Project, **overrides: Any) -> Meeting:
    [meeting] = plan(ctx, project, **overrides)
    clock.set(ctx.get(CalendarEvent, meeting.event_id).starts_at)
    return meeting


def record(ctx: Ctx, meeting: Meeting, **values: Any) -> Any:
    arguments: dict[str, Any] = {"attended": [], "minutes": "", "decisions": "", "actions": []}
    arguments.update(values)
    return meeting_outcomes.record_outcome(ctx=ctx, event_id=meeting.event_id, **arguments)


def outcome_errors(ctx: Ctx, meeting: Meeting, **values: Any) -> dict[str, Msg]:
    with pytest.raises(ValidationError) as caught:
        record(ctx, meeting, **values)
    return caught.value.errors  # type: ignore[return-value]


def test_an_outcome_is_refused_before_the_start_and_for_strangers(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    [meeting] = plan(ctx, project)
    start = ctx.get(CalendarEvent, meeting.event_id).starts_at
    clock.set(start - timedelta(seconds=1))
    assert outcome_errors(ctx, meeting) == {"attended": Msg("meeting.errors.not_started")}
    clock.set(start)
    assert outcome_errors(ctx, meeting, attended=[ANNA, OUTSIDER, BEN]) == {
        "attended": Msg("meeting.errors.not_invited", user=OUTSIDER)
    }
    outcome, _ = record(ctx, meeting)
    assert (outcome.recorded_at, outcome.minutes) == (start, None)
    as_user(ctx, ANNA)
    with pytest.raises(PermissionDenied) as caught:
        record(ctx, meeting)
    assert caught.value.reason == Msg("calendar.errors.not_organizer")


def test_minutes_and_decisions_up_to_3000_characters(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    meeting = started(ctx, clock, project)
    assert outcome_errors(ctx, meeting, minutes="m" * 3001, decisions="d" * 3001) == {
        "minutes": Msg("errors.too_long", limit=3000),
        "decisions": Msg("errors.too_long", limit=3000),
    }
    outcome, _ = record(ctx, meeting, minutes=f"  {'m' * 3000}  ", decisions="d" * 3000)
    assert outcome.minutes == "m" * 3000 and outcome.decisions == ["d" * 3000]
    outcome, _ = record(ctx, meeting, minutes="   ", decisions="")
    assert (outcome.minutes, outcome.decisions) == (None, [])


def test_decisions_are_read_line_by_line_without_their_bullets(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    meeting = started(ctx, clock, project)
    outcome, _ = record(
        ctx, meeting, decisions="- Xerox   the forms\n•\n * X\n\n-- Go live  in March"
    )
    assert outcome.decisions == ["Xerox the forms", "X", "Go live in March"]


def test_action_items_are_checked_one_by_one(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    # 00:30 in Berlin on 8 December is still 7 December in UTC: "today" is the 8th.
    meeting = started(ctx, clock, project, starts_at=local(2026, 12, 8, 0, 30))
    errors = outcome_errors(
        ctx,
        meeting,
        actions=[
            ActionInput(text="", due_date="2026-12-20"),
            ActionInput(text="a" * 151),
            ActionInput(text="Map codes", due_date="20.12.2026"),
            ActionInput(text="Old", due_date="2026-12-07"),
            ActionInput(text="  ", owner_id=ANNA),
        ],
    )
    assert errors == {
        "action_1_text": Msg("errors.required"),
        "action_2_text": Msg("errors.too_long", limit=150),
        "action_3_due": Msg("plan.errors.date_format"),
        "action_4_due": Msg("issues.errors.due_past"),
        "action_5_text": Msg("errors.required"),
    }
    _, items = record(
        ctx,
        meeting,
        actions=[
            ActionInput(text=""),
            ActionInput(text="a" * 150, due_date="2026-12-08"),
            ActionInput(text=" Call   Anna ", owner_id=ANNA, due_date=""),
        ],
    )
    assert [(i.position, i.text, i.owner_id, i.due_date) for i in items] == [
        (2, "a" * 150, None, datetime(2026, 12, 8).date()),
        (3, "Call Anna", ANNA, None),
    ]
    assert {i.created_by for i in items} == {PM}


def test_attendance_follows_who_came_declined_or_checked_in_late(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    [meeting] = plan(ctx, project, people=[MARIA, ANNA, BEN])
    event = ctx.get(CalendarEvent, meeting.event_id)
    event.check_in = True
    ctx.session.add(event)
    for user in (ANNA, BEN):
        calendar.respond(
            ctx=as_user(ctx, user),
            event_id=event.id,
            user_id=user,
            response=Rsvp.DECLINED,
            messages=MESSAGES,
        )
    clock.set(event.starts_at + timedelta(minutes=30))
    calendar_attendance.check_in(ctx=as_user(ctx, MARIA), event_id=event.id, user_id=MARIA)
    as_user(ctx, PM)
    outcome, _ = record(ctx, meeting, attended=[MARIA, ANNA])
    assert outcome.attended == [MARIA, ANNA]
    attendance = {
        i.user_id: i.attendance
        for i in ctx.session.exec(select(Invitation).where(Invitation.event_id == event.id))
    }
    # Anna declined but came; Ben declined and stayed away: not recorded absent.
    assert attendance == {MARIA: Attendance.LATE, ANNA: Attendance.PRESENT, BEN: None}


def test_recording_again_replaces_the_outcome_and_the_items_not_yet_issues(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    meeting = started(ctx, clock, project)
    [other] = plan(ctx, project, starts_at=ctx.now() + timedelta(days=1), title="Other")
    first, items = record(
        ctx,
        meeting,
        minutes="First",
        actions=[ActionInput(text="One"), ActionInput(text="Two"), ActionInput(text="Three")],
    )
    assert meeting.outcome_asked_at == ctx.now()
    meeting_outcomes.action_to_issue(ctx=ctx, item_id=items[1].id)
    clock.advance(timedelta(hours=1))
    second, items = record(
        ctx, meeting, minutes="Second", actions=[ActionInput(text="Uno"), ActionInput(text="Dos")]
    )
    assert second.id == first.id and second.minutes == "Second"
    assert second.recorded_at == ctx.now() and second.recorded_by == PM
    assert [(i.position, i.text, i.issue_id is not None) for i in items] == [
        (1, "Uno", False),
        (2, "Two", True),
        (7, "Dos", False),
    ]
    stored, listed = meeting_outcomes.outcome_of(ctx, meeting.event_id)
    assert stored is not None and stored.id == first.id
    assert [i.position for i in listed] == [1, 2, 7]
    assert ctx.session.exec(select(MeetingOutcome)).all() == [stored]
    assert meeting_outcomes.outcome_of(ctx, other.event_id) == (None, [])
    # Asked once: recording again keeps the first moment.
    assert meeting.outcome_asked_at == ctx.now() - timedelta(hours=1)
    entries = logged(ctx, "meeting.outcome_recorded")
    assert entries[-1].project_id == project.id
    assert entries[-1].detail == {
        "event_id": meeting.event_id,
        "attended": 0,
        "decisions": 0,
        "actions": 2,
    }
    assert len(ctx.session.exec(select(MeetingActionItem)).all()) == 3


def test_outcomes_are_asked_for_meetings_that_ended_in_the_last_week_once(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    [old] = plan(ctx, project, starts_at=local(2026, 12, 2))
    [recent] = plan(ctx, project, starts_at=local(2026, 12, 8, 11))
    [earlier] = plan(ctx, project, starts_at=local(2026, 12, 8, 9))
    [running] = plan(ctx, project, starts_at=local(2026, 12, 9, 10))
    [dropped] = plan(ctx, project, starts_at=local(2026, 12, 8, 14))
    meetings.cancel_meeting(
        ctx=ctx, event_id=dropped.event_id, whole_series=False, messages=MESSAGES
    )
    # The old one ended exactly a week ago; the running one has not ended.
    clock.set(ctx.get(CalendarEvent, old.event_id).ends_at + meeting_outcomes.OUTCOME_WINDOW)
    assert ctx.now() == local(2026, 12, 9, 10)
    due = meeting_outcomes.outcome_due(ctx)
    assert [m.id for m, _ in due] == [earlier.id, recent.id]
    assert [e.id for _, e in due] == [earlier.event_id, recent.event_id]
    assert all(m.outcome_asked_at == ctx.now() for m, _ in due)
    assert meeting_outcomes.outcome_due(ctx) == []
    clock.set(ctx.get(CalendarEvent, running.event_id).ends_at)
    home = ctx.team_id
    ctx.team_id = "T0002"  # another workspace's job finds nothing of this one
    try:
        assert meeting_outcomes.outcome_due(ctx) == []
    finally:
        ctx.team_id = home
    [(meeting, event)] = meeting_outcomes.outcome_due(ctx)
    assert (meeting.id, event.id) == (running.id, running.event_id)


# --------------------------------------------------------------------------- action items


def test_an_action_item_becomes_a_request_described_by_its_meeting(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    project.locale = "zh-CN"
    ctx.session.add(project)
    as_user(ctx, PM2)
    meeting = started(ctx, clock, project, starts_at=local(2026, 12, 8, 0, 30), title="Kick-off")
    _, [item] = record(ctx, meeting, actions=[ActionInput(text="Map codes", owner_id=ANNA)])
    as_user(ctx, PM)  # not the organizer: a PM of the project
    _, change = meeting_outcomes.action_to_issue(ctx=ctx, item_id=item.id)
    issue = ctx.get(Issue, change.issue.id)
    assert (issue.title, issue.kind, issue.owner_id) == ("Map codes", "request", ANNA)
    assert issue.description == plain(
        "zh-CN", "meeting.action_issue_description", title="Kick-off", date="2026-12-08"
    )
    [entry] = logged(ctx, "meeting.action_to_issue")
    assert entry.project_id == project.id
    assert entry.detail == {"event_id": meeting.event_id, "item_id": item.id, "issue": "ERP-1"}
    with pytest.raises(ValidationError) as caught:
        meeting_outcomes.action_to_issue(ctx=ctx, item_id=item.id)
    assert caught.value.errors == {"action": Msg("meeting.errors.already_issue", ref="ERP-1")}
    for gone in ("x", None, 9999):
        with pytest.raises(NotFound) as missing:
            meeting_outcomes.action_to_issue(ctx=ctx, item_id=gone)
        assert missing.value.message == Msg("meeting.errors.action_gone")


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("all", []),
        ("role", ["business_representative", "decision_maker"]),
        ("quadrant", ["manage_closely"]),
        ("quadrant", ["monitor", "keep_informed"]),
        ("people", [ANNA, OUTSIDER]),
        ("none", []),
    ],
)
def test_the_one_audience_rule_names_whom_a_plain_query_finds(
    ctx: Ctx, project: Project, kind: str, values: list[str]
) -> None:
    """Polls, training sessions and meetings resolve an audience with `audiences.members`: checked
    against the register read with plain SQL and the quadrant rule written out here."""
    from sqlalchemy import text

    from bot.services import audiences

    rows = ctx.session.exec(  # type: ignore[call-overload]
        text(
            "SELECT user_id, id, role, influence, interest FROM keyuser"
            " WHERE project_id = :p AND removed_at IS NULL"
        ).bindparams(p=project.id)
    ).all()
    quadrant_of = {  # high influence and/or high interest; medium counts as not high
        (True, True): "manage_closely",
        (True, False): "keep_satisfied",
        (False, True): "keep_informed",
        (False, False): "monitor",
    }
    registered = {user_id: key_id for user_id, key_id, *_ in rows}
    if kind == "all":
        expected = {(user_id, key_id) for user_id, key_id, *_ in rows}
    elif kind == "role":
        expected = {(u, k) for u, k, role, *_ in rows if role in values}
    elif kind == "quadrant":
        expected = {
            (u, k)
            for u, k, _, influence, interest in rows
            if quadrant_of[(influence == "high", interest == "high")] in values
        }
    elif kind == "people":
        expected = {(u, registered.get(u)) for u in values}
    else:
        expected = set()
    found = audiences.members(ctx, project, kind, values)
    assert set(found) == expected and len(found) == len(expected)
    if kind != "none":
        assert found, "the case names someone"

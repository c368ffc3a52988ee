"""Meetings with key users, on the shared calendar-event core: planning one or a series, who is
invited (people, roles, quadrants, all key users, team members), cancelling one occurrence or the
series, rescheduling. The outcome the organizer records (attendance, minutes, decisions, action
items) and action items becoming key-user issues are in ``bot.services.meeting_outcomes``.

A meeting occurrence is a ``CalendarEvent`` of kind "meeting" plus a ``Meeting`` row. A series is
one occurrence per date, sharing ``series_uid``; occurrences keep their local wall time across
daylight-saving changes (``bot.services.recurrence``). Each occurrence's invitations (DM with RSVP
buttons) go out ``INVITE_AHEAD`` before it, the first at once; the calendar file for a series is
sent once, with its RRULE, and again (SEQUENCE raised, EXDATE for cancelled or moved dates) when
the series changes. Reminders and the organizer's RSVP tally come from the core's job.

``upcoming_meetings`` and ``missed_meetings`` are what the weekly digest and the PM dashboard read.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from bot import delivery
from bot.calendar import ics
from bot.calendar import service as calendar
from bot.calendar.service import EventInput, EventMessages
from bot.errors import Msg, NotFound, ValidationError
from bot.services import audiences, commplan, fields, recurrence
from bot.services.context import Ctx
from bot.services.keyusers import ROLES, Quadrant
from storage.models import (
    Attendance,
    CalendarEvent,
    EventStatus,
    Invitation,
    KeyUser,
    Meeting,
    MeetingKind,
    OutboxMessage,
    Project,
    Rsvp,
)
from storage.models.core import ProjectMember
from storage.types import UTCDateTime

KIND = "meeting"
MEETING_KINDS = tuple(k.value for k in MeetingKind)
REPEATS = recurrence.PRESETS
DURATIONS = (30, 45, 60, 90, 120, 180, 240, 480)
REMINDER_CHOICES = (10080, 1440, 60, 15)
DEFAULT_REMINDERS = (1440, 15)
INVITE_AHEAD = timedelta(days=7)
MAX_ATTENDEES = 300


class MeetingMessages(EventMessages, Protocol):
    """The core's messages plus a meeting's own (``bot.views.meetings.MESSAGES``)."""

    def announcement(
        self, locale: str, project: Project, event: CalendarEvent, meeting: Meeting, count: int
    ) -> dict[str, Any]: ...

    def series_notice(
        self, locale: str, event: CalendarEvent, what: str, **params: Any
    ) -> dict[str, Any]: ...

    def outcome_prompt(
        self, locale: str, event: CalendarEvent, meeting: Meeting
    ) -> dict[str, Any]: ...


@dataclass
class MeetingInput:
    """What the meeting form gives, as plain values (``starts_at`` from a date-time picker)."""

    title: str = ""
    kind: str = MeetingKind.WORKING_MEETING
    starts_at: datetime | None = None
    duration_minutes: int | None = 60
    location: str = ""
    video_url: str = ""
    people: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    quadrants: list[str] = field(default_factory=list)
    all_key_users: bool = False
    audience_kind: str = ""  # the form's audience picker; "" reads roles, quadrants, all above
    team: list[str] = field(default_factory=list)
    agenda: str = ""
    repeat: str = "none"
    count: str = ""
    until: str | date | None = None
    reminders: list[int] | None = None
    allow_maybe: bool = True
    announce: bool = False
    plan_occurrence_id: int | None = None


@dataclass
class MeetingView:
    """One occurrence as lists and the detail show it."""

    meeting: Meeting
    event: CalendarEvent
    tally: dict[str, int]
    series_size: int = 1
    number: int = 0  # within the project's meetings (calendar.numbers), what people see and type


# ------------------------------------------------------------------------------- attendees


def resolve_attendees(
    ctx: Ctx, project: Project, data: MeetingInput
) -> tuple[list[str], dict[str, Msg]]:
    """Everyone the form names, in one query for key users and one for members."""
    errors: dict[str, Msg] = {}
    key_users = ctx.session.exec(
        ctx.select(KeyUser).where(KeyUser.project_id == project.id).order_by(col(KeyUser.id))
    ).all()
    active = {k.user_id: k for k in key_users if k.removed_at is None}
    former = {k.user_id for k in key_users if k.removed_at is not None}
    members = {
        m.user_id
        for m in ctx.session.exec(
            ctx.select(ProjectMember).where(ProjectMember.project_id == project.id)
        ).all()
    }
    chosen: list[str] = []
    for user_id in data.people:
        if user_id in active or user_id in members:
            chosen.append(user_id)
        elif user_id in former:
            errors["people"] = Msg("meeting.errors.left_register", user=user_id, code=project.code)
        else:
            errors["people"] = Msg("meeting.errors.not_in_project", user=user_id, code=project.code)
    bad_roles = [r for r in data.roles if r not in ROLES]
    bad_quadrants = [q for q in data.quadrants if q not in tuple(Quadrant)]
    if bad_roles:
        errors["audience_roles"] = Msg("errors.choice", choices=", ".join(ROLES))
    if bad_quadrants:
        errors["audience_quadrants"] = Msg("errors.choice", choices=", ".join(tuple(Quadrant)))
    for kind, values in audience_groups(data, errors):
        chosen += [user_id for user_id, _ in audiences.members(ctx, project, kind, values)]
    for user_id in data.team:
        if user_id in members:
            chosen.append(user_id)
        else:
            errors["team"] = Msg("meeting.errors.not_team_member", user=user_id, code=project.code)
    unique = list(dict.fromkeys(chosen))
    if not unique and not errors:
        errors["people"] = Msg("meeting.errors.no_attendees")
    if len(unique) > MAX_ATTENDEES:
        errors["people"] = Msg("meeting.errors.too_many", limit=MAX_ATTENDEES)
    return unique, errors


MEETING_AUDIENCE_KINDS = ("none", "all", "role", "quadrant")  # named people are asked apart


def audience_groups(data: MeetingInput, errors: dict[str, Msg]) -> list[tuple[str, list[str]]]:
    """The key-user groups a meeting invites, as the audience rule names them: the kind picked
    in the form (checked like a poll's), or, from a plan entry or a caller, every group given."""
    if data.audience_kind:
        if data.audience_kind not in MEETING_AUDIENCE_KINDS:
            errors["audience_kind"] = Msg(
                "errors.choice", choices=", ".join(MEETING_AUDIENCE_KINDS)
            )
            return []
        if data.audience_kind == "none":
            return []
        values, wrong = audiences.clean(data.audience_kind, data.roles, data.quadrants, [])
        errors.update(wrong)
        return [] if wrong else [(data.audience_kind, values)]
    groups: list[tuple[str, list[str]]] = [("all", [])] if data.all_key_users else []
    if data.roles:
        groups.append(("role", list(data.roles)))
    if data.quadrants:
        groups.append(("quadrant", list(data.quadrants)))
    return groups


def audience_kind_of(data: MeetingInput) -> str:
    """The picker's kind for a meeting's input (one group; several read as the first)."""
    if data.audience_kind:
        return data.audience_kind
    if data.all_key_users:
        return "all"
    return "role" if data.roles else "quadrant" if data.quadrants else "none"


def _series_rule(data: MeetingInput, project: Project, errors: dict[str, Msg]) -> str | None:
    """The RRULE of a repeating meeting, ended by a count or a last date (None: a one-off)."""
    if data.repeat not in REPEATS:
        errors["repeat"] = Msg("errors.choice", choices=", ".join(REPEATS))
        return None
    if data.repeat == "none" or data.starts_at is None:
        return None
    local_day = data.starts_at.astimezone(_zone(project)).date()
    base = recurrence.preset_rule(data.repeat, local_day)
    count = (data.count or "").strip()
    until = data.until
    if count:
        number = fields.whole_number(count)
        if number is None or number < 2:
            errors["count"] = Msg("meeting.errors.count")
            return None
        return f"{base};COUNT={number}"
    if until:
        try:
            last = until if isinstance(until, date) else date.fromisoformat(str(until))
        except ValueError:
            errors["until"] = Msg("plan.errors.date_format")
            return None
        if last < local_day:
            errors["until"] = Msg("meeting.errors.until_before_start")
            return None
        return f"{base};UNTIL={last.strftime('%Y%m%d')}T235959"
    errors["count"] = Msg("meeting.errors.series_endless")
    return None


def _zone(project: Project) -> ZoneInfo:
    return ZoneInfo(project.timezone)


# --------------------------------------------------------------------------------- creating


def create_meeting(
    *, ctx: Ctx, project: Project, data: MeetingInput, messages: MeetingMessages
) -> tuple[list[Meeting], list[str]]:
    """Plan a meeting or a series: validated whole (nothing stored on any error), the first
    occurrence's invitations queued at once with the calendar file."""
    calendar.require_change(ctx, project)
    errors: dict[str, Msg] = {}
    attendees, attendee_errors = resolve_attendees(ctx, project, data)
    errors.update(attendee_errors)
    if data.kind not in MEETING_KINDS:
        errors["kind"] = Msg("errors.choice", choices=", ".join(MEETING_KINDS))
    if message := fields.too_long(data.agenda, CalendarEvent.description):
        errors["agenda"] = message
    reminders = sorted(set(data.reminders if data.reminders is not None else DEFAULT_REMINDERS))
    base = EventInput(
        kind=KIND,
        title=" ".join((data.title or "").split()),
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        organizer_id=ctx.actor_id,
        description=data.agenda,
        location=data.location,
        video_url=data.video_url,
        allow_maybe=data.allow_maybe,
        reminder_minutes=reminders,
        busy_field="starts_at",
    )
    try:
        calendar.validate(ctx, project, base)
    except ValidationError as error:
        errors.update(error.errors)  # type: ignore[arg-type]
    rule = _series_rule(data, project, errors)
    starts: list[datetime] = [data.starts_at] if data.starts_at else []
    if rule is not None and data.starts_at is not None and not errors:
        try:
            starts = recurrence.check_rule(
                rule, data.starts_at, project.timezone, field="repeat", bounded=True
            )
        except ValidationError as error:
            errors.update(error.errors)  # type: ignore[arg-type]
        if not errors and len(starts) < 2:
            errors["count"] = Msg("meeting.errors.count")
    if errors:
        raise ValidationError(errors)  # type: ignore[arg-type]
    if rule is not None and "UNTIL=" in rule:
        rule = rule.split(";UNTIL=")[0] + f";COUNT={len(starts)}"  # calendars read it alike
    series_uid = f"{uuid.uuid4()}@liaison" if rule else None
    audience = {
        "people": data.people,
        "roles": data.roles,
        "quadrants": data.quadrants,
        "all": data.all_key_users,
        "team": data.team,
    }
    base.series_uid = series_uid
    base.rrule = rule
    events = calendar.create_series(ctx=ctx, project=project, data=base, starts=starts)
    meetings: list[Meeting] = []
    for position, (start, event) in enumerate(zip(starts, events, strict=True), start=1):
        meeting = Meeting(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            event_id=event.id or 0,
            series_uid=series_uid,
            position=position,
            kind=data.kind,
            starts_at=start,
            attendees=attendees,
            audience=audience,
            announce=data.announce,
            plan_occurrence_id=data.plan_occurrence_id,
        )
        meetings.append(meeting)
    ctx.session.add_all(meetings)
    ctx.session.flush()
    first = meetings[0]
    ctx.log(
        "meeting.planned",
        project_id=project.id,
        event_id=first.event_id,
        occurrences=len(meetings),
        attendees=len(attendees),
        rule=rule,
    )
    if data.plan_occurrence_id:
        commplan.mark_done(
            ctx=ctx,
            occurrence_id=data.plan_occurrence_id,
            note="",
            outcome="meeting",
            meeting_id=first.event_id,
        )
    keys = _invite(ctx, project, first, messages, calendar_file=True)
    keys += invite_due(ctx=ctx, messages=messages, project_id=project.id)
    if data.announce and project.channel_id:
        event = calendar.get_event(ctx, first.event_id)
        payload = messages.announcement(project.locale, project, event, first, len(meetings))
        keys.append(
            ctx.enqueue(
                f"meeting:{first.event_id}:announce",
                {"channel": project.channel_id, **payload},
                subject=f"calendar:{first.event_id}",
                expires_at=event.starts_at,
            )
        )
    return meetings, keys


def _invite(
    ctx: Ctx, project: Project, meeting: Meeting, messages: EventMessages, *, calendar_file: bool
) -> list[str]:
    event = calendar.get_event(ctx, meeting.event_id)
    actor = ctx.actor_id
    ctx.actor_id = event.organizer_id  # a job invites on the organizer's behalf
    try:
        keys = calendar.invite(
            ctx=ctx,
            project=project,
            event=event,
            user_ids=meeting.attendees,
            messages=messages,
            calendar_file=calendar_file,
        )
    finally:
        ctx.actor_id = actor
    meeting.invited_at = ctx.now()
    ctx.session.add(meeting)
    return keys


def invite_due(*, ctx: Ctx, messages: EventMessages, project_id: int | None = None) -> list[str]:
    """Invitations of later occurrences of a series, ``INVITE_AHEAD`` before each."""
    query = with_events(
        ctx,
        col(Meeting.invited_at).is_(None),
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.starts_at > ctx.now(),
        CalendarEvent.starts_at <= ctx.now() + INVITE_AHEAD,
    ).order_by(col(CalendarEvent.starts_at))
    if project_id is not None:
        query = query.where(Meeting.project_id == project_id)
    rows = ctx.session.exec(query).all()
    projects = _projects(ctx, {meeting.project_id for meeting, _ in rows})
    keys: list[str] = []
    for meeting, _event in rows:
        keys += _invite(ctx, projects[meeting.project_id], meeting, messages, calendar_file=False)
    return keys


def with_events(ctx: Ctx, *conditions: Any) -> Select[tuple[Meeting, CalendarEvent]]:
    """The workspace's meetings joined with their calendar events, filtered by ``conditions``."""
    return (
        select(Meeting, CalendarEvent)
        .join(CalendarEvent, col(CalendarEvent.id) == col(Meeting.event_id))
        .where(Meeting.team_id == ctx.team_id, *conditions)
    )


def projects_of(ctx: Ctx, rows: list[tuple[Meeting, CalendarEvent]]) -> list[Project]:
    return list(_projects(ctx, {meeting.project_id for meeting, _ in rows}).values())


def _projects(ctx: Ctx, ids: set[int]) -> dict[int, Project]:
    if not ids:
        return {}
    rows = ctx.session.exec(ctx.select(Project).where(col(Project.id).in_(sorted(ids)))).all()
    return {project.id or 0: project for project in rows}


# ----------------------------------------------------------------------------------- reading


def meeting_by_number(ctx: Ctx, project: Project, number: Any) -> int:
    """The event id of the project's meeting with this number (the one `/meeting list` shows)."""
    return calendar.by_number(ctx, project, KIND, number).id or 0


def get_meeting(ctx: Ctx, event_id: Any) -> tuple[Meeting, CalendarEvent, Project]:
    """A meeting by its number, for the project's team or someone invited to it."""
    event = calendar.get_event(ctx, event_id)
    meeting = ctx.session.exec(ctx.select(Meeting).where(Meeting.event_id == event.id)).first()
    if meeting is None or event.kind != KIND:
        raise NotFound(Msg("calendar.errors.no_such_meeting"))
    project = calendar.project_of(ctx, event)
    if not calendar.can_change(ctx, project, event) and ctx.actor_id not in meeting.attendees:
        raise NotFound(Msg("calendar.errors.no_such_meeting"))
    return meeting, event, project


def series_events(ctx: Ctx, meeting: Meeting) -> list[tuple[Meeting, CalendarEvent]]:
    if not meeting.series_uid:
        event = calendar.get_event(ctx, meeting.event_id)
        return [(meeting, event)]
    rows = ctx.session.exec(
        with_events(ctx, Meeting.series_uid == meeting.series_uid).order_by(col(Meeting.position))
    ).all()
    return [(m, e) for m, e in rows]


@dataclass
class MeetingList:
    """A page of a list: the first meetings of the scope, how many the scope holds, and how many
    are planned after it (so a list never says "none" while one is coming)."""

    views: list[MeetingView]
    total: int
    later: int


LIST_LIMITS = {"next": 10, "week": 40, "all": 40}  # shown per scope; the rest are counted
FAR = timedelta(days=3660)


def list_meetings(ctx: Ctx, project: Project, *, scope: str = "next") -> MeetingList:
    """The coming meetings of a project with RSVP counts: the next ten, the coming week's, or
    all upcoming (forty shown), with the counts of the rest."""
    calendar.require_change(ctx, project)
    now = ctx.now()
    end = now + (timedelta(days=7) if scope == "week" else FAR)
    views = upcoming_views(ctx, project.id or 0, now, end, limit=LIST_LIMITS.get(scope, 10))
    total = _count_upcoming(ctx, project.id or 0, now, end)
    later = _count_upcoming(ctx, project.id or 0, end, now + FAR) if scope == "week" else 0
    return MeetingList(views, total, later)


def _count_upcoming(ctx: Ctx, project_id: int, start: datetime, end: datetime) -> int:
    return int(
        ctx.session.exec(
            select(func.count())
            .select_from(Meeting)
            .join(CalendarEvent, col(CalendarEvent.id) == col(Meeting.event_id))
            .where(Meeting.team_id == ctx.team_id, *_scheduled(project_id, start, end))
        ).one()
    )


def _scheduled(project_id: int, start: datetime, end: datetime) -> tuple[Any, ...]:
    """A project's scheduled meetings starting in [start, end)."""
    return (
        Meeting.project_id == project_id,
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.starts_at >= start,
        CalendarEvent.starts_at < end,
    )


def upcoming_views(
    ctx: Ctx, project_id: int, start: datetime, end: datetime, *, limit: int = 40
) -> list[MeetingView]:
    rows = ctx.session.exec(
        with_events(ctx, *_scheduled(project_id, start, end))
        .order_by(col(CalendarEvent.starts_at))
        .limit(limit)
    ).all()
    counts = calendar.tallies(ctx, [event.id or 0 for _, event in rows])
    sizes = _series_sizes(ctx, {m.series_uid for m, _ in rows if m.series_uid})
    numbers = calendar.numbers(ctx, [event for _, event in rows])
    return [
        MeetingView(
            m,
            e,
            dict(counts.get(e.id or 0, {})),
            sizes.get(m.series_uid or "", 1),
            numbers[e.id or 0],
        )
        for m, e in rows
    ]


def _series_sizes(ctx: Ctx, series: set[str]) -> dict[str, int]:
    if not series:
        return {}
    rows = ctx.session.exec(
        select(Meeting.series_uid, func.count())
        .where(Meeting.team_id == ctx.team_id, col(Meeting.series_uid).in_(sorted(series)))
        .group_by(col(Meeting.series_uid))
    ).all()
    return {uid: int(count) for uid, count in rows if uid}


@dataclass(frozen=True)
class UpcomingMeeting:
    """A meeting of the coming days as the digest and dashboard show it (plain data)."""

    event_id: int
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    organizer_id: str
    accepted: int
    maybe: int
    declined: int
    pending: int


def upcoming_meetings(
    ctx: Ctx, project_id: int, start: datetime, end: datetime
) -> list[UpcomingMeeting]:
    """Meetings of a project starting in [start, end) with their RSVP counts (two queries)."""
    return [
        UpcomingMeeting(
            event_id=view.event.id or 0,
            title=view.event.title,
            kind=view.meeting.kind,
            starts_at=view.event.starts_at,
            ends_at=view.event.ends_at,
            organizer_id=view.event.organizer_id,
            accepted=view.tally.get(Rsvp.ACCEPTED, 0),
            maybe=view.tally.get(Rsvp.MAYBE, 0),
            declined=view.tally.get(Rsvp.DECLINED, 0),
            pending=view.tally.get(Rsvp.PENDING, 0),
        )
        for view in upcoming_views(ctx, project_id, start, end, limit=200)
    ]


@dataclass(frozen=True)
class MissedMeetings:
    user_id: str
    key_user_id: int | None
    missed: int
    last_missed_at: datetime


def missed_meetings(
    ctx: Ctx, project_id: int, start: datetime, end: datetime
) -> list[MissedMeetings]:
    """Key users recorded absent from meetings that started in [start, end), most first (one
    aggregate query)."""
    last = func.max(CalendarEvent.starts_at)
    rows = ctx.session.exec(
        select(Invitation.user_id, KeyUser.id, func.count(), last)
        .join(CalendarEvent, col(CalendarEvent.id) == col(Invitation.event_id))
        .join(
            KeyUser,
            (col(KeyUser.project_id) == col(CalendarEvent.project_id))
            & (col(KeyUser.user_id) == col(Invitation.user_id)),
        )
        .where(
            Invitation.team_id == ctx.team_id,
            CalendarEvent.project_id == project_id,
            CalendarEvent.kind == KIND,
            CalendarEvent.status == EventStatus.SCHEDULED,
            CalendarEvent.starts_at >= start,
            CalendarEvent.starts_at < end,
            Invitation.attendance == Attendance.ABSENT,
        )
        .group_by(col(Invitation.user_id), col(KeyUser.id))
    ).all()
    found = [
        MissedMeetings(user_id, key_user_id, int(count), _aware(moment))
        for user_id, key_user_id, count, moment in rows
    ]
    return sorted(found, key=lambda m: (-m.missed, m.user_id))


def _aware(moment: Any) -> datetime:
    """An aggregate's datetime (SQLite gives it back as text) as an aware UTC datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return UTCDateTime().process_result_value(moment, None)  # type: ignore[arg-type,return-value]


# --------------------------------------------------------------------- changing a meeting


def _series_file_events(
    series: list[tuple[Meeting, CalendarEvent]],
) -> tuple[list[CalendarEvent], list[datetime]]:
    """The calendar file of a series as it now stands: the rule from its first date (SEQUENCE:
    the sum of every occurrence's, so any change raises it), an EXDATE for each date cancelled or
    moved, and each moved occurrence as an entry of its own."""
    first_meeting, first_event = series[0]
    template = CalendarEvent.model_validate(first_event.model_dump())
    duration = first_event.ends_at - first_event.starts_at
    template.starts_at = first_meeting.starts_at
    template.ends_at = first_meeting.starts_at + duration
    template.status = EventStatus.SCHEDULED
    template.rrule = next((e.rrule for _, e in series if e.rrule), None)
    template.sequence = sum(event.sequence for _, event in series)
    excluded: list[datetime] = []
    moved: list[CalendarEvent] = []
    for meeting, event in series:
        if event.status == EventStatus.CANCELLED or event.starts_at != meeting.starts_at:
            excluded.append(meeting.starts_at)
        if event.status == EventStatus.SCHEDULED and event.starts_at != meeting.starts_at:
            moved.append(_detached(event))
    return [template, *moved], excluded


def _detached(event: CalendarEvent) -> CalendarEvent:
    """A copy of a moved occurrence outside its series' rule: an entry of its own (own UID)."""
    alone = CalendarEvent.model_validate(event.model_dump())
    alone.rrule = None
    return alone


def _send_series_file(
    ctx: Ctx,
    project: Project,
    meeting: Meeting,
    messages: MeetingMessages,
    *,
    method: str,
    what: str,
    told: set[str],
    withdrawn: Sequence[CalendarEvent] = (),
    **params: Any,
) -> list[str]:
    """The series' calendar file to everyone invited to it, with a notice for those the core did
    not already tell (in the thread of their first invitation). ``withdrawn``: occurrences that
    had been moved out of the rule and are now cancelled; their own entries are removed too."""
    series = series_events(ctx, meeting)
    events, excluded = _series_file_events(series)
    sequence = events[0].sequence
    first_event = series[0][1]
    files = [(method, ics.build(events, method=method, stamp=ctx.now(), excluded=excluded))]
    if withdrawn:
        gone = [_detached(event) for event in withdrawn]
        files.append((ics.CANCEL, ics.build(gone, method=ics.CANCEL, stamp=ctx.now())))
    keys: list[str] = []
    first_invites = {
        inv.user_id: inv
        for inv in ctx.session.exec(
            ctx.select(Invitation).where(Invitation.event_id == first_event.id)
        ).all()
    }
    last_start = max(event.starts_at for _meeting, event in series)
    invite_rows = delivery.rows_by_key(
        ctx.session,
        [calendar.invite_key(first_event, inv) for inv in first_invites.values()],
    )

    def queue(key: str, payload: dict[str, Any], method: str = "chat.postMessage") -> None:
        keys.append(
            ctx.enqueue(
                key,
                payload,
                method=method,
                subject=f"calendar:{first_event.id}",
                expires_at=last_start,  # the series' entries matter until its last occurrence
            )
        )

    for user_id in meeting.attendees:
        invitation = first_invites.get(user_id)
        row: OutboxMessage | None = (
            invite_rows.get(calendar.invite_key(first_event, invitation)) if invitation else None
        )
        thread = row.ts if row is not None and row.ts else None
        place: dict[str, Any] = {"channel": row.channel if thread and row else user_id}
        if thread:
            place["thread_ts"] = thread
        if user_id not in told:
            notice = messages.series_notice(project.locale, first_event, what, **params)
            queue(f"meeting:{meeting.series_uid}:notice:{user_id}:{sequence}", {**place, **notice})
        for file_method, content in files:
            queue(
                f"meeting:{meeting.series_uid}:ics:{user_id}:{sequence}:{file_method.lower()}",
                {
                    **place,
                    "content_base64": base64.b64encode(content).decode("ascii"),
                    "filename": ics.filename(first_event),
                    "title": first_event.title[:250],
                },
                "files.upload_v2",
            )
    return keys


def _invited(ctx: Ctx, event_ids: list[int]) -> set[str]:
    """Who holds an invitation (not removed) to any of these occurrences: the core tells them."""
    if not event_ids:
        return set()
    rows = ctx.session.exec(
        select(Invitation.user_id).where(
            Invitation.team_id == ctx.team_id,
            col(Invitation.event_id).in_(event_ids),
            Invitation.response != Rsvp.REMOVED,
        )
    ).all()
    return set(rows)


def cancel_meeting(
    *, ctx: Ctx, event_id: Any, whole_series: bool, messages: MeetingMessages
) -> tuple[list[CalendarEvent], list[str]]:
    """Cancel one occurrence, or it and every later one of its series. Everyone invited is told
    once, with the calendar entry updated (an EXDATE) or removed (METHOD:CANCEL)."""
    meeting, event, project = get_meeting(ctx, event_id)
    calendar.require_change(ctx, project, event)
    if event.status == EventStatus.CANCELLED and not whole_series:
        raise ValidationError({"scope": Msg("meeting.errors.already_cancelled")})
    in_series = meeting.series_uid is not None
    if whole_series and in_series:
        # This occurrence and every later one still to come.
        targets = [
            e
            for m, e in series_events(ctx, meeting)
            if m.position >= meeting.position
            and e.status == EventStatus.SCHEDULED
            and e.starts_at > ctx.now()
        ]
    else:
        targets = [event]
    if not targets:
        raise ValidationError({"scope": Msg("meeting.errors.nothing_to_cancel")})
    told = _invited(ctx, [e.id or 0 for e in targets])
    slots = {m.event_id: m.starts_at for m, _ in series_events(ctx, meeting)} if in_series else {}
    withdrawn = [e for e in targets if e.id in slots and e.starts_at != slots[e.id]]
    keys: list[str] = []
    cancelled = []
    for target in targets:
        done, queued = calendar.cancel_event(
            ctx=ctx, event_id=target.id, messages=messages, calendar_file=not in_series
        )
        cancelled.append(done)
        keys += queued
    if in_series:
        keys += _send_series_file(
            ctx,
            project,
            meeting,
            messages,
            method=ics.CANCEL if whole_series else ics.REQUEST,
            what="series_cancelled" if whole_series else "occurrence_cancelled",
            told=told,
            withdrawn=withdrawn,
            when=targets[0].starts_at,
        )
    ctx.log(
        "meeting.cancelled",
        project_id=project.id,
        event_id=event.id,
        series=whole_series,
        occurrences=len(cancelled),
    )
    return cancelled, keys


def reschedule_meeting(
    *,
    ctx: Ctx,
    event_id: Any,
    starts_at: datetime | None,
    duration_minutes: int | None,
    messages: MeetingMessages,
) -> tuple[CalendarEvent, list[str]]:
    """Move one occurrence; everyone invited is told once with an updated calendar entry."""
    meeting, event, project = get_meeting(ctx, event_id)
    in_series = meeting.series_uid is not None
    told = _invited(ctx, [event.id or 0])
    before = (event.starts_at, event.ends_at)
    moved, keys = calendar.reschedule_event(
        ctx=ctx,
        event_id=event.id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        messages=messages,
        calendar_file=not in_series,
    )
    if in_series and (moved.starts_at, moved.ends_at) != before:
        keys += _send_series_file(
            ctx,
            project,
            meeting,
            messages,
            method=ics.REQUEST,
            what="occurrence_moved",
            told=told,
            when=meeting.starts_at,
            new=moved.starts_at,
        )
    return moved, keys  # the core logged the move, once, and only if the time changed


def planner_default_meeting(ctx: Ctx, occurrence_id: int) -> tuple[Project, MeetingInput]:
    """The meeting form prefilled from a due plan item (its audience and kind)."""
    item = commplan.occurrence_for_owner(ctx, occurrence_id)
    entry = item.entry
    data = MeetingInput(
        kind=commplan.MEETING_KIND_FOR.get(entry.kind, MeetingKind.WORKING_MEETING),
        agenda=entry.note or "",
        plan_occurrence_id=item.occurrence.id,
    )
    if entry.audience_kind == "role":
        data.roles = [entry.audience_value]
    elif entry.audience_kind == "quadrant":
        data.quadrants = [entry.audience_value]
    else:
        data.people = [entry.audience_value]
    return item.project, data

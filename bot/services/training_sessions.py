"""Training sessions on the shared calendar-event core: a session (or a weekly series of them) of
a module, its audience, the hours planned, delivered and attended, and the feedback poll sent to
those who came once a session has ended.

Invitations, RSVP, waitlist, reminders, check-in, roll call and the calendar file are the core's
(``bot.calendar.service``); this module adds what only trainings have and calls the core. People
answer a session as they answer a meeting: Accept, Maybe or Decline. Only Accept takes a seat: a
Maybe is counted apart, waits on no waitlist and holds no seat (someone who had one and says
Maybe frees it for the waitlist's first); accepting later takes a free seat or joins the
waitlist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from bot.calendar import ics
from bot.calendar import service as calendar
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import audiences, end_users
from bot.services import issues as issue_service
from bot.services import polls as poll_service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.fields import finite_number, number_in_range, whole_number
from bot.services.trainings import form_module, require_trainer
from bot.shards import in_shard
from storage.models import (
    ATTENDED,
    CalendarEvent,
    EndUser,
    EventStatus,
    Invitation,
    Project,
    Rsvp,
    TrainingModule,
    TrainingSession,
)

KIND = "training"
MAX_SERIES = 12
AUDIENCE_KINDS = poll_service.AUDIENCE_KINDS
REMINDER_CHOICES = (1440, 60, 15)  # minutes before the start
FEEDBACK_OPEN_DAYS = 7
FEEDBACK_REMIND_HOURS = 24


@dataclass
class SessionInput:
    module_id: int | str | None = None
    title: str = ""
    trainer_id: str | None = None
    starts_at: datetime | None = None
    duration_hours: str | float | None = None
    sessions: str | int = 1  # a weekly series of this many sessions
    location: str = ""
    video_url: str = ""
    capacity: str | int | None = None
    audience_kind: str = "all"
    audience_roles: list[str] = field(default_factory=list)
    audience_quadrants: list[str] = field(default_factory=list)
    audience_people: list[str] = field(default_factory=list)
    rsvp_deadline: datetime | None = None
    reminders: list[int] = field(default_factory=lambda: [1440, 60])


@dataclass
class SessionView:
    """A session with what lists show: its event, module and answers counted."""

    session: TrainingSession
    event: CalendarEvent
    module: TrainingModule
    accepted: int = 0
    waitlisted: int = 0
    declined: int = 0
    pending: int = 0
    number: int = 0  # within the project's sessions (calendar.numbers), what people see and type
    maybe: int = 0


def _minutes(duration_hours: str | float | None) -> int | None:
    """A duration typed in hours, in whole minutes (None: not a finite number). A figure far
    beyond the calendar's longest event is cut to twice that, which the core then refuses as too
    long, so no huge number is computed."""
    hours = finite_number(duration_hours)
    if hours is None:
        return None
    bound = 2 * calendar.MAX_DURATION.total_seconds() / 3600
    return round(max(-bound, min(hours, bound)) * 60)


def _held_hours(event: CalendarEvent) -> float:
    """How long a session lasts, in hours (what attending it counts)."""
    return round((event.ends_at - event.starts_at).total_seconds() / 3600, 2)


def _form_fields(error: ValidationError) -> ValidationError:
    """The core's errors keyed by this form's fields (the organizer is the trainer)."""
    return ValidationError(
        {("trainer_id" if k == "organizer_id" else k): v for k, v in error.errors.items()}
    )


def audience_of(ctx: Ctx, project: Project, session: TrainingSession) -> list[str]:
    """The Slack user ids a session invites (the poll engine's audience rule)."""
    found = audiences.members(ctx, project, session.audience_kind, session.audience_values)
    return [user_id for user_id, _key_user in found]


def create_sessions(
    *, ctx: Ctx, project: Project, data: SessionInput, messages: calendar.EventMessages
) -> tuple[list[SessionView], list[str]]:
    """One session, or a weekly series from one form; everyone in the audience is invited to
    each. Any invalid field (or a clash of the trainer in any occurrence) stores nothing."""
    for_end_users = data.audience_kind == end_users.AUDIENCE
    if for_end_users:
        # A key user runs sessions for their own end users, as the trainer; a PM's form names
        # no trainer either: they give it.
        if end_users.scope(ctx, project) is not None or not data.trainer_id:
            data = replace(data, trainer_id=ctx.actor_id)
    else:
        require_trainer(ctx, project)
    errors: dict[str, Msg] = {}
    module = form_module(ctx, data.module_id, project, errors)
    minutes = _minutes(data.duration_hours)
    if minutes is None:
        errors["duration"] = Msg("training.errors.duration")
    count = 1
    try:
        count = int(number_in_range(data.sessions or 1, "sessions", 1, MAX_SERIES))
    except ValidationError as error:
        errors.update(error.errors)  # type: ignore[arg-type]
    capacity = None
    if data.capacity not in (None, ""):
        capacity = whole_number(data.capacity)
        if capacity is None:
            errors["capacity"] = Msg("calendar.errors.capacity", limit=calendar.MAX_CAPACITY)
    slack_people: list[str] = []
    named: list[EndUser] = []
    if for_end_users:
        audience_values: list[str] = []
        if module is not None:
            slack_people, named = end_users.session_audience(ctx, project, module)
            if not slack_people and not named:
                errors["module"] = Msg("enduser.errors.no_end_users", module=module.name)
    else:
        audience_values, audience_errors = poll_service.clean_audience(
            data.audience_kind, data.audience_roles, data.audience_quadrants, data.audience_people
        )
        errors.update(audience_errors)
    base_title = (data.title or "").strip() or (module.name if module else "")

    def occurrence(index: int) -> calendar.EventInput:
        shift = timedelta(weeks=index)
        title = base_title if count == 1 else f"{base_title} ({index + 1}/{count})"
        return calendar.EventInput(
            kind=KIND,
            title=title[:150],
            starts_at=data.starts_at + shift if data.starts_at else None,
            duration_minutes=minutes,
            organizer_id=data.trainer_id,
            description=module.description if module else None,
            location=data.location,
            video_url=data.video_url,
            capacity=capacity,
            rsvp_deadline=data.rsvp_deadline + shift if data.rsvp_deadline else None,
            allow_maybe=True,  # the one RSVP set, as meetings offer it: a Maybe takes no seat
            check_in=True,
            reminder_minutes=tuple(data.reminders),
            series_uid=series_uid,
        )

    series_uid = f"{uuid.uuid4()}@liaison" if count > 1 else None
    if minutes is not None:
        # Every field's error at once: the core's rules of the first occurrence too.
        try:
            calendar.validate(ctx, project, occurrence(0))
        except ValidationError as error:
            errors.update(_form_fields(error).errors)  # type: ignore[arg-type]
    if errors:
        raise ValidationError(errors)
    assert module is not None
    created: list[tuple[TrainingSession, CalendarEvent]] = []
    for index in range(count):
        try:
            event = calendar.create_event(
                ctx=ctx, project=project, data=occurrence(index), own_event=for_end_users
            )
        except ValidationError as error:
            raise _form_fields(error) from None
        session = TrainingSession(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            module_id=module.id or 0,
            event_id=event.id or 0,
            trainer_id=event.organizer_id,
            hours=_held_hours(event),
            audience_kind=data.audience_kind,
            audience_values=audience_values,
        )
        ctx.session.add(session)
        created.append((session, event))
    ctx.session.flush()
    people = slack_people if for_end_users else audience_of(ctx, project, created[0][0])
    for _session, event in created:
        end_users.put_on_roster(ctx, event, named)
    if not people and not named:
        raise ValidationError({"audience_kind": Msg("poll.errors.audience_empty")})
    keys: list[str] = []
    series = len(created) > 1
    for _session, event in created:
        keys += calendar.invite(
            ctx=ctx,
            project=project,
            event=event,
            user_ids=people,
            messages=messages,
            calendar_file=not series,
        )
    if series:
        keys += _send_series_file(ctx, project, [event for _s, event in created], people)
    ctx.log(
        "training.sessions_created",
        project_id=project.id,
        module_id=module.id,
        events=[event.id for _s, event in created],
        invited=len(people),
    )
    numbers = calendar.numbers(ctx, [e for _s, e in created])
    views = [
        SessionView(s, e, module, pending=len(people) + len(named), number=numbers[e.id or 0])
        for s, e in created
    ]
    return views, keys


def _send_series_file(
    ctx: Ctx, project: Project, events: list[CalendarEvent], people: list[str]
) -> list[str]:
    """One calendar file per person for a whole series: one entry per session, each with the
    session's own UID, so a later change to one session replaces just that entry."""
    keys = []
    title = plain(
        project.locale, "training.series_file_title", title=events[0].title, count=len(events)
    )[:250]
    last = max(event.starts_at for event in events)  # the file is of use until the last session
    for user_id in people:
        payload = calendar.calendar_file_payload(
            project.locale, events, method=ics.REQUEST, stamp=ctx.now(), channel=user_id
        )
        keys.append(
            calendar.enqueue(
                ctx,
                events[0],
                f"training:series:{events[0].series_uid}:ics:{user_id}",
                {**payload, "title": title},
                method="files.upload_v2",
                expires_at=last,
            )
        )
    return keys


def session_by_number(ctx: Ctx, project: Project, number: Any) -> int:
    """The event id of the project's session with this number (the one `/training list` shows)."""
    try:
        return calendar.by_number(ctx, project, KIND, number).id or 0
    except NotFound:
        raise NotFound(Msg("training.errors.session_not_found", id=str(number)[:20])) from None


def session_for_event(ctx: Ctx, event_id: Any) -> tuple[TrainingSession, CalendarEvent]:
    """A training session by its event id (the id lists show); other events are not found."""
    event = calendar.get_event(ctx, event_id)
    session = ctx.session.exec(
        ctx.select(TrainingSession).where(TrainingSession.event_id == event.id)
    ).first()
    if session is None or event.kind != KIND:
        raise NotFound(Msg("training.errors.no_such_session"))  # a button's id is not repeated
    return session, event


def _views(ctx: Ctx, pairs: list[tuple[TrainingSession, CalendarEvent]]) -> list[SessionView]:
    if not pairs:
        return []
    module_ids = sorted({s.module_id for s, _e in pairs})
    modules = {
        m.id: m
        for m in ctx.session.exec(
            ctx.select(TrainingModule).where(col(TrainingModule.id).in_(module_ids))
        ).all()
    }
    counts = calendar.tallies(ctx, [e.id or 0 for _s, e in pairs])
    numbers = calendar.numbers(ctx, [e for _s, e in pairs])
    result = []
    for session, event in pairs:
        tally = counts.get(event.id or 0, {})
        result.append(
            SessionView(
                session,
                event,
                modules[session.module_id],
                accepted=tally.get(Rsvp.ACCEPTED, 0),
                waitlisted=tally.get(Rsvp.WAITLISTED, 0),
                declined=tally.get(Rsvp.DECLINED, 0),
                pending=tally.get(Rsvp.PENDING, 0),
                number=numbers[event.id or 0],
                maybe=tally.get(Rsvp.MAYBE, 0),
            )
        )
    return result


class Sight(StrEnum):
    """How much of a project's training sessions someone sees (``sight_of``)."""

    EVERY = "every"
    INVITED = "invited"
    NONE = "none"


def sight_of(ctx: Ctx, project: Project, reader: str | None) -> Sight:
    """Who sees a project's training sessions: the one rule of ``/training list``, the Home tab
    and the digest. ``reader`` is a person, or None for a channel.

    - The project's PMs and team, and workspace admins, see every session: they plan, run and
      follow them up.
    - Its key users see the sessions they are invited to, and those they give (for their end
      users), not the others: a session may be for another department, and its title and roster
      are not theirs to read. So does anyone else invited to one of its sessions (a guest named
      in the audience, an end user in Slack).
    - Anyone else sees none: the list refuses them as outside the project.
    - A channel sees none: whoever the channel admits may read it, so the digest's copy for the
      project channel lists no session, while the PMs' own copy lists every one.

    The Home tab lists a person's own invitations (``calendar.upcoming_for``) and, on a PM's
    project dashboard, the project's coming events: what this rule gives each of them.
    """
    if reader is None:
        return Sight.NONE
    if project_service.is_team_member(ctx, project, reader) or (
        reader == ctx.actor_id and ctx.actor_is_admin
    ):
        return Sight.EVERY
    if issue_service.is_key_user(ctx, project, reader) or _invited_to_any(ctx, project, reader):
        return Sight.INVITED
    return Sight.NONE


def _invited_to_any(ctx: Ctx, project: Project, user_id: str) -> bool:
    found = ctx.session.exec(
        select(Invitation.id)
        .join(TrainingSession, col(TrainingSession.event_id) == col(Invitation.event_id))
        .where(
            Invitation.team_id == ctx.team_id,
            Invitation.user_id == user_id,
            Invitation.response != Rsvp.REMOVED,
            TrainingSession.project_id == project.id,
        )
        .limit(1)
    ).first()
    return found is not None


def sessions_between(
    ctx: Ctx,
    project_id: int,
    start: datetime | None,
    end: datetime | None,
    *,
    include_cancelled: bool = False,
    limit: int = 40,
    invitee: str | None = None,
) -> list[SessionView]:
    """The project's sessions in [start, end); with ``invitee``, only those they are invited to."""
    query = _between(
        select(TrainingSession, CalendarEvent),
        ctx,
        project_id,
        start,
        end,
        include_cancelled=include_cancelled,
        invitee=invitee,
    )
    query = query.order_by(col(CalendarEvent.starts_at)).limit(limit)
    return _views(ctx, [(s, e) for s, e in ctx.session.exec(query).all()])


def _between(
    query: Any,
    ctx: Ctx,
    project_id: int,
    start: datetime | None,
    end: datetime | None,
    *,
    include_cancelled: bool = False,
    invitee: str | None = None,
) -> Any:
    query = query.join(CalendarEvent, col(CalendarEvent.id) == col(TrainingSession.event_id)).where(
        TrainingSession.team_id == ctx.team_id, TrainingSession.project_id == project_id
    )
    if invitee is not None:
        # Sessions they are invited to, and those they give (a key user's, for their end users).
        invited = (
            select(Invitation.id)
            .where(
                col(Invitation.event_id) == col(CalendarEvent.id),
                col(Invitation.user_id) == invitee,
                col(Invitation.response) != Rsvp.REMOVED,
            )
            .exists()
        )
        query = query.where(or_(invited, col(CalendarEvent.organizer_id) == invitee))
    if start is not None:
        query = query.where(CalendarEvent.ends_at > start)
    if end is not None:
        query = query.where(CalendarEvent.starts_at < end)
    if not include_cancelled:
        query = query.where(CalendarEvent.status == EventStatus.SCHEDULED)
    return query


def _count_between(ctx: Ctx, project_id: int, *span: datetime | None, **filters: Any) -> int:
    """How many sessions ``sessions_between`` finds in ``span`` (no limit), the same filters."""
    query = _between(
        select(func.count()).select_from(TrainingSession), ctx, project_id, *span, **filters
    )
    return int(ctx.session.exec(query).one())


@dataclass
class SessionList:
    """What a list shows: the first sessions of its span, how many the span holds, and how many
    are scheduled after it (so a list never says "none" while one is coming)."""

    views: list[SessionView]
    total: int
    later: int = 0


LIST_LIMIT = 40


def list_sessions(ctx: Ctx, project: Project, span: str) -> SessionList:
    """``week``: the next 7 days; ``all``: past and future, cancelled included; else upcoming.
    Only the sessions the acting person sees (``sight_of``); someone who sees none is refused."""
    sight = sight_of(ctx, project, ctx.actor_id)
    if sight == Sight.NONE:
        raise PermissionDenied(Msg("training.errors.sessions_private", code=project.code))
    invitee = ctx.actor_id if sight == Sight.INVITED else None
    now = ctx.now()
    pid = project.id or 0
    if span == "week":
        end = now + timedelta(days=7)
        total = _count_between(ctx, pid, now, end, invitee=invitee)
        return SessionList(
            sessions_between(ctx, pid, now, end, limit=LIST_LIMIT, invitee=invitee),
            total,
            later=_count_between(ctx, pid, now, None, invitee=invitee) - total,
        )
    if span == "all":
        return SessionList(
            sessions_between(
                ctx, pid, None, None, include_cancelled=True, limit=LIST_LIMIT, invitee=invitee
            ),
            _count_between(ctx, pid, None, None, include_cancelled=True, invitee=invitee),
        )
    return SessionList(
        sessions_between(ctx, pid, now, None, limit=LIST_LIMIT, invitee=invitee),
        _count_between(ctx, pid, now, None, invitee=invitee),
    )


def upcoming_sessions(
    ctx: Ctx, project_id: int, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """For the digest and the PM dashboard: the project's sessions in [start, end) as plain data
    (three statements whatever the number of sessions)."""
    return [
        {
            "event_id": view.event.id,
            "title": view.event.title,
            "module": view.module.name,
            "starts_at": view.event.starts_at,
            "ends_at": view.event.ends_at,
            "trainer_id": view.session.trainer_id,
            "capacity": view.event.capacity,
            "accepted": view.accepted,
            "waitlisted": view.waitlisted,
            "declined": view.declined,
            "pending": view.pending,
        }
        for view in sessions_between(ctx, project_id, start, end, limit=200)
        if view.event.starts_at >= start
    ]


def attended_hours(
    ctx: Ctx, project_id: int | None, user_ids: list[str] | None = None
) -> dict[tuple[int, str], float]:
    """Hours each person (or each of ``user_ids``) attended, present or late, per module of the
    project (of every project: ``None``), in one grouped statement."""
    rows = ctx.session.exec(attended_hours_query(ctx, project_id, user_ids)).all()
    return {(module_id, user_id): float(hours or 0) for module_id, user_id, hours in rows}


def attended_hours_query(
    ctx: Ctx, project_id: int | None, user_ids: list[str] | None = None
) -> Any:
    """The statement behind ``attended_hours``: (module_id, user_id, hours) rows, for callers
    that aggregate further in SQL (readiness per module)."""
    query = (
        select(
            col(TrainingSession.module_id).label("module_id"),
            col(Invitation.user_id).label("user_id"),
            func.sum(TrainingSession.hours).label("hours"),
        )
        .join(Invitation, col(Invitation.event_id) == col(TrainingSession.event_id))
        .join(CalendarEvent, col(CalendarEvent.id) == col(TrainingSession.event_id))
        .where(
            TrainingSession.team_id == ctx.team_id,
            CalendarEvent.status == EventStatus.SCHEDULED,
            col(Invitation.attendance).in_(list(ATTENDED)),
        )
        .group_by(TrainingSession.module_id, Invitation.user_id)
    )
    if project_id is not None:
        query = query.where(TrainingSession.project_id == project_id)
    if user_ids is not None:
        query = query.where(col(Invitation.user_id).in_(user_ids))
    return query


def delivered_hours(ctx: Ctx, project_id: int) -> dict[int, float]:
    """Hours of each module's sessions that have taken place (ended, not cancelled)."""
    rows = ctx.session.exec(
        select(TrainingSession.module_id, func.sum(TrainingSession.hours))
        .join(CalendarEvent, col(CalendarEvent.id) == col(TrainingSession.event_id))
        .where(
            TrainingSession.team_id == ctx.team_id,
            TrainingSession.project_id == project_id,
            CalendarEvent.status == EventStatus.SCHEDULED,
            CalendarEvent.ends_at <= ctx.now(),
        )
        .group_by(TrainingSession.module_id)
    ).all()
    return {module_id: float(hours or 0) for module_id, hours in rows}


def reschedule(
    *,
    ctx: Ctx,
    event_id: Any,
    starts_at: datetime | None,
    duration_hours: str | float | None,
    rsvp_deadline: datetime | None,
    messages: calendar.EventMessages,
) -> tuple[CalendarEvent, list[str]]:
    session, event = session_for_event(ctx, event_id)
    minutes = _minutes(duration_hours)
    if minutes is None:
        raise ValidationError({"duration": Msg("training.errors.duration")})
    event, keys = calendar.reschedule_event(
        ctx=ctx,
        event_id=event.id,
        starts_at=starts_at,
        duration_minutes=minutes,
        rsvp_deadline=rsvp_deadline,
        messages=messages,
    )
    session.hours = _held_hours(event)
    ctx.session.add(session)
    return event, keys


def send_feedback_polls(*, ctx: Ctx, poll_messages: poll_service.PollMessages) -> list[str]:
    """After a session ends: the "Training feedback" poll to those who attended (one poll per
    session, through the poll engine). Sessions nobody attended are marked done too."""
    now = ctx.now()
    rows = calendar.ended(ctx, TrainingSession, TrainingSession.feedback_sent_at)
    if not rows:
        return []
    event_ids = [event.id for _s, event in rows]
    came: dict[int, list[str]] = {}
    for event_id, user_id in ctx.session.exec(
        select(Invitation.event_id, Invitation.user_id)
        .where(
            Invitation.team_id == ctx.team_id,
            col(Invitation.event_id).in_(event_ids),
            col(Invitation.attendance).in_(list(ATTENDED)),
        )
        .order_by(col(Invitation.id))
    ).all():
        came.setdefault(event_id, []).append(user_id)
    keys: list[str] = []
    for session, event in rows:
        session.feedback_sent_at = now
        ctx.session.add(session)
        people = came.get(event.id or 0, [])
        project = project_service.get_project_by_id(ctx, session.project_id)
        pms = project_service.pm_ids(ctx, project)
        if not people or not pms:
            continue
        # The poll belongs to the project's PMs, who see its results (``/poll results``).
        as_pm = replace(ctx, actor_id=pms[0], _admin=None)
        locale = project.locale
        data = poll_service.PollInput(
            title=plain(locale, "training.feedback_title", title=event.title)[:150],
            intro=plain(locale, "training.feedback_intro", title=event.title)[:2000],
            template="training_feedback",
            audience_kind="people",
            audience_people=people,
            opens_at=None,
            closes_at=now + timedelta(days=FEEDBACK_OPEN_DAYS),
            remind_hours=FEEDBACK_REMIND_HOURS,
            questions=poll_service.template_questions(locale, "training_feedback"),
        )
        poll, poll_keys = poll_service.create_poll(
            ctx=as_pm, project=project, data=data, messages=poll_messages
        )
        session.feedback_poll_id = poll.id
        ctx.session.add(session)
        keys += poll_keys
        ctx.log("training.feedback_sent", project_id=project.id, event_id=event.id, poll_id=poll.id)
    ctx.session.flush()
    return keys


def teams_with_ended_sessions(session: Any, now: datetime) -> list[str]:
    pending = TrainingSession.feedback_sent_at
    query = calendar.over(select(TrainingSession.team_id), TrainingSession, pending, now)
    return sorted(session.exec(query.where(in_shard(TrainingSession.team_id)).distinct()).all())

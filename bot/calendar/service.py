"""Rules of calendar events, shared by trainings and meetings: create, invite, RSVP with a
waitlist, reschedule, cancel. One RSVP set everywhere: Accept, Maybe (where the event offers it:
every training session, a meeting unless its organizer turned it off), Decline, stored as
``Rsvp`` states; only Accept takes a seat of a capped event. Check-in and attendance are in
``bot.calendar.attendance``; listings of what is coming and the reminders a job sends, in
``bot.calendar.upcoming``.

No Slack here. What people are told is rendered by an ``EventMessages`` (``bot.views.calendar``)
and queued in the outbox in the same unit of work as the change, under keys that make each message
unique (``calendar:<event>:<what>:<person>:<version>``), so a rerun or a double click sends nothing
twice. Every id that comes from a button is checked here against the acting person: only the
invited person answers their invitation, only the organizer's side changes the event.
"""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import col, select

from bot import delivery
from bot.calendar import ics, reminders
from bot.calendar.keys import invite_key
from bot.calendar.keys import subject as _subject
from bot.calendar.keys import threaded as _threaded
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import fields, numbering
from bot.services import projects as project_service
from bot.services.context import Ctx
from storage.models import (
    CalendarEvent,
    EventStatus,
    Invitation,
    KeyUser,
    OutboxMessage,
    OutboxStatus,
    Project,
    Rsvp,
)

MAX_DURATION = timedelta(hours=24)
MAX_CAPACITY = 9999  # seats of one event; the forms take four digits
TITLE_LIMIT = fields.limit(CalendarEvent.title)
DESCRIPTION_LIMIT = fields.limit(CalendarEvent.description)
LOCATION_LIMIT = fields.limit(CalendarEvent.location)
VIDEO_URL_LIMIT = fields.limit(CalendarEvent.video_url)
DEFAULT_REMINDERS = (1440, 60)
INVITED = (Rsvp.PENDING, Rsvp.ACCEPTED, Rsvp.MAYBE, Rsvp.DECLINED, Rsvp.WAITLISTED)


class EventMessages(Protocol):
    """What people are told, rendered for the outbox (``bot.views.calendar.MESSAGES``)."""

    def invitation(
        self,
        locale: str,
        event: CalendarEvent,
        invitation: Invitation,
        position: int | None,
        *,
        code: str = "",
    ) -> dict[str, Any]:
        """The invitation DM as it stands for one person (``code``: the event's project)."""
        ...

    def notice(
        self, locale: str, event: CalendarEvent, what: str, *, code: str = "", **params: Any
    ) -> dict[str, Any]:
        """A reply in the invitation's thread: ``rescheduled``, ``cancelled``, ``promoted``."""
        ...

    def reminder(
        self, locale: str, event: CalendarEvent, minutes: int, *, code: str = ""
    ) -> dict[str, Any]: ...

    def roster(
        self, locale: str, event: CalendarEvent, rows: list[RosterRow], *, code: str = ""
    ) -> dict[str, Any]: ...


@dataclass
class EventInput:
    """A form's values for one occurrence; the domain (trainings, meetings) fills what it has."""

    kind: str
    title: str
    starts_at: datetime | None
    duration_minutes: int | None
    organizer_id: str | None
    description: str | None = None
    location: str | None = None
    video_url: str | None = None
    capacity: int | None = None
    rsvp_deadline: datetime | None = None
    allow_maybe: bool = False
    check_in: bool = False
    reminder_minutes: Sequence[int] = DEFAULT_REMINDERS
    series_uid: str | None = None
    rrule: str | None = None
    # The field a clash of the organizer is shown under: the organizer's own field where the
    # form names them, else the time (the organizer is the person planning or the event's own).
    busy_field: str = "organizer_id"


@dataclass
class RsvpOutcome:
    event: CalendarEvent
    invitation: Invitation
    changed: bool
    position: int | None  # place on the waitlist, when waitlisted
    promoted: list[str]  # people moved from the waitlist onto the event
    keys: list[str]  # outbox keys queued


@dataclass
class RosterRow:
    user_id: str
    name: str | None
    response: str
    attendance: str | None
    checked_in_at: datetime | None
    position: int | None


# ----------------------------------------------------------------------------------- reading


def over(query: Any, model: Any, pending: Any, now: datetime) -> Any:
    """``query`` joined to the calendar events of a domain's records (``model``, whose
    ``event_id`` is one), kept to events held and over by ``now`` whose record's ``pending``
    column is still empty."""
    return query.join(CalendarEvent, col(CalendarEvent.id) == col(model.event_id)).where(
        col(pending).is_(None),
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.ends_at <= now,
    )


def ended(ctx: Ctx, model: Any, pending: Any, *conditions: Any) -> list[tuple[Any, CalendarEvent]]:
    """A domain's records in the acting workspace whose events are ``over``, with their events;
    ``conditions`` narrow them further."""
    query = over(select(model, CalendarEvent), model, pending, ctx.now())
    return list(ctx.session.exec(query.where(model.team_id == ctx.team_id, *conditions)).all())


def get_event(ctx: Ctx, event_id: Any) -> CalendarEvent:
    """The event with this id in the acting workspace (ids from buttons are only a claim)."""
    ident = fields.record_id(event_id)
    event = ctx.get(CalendarEvent, ident) if ident else None
    if event is None:
        raise NotFound(Msg("calendar.errors.no_such_event"))  # a button's id is not repeated
    return event


def numbers(ctx: Ctx, events: Iterable[CalendarEvent]) -> dict[int, int]:
    """Each event's number within its project and kind (1, 2, … in the order they were planned):
    what people read and type, as issues have ERP-1, never the database id. One query."""
    return numbering.numbers(ctx, CalendarEvent, events, ("project_id", "kind"))


def by_number(ctx: Ctx, project: Project, kind: str, number: Any) -> CalendarEvent:
    """The project's event of this kind with this number (``numbers``); "#3" and "3" alike."""
    return numbering.by_number(
        ctx, CalendarEvent, number, "calendar.errors.not_found", project_id=project.id, kind=kind
    )


def project_of(ctx: Ctx, event: CalendarEvent) -> Project:
    return project_service.get_project_by_id(ctx, event.project_id)


def can_change(ctx: Ctx, project: Project, event: CalendarEvent | None = None) -> bool:
    """PMs, the project team and workspace admins manage events; the organizer their own."""
    if event is not None and ctx.actor_id == event.organizer_id:
        return True
    return project_service.is_team_member(ctx, project) or ctx.actor_is_admin


def require_change(ctx: Ctx, project: Project, event: CalendarEvent | None = None) -> None:
    if not can_change(ctx, project, event):
        raise PermissionDenied(Msg("calendar.errors.not_team", code=project.code))


def invitation_of(ctx: Ctx, event: CalendarEvent, user_id: str) -> Invitation | None:
    return ctx.session.exec(
        ctx.select(Invitation).where(Invitation.event_id == event.id, Invitation.user_id == user_id)
    ).first()


def waitlist_position(ctx: Ctx, invitation: Invitation) -> int | None:
    if invitation.response != Rsvp.WAITLISTED or invitation.waitlisted_at is None:
        return None
    ahead = ctx.session.exec(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.event_id == invitation.event_id,
            Invitation.response == Rsvp.WAITLISTED,
            col(Invitation.waitlisted_at) < invitation.waitlisted_at,
        )
    ).one()
    return int(ahead) + 1


def tallies(ctx: Ctx, event_ids: Iterable[int]) -> dict[int, Counter[str]]:
    """Answers counted per event, in one query."""
    ids = sorted(set(event_ids))
    counts: dict[int, Counter[str]] = {event_id: Counter() for event_id in ids}
    if not ids:
        return counts
    rows = ctx.session.exec(
        select(Invitation.event_id, Invitation.response, func.count())
        .where(Invitation.team_id == ctx.team_id, col(Invitation.event_id).in_(ids))
        .group_by(Invitation.event_id, Invitation.response)
    ).all()
    for event_id, response, count in rows:
        counts[event_id][response] = int(count)
    return counts


# ----------------------------------------------------------------------------------- writing


def validate(
    ctx: Ctx, project: Project, data: EventInput, *, existing: CalendarEvent | None = None
) -> tuple[datetime, datetime]:
    """Start and end of a valid event, or ``ValidationError`` keyed by the form's field names."""
    errors: dict[str, Msg] = {}
    if not (data.title or "").strip():
        errors["title"] = Msg("errors.required")
    elif message := fields.too_long(data.title, CalendarEvent.title):
        errors["title"] = message
    starts_at = data.starts_at
    if starts_at is None:
        errors["starts_at"] = Msg("errors.required")
    elif starts_at <= ctx.now():
        errors["starts_at"] = Msg("calendar.errors.start_in_past")
    minutes = data.duration_minutes
    if minutes is None:
        errors["duration"] = Msg("errors.required")
    elif minutes <= 0:
        errors["duration"] = Msg("calendar.errors.end_before_start")
    elif minutes > MAX_DURATION / timedelta(minutes=1):
        errors["duration"] = Msg("calendar.errors.too_long")
    if data.capacity is not None and not 1 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = Msg("calendar.errors.capacity", limit=MAX_CAPACITY)
    for field_name, text, column in (
        ("location", data.location, CalendarEvent.location),
        ("video_url", data.video_url, CalendarEvent.video_url),
    ):
        if message := fields.too_long(text, column):
            errors[field_name] = message
    if data.rsvp_deadline is not None and starts_at is not None and data.rsvp_deadline > starts_at:
        errors["rsvp_deadline"] = Msg("calendar.errors.deadline_after_start")
    if data.video_url and not data.video_url.startswith(("https://", "http://")):
        errors["video_url"] = Msg("calendar.errors.bad_url")
    if not data.organizer_id:
        errors["organizer_id"] = Msg("errors.required")
    if any(m <= 0 or m > 60 * 24 * 14 for m in data.reminder_minutes):
        errors["reminders"] = Msg("calendar.errors.reminders")
    if errors:
        raise ValidationError(dict(errors))
    assert starts_at is not None and minutes is not None and data.organizer_id
    ends_at = starts_at + timedelta(minutes=minutes)
    if organizer_clash(ctx, data.organizer_id, starts_at, ends_at, existing=existing) is not None:
        raise busy(data)
    return starts_at, ends_at


def busy(data: EventInput) -> ValidationError:
    """The organizer is busy at that time: said without the other event, which may be another
    project's that the person planning has no right to see."""
    return ValidationError({data.busy_field: Msg("calendar.errors.double_booked")})


def organizer_clash(
    ctx: Ctx,
    organizer_id: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    existing: CalendarEvent | None = None,
    ignore: Sequence[datetime] = (),
) -> CalendarEvent | None:
    """Another scheduled event of the same organizer overlapping [starts_at, ends_at)."""
    query = ctx.select(CalendarEvent).where(
        CalendarEvent.organizer_id == organizer_id,
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.starts_at < ends_at,
        CalendarEvent.ends_at > starts_at,
    )
    if existing is not None and existing.id is not None:
        query = query.where(CalendarEvent.id != existing.id)
    return ctx.session.exec(query.limit(1)).first()


def create_event(
    *, ctx: Ctx, project: Project, data: EventInput, own_event: bool = False
) -> CalendarEvent:
    """A new scheduled event (nobody invited yet: ``invite`` does that). ``own_event``: the
    domain has checked that the acting person may organise this one themselves (a key user's
    session for their end users), and they are its organizer."""
    if not (own_event and data.organizer_id == ctx.actor_id):
        require_change(ctx, project)
    starts_at, ends_at = validate(ctx, project, data)
    event = _new_event(ctx, project, data, starts_at, ends_at, data.rsvp_deadline, ctx.now())
    ctx.session.add(event)
    ctx.session.flush()
    ctx.log(f"{event.kind}.created", project_id=project.id, event_id=event.id, title=event.title)
    return event


def _new_event(
    ctx: Ctx,
    project: Project,
    data: EventInput,
    starts_at: datetime,
    ends_at: datetime,
    rsvp_deadline: datetime | None,
    now: datetime,
) -> CalendarEvent:
    """The row of a new scheduled event from validated ``data`` (its own UID)."""
    return CalendarEvent(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        kind=data.kind,
        title=data.title.strip(),
        description=(data.description or "").strip() or None,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=project.timezone,
        location=(data.location or "").strip() or None,
        video_url=(data.video_url or "").strip() or None,
        organizer_id=data.organizer_id or "",
        capacity=data.capacity,
        rsvp_deadline=rsvp_deadline,
        allow_maybe=data.allow_maybe,
        check_in=data.check_in,
        reminder_minutes=sorted(set(data.reminder_minutes), reverse=True),
        uid=f"{uuid.uuid4()}@liaison",
        series_uid=data.series_uid,
        rrule=data.rrule,
        created_by=ctx.actor_id or "",
        created_at=now,
        updated_at=now,
    )


def create_series(
    *, ctx: Ctx, project: Project, data: EventInput, starts: Sequence[datetime]
) -> list[CalendarEvent]:
    """The occurrences of a series, one event at each of ``starts`` (sharing ``data``'s
    ``series_uid`` and ``rrule``), validated as one: the first like any event, the organizer's
    other events checked against every occurrence in one query, all rows written at once."""
    require_change(ctx, project)
    data.starts_at = starts[0]
    validate(ctx, project, data)
    length = timedelta(minutes=data.duration_minutes or 0)
    later = list(starts[1:])
    if later:
        taken = ctx.session.exec(
            ctx.select(CalendarEvent).where(
                CalendarEvent.organizer_id == data.organizer_id,
                CalendarEvent.status == EventStatus.SCHEDULED,
                CalendarEvent.starts_at < later[-1] + length,
                CalendarEvent.ends_at > later[0],
            )
        ).all()
        for start in later:
            if any(e.starts_at < start + length and e.ends_at > start for e in taken):
                raise busy(data)
    now = ctx.now()
    events = [_new_event(ctx, project, data, start, start + length, None, now) for start in starts]
    ctx.session.add_all(events)
    ctx.session.flush()
    ctx.log(
        f"{data.kind}.created",
        project_id=project.id,
        event_id=events[0].id,
        title=events[0].title,
        occurrences=len(events),
        series_uid=data.series_uid,
    )
    return events


def invitation_message(
    ctx: Ctx, event: CalendarEvent, invitation: Invitation
) -> delivery.SentMessage | None:
    """The invitation DM the app sent this person, if it was delivered: the only message an RSVP
    or check-in updates."""
    return delivery.sent_message(
        ctx.session,
        team_id=ctx.team_id,
        to=invitation.user_id,
        key=invite_key(event, invitation),
    )


def enqueue(
    ctx: Ctx,
    event: CalendarEvent,
    key: str,
    payload: dict[str, Any],
    *,
    method: str = "chat.postMessage",
    expires_at: datetime,
) -> str:
    """One message about ``event`` into the outbox (its failures listed with the event's);
    returns its key."""
    delivery.enqueue(
        ctx.session,
        team_id=ctx.team_id,
        key=key,
        method=method,
        payload=payload,
        now=ctx.now(),
        subject=_subject(event),
        expires_at=expires_at,
    )
    return key


def calendar_file_payload(
    locale: str,
    events: Sequence[CalendarEvent],
    *,
    method: str,
    stamp: datetime,
    channel: str,
    thread_ts: str | None = None,
    excluded: Sequence[datetime] = (),
) -> dict[str, Any]:
    """``files.upload_v2`` arguments for the calendar file of ``events``."""
    content = ics.build(events, method=method, stamp=stamp, excluded=excluded)
    first = events[0]
    title_key = "calendar.file_cancelled" if method == ics.CANCEL else "calendar.file_title"
    payload: dict[str, Any] = {
        "channel": channel,
        "content_base64": base64.b64encode(content).decode("ascii"),
        "filename": ics.filename(first),
        "title": plain(locale, title_key, title=first.title)[:250],
    }
    if thread_ts:
        payload["thread_ts"] = thread_ts
    return payload


def _send_calendar_file(
    ctx: Ctx,
    event: CalendarEvent,
    user_id: str,
    locale: str,
    *,
    method: str,
    thread_ts: str | None,
    channel: str | None = None,
) -> str:
    key = f"calendar:{event.id}:ics:{user_id}:{event.sequence}:{method.lower()}"
    payload = calendar_file_payload(
        locale,
        [event],
        method=method,
        stamp=ctx.now(),
        channel=channel or user_id,
        thread_ts=thread_ts,
    )
    return enqueue(ctx, event, key, payload, method="files.upload_v2", expires_at=event.starts_at)


def invite(
    *,
    ctx: Ctx,
    project: Project,
    event: CalendarEvent,
    user_ids: Iterable[str],
    messages: EventMessages,
    calendar_file: bool = True,
) -> list[str]:
    """Invite people (again, if they were removed); each gets one DM with buttons and the
    calendar file. Someone already invited is left as they are. Returns the outbox keys.

    ``calendar_file=False`` for a later occurrence of a series whose calendar file (with its
    RRULE) the domain sends once for the whole series."""
    require_change(ctx, project, event)
    if event.status != EventStatus.SCHEDULED:
        raise PermissionDenied(Msg("calendar.errors.cancelled", title=event.title))
    wanted = list(dict.fromkeys(u for u in user_ids if u))
    existing = {
        inv.user_id: inv
        for inv in ctx.session.exec(
            ctx.select(Invitation).where(
                Invitation.event_id == event.id, col(Invitation.user_id).in_(wanted)
            )
        ).all()
    }
    now = ctx.now()
    keys: list[str] = []
    for user_id in wanted:
        invitation = existing.get(user_id)
        if invitation is not None and invitation.response != Rsvp.REMOVED:
            continue
        if invitation is None:
            invitation = Invitation(
                team_id=ctx.team_id, event_id=event.id or 0, user_id=user_id, invited_at=now
            )
        else:
            invitation.response = Rsvp.PENDING
            invitation.invited_at = now
            invitation.responded_at = invitation.waitlisted_at = None
        ctx.session.add(invitation)
        payload = messages.invitation(project.locale, event, invitation, None, code=project.code)
        keys.append(
            enqueue(
                ctx,
                event,
                invite_key(event, invitation),
                {"channel": user_id, **payload},
                expires_at=event.starts_at,  # an invitation is no use once the event began
            )
        )
        if calendar_file:
            keys.append(
                _send_calendar_file(
                    ctx, event, user_id, project.locale, method=ics.REQUEST, thread_ts=None
                )
            )
    ctx.session.flush()
    return keys


def _lock(ctx: Ctx, event: CalendarEvent) -> CalendarEvent:
    """The event row locked for this unit of work (PostgreSQL), so two last-seat answers queue."""
    locked = ctx.session.exec(
        ctx.select(CalendarEvent).where(CalendarEvent.id == event.id).with_for_update()
    ).one()
    return locked


def _seats_taken(ctx: Ctx, event: CalendarEvent) -> int:
    return int(
        ctx.session.exec(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.event_id == event.id, Invitation.response == Rsvp.ACCEPTED)
        ).one()
    )


def respond(
    *,
    ctx: Ctx,
    event_id: Any,
    user_id: str,
    response: str,
    messages: EventMessages,
) -> RsvpOutcome:
    """``user_id`` answers their own invitation. Full: accepting waitlists them (with their
    place). A decline frees a seat for the first on the waitlist, who is told. The same answer
    twice changes nothing."""
    if response not in (Rsvp.ACCEPTED, Rsvp.MAYBE, Rsvp.DECLINED):
        raise ValidationError({"response": Msg("calendar.errors.bad_answer")})
    event = get_event(ctx, event_id)
    invitation = invitation_of(ctx, event, user_id)
    if invitation is None or invitation.response == Rsvp.REMOVED or ctx.actor_id != user_id:
        raise PermissionDenied(Msg("calendar.errors.not_invited"))
    if event.status == EventStatus.CANCELLED:
        raise PermissionDenied(Msg("calendar.errors.cancelled", title=event.title))
    now = ctx.now()
    if now >= event.starts_at:
        raise PermissionDenied(Msg("calendar.errors.started", title=event.title))
    if response == Rsvp.MAYBE and not event.allow_maybe:
        raise ValidationError({"response": Msg("calendar.errors.bad_answer")})
    if response != Rsvp.DECLINED and event.rsvp_deadline and now > event.rsvp_deadline:
        raise PermissionDenied(Msg("calendar.errors.deadline_passed", title=event.title))
    event = _lock(ctx, event)
    project = project_of(ctx, event)
    wants_seat = response == Rsvp.ACCEPTED
    already = invitation.response == response or (
        wants_seat and invitation.response == Rsvp.WAITLISTED
    )
    if already:
        return RsvpOutcome(event, invitation, False, waitlist_position(ctx, invitation), [], [])
    had_seat = invitation.response == Rsvp.ACCEPTED
    if wants_seat and event.capacity is not None and _seats_taken(ctx, event) >= event.capacity:
        invitation.response = Rsvp.WAITLISTED
        invitation.waitlisted_at = now
    else:
        invitation.response = response
        invitation.waitlisted_at = None
    invitation.responded_at = now
    ctx.session.add(invitation)
    ctx.session.flush()
    key_user = _key_user_ids(ctx, event.project_id, [user_id]).get(user_id)
    ctx.log(
        f"{event.kind}_rsvp",
        project_id=event.project_id,
        key_user_id=key_user,
        touchpoint=True,
        event_id=event.id,
        response=invitation.response,
    )
    promoted: list[str] = []
    keys: list[str] = []
    if had_seat and invitation.response != Rsvp.ACCEPTED:
        promoted, keys = _promote(ctx, project, event, messages)
    keys += _reminders_follow(ctx, event, messages)
    return RsvpOutcome(event, invitation, True, waitlist_position(ctx, invitation), promoted, keys)


def _reminders_follow(ctx: Ctx, event: CalendarEvent, messages: EventMessages) -> list[str]:
    """Reminders queued ahead follow a change at once (withdrawn, or queued for the new time)."""
    return reminders.follow_change(ctx, event, messages)


def _promote(
    ctx: Ctx, project: Project, event: CalendarEvent, messages: EventMessages
) -> tuple[list[str], list[str]]:
    """Fill free seats from the waitlist, first come first served; each promoted person is told
    in their invitation's thread and their invitation shows the seat."""
    if event.capacity is None:
        return [], []
    free = event.capacity - _seats_taken(ctx, event)
    if free <= 0:
        return [], []
    waiting = ctx.session.exec(
        ctx.select(Invitation)
        .where(Invitation.event_id == event.id, Invitation.response == Rsvp.WAITLISTED)
        .order_by(col(Invitation.waitlisted_at), col(Invitation.id))
        .limit(free)
    ).all()
    now = ctx.now()
    promoted: list[str] = []
    keys: list[str] = []
    sent = delivery.rows_by_key(ctx.session, [invite_key(event, inv) for inv in waiting])
    for invitation in waiting:
        invitation.response = Rsvp.ACCEPTED
        invitation.waitlisted_at = None
        invitation.responded_at = now
        ctx.session.add(invitation)
        promoted.append(invitation.user_id)
        stamp = int(now.timestamp())
        row = sent.get(invite_key(event, invitation))
        keys += _refresh_invitation(
            ctx, project, event, invitation, row, messages, version=f"promoted{stamp}"
        )
        keys.append(
            enqueue(
                ctx,
                event,
                f"calendar:{event.id}:promoted:{invitation.user_id}:{stamp}",
                _threaded(
                    row,
                    invitation.user_id,
                    messages.notice(project.locale, event, "promoted", code=project.code),
                ),
                expires_at=event.starts_at,
            )
        )
    ctx.session.flush()
    return promoted, keys


def _refresh_invitation(
    ctx: Ctx,
    project: Project,
    event: CalendarEvent,
    invitation: Invitation,
    row: OutboxMessage | None,
    messages: EventMessages,
    *,
    version: str,
) -> list[str]:
    """Show the invitation as it now stands: rewrite it if still unsent, else update it."""
    position = waitlist_position(ctx, invitation)
    payload = messages.invitation(project.locale, event, invitation, position, code=project.code)
    if row is None:
        return []
    if row.status == OutboxStatus.PENDING and not row.ts:
        row.payload = {"channel": invitation.user_id, **payload}
        ctx.session.add(row)
        return []
    if not row.ts or not row.channel:
        return []
    key = f"calendar:{event.id}:update:{invitation.user_id}:{version}"
    payload = {"channel": row.channel, "ts": row.ts, **payload}
    # The invitation shows the event as it stands until the event is over.
    return [enqueue(ctx, event, key, payload, method="chat.update", expires_at=event.ends_at)]


def remove_invitee(*, ctx: Ctx, event_id: Any, user_id: str, messages: EventMessages) -> list[str]:
    """Take someone off the event (their seat goes to the waitlist's first)."""
    event = get_event(ctx, event_id)
    project = project_of(ctx, event)
    require_change(ctx, project, event)
    invitation = invitation_of(ctx, event, user_id)
    if invitation is None or invitation.response == Rsvp.REMOVED:
        raise NotFound(Msg("calendar.errors.not_on_roster"))
    event = _lock(ctx, event)
    had_seat = invitation.response == Rsvp.ACCEPTED
    invitation.response = Rsvp.REMOVED
    invitation.waitlisted_at = None
    ctx.session.add(invitation)
    ctx.session.flush()
    ctx.log(f"{event.kind}.removed", project_id=project.id, event_id=event.id, user=user_id)
    row = delivery.sent_row(ctx.session, key=invite_key(event, invitation))
    keys: list[str] = []
    if row is not None and row.status == OutboxStatus.PENDING and not row.ts:
        delivery.cancel(ctx.session, key=row.key, reason="removed before delivery")
    else:
        keys += _refresh_invitation(
            ctx, project, event, invitation, row, messages, version=f"removed{event.sequence}"
        )
    if had_seat:
        keys += _promote(ctx, project, event, messages)[1]
    return keys + _reminders_follow(ctx, event, messages)


def _invitations(ctx: Ctx, event: CalendarEvent, responses: Sequence[str]) -> list[Invitation]:
    return list(
        ctx.session.exec(
            ctx.select(Invitation)
            .where(Invitation.event_id == event.id, col(Invitation.response).in_(responses))
            .order_by(col(Invitation.id))
        ).all()
    )


def _tell_everyone(
    ctx: Ctx,
    project: Project,
    event: CalendarEvent,
    messages: EventMessages,
    what: str,
    *,
    method: str,
    calendar_file: bool = True,
    **params: Any,
) -> list[str]:
    """Everyone invited is told once about change number ``event.sequence``: the invitation
    shows the event as it now is, a reply in its thread says what changed, and a calendar file
    updates (or removes) the entry. Invitations not yet delivered are rewritten or withdrawn."""
    invitations = _invitations(ctx, event, INVITED)
    rows = delivery.rows_by_key(ctx.session, [invite_key(event, inv) for inv in invitations])
    keys: list[str] = []
    cancelled = event.status == EventStatus.CANCELLED
    for invitation in invitations:
        row = rows.get(invite_key(event, invitation))
        if row is not None and row.status == OutboxStatus.PENDING and not row.ts:
            if cancelled:
                delivery.cancel(ctx.session, key=row.key, reason="event cancelled before delivery")
            else:
                _refresh_invitation(
                    ctx, project, event, invitation, row, messages, version=str(event.sequence)
                )
                if calendar_file:
                    ics_key = f"calendar:{event.id}:ics:{invitation.user_id}"
                    _rewrite_pending_files(ctx, event, ics_key, project.locale)
            continue
        keys += _refresh_invitation(
            ctx, project, event, invitation, row, messages, version=f"seq{event.sequence}"
        )
        notice = messages.notice(project.locale, event, what, code=project.code, **params)
        keys.append(
            enqueue(
                ctx,
                event,
                f"calendar:{event.id}:notice:{invitation.user_id}:{event.sequence}",
                _threaded(row, invitation.user_id, notice),
                expires_at=event.starts_at,
            )
        )
        if calendar_file and invitation.response != Rsvp.DECLINED:
            keys.append(
                _send_calendar_file(
                    ctx,
                    event,
                    invitation.user_id,
                    project.locale,
                    method=method,
                    thread_ts=row.ts if row is not None else None,
                    channel=row.channel if row is not None and row.ts else None,
                )
            )
    return keys


def _rewrite_pending_files(ctx: Ctx, event: CalendarEvent, prefix: str, locale: str) -> None:
    """Calendar files still waiting in the outbox carry the event as it now is."""
    pending = ctx.session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.key).startswith(prefix + ":"),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    ).all()
    for row in pending:
        channel = str(row.payload.get("channel"))
        row.payload = calendar_file_payload(
            locale, [event], method=ics.REQUEST, stamp=ctx.now(), channel=channel
        )
        ctx.session.add(row)


def reschedule_event(
    *,
    ctx: Ctx,
    event_id: Any,
    starts_at: datetime | None,
    duration_minutes: int | None,
    messages: EventMessages,
    rsvp_deadline: datetime | None = None,
    calendar_file: bool = True,
) -> tuple[CalendarEvent, list[str]]:
    """A new time; everyone invited is told once with an updated calendar entry (sent by the
    domain instead when ``calendar_file`` is False: one occurrence of a series)."""
    event = get_event(ctx, event_id)
    project = project_of(ctx, event)
    require_change(ctx, project, event)
    if event.status == EventStatus.CANCELLED:
        raise PermissionDenied(Msg("calendar.errors.cancelled", title=event.title))
    data = EventInput(
        kind=event.kind,
        title=event.title,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        organizer_id=event.organizer_id,
        capacity=event.capacity,
        rsvp_deadline=rsvp_deadline,
        reminder_minutes=event.reminder_minutes,
        busy_field="starts_at",
    )
    new_start, new_end = validate(ctx, project, data, existing=event)
    if (new_start, new_end) == (event.starts_at, event.ends_at):
        return event, []
    previous = event.starts_at
    event.starts_at, event.ends_at = new_start, new_end
    event.rsvp_deadline = rsvp_deadline
    event.sequence += 1
    event.updated_at = ctx.now()
    ctx.session.add(event)
    ctx.session.flush()
    ctx.log(f"{event.kind}.rescheduled", project_id=project.id, event_id=event.id)
    keys = _tell_everyone(
        ctx,
        project,
        event,
        messages,
        "rescheduled",
        method=ics.REQUEST,
        calendar_file=calendar_file,
        previous=previous,
    )
    return event, keys + _reminders_follow(ctx, event, messages)


def cancel_event(
    *, ctx: Ctx, event_id: Any, messages: EventMessages, calendar_file: bool = True
) -> tuple[CalendarEvent, list[str]]:
    """Cancel; everyone invited is told once and their calendar entry is removed (by the domain
    when ``calendar_file`` is False: one occurrence of a series)."""
    event = get_event(ctx, event_id)
    project = project_of(ctx, event)
    require_change(ctx, project, event)
    if event.status == EventStatus.CANCELLED:
        return event, []
    event.status = EventStatus.CANCELLED
    event.cancelled_at = event.updated_at = ctx.now()
    event.sequence += 1
    ctx.session.add(event)
    ctx.session.flush()
    ctx.log(f"{event.kind}.cancelled", project_id=project.id, event_id=event.id)
    keys = _tell_everyone(
        ctx, project, event, messages, "cancelled", method=ics.CANCEL, calendar_file=calendar_file
    )
    return event, keys + _reminders_follow(ctx, event, messages)


def _key_user_ids(ctx: Ctx, project_id: int, user_ids: Sequence[str]) -> dict[str, int]:
    if not user_ids:
        return {}
    rows = ctx.session.exec(
        select(KeyUser.user_id, KeyUser.id).where(
            KeyUser.team_id == ctx.team_id,
            KeyUser.project_id == project_id,
            col(KeyUser.user_id).in_(list(user_ids)),
        )
    ).all()
    return {user_id: key_user_id for user_id, key_user_id in rows if key_user_id is not None}

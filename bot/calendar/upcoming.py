"""What is coming up on the calendar: a project's events in a window, a person's next events,
and the reminders and organizers' rosters due before an event starts (the calendar job).

Like ``bot.calendar.service``: no Slack here, messages rendered by an ``EventMessages`` and queued
in the outbox under keys that make a rerun send nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, literal
from sqlmodel import col, select

from bot import delivery
from bot.calendar.attendance import roster
from bot.calendar.service import EventMessages, _subject, _threaded, invite_key
from bot.services.context import Ctx
from storage.models import (
    CalendarEvent,
    EventStatus,
    Invitation,
    OutboxMessage,
    OutboxStatus,
    Project,
    Rsvp,
)

ROSTER_BEFORE = timedelta(hours=24)  # the organizer's roster / tally
# Reminders are queued this long before they are due (the job runs every minute), each due at its
# moment in the outbox, so the sender has it at that moment rather than at the job's next run.
LOOK_AHEAD = timedelta(minutes=5)
WITHDRAWN = "withdrawn: no longer due"
# Answers that hold a seat or may come: reminded before the start.
REMINDED = (Rsvp.ACCEPTED, Rsvp.MAYBE)


def events_between(
    ctx: Ctx,
    project_id: int,
    start: datetime,
    end: datetime,
    *,
    kind: str | None = None,
    include_cancelled: bool = False,
    limit: int | None = None,
) -> list[CalendarEvent]:
    """A project's events starting in [start, end), soonest first."""
    query = ctx.select(CalendarEvent).where(
        CalendarEvent.project_id == project_id,
        CalendarEvent.starts_at >= start,
        CalendarEvent.starts_at < end,
    )
    if kind is not None:
        query = query.where(CalendarEvent.kind == kind)
    if not include_cancelled:
        query = query.where(CalendarEvent.status == EventStatus.SCHEDULED)
    query = query.order_by(col(CalendarEvent.starts_at), col(CalendarEvent.id))
    if limit is not None:
        query = query.limit(limit)
    return list(ctx.session.exec(query).all())


def upcoming_for(
    ctx: Ctx, user_id: str, *, limit: int = 10
) -> dict[str, list[tuple[CalendarEvent, Invitation]]]:
    """A person's next events (not declined or removed) with their invitation: the first
    ``limit`` of each kind (training, meeting), soonest first, in one statement."""
    rank = (
        func.row_number()
        .over(
            partition_by=col(CalendarEvent.kind),
            order_by=(col(CalendarEvent.starts_at), col(CalendarEvent.id)),
        )
        .label("rank")
    )
    ranked = (
        select(col(Invitation.id).label("invitation_id"), rank)
        .join(CalendarEvent, col(CalendarEvent.id) == col(Invitation.event_id))
        .where(
            Invitation.team_id == ctx.team_id,
            Invitation.user_id == user_id,
            col(Invitation.response).in_(
                [Rsvp.PENDING, Rsvp.ACCEPTED, Rsvp.MAYBE, Rsvp.WAITLISTED]
            ),
            CalendarEvent.status == EventStatus.SCHEDULED,
            CalendarEvent.ends_at > ctx.now(),
        )
        .subquery()
    )
    rows = ctx.session.exec(
        select(CalendarEvent, Invitation)
        .join(Invitation, col(Invitation.event_id) == col(CalendarEvent.id))
        .join(ranked, ranked.c.invitation_id == col(Invitation.id))
        .where(ranked.c.rank <= limit)
        .order_by(col(CalendarEvent.starts_at), col(CalendarEvent.id))
    ).all()
    found: dict[str, list[tuple[CalendarEvent, Invitation]]] = {}
    for event, invitation in rows:
        found.setdefault(event.kind, []).append((event, invitation))
    return found


# --------------------------------------------------------------------------------- the jobs


def due_offset(event: CalendarEvent, now: datetime) -> int | None:
    """The reminder due at ``now``: the shortest offset already reached. Offsets passed before
    any run (an event created an hour before its start) are skipped, never sent late in a row."""
    reached = [m for m in event.reminder_minutes if event.starts_at - timedelta(minutes=m) <= now]
    return min(reached) if reached and now < event.starts_at else None


def offsets_to_queue(event: CalendarEvent, now: datetime) -> list[int]:
    """The reminders of ``event`` to have in the outbox at ``now``: the one due now
    (``due_offset``) and those falling due within ``LOOK_AHEAD``, queued ahead of their time."""
    if now >= event.starts_at:
        return []
    ahead = {
        m
        for m in event.reminder_minutes
        if now < event.starts_at - timedelta(minutes=m) <= now + LOOK_AHEAD
    }
    current = due_offset(event, now)
    return sorted(ahead | ({current} if current is not None else set()), reverse=True)


def reminder_key(event: CalendarEvent, user_id: str, minutes: int) -> str:
    """A reminder's outbox key: per event, person, offset and start (a moved event's differ)."""
    return f"calendar:{event.id}:remind:{user_id}:{minutes}:{int(event.starts_at.timestamp())}"


def _reminders(
    ctx: Ctx, events: list[CalendarEvent], now: datetime, messages: EventMessages
) -> list[delivery.Outgoing]:
    """The reminders of ``events`` to have queued at ``now`` (``offsets_to_queue``), to those
    who accepted (or said maybe), in their invitation's thread, each due at its moment."""
    offsets = {event.id: offsets_to_queue(event, now) for event in events}
    wanted = [event.id for event in events if offsets[event.id]]
    if not wanted:
        return []
    invitations = ctx.session.exec(
        ctx.select(Invitation).where(
            col(Invitation.event_id).in_(wanted), col(Invitation.response).in_(REMINDED)
        )
    ).all()
    by_id = {event.id: event for event in events}
    rows = delivery.rows_by_key(
        ctx.session, [invite_key(by_id[inv.event_id], inv) for inv in invitations]
    )
    locales = _locales(ctx, {event.project_id for event in events})
    texts: dict[tuple[int | None, int], dict[str, Any]] = {}
    outgoing: list[delivery.Outgoing] = []
    for invitation in invitations:
        event = by_id[invitation.event_id]
        row = rows.get(invite_key(event, invitation))
        for minutes in offsets[event.id]:
            if (event.id, minutes) not in texts:
                texts[event.id, minutes] = messages.reminder(
                    locales[event.project_id], event, minutes
                )
            outgoing.append(
                delivery.Outgoing(
                    key=reminder_key(event, invitation.user_id, minutes),
                    payload=_threaded(row, invitation.user_id, texts[event.id, minutes]),
                    subject=_subject(event),
                    expires_at=event.starts_at,  # a reminder is no use once the event began
                    not_before=max(now, event.starts_at - timedelta(minutes=minutes)),
                )
            )
    return outgoing


def withdraw_reminders(ctx: Ctx, event_ids: list[int] | None = None) -> int:
    """Cancel the reminders queued but not sent that no longer hold: their event was cancelled or
    moved, the person no longer comes (declined, removed), or the offset is not the event's.
    Only ``event_ids``' reminders when given, else the workspace's. One query reads the queued
    reminders with their events and answers, one update cancels those that no longer hold."""
    subject = literal("calendar:") + cast(CalendarEvent.id, String)
    own_key = subject + literal(":remind:") + col(Invitation.user_id) + literal(":%")
    query = (
        select(OutboxMessage.key, CalendarEvent, Invitation.id)
        .select_from(OutboxMessage)
        .outerjoin(
            CalendarEvent,
            (col(CalendarEvent.team_id) == col(OutboxMessage.team_id))
            & (col(OutboxMessage.subject) == subject),
        )
        .outerjoin(
            Invitation,
            (col(Invitation.event_id) == col(CalendarEvent.id))
            & col(Invitation.response).in_(REMINDED)
            & col(OutboxMessage.key).like(own_key),
        )
        .where(
            OutboxMessage.team_id == ctx.team_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.kind == "calendar",
            col(OutboxMessage.key).like("calendar:%:remind:%"),
        )
    )
    if event_ids is not None:
        if not event_ids:
            return 0
        query = query.where(
            col(OutboxMessage.subject).in_([f"calendar:{event_id}" for event_id in event_ids])
        )

    def holds(key: str, event: CalendarEvent | None, coming: int | None) -> bool:
        *_head, minutes, start = key.split(":")
        return (
            event is not None
            and coming is not None
            and event.status == EventStatus.SCHEDULED
            and str(int(event.starts_at.timestamp())) == start
            and minutes.isdigit()
            and int(minutes) in event.reminder_minutes
        )

    stale = [
        key for key, event, coming in ctx.session.exec(query).all() if not holds(key, event, coming)
    ]
    return delivery.cancel_many(ctx.session, keys=stale, reason=WITHDRAWN)


def follow_change(ctx: Ctx, event: CalendarEvent, messages: EventMessages) -> list[str]:
    """After ``event`` changed (cancelled, moved, an answer, someone removed): its queued
    reminders that no longer hold are withdrawn, and those now wanted are queued (a withdrawn one
    is queued afresh). Returns the keys queued."""
    if event.id is None:
        return []
    withdraw_reminders(ctx, [event.id])
    if event.status != EventStatus.SCHEDULED:
        return []
    outgoing = _reminders(ctx, [event], ctx.now(), messages)
    return delivery.enqueue_many(
        ctx.session, team_id=ctx.team_id, messages=outgoing, now=ctx.now(), replace_cancelled=True
    )


def remind_due(*, ctx: Ctx, messages: EventMessages) -> list[str]:
    """Reminders to those who accepted (or said maybe), in their invitation's thread, each queued
    up to ``LOOK_AHEAD`` before it is due, and the organizer's roster 24 h before; reminders
    queued that no longer hold are withdrawn first. Set-based: the workspace's events in the next
    two weeks, their invitations and invitation messages are each loaded in one query, and the
    reminders queued in one insert. Returns the keys queued now (none when a rerun finds them
    queued)."""
    now = ctx.now()
    horizon = now + timedelta(days=15)
    withdraw_reminders(ctx)
    events = list(
        ctx.session.exec(
            ctx.select(CalendarEvent).where(
                CalendarEvent.status == EventStatus.SCHEDULED,
                CalendarEvent.starts_at > now,
                CalendarEvent.starts_at <= horizon,
            )
        ).all()
    )
    rostered = [e for e in events if e.starts_at - ROSTER_BEFORE <= now]
    outgoing = _reminders(ctx, events, now, messages)
    if not outgoing and not rostered:
        return []
    locales = _locales(ctx, {event.project_id for event in rostered})
    roster_keys = {
        event.id: f"calendar:{event.id}:roster:{int(event.starts_at.timestamp())}"
        for event in rostered
    }
    done = delivery.rows_by_key(ctx.session, list(roster_keys.values()))
    for event in rostered:
        if roster_keys[event.id] in done:
            continue
        payload = messages.roster(locales[event.project_id], event, roster(ctx, event))
        outgoing.append(
            delivery.Outgoing(
                key=roster_keys[event.id],
                payload={"channel": event.organizer_id, **payload},
                subject=_subject(event),
                expires_at=event.ends_at,  # the organizer checks the roster during the event
            )
        )
    # One query for the keys already queued and one insert, however many people are reminded.
    return delivery.enqueue_many(
        ctx.session, team_id=ctx.team_id, messages=outgoing, now=now, replace_cancelled=True
    )


def _locales(ctx: Ctx, project_ids: set[int]) -> dict[int, str]:
    if not project_ids:
        return {}
    rows = ctx.session.exec(
        select(Project.id, Project.locale).where(
            Project.team_id == ctx.team_id, col(Project.id).in_(sorted(project_ids))
        )
    ).all()
    return {project_id: locale for project_id, locale in rows if project_id is not None}


def teams_with_upcoming(session: Any, now: datetime) -> list[str]:
    """Workspaces with a scheduled event in the next two weeks (where reminders may be due) or
    with reminders queued and not sent (which may have to be withdrawn)."""
    upcoming = select(CalendarEvent.team_id).where(
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.starts_at > now,
        CalendarEvent.starts_at <= now + timedelta(days=15),
    )
    queued = select(OutboxMessage.team_id).where(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.kind == "calendar",
        col(OutboxMessage.key).like("calendar:%:remind:%"),
    )
    return sorted(session.execute(upcoming.union(queued)).scalars().all())

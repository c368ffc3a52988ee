"""What is coming up on the calendar: a project's events in a window, a person's next events,
and the reminders and organizers' rosters due before an event starts (the calendar job).

Like ``bot.calendar.service``: no Slack here, messages rendered by an ``EventMessages`` and queued
in the outbox under keys that make a rerun send nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot import delivery
from bot.calendar import reminders
from bot.calendar.attendance import roster
from bot.calendar.keys import subject
from bot.calendar.service import EventMessages
from bot.services.context import Ctx
from storage.models import (
    CalendarEvent,
    EventStatus,
    Invitation,
    OutboxMessage,
    OutboxStatus,
    Rsvp,
)

ROSTER_BEFORE = timedelta(hours=24)  # the organizer's roster / tally


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


def remind_due(*, ctx: Ctx, messages: EventMessages) -> list[str]:
    """Reminders to those who accepted (or said maybe), in their invitation's thread, each
    queued up to ``reminders.LOOK_AHEAD`` before it is due, and the organizer's roster 24 h
    before; reminders queued that no longer hold are withdrawn first. Set-based: the workspace's
    events in the next two weeks, their invitations and invitation messages are each loaded in
    one query, and the reminders queued in one insert. Returns the keys queued now (none when a
    rerun finds them queued)."""
    now = ctx.now()
    horizon = now + timedelta(days=15)
    reminders.withdraw_reminders(ctx)
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
    outgoing = reminders.reminders_for(ctx, events, now, messages)
    if not outgoing and not rostered:
        return []
    locales = reminders.locales_of(ctx, {event.project_id for event in rostered})
    roster_keys = {
        event.id: f"calendar:{event.id}:roster:{int(event.starts_at.timestamp())}"
        for event in rostered
    }
    done = delivery.rows_by_key(ctx.session, list(roster_keys.values()))
    for event in rostered:
        if roster_keys[event.id] in done:
            continue
        locale, code = locales[event.project_id]
        payload = messages.roster(locale, event, roster(ctx, event), code=code)
        outgoing.append(
            delivery.Outgoing(
                key=roster_keys[event.id],
                payload={"channel": event.organizer_id, **payload},
                subject=subject(event),
                expires_at=event.ends_at,  # the organizer checks the roster during the event
            )
        )
    # One query for the keys already queued and one insert, however many people are reminded.
    return delivery.enqueue_many(
        ctx.session, team_id=ctx.team_id, messages=outgoing, now=now, replace_cancelled=True
    )


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

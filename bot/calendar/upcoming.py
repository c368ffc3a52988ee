"""What is coming up on the calendar: a project's events in a window, a person's next events,
and the reminders and organizers' rosters due before an event starts (the calendar job).

Like ``bot.calendar.service``: no Slack here, messages rendered by an ``EventMessages`` and queued
in the outbox under keys that make a rerun send nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, or_
from sqlmodel import col, select

from bot import delivery
from bot.calendar import reminders
from bot.calendar.attendance import roster
from bot.calendar.keys import subject
from bot.calendar.service import EventMessages
from bot.services.context import Ctx
from bot.shards import in_shard
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


# Every reminder offset a form offers (meetings' and training sessions'), in minutes.
REMINDER_OFFSETS = (10080, 1440, 60, 15)


def teams_with_reminders_due(session: Any, now: datetime) -> list[str]:
    """Workspaces (of the shard being run) where ``remind_due`` may have something to send: an
    event within its roster's day, or one with someone who accepted (or said maybe) whose start is
    within one of its own reminder offsets (and ``LOOK_AHEAD``, as reminders are queued ahead), or
    reminders queued and not sent, which may have to be withdrawn. One statement, whatever the
    number of workspaces: a run costs the events near their start, not every event of the next
    weeks."""
    offsets = cast(CalendarEvent.reminder_minutes, String)  # "[1440, 15]" in both databases
    within = or_(
        *(
            and_(
                CalendarEvent.starts_at <= now + reminders.LOOK_AHEAD + timedelta(minutes=m),
                offsets.like(f"%{m}%"),
            )
            for m in REMINDER_OFFSETS
        )
    )
    accepted = (
        select(Invitation.id)
        .where(
            Invitation.event_id == CalendarEvent.id,
            col(Invitation.response).in_(reminders.REMINDED),
        )
        .exists()
    )
    due = select(CalendarEvent.team_id).where(
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.starts_at > now,
        or_(CalendarEvent.starts_at <= now + ROSTER_BEFORE, and_(within, accepted)),
        in_shard(CalendarEvent.team_id),
    )
    return sorted(session.execute(due.union(_queued_reminders())).scalars().all())


def _queued_reminders() -> Any:
    """Workspaces (of the shard being run) with reminders queued ahead and not sent yet, which a
    run may have to withdraw (a cancelled or moved event, a declined invitation)."""
    return select(OutboxMessage.team_id).where(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.kind == "calendar",
        col(OutboxMessage.key).like("calendar:%:remind:%"),
        in_shard(OutboxMessage.team_id),
    )

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
from bot.calendar.attendance import roster
from bot.calendar.service import EventMessages, _subject, _threaded, invite_key
from bot.services.context import Ctx
from bot.shards import in_shard
from storage.models import (
    CalendarEvent,
    EventStatus,
    Invitation,
    Project,
    Rsvp,
)

ROSTER_BEFORE = timedelta(hours=24)  # the organizer's roster / tally
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


def remind_due(*, ctx: Ctx, messages: EventMessages) -> list[str]:
    """Reminders to those who accepted (or said maybe), in their invitation's thread, and the
    organizer's roster 24 h before. Set-based: the workspace's events in the next two weeks, their
    invitations and invitation messages are each loaded in one query, and the reminders queued in
    one insert. Returns the keys queued now (none when a rerun finds them queued)."""
    now = ctx.now()
    horizon = now + timedelta(days=15)
    events = list(
        ctx.session.exec(
            ctx.select(CalendarEvent).where(
                CalendarEvent.status == EventStatus.SCHEDULED,
                CalendarEvent.starts_at > now,
                CalendarEvent.starts_at <= horizon,
            )
        ).all()
    )
    due = {event.id: due_offset(event, now) for event in events}
    rostered = [e for e in events if e.starts_at - ROSTER_BEFORE <= now]
    reminded = [e for e in events if due[e.id] is not None]
    if not reminded and not rostered:
        return []
    wanted = [e.id for e in reminded]
    invitations = (
        ctx.session.exec(
            ctx.select(Invitation).where(
                col(Invitation.event_id).in_(wanted), col(Invitation.response).in_(REMINDED)
            )
        ).all()
        if wanted
        else []
    )
    by_id = {event.id: event for event in events}
    rows = delivery.rows_by_key(
        ctx.session, [invite_key(by_id[inv.event_id], inv) for inv in invitations]
    )
    locales = _locales(ctx, {event.project_id for event in events})
    texts: dict[int | None, dict[str, Any]] = {}
    outgoing: list[delivery.Outgoing] = []
    for invitation in invitations:
        event = by_id[invitation.event_id]
        minutes = due[event.id] or 0
        if event.id not in texts:
            texts[event.id] = messages.reminder(locales[event.project_id], event, minutes)
        start = int(event.starts_at.timestamp())
        row = rows.get(invite_key(event, invitation))
        outgoing.append(
            delivery.Outgoing(
                key=f"calendar:{event.id}:remind:{invitation.user_id}:{minutes}:{start}",
                payload=_threaded(row, invitation.user_id, texts[event.id]),
                subject=_subject(event),
                expires_at=event.starts_at,  # a reminder is no use once the event began
            )
        )
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
    return delivery.enqueue_many(ctx.session, team_id=ctx.team_id, messages=outgoing, now=now)


def _locales(ctx: Ctx, project_ids: set[int]) -> dict[int, str]:
    if not project_ids:
        return {}
    rows = ctx.session.exec(
        select(Project.id, Project.locale).where(
            Project.team_id == ctx.team_id, col(Project.id).in_(sorted(project_ids))
        )
    ).all()
    return {project_id: locale for project_id, locale in rows if project_id is not None}


# Every reminder offset a form offers (meetings' and training sessions'), in minutes.
REMINDER_OFFSETS = (10080, 1440, 60, 15)


def teams_with_reminders_due(session: Any, now: datetime) -> list[str]:
    """Workspaces (of the shard being run) where ``remind_due`` may have something to send: an
    event within its roster's day, or one with someone who accepted (or said maybe) whose start is
    within one of its own reminder offsets. One statement, whatever the number of workspaces: a
    run costs the events near their start, not every event of the next weeks."""
    offsets = cast(CalendarEvent.reminder_minutes, String)  # "[1440, 15]" in both databases
    within = or_(
        *(
            and_(CalendarEvent.starts_at <= now + timedelta(minutes=m), offsets.like(f"%{m}%"))
            for m in REMINDER_OFFSETS
        )
    )
    accepted = (
        select(Invitation.id)
        .where(
            Invitation.event_id == CalendarEvent.id,
            col(Invitation.response).in_(REMINDED),
        )
        .exists()
    )
    rows = session.exec(
        select(CalendarEvent.team_id)
        .where(
            CalendarEvent.status == EventStatus.SCHEDULED,
            CalendarEvent.starts_at > now,
            or_(CalendarEvent.starts_at <= now + ROSTER_BEFORE, and_(within, accepted)),
            in_shard(CalendarEvent.team_id),
        )
        .distinct()
    ).all()
    return sorted(rows)


def teams_with_upcoming(session: Any, now: datetime) -> list[str]:
    """Workspaces with a scheduled event in the next two weeks (where reminders may be due)."""
    rows = session.exec(
        select(CalendarEvent.team_id)
        .where(
            CalendarEvent.status == EventStatus.SCHEDULED,
            CalendarEvent.starts_at > now,
            CalendarEvent.starts_at <= now + timedelta(days=15),
            in_shard(CalendarEvent.team_id),
        )
        .distinct()
    ).all()
    return sorted(rows)

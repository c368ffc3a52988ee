"""Reminders before a calendar event starts: which are due, queued up to ``LOOK_AHEAD`` before
their moment (due at it in the outbox, so the sender has them then rather than at the job's next
run), and withdrawn when they no longer hold: the event cancelled or moved, the person no longer
coming, the offset not the event's. The calendar job queues them (``bot.calendar.upcoming``) and
sweeps them; the service makes them follow each change at once (``follow_change``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import String, cast, literal
from sqlmodel import col, select

from bot import delivery
from bot.calendar.keys import invite_key, subject, threaded
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

# Reminders are queued this long before they are due (the job runs every minute).
LOOK_AHEAD = timedelta(minutes=5)
WITHDRAWN = "withdrawn: no longer due"
# Answers that hold a seat or may come: reminded before the start.
REMINDED = (Rsvp.ACCEPTED, Rsvp.MAYBE)


class ReminderMessages(Protocol):
    def reminder(
        self, locale: str, event: CalendarEvent, minutes: int, *, code: str = ""
    ) -> dict[str, Any]: ...


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


def reminders_for(
    ctx: Ctx, events: list[CalendarEvent], now: datetime, messages: ReminderMessages
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
    locales = locales_of(ctx, {event.project_id for event in events})
    texts: dict[tuple[int | None, int], dict[str, Any]] = {}
    outgoing: list[delivery.Outgoing] = []
    for invitation in invitations:
        event = by_id[invitation.event_id]
        row = rows.get(invite_key(event, invitation))
        for minutes in offsets[event.id]:
            if (event.id, minutes) not in texts:
                locale, code = locales[event.project_id]
                texts[event.id, minutes] = messages.reminder(locale, event, minutes, code=code)
            outgoing.append(
                delivery.Outgoing(
                    key=reminder_key(event, invitation.user_id, minutes),
                    payload=threaded(row, invitation.user_id, texts[event.id, minutes]),
                    subject=subject(event),
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
    event_subject = literal("calendar:") + cast(CalendarEvent.id, String)
    own_key = event_subject + literal(":remind:") + col(Invitation.user_id) + literal(":%")
    query = (
        select(OutboxMessage.key, CalendarEvent, Invitation.id)
        .select_from(OutboxMessage)
        .outerjoin(
            CalendarEvent,
            (col(CalendarEvent.team_id) == col(OutboxMessage.team_id))
            & (col(OutboxMessage.subject) == event_subject),
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


def follow_change(ctx: Ctx, event: CalendarEvent, messages: ReminderMessages) -> list[str]:
    """After ``event`` changed (cancelled, moved, an answer, someone removed): its queued
    reminders that no longer hold are withdrawn, and those now wanted are queued (a withdrawn one
    is queued afresh). Returns the keys queued."""
    if event.id is None:
        return []
    withdraw_reminders(ctx, [event.id])
    if event.status != EventStatus.SCHEDULED:
        return []
    outgoing = reminders_for(ctx, [event], ctx.now(), messages)
    return delivery.enqueue_many(
        ctx.session, team_id=ctx.team_id, messages=outgoing, now=ctx.now(), replace_cancelled=True
    )


def locales_of(ctx: Ctx, project_ids: set[int]) -> dict[int, tuple[str, str]]:
    """Each project's locale and code (a reminder names its project)."""
    if not project_ids:
        return {}
    rows = ctx.session.exec(
        select(Project.id, Project.locale, Project.code).where(
            Project.team_id == ctx.team_id, col(Project.id).in_(sorted(project_ids))
        )
    ).all()
    return {project_id: (locale, code) for project_id, locale, code in rows if project_id}

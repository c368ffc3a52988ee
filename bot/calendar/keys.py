"""The outbox keys and threading of calendar messages, shared by the service and the reminders."""

from __future__ import annotations

from typing import Any

from storage.models import CalendarEvent, Invitation, OutboxMessage


def invite_key(event: CalendarEvent, invitation: Invitation) -> str:
    return (
        f"calendar:{event.id}:invite:{invitation.user_id}:{int(invitation.invited_at.timestamp())}"
    )


def subject(event: CalendarEvent) -> str:
    """What an event's outbox rows are about (``delivery.failures`` and the sweep find them by)."""
    return f"calendar:{event.id}"


def threaded(row: OutboxMessage | None, user_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A reply in the invitation's DM thread once it was delivered; before that, a plain DM."""
    if row is not None and row.ts and row.channel:
        return {"channel": row.channel, "thread_ts": row.ts, **payload}
    return {"channel": user_id, **payload}
